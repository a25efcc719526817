import { describe, expect, it } from 'vitest';
import { mutants } from '../../../test/helpers/fuzz.js';
import { matchConfigurations } from './cpe-match.js';
import type { Configuration, CpeMatch } from './types.js';

/** A tiny version order for tests: numbers numerically, letters as text, a longer version is newer. */
function cmp(a: string, b: string): number {
  const ta = a.toLowerCase().match(/\d+|[a-z]+/g) ?? [];
  const tb = b.toLowerCase().match(/\d+|[a-z]+/g) ?? [];
  for (let i = 0; i < Math.max(ta.length, tb.length); i++) {
    const x = ta[i];
    const y = tb[i];
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    const d = /^\d/.test(x) && /^\d/.test(y) ? Number(x) - Number(y) : x < y ? -1 : x > y ? 1 : 0;
    if (d !== 0) return d;
  }
  return 0;
}

const cpe = (body: string): string => {
  const f = body.split(/(?<!\\):/);
  while (f.length < 11) f.push('*');
  return `cpe:2.3:${f.join(':')}`;
};
const vuln = (criteria: string, bounds: Partial<CpeMatch> = {}): CpeMatch => ({ vulnerable: true, criteria: cpe(criteria), ...bounds });
const or = (...cpeMatch: CpeMatch[]): Configuration => ({ nodes: [{ operator: 'OR', negate: false, cpeMatch }] });
const match = (configs: Configuration[], cpes: string[], platform?: string[]) => matchConfigurations(configs, { cpes, platform }, cmp);

// CVE-2024-6387 (regreSSHion), as the brief describes its NVD configuration.
const REGRESSHION = [
  or(vuln('a:openbsd:openssh:*', { versionEndExcluding: '4.4p1' }), vuln('a:openbsd:openssh:*', { versionStartIncluding: '8.5p1', versionEndExcluding: '9.8p1' })),
];
const ssh = (v: string): string => cpe(`a:openbsd:openssh:${v}`);

describe('version ranges (OpenSSH CVE-2024-6387)', () => {
  it('matches inside either range, bounds included or excluded as written', () => {
    const m = match(REGRESSHION, [ssh('9.2p1')]);
    expect(m).toEqual({ criteria: cpe('a:openbsd:openssh:*'), certain: true, why: 'openssh 9.2p1 is in the vulnerable range >= 8.5p1, < 9.8p1' });
    expect(match(REGRESSHION, [ssh('8.5p1')])?.certain).toBe(true);
    expect(match(REGRESSHION, [ssh('9.7p1')])?.certain).toBe(true);
    expect(match(REGRESSHION, [ssh('4.3p2')])?.why).toContain('< 4.4p1');
  });
  it('does not match outside the ranges', () => {
    for (const v of ['9.8p1', '9.9p1', '4.4p1', '7.4p1', '8.4p1']) expect(match(REGRESSHION, [ssh(v)]), v).toBeUndefined();
  });
  it('never claims a CVE without a version', () => {
    expect(match(REGRESSHION, [ssh('*')])).toBeUndefined();
    expect(match(REGRESSHION, [ssh('-')])).toBeUndefined();
    expect(match([or(vuln('a:openbsd:openssh:*'))], [ssh('*')])).toBeUndefined();
  });
  it('converts CPE 2.2 URIs, and ignores other products', () => {
    expect(match(REGRESSHION, ['cpe:/a:openbsd:openssh:9.6p1'])?.certain).toBe(true);
    expect(match(REGRESSHION, [cpe('a:openssh:openssh:9.2p1'), cpe('a:openbsd:openbsd:9.2p1')])).toBeUndefined();
    expect(match(REGRESSHION, [cpe('o:openbsd:openssh:9.2p1')])).toBeUndefined();
  });
  it('picks the service name that matches among several', () => {
    expect(match(REGRESSHION, [cpe('a:openbsd:openssl:3.0.2'), ssh('9.2p1')])?.certain).toBe(true);
  });
  it('compares a split update (9.2 + p1) as part of the version', () => {
    expect(match(REGRESSHION, [cpe('a:openbsd:openssh:9.2:p1')])?.why).toContain('openssh 9.2p1');
  });
  it('applies a specific criteria version and its bounds together', () => {
    const c = [or(vuln('a:x:y:1.2', { versionEndExcluding: '1.0' }))];
    expect(match(c, [cpe('a:x:y:1.2')])).toBeUndefined();
  });
  it('treats an unusable bound as no match rather than an open range', () => {
    for (const bad of ['', '   ', 'x'.repeat(5000)]) expect(match([or(vuln('a:openbsd:openssh:*', { versionEndExcluding: bad }))], [ssh('9.2p1')])).toBeUndefined();
    const numeric = { vulnerable: true, criteria: cpe('a:openbsd:openssh:*'), versionEndExcluding: 10 } as unknown as CpeMatch;
    expect(match([or(numeric)], [ssh('9.2p1')])).toBeUndefined();
  });
  it('fails a bound when the comparator throws or returns NaN', () => {
    expect(matchConfigurations(REGRESSHION, { cpes: [ssh('9.2p1')] }, () => { throw new Error('bad version'); })).toBeUndefined();
    expect(matchConfigurations(REGRESSHION, { cpes: [ssh('9.2p1')] }, () => NaN)).toBeUndefined();
  });
});

describe('exact versions (Apache httpd CVE-2021-41773 / CVE-2021-42013)', () => {
  const C41773 = [or(vuln('a:apache:http_server:2.4.49'))];
  const C42013 = [or(vuln('a:apache:http_server:2.4.49'), vuln('a:apache:http_server:2.4.50'))];
  const httpd = (v: string): string => cpe(`a:apache:http_server:${v}`);
  it('matches only the listed versions', () => {
    expect(match(C41773, [httpd('2.4.49')])).toEqual({ criteria: cpe('a:apache:http_server:2.4.49'), certain: true, why: 'http_server 2.4.49 is a listed vulnerable version' });
    expect(match(C41773, [httpd('2.4.50')])).toBeUndefined();
    expect(match(C42013, [httpd('2.4.50')])?.criteria).toBe(cpe('a:apache:http_server:2.4.50'));
    for (const v of ['2.4.51', '2.4.4', '2.4.490', '*', '-']) expect(match(C42013, [httpd(v)]), v).toBeUndefined();
  });
  it('compares case-insensitively', () => {
    expect(match([or(vuln('a:Apache:HTTP_Server:2.4.49'))], ['cpe:2.3:a:apache:http_server:2.4.49:*:*:*:*:*:*:*'])?.certain).toBe(true);
    expect(match(C41773, ['CPE:2.3:A:APACHE:HTTP_SERVER:2.4.49:*:*:*:*:*:*:*'])?.certain).toBe(true);
  });
  it('matches NVD split OpenSSH names (7.2 + p1) against banner names (7.2p1) and back', () => {
    const c = [or(vuln('a:openbsd:openssh:7.2:p1'))];
    expect(match(c, [ssh('7.2p1')])?.certain).toBe(true);
    expect(match(c, [cpe('a:openbsd:openssh:7.2:p1')])?.certain).toBe(true);
    expect(match([or(vuln('a:openbsd:openssh:7.2p1'))], [cpe('a:openbsd:openssh:7.2:p1')])?.certain).toBe(true);
    expect(match(c, [ssh('7.2p2')])).toBeUndefined();
    expect(match([or(vuln('a:openbsd:openssh:7.2:-'))], [ssh('7.2p1')])).toBeUndefined();
  });
  it('keeps a match whose update we do not know, uncertain', () => {
    expect(match([or(vuln('a:openbsd:openssh:7.2:p1'))], [ssh('7.2')])).toEqual({ criteria: cpe('a:openbsd:openssh:7.2:p1'), certain: false, why: 'update not known (criteria needs p1)' });
    // NVD's "-" (base release) against a name that does not say: counted as a match.
    expect(match([or(vuln('a:openbsd:openssh:9.8:-'))], [ssh('9.8')])?.certain).toBe(true);
  });
  it('treats other constrained fields we do not know as uncertain, and different ones as no match', () => {
    const c = [or(vuln('a:acme:gallery:1.0:*:*:*:*:wordpress'))];
    expect(match(c, [cpe('a:acme:gallery:1.0')])).toMatchObject({ certain: false, why: 'target_sw not known (criteria needs wordpress)' });
    expect(match(c, [cpe('a:acme:gallery:1.0:*:*:*:*:wordpress')])?.certain).toBe(true);
    expect(match(c, [cpe('a:acme:gallery:1.0:*:*:*:*:joomla')])).toBeUndefined();
  });
});

describe('AND configurations (application on Microsoft Windows)', () => {
  const onWindows = (negate = false): Configuration[] => [
    {
      operator: 'AND',
      nodes: [
        { operator: 'OR', negate: false, cpeMatch: [vuln('a:acme:agent:*', { versionEndIncluding: '2.0' })] },
        { operator: 'OR', negate, cpeMatch: [{ vulnerable: false, criteria: cpe('o:microsoft:windows:-') }] },
      ],
    },
  ];
  const agent = cpe('a:acme:agent:1.5');
  const windows = cpe('o:microsoft:windows:*');
  const linux = cpe('o:linux:linux_kernel:6.1');
  it('keeps the match, uncertain, when the platform is not known', () => {
    const want = { criteria: cpe('a:acme:agent:*'), certain: false, why: 'platform not known' };
    expect(match(onWindows(), [agent])).toEqual(want);
    expect(match(onWindows(), [agent], [])).toEqual(want);
    expect(match(onWindows(), [agent], [cpe('h:dell:poweredge_r740:-')])).toEqual(want);
  });
  it('is certain on the platform, and no match on another', () => {
    expect(match(onWindows(), [agent], [windows])).toMatchObject({ certain: true, why: 'agent 1.5 is in the vulnerable range <= 2.0' });
    expect(match(onWindows(), [agent], [linux])).toBeUndefined();
  });
  it('takes the platform from the service names too (OpenSSH for Windows names Windows)', () => {
    expect(match(onWindows(), [agent, windows])?.certain).toBe(true);
  });
  it('needs the vulnerable part whatever the platform', () => {
    expect(match(onWindows(), [cpe('a:acme:agent:2.1')])).toBeUndefined();
    expect(match(onWindows(), [cpe('a:acme:agent:2.1')], [windows])).toBeUndefined();
  });
  it('treats a generic Windows as possibly any listed edition', () => {
    const c: Configuration[] = [
      { operator: 'AND', nodes: [onWindows()[0]!.nodes[0]!, { operator: 'OR', cpeMatch: [{ vulnerable: false, criteria: cpe('o:microsoft:windows_10:1809') }] }] },
    ];
    expect(match(c, [agent], [windows])).toMatchObject({ certain: false, why: 'platform version not known' });
    expect(match(c, [agent], [cpe('o:microsoft:windows_10:*')])).toMatchObject({ certain: false, why: 'platform version not known' });
    expect(match(c, [agent], [cpe('o:microsoft:windows_10:1809')])?.certain).toBe(true);
    expect(match(c, [agent], [cpe('o:microsoft:windows_10:22h2')])).toBeUndefined();
    expect(match(c, [agent], [linux])).toBeUndefined();
  });
  it('requires every entry of an AND node', () => {
    const c: Configuration[] = [{ nodes: [{ operator: 'AND', cpeMatch: [vuln('a:acme:agent:1.5'), { vulnerable: false, criteria: cpe('a:acme:runtime:*') }] }] }];
    expect(match(c, [agent, cpe('a:acme:runtime:3')])?.certain).toBe(true);
    expect(match(c, [agent])).toMatchObject({ certain: false, why: 'platform not known' });
  });
  it('honours negate: "not on Windows"', () => {
    expect(match(onWindows(true), [agent], [linux])?.certain).toBe(true);
    expect(match(onWindows(true), [agent], [windows])).toBeUndefined();
    expect(match(onWindows(true), [agent])).toMatchObject({ certain: false, why: 'platform not known' });
  });
  it('never takes a negated match as evidence of vulnerability', () => {
    const negatedVuln: Configuration[] = [{ nodes: [{ operator: 'OR', negate: true, cpeMatch: [vuln('a:acme:other:1.0')] }] }];
    expect(match(negatedVuln, [agent])).toBeUndefined();
    expect(match([{ ...onWindows()[0]!, negate: true }], [agent], [linux])).toBeUndefined();
  });
  it('needs a vulnerable entry: a platform-only configuration matches nothing', () => {
    expect(match([or({ vulnerable: false, criteria: cpe('a:acme:agent:*') })], [agent])).toBeUndefined();
  });
  it('prefers a certain configuration over an earlier uncertain one', () => {
    const c = [...onWindows(), or(vuln('a:acme:agent:1.5'))];
    expect(match(c, [agent])).toMatchObject({ criteria: cpe('a:acme:agent:1.5'), certain: true });
  });
});

describe('escapes and wildcards', () => {
  it('unescapes criteria and names before comparing', () => {
    const c = [or(vuln('a:foo\\:bar:baz\\.io:1\\.0'))];
    expect(match(c, ['cpe:2.3:a:foo\\:bar:baz.io:1.0:*:*:*:*:*:*:*'])?.certain).toBe(true);
    expect(match(c, ['cpe:2.3:a:foo\\:bar:baz\\.io:1\\.0:*:*:*:*:*:*:*'])?.certain).toBe(true);
    expect(match(c, ['cpe:2.3:a:foo:bar:baz.io:1.0:*:*:*:*:*:*'])).toBeUndefined();
  });
  it('reads an escaped * or ? as a literal character', () => {
    const c = [or(vuln('a:x:y:1\\*'))];
    expect(match(c, [cpe('a:x:y:1\\*')])?.certain).toBe(true);
    expect(match(c, [cpe('a:x:y:12')])).toBeUndefined();
  });
  it('expands * and ? at either end of a criteria value', () => {
    const star = [or(vuln('a:apache:http_server:2.4.*'))];
    expect(match(star, [cpe('a:apache:http_server:2.4.49')])?.certain).toBe(true);
    expect(match(star, [cpe('a:apache:http_server:2.5.0')])).toBeUndefined();
    const q = [or(vuln('a:apache:http_server:2.4.4?'))];
    expect(match(q, [cpe('a:apache:http_server:2.4.49')])?.certain).toBe(true);
    expect(match(q, [cpe('a:apache:http_server:2.4.4')])?.certain).toBe(true);
    expect(match(q, [cpe('a:apache:http_server:2.4.410')])).toBeUndefined();
    expect(match([or(vuln('a:apache:http_server:??.4.49'))], [cpe('a:apache:http_server:2.4.49')])?.certain).toBe(true);
    expect(match([or(vuln('a:apache:http_server:*.4.4*'))], [cpe('a:apache:http_server:2.4.49')])?.certain).toBe(true);
  });
  it('rejects wildcards inside a value, in our own names, and in vendor or product', () => {
    expect(match([or(vuln('a:apache:http_server:2.*.49'))], [cpe('a:apache:http_server:2.4.49')])).toBeUndefined();
    expect(match([or(vuln('a:apache:http_server:2.4.49'))], [cpe('a:apache:http_server:2.4.4?')])).toBeUndefined();
    expect(match([or(vuln('a:*:*:*'))], [cpe('a:apache:http_server:2.4.49')])).toBeUndefined();
    expect(match([or(vuln('a:apache:http_*:2.4.49'))], [cpe('a:apache:http_server:2.4.49')])).toBeUndefined();
  });
});

describe('hostile input', () => {
  const good = REGRESSHION;
  const product = { cpes: [ssh('9.2p1')] };
  const weird: unknown[] = [
    undefined, null, 0, 'x', [], {}, [null], [{}], [{ nodes: null }], [{ nodes: [null, 1, 'x'] }], [{ operator: 'XOR', nodes: good[0]!.nodes }],
    [{ nodes: [{ operator: 'OR' }] }], [{ nodes: [{ operator: 'OR', cpeMatch: {} }] }], [{ nodes: [{ operator: 'NAND', cpeMatch: good[0]!.nodes[0]!.cpeMatch }] }],
    [{ nodes: [{ operator: 'OR', cpeMatch: [null, 7, { criteria: 7, vulnerable: true }, { vulnerable: 'yes', criteria: ssh('9.2p1') }] }] }],
    [{ nodes: [{ operator: 'OR', cpeMatch: [{ vulnerable: true }] }] }], [{ nodes: [] }], [{ nodes: [{ operator: 'AND', cpeMatch: [] }] }],
  ];
  it('does not throw on malformed configurations, and matches nothing from them', () => {
    for (const w of weird) expect(matchConfigurations(w as Configuration[], product, cmp)).toBeUndefined();
  });
  it('does not throw on malformed products', () => {
    const products: unknown[] = [undefined, null, {}, { cpes: null }, { cpes: 'cpe:2.3:a:openbsd:openssh:9.2p1' }, { cpes: [null, 1, {}] }, { cpes: [ssh('9.2p1')], platform: 'x' }];
    for (const p of products) expect(() => matchConfigurations(good, p as { cpes: string[] }, cmp)).not.toThrow();
    expect(matchConfigurations(good, { cpes: [ssh('9.2p1')], platform: 'x' as unknown as string[] }, cmp)?.certain).toBe(true);
  });
  it('rejects malformed CPE names', () => {
    const bad = ['', 'cpe:2.3:', 'cpe:2.3:a:openbsd:openssh:9.2p1', 'cpe:2.3:x:openbsd:openssh:9.2p1:*:*:*:*:*:*:*', 'cpe:2.3:a:openbsd:openssh:9.2p1:*:*:*:*:*:*:*:*',
      'cpe:2.3:a:openbsd:openssh:9.2p1\\', 'cpe:2.3:a:openbsd::9.2p1:*:*:*:*:*:*:*', 'cpe:/a:openbsd:openssh:9.2%zz', 'cpe:/', 'openssh 9.2p1', 'cpe:2.3:a:openbsd:openssh:9.2p1:*:*:*:*:*:*:\\'];
    for (const b of bad) expect(match(good, [b]), b).toBeUndefined();
    for (const b of bad) expect(match([or({ vulnerable: true, criteria: b, versionEndExcluding: '99' })], [ssh('9.2p1')]), b).toBeUndefined();
  });
  it('rejects 10k-character names and control characters without hanging', () => {
    const long = cpe(`a:openbsd:openssh:${'9'.repeat(10_000)}`);
    const t = Date.now();
    expect(match(good, [long])).toBeUndefined();
    expect(match([or({ vulnerable: true, criteria: long })], [ssh('9.2p1')])).toBeUndefined();
    expect(match([or({ vulnerable: true, criteria: cpe(`a:openbsd:openssh:*${'?'.repeat(10_000)}`) })], [ssh('9.2p1')])).toBeUndefined();
    expect(match([or(vuln(`a:openbsd:openssh:*${'?'.repeat(900)}`))], [cpe(`a:openbsd:openssh:${'9'.repeat(950)}`)])?.certain).toBe(true);
    expect(match(good, [cpe('a:openbsd:openssh:9.2p1\u0000\u001b[2J')])).toBeUndefined();
    expect(Date.now() - t).toBeLessThan(2000);
  });
  it('copes with a node of 200 000 entries (no argument-spread overflow)', () => {
    const many = Array.from({ length: 200_000 }, (_, i) => vuln(`a:acme:thing:${i}`));
    const c: Configuration[] = [{ nodes: [{ operator: 'AND', cpeMatch: many }] }, { nodes: [{ operator: 'OR', cpeMatch: many }] }];
    expect(match(c, [cpe('a:acme:thing:199999')])?.certain).toBe(true);
  });
  it('survives mutated NVD configuration JSON', () => {
    const seed = Buffer.from(JSON.stringify([...REGRESSHION, { operator: 'AND', nodes: [{ operator: 'OR', cpeMatch: [vuln('a:apache:http_server:2.4.\\*')] }, { operator: 'OR', negate: true, cpeMatch: [{ vulnerable: false, criteria: cpe('o:microsoft:windows:-') }] }] }]));
    let parsed = 0;
    for (const m of mutants(seed, 3000, 7)) {
      let configs: unknown;
      try {
        configs = JSON.parse(m.toString('utf8'));
      } catch {
        continue;
      }
      parsed++;
      expect(() => matchConfigurations(configs as Configuration[], { cpes: [ssh('9.2p1'), cpe('a:apache:http_server:2.4.\\*')], platform: [cpe('o:linux:linux_kernel:6.1')] }, cmp)).not.toThrow();
    }
    expect(parsed).toBeGreaterThan(100);
  });
  it('survives mutated CPE names on both sides', () => {
    for (const m of mutants(Buffer.from('cpe:2.3:a:openbsd:openssh\\:x:9.2p1:*:*:*:*:*:*:*'), 3000, 11)) {
      const s = m.toString('latin1');
      expect(() => matchConfigurations([or({ vulnerable: true, criteria: s, versionEndExcluding: '9.8p1' })], { cpes: [s, ssh('9.2p1')], platform: [s] }, cmp)).not.toThrow();
    }
  });
});
