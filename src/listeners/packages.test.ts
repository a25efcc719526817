import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { mutants } from '../../test/helpers/fuzz.js';
import { MAX_PACKAGES, type PackageList, parseDpkgQuery, parseRpmQuery } from './packages.js';

const DPKG = [
  'adduser\t3.134\tall\tii ',
  'openssh-server\t1:9.2p1-2+deb12u10\tamd64\tii ',
  'libc6\t2.36-9+deb12u13\tamd64\tii ',
  'libc6\t2.36-9+deb12u13\ti386\tii ',
  'held\t1.0-1\tamd64\thi ',
  'gone\t2.0-1\tamd64\trc ',
  'never\t\t\tun ',
  'broken-reinst\t1.0\tamd64\tiiR',
].join('\n');

const RPM = [
  'bash\t0:5.1.8-9.el9\tx86_64',
  'kernel\t0:5.14.0-427.13.1.el9_4\tx86_64',
  'gpg-pubkey\t0:fd431d51-4ae0493b\t(none)',
  'perl-Time-Local\t2:1.300-7.el9\tnoarch',
  'python3-libs\t0:3.9.18-3.el9^20240101\tx86_64',
  '',
].join('\n');

/** `list` holds exactly these `[name, version, arch]` packages of `manager`, and no line was rejected. */
function expectInstalled(list: PackageList, manager: 'dpkg' | 'rpm', rows: [string, string, string][]): void {
  expect(list.rejected).toBe(0);
  expect(list.packages).toEqual(rows.map(([name, version, arch]) => ({ name, version, arch, manager })));
}

describe('dpkg-query parser', () => {
  it('keeps installed packages with version and arch, drops removed and unknown ones', () => {
    expectInstalled(parseDpkgQuery(DPKG), 'dpkg', [
      ['adduser', '3.134', 'all'],
      ['openssh-server', '1:9.2p1-2+deb12u10', 'amd64'],
      ['libc6', '2.36-9+deb12u13', 'amd64'],
      ['libc6', '2.36-9+deb12u13', 'i386'],
      ['held', '1.0-1', 'amd64'],
      ['broken-reinst', '1.0', 'amd64'],
    ]);
  });

  it('accepts the plain three-field format too', () => {
    expectInstalled(parseDpkgQuery('zlib1g\t1:1.2.13.dfsg-1\tamd64\n'), 'dpkg', [['zlib1g', '1:1.2.13.dfsg-1', 'amd64']]);
  });

  it('parses this machine’s real dpkg database', () => {
    let out: string;
    try {
      out = execFileSync('dpkg-query', ['-W', '-f=${Package}\\t${Version}\\t${Architecture}\\t${db:Status-Abbrev}\\n'], { encoding: 'utf8', maxBuffer: 64 << 20 });
    } catch {
      return; // not a dpkg system
    }
    const { packages, rejected } = parseDpkgQuery(out);
    expect(rejected).toBe(0);
    expect(packages.length).toBeGreaterThan(10);
    expect(packages.find((p) => p.name === 'dpkg')?.version).toMatch(/^\d/);
  });

  it('rejects hostile lines and counts them', () => {
    const hostile = [
      'evil\u001b[2J\t1.0\tamd64\tii ',
      'name\t1.0 ; rm -rf /\tamd64\tii ',
      'a\tb',
      'x\t1\tamd64\tii \textra',
      '-leadingdash\t1.0\tamd64\tii ',
      `long\t${'1'.repeat(300)}\tamd64\tii `,
      'ok\t1.0\tam d64\tii ',
      'ok\t1.0\tamd64\tZZZ',
      `${'x'.repeat(10_000_000)}`,
      'fine\t1.0\tamd64\tii ',
    ].join('\n');
    const { packages, rejected } = parseDpkgQuery(hostile);
    expect(packages.map((p) => p.name)).toEqual(['fine']);
    expect(rejected).toBe(9);
  });

  it('caps the number of packages', () => {
    const many = Array.from({ length: MAX_PACKAGES + 5 }, (_, i) => `p${i}\t1.0\tamd64\tii `).join('\n');
    const { packages, rejected } = parseDpkgQuery(many);
    expect(packages).toHaveLength(MAX_PACKAGES);
    expect(rejected).toBe(5);
  });

  it('never throws on garbage or 10 000 mutants', () => {
    expect(parseDpkgQuery('').packages).toEqual([]);
    expect(() => parseDpkgQuery(randomBytes(1 << 20).toString('latin1'))).not.toThrow();
    for (const m of mutants(Buffer.from(DPKG), 10_000)) {
      for (const p of parseDpkgQuery(m.toString('latin1')).packages) {
        expect(p.name).toMatch(/^[A-Za-z0-9][A-Za-z0-9+._-]*$/);
        expect(p.version).toMatch(/^[A-Za-z0-9.+~:-]+$/);
      }
    }
  });
});

describe('rpm -qa parser', () => {
  it('keeps epoch:version-release and arch, skips gpg-pubkey', () => {
    expectInstalled(parseRpmQuery(RPM), 'rpm', [
      ['bash', '0:5.1.8-9.el9', 'x86_64'],
      ['kernel', '0:5.14.0-427.13.1.el9_4', 'x86_64'],
      ['perl-Time-Local', '2:1.300-7.el9', 'noarch'],
      ['python3-libs', '0:3.9.18-3.el9^20240101', 'x86_64'],
    ]);
  });

  it('rejects malformed versions, control characters and extra fields', () => {
    const { packages, rejected } = parseRpmQuery('a\t5.1-1\tx86_64\nb\t0:5.1\tx86_64\nc\u0000\t0:1-1\tx86_64\nd\t0:1-1\tx86_64\tmore\ne\t0:1-1\tx86_64\n');
    expect(packages.map((p) => p.name)).toEqual(['e']);
    expect(rejected).toBe(4);
  });

  it('never throws on 10 000 mutants', () => {
    for (const m of mutants(Buffer.from(RPM), 10_000, 7)) {
      for (const p of parseRpmQuery(m.toString('latin1')).packages) expect(p.version).toMatch(/^\d+:[^-\s]+-[^-\s]+$/);
    }
  });
});
