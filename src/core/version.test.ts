import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { mutants, prng } from '../../test/helpers/fuzz.js';
import {
  compareDebianVersions, compareRpmVersions, compareVersions, inRange, isVersion, parseDebianVersion,
  type Comparator, type VersionRange,
} from './version.js';

/** Every earlier element is strictly lower than every later one, both ways round. */
function expectAscending(cmp: Comparator, chain: string[]): void {
  for (let i = 0; i < chain.length; i++) {
    for (let j = i + 1; j < chain.length; j++) {
      expect(cmp(chain[i]!, chain[j]!), `${chain[i]} < ${chain[j]}`).toBe(-1);
      expect(cmp(chain[j]!, chain[i]!), `${chain[j]} > ${chain[i]}`).toBe(1);
    }
  }
}

function expectEqual(cmp: Comparator, pairs: [string, string][]): void {
  for (const [a, b] of pairs) {
    expect(cmp(a, b), `${a} = ${b}`).toBe(0);
    expect(cmp(b, a), `${b} = ${a}`).toBe(0);
  }
}

const HOSTILE: unknown[] = [
  '', ' ', '\t\r\n', '\u0000', '1.0\u0000', '\u001b[2J1.0', '*', '-', ':', '~', '^', 'abc', '1.0 (Ubuntu)',
  '\u0669.\u0662', '\uff11.\uff12', '\ud800', '1.\ud800', 'x'.repeat(300), '1'.repeat(257), '1.'.repeat(200),
  '9'.repeat(256), 'a'.repeat(10_000_000), '~'.repeat(256), '1' + '~'.repeat(255), '1:'.repeat(100),
  undefined, null, 5, {}, [], Symbol.iterator,
];

/** Random strings over an alphabet that hits every branch of every scheme, junk included. */
function randomVersions(seed: number, count: number): string[] {
  const rand = prng(seed);
  const atoms = ['0', '1', '2', '9', '10', '01', '00', 'a', 'b', 'k', 'z', 'A', 'p', 'rc', 'beta', 'alpha', 'dev', 'pre',
    'deb12u', 'el8', '.', '.', '-', '_', '+', '~', '^', ':', ' ', '\u0000', '\u00e9', 'v'];
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    let s = rand() < 0.8 ? String(Math.floor(rand() * 12)) : '';
    const n = Math.floor(rand() * 7);
    for (let k = 0; k < n; k++) s += atoms[Math.floor(rand() * atoms.length)]!;
    out.push(s);
  }
  return out;
}

const SCHEMES: [string, Comparator][] = [
  ['compareVersions', compareVersions],
  ['compareDebianVersions', compareDebianVersions],
  ['compareRpmVersions', compareRpmVersions],
];

describe('compareVersions (upstream)', () => {
  it('orders the examples from the brief', () => {
    expectAscending(compareVersions, ['9.2', '9.2p1', '9.2p2', '9.3']);
    expectAscending(compareVersions, ['1.22.1', '1.22.10']);
    expectAscending(compareVersions, ['2.4.49', '2.4.50']);
    expectAscending(compareVersions, ['1.0.2k', '1.0.2l']);
    expectAscending(compareVersions, ['3.0.0-alpha1', '3.0.0-beta', '3.0.0-rc1', '3.0.0']);
    expectAscending(compareVersions, ['10.5', '10.11.19']);
  });

  it('orders real product version histories', () => {
    expectAscending(compareVersions, ['5.3p1', '6.6p1', '6.6.1p1', '6.7p1', '7.2p2', '7.4p1', '8.0p1', '8.9p1', '9.2p1', '9.3p2', '9.8p1', '10.0p1']);
    expectAscending(compareVersions, ['0.9.8zh', '1.0.0', '1.0.1', '1.0.1f', '1.0.1g', '1.0.2', '1.0.2k', '1.0.2u', '1.1.0', '1.1.1',
      '1.1.1w', '3.0.0-alpha1', '3.0.0-alpha17', '3.0.0-beta1', '3.0.0', '3.0.13', '3.1.0', '3.3.2']);
    expectAscending(compareVersions, ['1.3.9', '1.4.0', '1.9.15', '1.16.1', '1.18.0', '1.22.1', '1.22.10', '1.25.3', '1.27.0']);
    expectAscending(compareVersions, ['2.2.34', '2.4.1', '2.4.9', '2.4.10', '2.4.49', '2.4.50', '2.4.51', '2.4.62']);
    expectAscending(compareVersions, ['5.5.68', '5.7.44', '8.0.36', '10.3.39', '10.5', '10.5.23', '10.11.6', '10.11.19', '11.4.2']);
    expectAscending(compareVersions, ['1.3.5', '1.3.5a', '1.3.5b', '1.3.5e', '1.3.6rc1', '1.3.6', '1.3.8b']);
    expectAscending(compareVersions, ['4.94.2', '4.96', '4.97.1', '4.98']);
    expectAscending(compareVersions, ['9.6.24', '10.23', '16.2']);
    expectAscending(compareVersions, ['2020.81', '2022.83', '2024.85']);
  });

  it('ranks pre-release markers below the release, and letters after it', () => {
    expectAscending(compareVersions, ['1.0-dev', '1.0-alpha', '1.0-alpha.2', '1.0-beta', '1.0-beta2', '1.0-pre1', '1.0-rc1',
      '1.0-rc2', '1.0', '1.0a', '1.0p1', '1.0.1']);
    expectAscending(compareVersions, ['2.0.0-rc1', '2.0', '2.0.0a']);
    expectAscending(compareVersions, ['9.2p1', '9.2.1']); // a word below a number at the same place, as dpkg and rpm
  });

  it('ignores case, a leading v, separators and leading zeros; trailing zeros are equal', () => {
    expectEqual(compareVersions, [['v1.2.3', '1.2.3'], ['V1.2.3', '1.2.3'], ['9.2P1', '9.2p1'], ['1.0', '1.0.0'],
      ['1_0_1', '1.0.1'], ['1.0-1', '1.0.1'], ['1.0-rc1', '1.0RC1'], ['01.02', '1.2'], ['1.0-pre', '1.0-preview'],
      [' 1.2 ', '1.2'], ['1.0\\-rc1', '1.0-rc1'], ['1.0.', '1.0']]);
  });

  it('compares numbers of any size', () => {
    expectAscending(compareVersions, ['18446744073709551615', '18446744073709551616', '9'.repeat(200)]);
    expect(isVersion('9'.repeat(256))).toBe(true);
  });

  it('treats unreadable strings as junk: before every version, ordered by code units among themselves', () => {
    for (const junk of ['', ' ', 'abc', '*', '-', 'v', 'vx1', '1.0 (Ubuntu)', '1:9.2p1', '\u0669.\u0662', '1.0\u0000', 'x'.repeat(300), '1'.repeat(257)]) {
      expect(isVersion(junk), JSON.stringify(junk.slice(0, 20))).toBe(false);
      expect(compareVersions(junk, '0')).toBe(-1);
      expect(compareVersions('0', junk)).toBe(1);
    }
    expectAscending(compareVersions, ['', '*', 'abc', 'abd', '0', '1']);
  });
});

describe('parseDebianVersion', () => {
  it('splits epoch, upstream and revision', () => {
    expect(parseDebianVersion('1:9.2p1-2+deb12u3')).toEqual({ epoch: 1, upstream: '9.2p1', revision: '2+deb12u3' });
    expect(parseDebianVersion('1.0')).toEqual({ epoch: 0, upstream: '1.0', revision: '' });
    expect(parseDebianVersion('1.0-1-2')).toEqual({ epoch: 0, upstream: '1.0-1', revision: '2' });
    expect(parseDebianVersion(' 2:1.0~rc1 ')).toEqual({ epoch: 2, upstream: '1.0~rc1', revision: '' });
    expect(parseDebianVersion('2147483647:1')).toEqual({ epoch: 2147483647, upstream: '1', revision: '' });
  });

  it('refuses what dpkg or policy refuse', () => {
    for (const bad of ['', ' ', '1.0-', ':1.0', '1:', '-1:1.0', 'a1.0', '1.0_1', '1 0', '99999999999:1.0', '2147483648:1',
      '1.0-1:2', '1:1.0:2', '1.0-a_b', 'x:1.0', '1.0\u0000', '\u0661.0', '1'.repeat(257), '1.0-' + 'a'.repeat(300)]) {
      expect(parseDebianVersion(bad), JSON.stringify(bad)).toBeUndefined();
    }
  });
});

describe('compareDebianVersions (dpkg)', () => {
  it('orders the examples from the brief', () => {
    expectAscending(compareDebianVersions, ['1:9.2p1-2+deb12u2', '1:9.2p1-2+deb12u3']);
    expectAscending(compareDebianVersions, ['1.0~rc1', '1.0']);
    expectAscending(compareDebianVersions, ['1:9.9', '2:1.0']);
    expectAscending(compareDebianVersions, ['7.4p1-10+deb9u7', '7.4p1-10+deb9u8']);
  });

  it('follows the policy: ~ before everything, even the end; letters before non-letters', () => {
    expectAscending(compareDebianVersions, ['1.0~~', '1.0~~a', '1.0~', '1.0', '1.0a', '1.0+', '1.0.', '1.0.1']);
    expectAscending(compareDebianVersions, ['1.0~rc1', '1.0', '1.0-1', '1.0-1+deb12u1', '1.0-1.1', '1.0-2', '1.0.1', '1:0.1']);
    expectAscending(compareDebianVersions, ['1.0-1~bpo12+1', '1.0-1', '1.0-1+b1']);
    expectEqual(compareDebianVersions, [['1.0', '1.0-0'], ['0:1.0', '1.0'], ['1.00', '1.0'], ['1.0-01', '1.0-1']]);
  });

  it('orders real Debian and Ubuntu package versions', () => {
    expectAscending(compareDebianVersions, ['1:7.4p1-10+deb9u7', '1:7.4p1-10+deb9u8', '1:7.9p1-10+deb10u4', '1:8.4p1-5+deb11u3',
      '1:9.2p1-2+deb12u2', '1:9.2p1-2+deb12u3', '1:9.6p1-3']);
    expectAscending(compareDebianVersions, ['1:8.9p1-3ubuntu0.10', '1:8.9p1-3ubuntu0.11', '1:9.6p1-3ubuntu13', '1:9.6p1-3ubuntu13.5']);
    expectAscending(compareDebianVersions, ['1.1.1n-0+deb10u6', '1.1.1w-0+deb11u1', '3.0.11-1~deb12u2', '3.0.11-1',
      '3.0.13-1~deb12u1', '3.0.15-1~deb12u1']);
    expectAscending(compareDebianVersions, ['1.18.0-6.1+deb11u3', '1.22.1-9', '1.22.1-9+deb12u1']);
    expectAscending(compareDebianVersions, ['2.4.57-2', '2.4.62-1~deb12u1', '2.4.62-1~deb12u2', '2.4.62-1']);
    expectAscending(compareDebianVersions, ['1:10.5.23-0+deb11u1', '1:10.11.6-0+deb12u1', '1:11.4.2-1']);
  });

  it('sorts invalid versions first', () => {
    expect(compareDebianVersions('1.0-', '0')).toBe(-1);
    expect(compareDebianVersions('0', 'a1.0')).toBe(1);
    expect(compareDebianVersions('1.0-', '1.0-')).toBe(0);
  });

  const dpkg = (() => { try { execFileSync('dpkg', ['--version'], { stdio: 'ignore' }); return true; } catch { return false; } })();
  it.skipIf(!dpkg)('agrees with dpkg --compare-versions on random versions', () => {
    const rand = prng(42);
    const atoms = ['0', '1', '9', '10', '01', 'a', 'z', 'A', 'p', '.', '+', '~', '-', 'rc', 'deb12u'];
    const gen = (): string => {
      let s = ['', '', '1:', '2:'][Math.floor(rand() * 4)]! + String(Math.floor(rand() * 10));
      for (let n = Math.floor(rand() * 6); n > 0; n--) s += atoms[Math.floor(rand() * atoms.length)]!;
      return s;
    };
    const pairs: [string, string][] = [];
    while (pairs.length < 150) {
      const p: [string, string] = [gen(), gen()];
      if (parseDebianVersion(p[0]) && parseDebianVersion(p[1])) pairs.push(p);
    }
    const script = 'while read -r a b; do if dpkg --compare-versions "$a" lt "$b"; then echo -1; '
      + 'elif dpkg --compare-versions "$a" eq "$b"; then echo 0; else echo 1; fi; done';
    const out = execFileSync('sh', ['-c', script], { input: pairs.map((p) => p.join(' ')).join('\n') + '\n' }).toString().trim().split('\n');
    expect(pairs.map(([a, b]) => `${a} ${b} ${compareDebianVersions(a, b)}`)).toEqual(pairs.map(([a, b], i) => `${a} ${b} ${out[i]}`));
  });
});

describe('compareRpmVersions (rpmvercmp)', () => {
  it('handles ~ (pre-release), ^ (post-release), epochs and releases', () => {
    expectAscending(compareRpmVersions, ['1.0~rc1', '1.0~rc2', '1.0', '1.0-1', '1.0^git1', '1.0^git2', '1.0a', '1.0.1', '1:0.1']);
    expectAscending(compareRpmVersions, ['1.0-1.el8', '1.0-2.el8', '1.0-10.el8']);
    expectAscending(compareRpmVersions, ['a', '1', '1a', '1.1']);
    expectEqual(compareRpmVersions, [['0:1.0-1', '1.0-1'], ['(none):1.0-1', '1.0-1'], ['1.0', '1_0'], ['1..0', '1.0'], ['1.01', '1.1'], [':1.0', '1.0']]);
  });

  it('orders real RHEL package versions', () => {
    expectAscending(compareRpmVersions, ['7.4p1-22.el7_9', '8.0p1-19.el8_8', '8.0p1-19.el8_9.2', '8.7p1-38.el9']);
    expectAscending(compareRpmVersions, ['1:1.0.2k-26.el7_9', '1:1.1.1k-9.el8_7', '1:1.1.1k-12.el8_9', '1:3.0.7-27.el9']);
    expectAscending(compareRpmVersions, ['2.4.37-62.module+el8.9.0+19699+7a7a2044', '2.4.37-65.module+el8.10.0+21982+14717793']);
  });

  it('sorts junk first', () => {
    expect(compareRpmVersions('', '0')).toBe(-1);
    expect(compareRpmVersions('1.0\u00e9', '0')).toBe(-1);
    expect(compareRpmVersions('0', '1:-1')).toBe(1);
  });

  const rpm = (() => { try { execFileSync('rpm', ['--version'], { stdio: 'ignore' }); return true; } catch { return false; } })();
  it.skipIf(!rpm)('agrees with rpm.vercmp on random versions', () => {
    const pairs: [string, string][] = [];
    // inRange with no bounds is true exactly for readable versions; rpm itself also reads "9:" (empty version).
    const pool = randomVersions(7, 600).filter((v) => inRange(v, {}, compareRpmVersions));
    for (let i = 0; i + 1 < pool.length; i += 2) pairs.push([pool[i]!, pool[i + 1]!]);
    const lua = pairs.map(([a, b]) => `print(tostring(rpm.vercmp(${JSON.stringify(a)}, ${JSON.stringify(b)})) .. "\\n")`).join(' ');
    const out = execFileSync('rpm', ['--eval', `%{lua: ${lua}}`]).toString().trim().split('\n');
    expect(pairs.map(([a, b]) => `${a} ${b} ${compareRpmVersions(a, b)}`)).toEqual(pairs.map(([a, b], i) => `${a} ${b} ${Math.sign(Number(out[i]))}`));
  });
});

describe('inRange (NVD cpeMatch semantics)', () => {
  it('applies including and excluding bounds', () => {
    const regresshion = { startIncluding: '8.5p1', endExcluding: '9.8p1' }; // CVE-2024-6387
    expect(inRange('9.2p1', regresshion)).toBe(true);
    expect(inRange('8.5p1', regresshion)).toBe(true);
    expect(inRange('8.4p1', regresshion)).toBe(false);
    expect(inRange('9.8p1', regresshion)).toBe(false);
    expect(inRange('9.8', regresshion)).toBe(true);
    const traversal = { startIncluding: '2.4.49', endIncluding: '2.4.50' }; // CVE-2021-42013
    expect(['2.4.48', '2.4.49', '2.4.50', '2.4.51'].map((v) => inRange(v, traversal))).toEqual([false, true, true, false]);
    expect(inRange('1.0', { startExcluding: '1.0' })).toBe(false);
    expect(inRange('1.0.1', { startExcluding: '1.0' })).toBe(true);
    expect(inRange('1.0.2k', { endExcluding: '1.0.2l' })).toBe(true);
    expect(inRange('1.2', {})).toBe(true);
  });

  it('uses the given scheme', () => {
    expect(inRange('1:9.2p1-2+deb12u2', { endExcluding: '1:9.2p1-2+deb12u3' }, compareDebianVersions)).toBe(true);
    expect(inRange('1:9.2p1-2+deb12u3', { endExcluding: '1:9.2p1-2+deb12u3' }, compareDebianVersions)).toBe(false);
    expect(inRange('8.0p1-19.el8_8', { endExcluding: '8.0p1-19.el8_9' }, compareRpmVersions)).toBe(true);
    const byLength: Comparator = (a, b) => Math.sign(a.length - b.length);
    expect(inRange('12', { endExcluding: '123' }, byLength)).toBe(true);
    expect(inRange('ab', { endExcluding: '123' }, byLength)).toBe(false); // no digit: not plausible
  });

  it('never claims an unreadable version or bound is in range', () => {
    for (const junk of HOSTILE.filter((v) => !isVersion(v as string))) {
      expect(inRange(junk as string, { endExcluding: '9.9' })).toBe(false);
      expect(inRange('1.0', { endExcluding: junk as string })).toBe(junk === undefined || junk === null);
    }
    for (const junk of HOSTILE.filter((v) => !parseDebianVersion(v as string))) {
      expect(inRange(junk as string, {}, compareDebianVersions)).toBe(false);
    }
    expect(inRange('1:1.0', { endExcluding: '2.0' })).toBe(false);
    expect(inRange('1.0', null as unknown as VersionRange)).toBe(true);
  });
});

describe.each(SCHEMES)('%s on hostile input', (_name, cmp) => {
  it('never throws and returns -1, 0 or 1', () => {
    const valid = ['0', '1.0', '9.2p1', '1:9.2p1-2+deb12u3'];
    for (const a of [...HOSTILE, ...valid]) {
      for (const b of [...HOSTILE, ...valid]) {
        const c = cmp(a as string, b as string);
        expect([-1, 0, 1]).toContain(c);
        expect(cmp(b as string, a as string)).toBe(-c || 0);
      }
    }
  });

  it('is fast on huge input', () => {
    const huge = '1.'.repeat(5_000_000);
    const start = performance.now();
    for (let i = 0; i < 100; i++) cmp(huge, '1.0');
    for (let i = 0; i < 10_000; i++) cmp('1.'.repeat(128), '1.'.repeat(127) + '2');
    expect(performance.now() - start).toBeLessThan(2000);
  });

  it('survives mutants of real versions with its order intact', () => {
    const seeds = ['1:9.2p1-2+deb12u3', '3.0.0-alpha1', '1.0.2k', '2.4.37-62.module+el8.9.0+19699+7a7a2044'];
    const pool: string[] = [];
    seeds.forEach((s, k) => {
      for (const m of mutants(Buffer.from(s), 300, k + 1)) pool.push(m.toString('utf8'));
    });
    checkTotalPreorder(cmp, pool);
  });
});

/** Reflexive, antisymmetric in sign, and transitive: after sorting, no later element is lower. */
function checkTotalPreorder(cmp: Comparator, pool: string[]): void {
  for (const a of pool) expect(cmp(a, a)).toBe(0);
  for (let i = 0; i + 1 < pool.length; i++) expect(cmp(pool[i]!, pool[i + 1]!)).toBe(-cmp(pool[i + 1]!, pool[i]!) || 0);
  const sorted = [...pool].sort(cmp);
  for (let i = 0; i < sorted.length; i++) {
    for (let j = i + 1; j < sorted.length; j++) {
      if (cmp(sorted[i]!, sorted[j]!) > 0) expect.fail(`not transitive: ${JSON.stringify(sorted[i])} > ${JSON.stringify(sorted[j])}`);
    }
  }
}

describe.each(SCHEMES)('%s is a total preorder', (_name, cmp) => {
  it('on random versions (sort, then every pair in order)', () => {
    checkTotalPreorder(cmp, randomVersions(1, 700));
  });

  it('on random triples from a small pool (many ties)', () => {
    const pool = randomVersions(2, 60);
    const rand = prng(3);
    const pick = (): string => pool[Math.floor(rand() * pool.length)]!;
    for (let i = 0; i < 20_000; i++) {
      const [a, b, c] = [pick(), pick(), pick()];
      if (cmp(a, b) <= 0 && cmp(b, c) <= 0 && cmp(a, c) > 0) expect.fail(`not transitive: ${a} <= ${b} <= ${c}`);
      if (cmp(a, b) === 0 && cmp(b, c) === 0 && cmp(a, c) !== 0) expect.fail(`equality not transitive: ${a} ${b} ${c}`);
    }
  });
});
