import { describe, expect, it } from 'vitest';
import { cpe23, splitCpe23 } from '../../core/cpe.js';
import { compareVersions, parseDebianVersion } from '../../core/version.js';
import { BUILTIN_VULNS, builtinCandidates, type BuiltinVuln } from './builtin.js';
import { matchConfigurations } from './cpe-match.js';
import type { CpeMatch } from './types.js';

const byId = (id: string): BuiltinVuln => {
  const v = BUILTIN_VULNS.find((x) => x.id === id);
  if (!v) throw new Error(`${id} is not in the dataset`);
  return v;
};
const entries = (v: BuiltinVuln): CpeMatch[] => v.configurations.flatMap((c) => c.nodes.flatMap((n) => n.cpeMatch));
const app = (vendor: string, product: string, version: string, update?: string): string => cpe23('a', vendor, product, version, update);
/** Does the CVE apply to a service with these CPEs (certain or not)? */
const hits = (id: string, cpes: string[], platform?: string[]): boolean =>
  matchConfigurations(byId(id).configurations, { cpes, ...(platform && { platform }) }, compareVersions) !== undefined;
/** The ids of every built-in CVE that matches. */
const matching = (cpes: string[]): string[] => BUILTIN_VULNS.filter((v) => matchConfigurations(v.configurations, { cpes }, compareVersions)).map((v) => v.id);
const ids = (list: BuiltinVuln[]): string[] => list.map((v) => v.id).sort();

const IN_SCOPE = new Set(['openbsd:openssh', 'apache:http_server', 'f5:nginx', 'vsftpd_project:vsftpd', 'proftpd:proftpd', 'exim:exim', 'postfix:postfix',
  'openssl:openssl', 'oracle:mysql', 'mariadb:mariadb', 'postgresql:postgresql', 'redis:redis', 'samba:samba']);

describe('dataset shape', () => {
  it('has 25–40 entries with valid, unique CVE ids', () => {
    expect(BUILTIN_VULNS.length).toBeGreaterThanOrEqual(25);
    expect(BUILTIN_VULNS.length).toBeLessThanOrEqual(40);
    for (const v of BUILTIN_VULNS) expect(v.id).toMatch(/^CVE-(199\d|20\d\d)-\d{4,7}$/);
    expect(new Set(BUILTIN_VULNS.map((v) => v.id)).size).toBe(BUILTIN_VULNS.length);
  });

  it('has CVSS scores in range, one decimal, with the severity and vector their version implies', () => {
    for (const { id, cvss } of BUILTIN_VULNS) {
      expect(cvss.score, id).toBeGreaterThanOrEqual(0);
      expect(cvss.score, id).toBeLessThanOrEqual(10);
      expect(Math.round(cvss.score * 10) / 10, id).toBe(cvss.score);
      if (cvss.version === '2.0') {
        // NVD's v2 bands: low < 4.0 ≤ medium < 7.0 ≤ high.
        expect(cvss.severity, id).toBe(cvss.score < 4 ? 'low' : cvss.score < 7 ? 'medium' : 'high');
        expect(cvss.vector, id).toMatch(/^AV:[LAN]\/AC:[HML]\/Au:[MSN]\/C:[NPC]\/I:[NPC]\/A:[NPC]$/);
      } else {
        // CVSS v3.x bands (0.0 is "none", which no entry here has).
        expect(cvss.score, id).toBeGreaterThan(0);
        expect(cvss.severity, id).toBe(cvss.score < 4 ? 'low' : cvss.score < 7 ? 'medium' : cvss.score < 9 ? 'high' : 'critical');
        expect(cvss.vector, id).toMatch(new RegExp(`^CVSS:${cvss.version.replace('.', '\\.')}/AV:[NALP]/AC:[LH]/PR:[NLH]/UI:[NR]/S:[UC]/C:[NLH]/I:[NLH]/A:[NLH]$`));
      }
    }
  });

  it('has a one-line summary and a boolean KEV flag', () => {
    for (const v of BUILTIN_VULNS) {
      expect(v.summary.length, v.id).toBeGreaterThan(20);
      expect(v.summary.length, v.id).toBeLessThanOrEqual(140);
      expect(v.summary, v.id).not.toMatch(/[\r\n\t]/);
      expect(typeof v.kev, v.id).toBe('boolean');
    }
    expect(byId('CVE-2021-41773').kev).toBe(true);
    expect(byId('CVE-2014-0160').kev).toBe(true);
    expect(byId('CVE-2024-6387').kev).toBe(false);
  });

  it('has well-formed configurations naming an in-scope product as vulnerable', () => {
    for (const v of BUILTIN_VULNS) {
      expect(v.configurations.length, v.id).toBeGreaterThan(0);
      for (const c of v.configurations) {
        expect(c.nodes.length, v.id).toBeGreaterThan(0);
        if (c.nodes.length > 1) expect(c.operator, v.id).toBe('AND');
        for (const n of c.nodes) {
          expect(n.operator, v.id).toBe('OR');
          expect(n.cpeMatch.length, v.id).toBeGreaterThan(0);
        }
      }
      const vulnerable = new Set<string>();
      for (const m of entries(v)) {
        const f = splitCpe23(m.criteria);
        expect(f, `${v.id} ${m.criteria}`).toHaveLength(11);
        const bounds = [m.versionStartIncluding, m.versionStartExcluding, m.versionEndIncluding, m.versionEndExcluding].filter((b) => b !== undefined);
        // NVD only puts range bounds on criteria whose version is ANY.
        if (bounds.length > 0) expect(f![3], `${v.id} ${m.criteria}`).toBe('*');
        for (const b of bounds) expect(b, v.id).toMatch(/^[0-9][0-9a-z.-]*$/);
        if (m.vulnerable) vulnerable.add(`${f![1]}:${f![2]}`);
      }
      expect([...vulnerable].some((p) => IN_SCOPE.has(p)), v.id).toBe(true);
    }
  });

  it('parses every configuration through the CPE matcher without throwing', () => {
    const probes = [[app('openbsd', 'openssh', '9.2p1')], [app('redis', 'redis', '7.0.0')], [cpe23('a', 'samba', 'samba')], ['cpe:/a:apache:http_server:2.4.49'], ['not a cpe']];
    for (const v of BUILTIN_VULNS) {
      for (const m of entries(v)) {
        expect(() => matchConfigurations(v.configurations, { cpes: [m.criteria] }, compareVersions), v.id).not.toThrow();
      }
      for (const cpes of probes) expect(() => matchConfigurations(v.configurations, { cpes, platform: [cpe23('o', 'debian', 'debian_linux', '12')] }, compareVersions)).not.toThrow();
    }
  });

  it('has Debian fixed versions dpkg can read', () => {
    const withFixes = BUILTIN_VULNS.filter((v) => v.fixedIn !== undefined);
    expect(withFixes.length).toBeGreaterThan(5);
    for (const v of withFixes) {
      for (const f of v.fixedIn!) {
        expect(f.distro, v.id).toBe('debian');
        expect(f.package, v.id).toMatch(/^[a-z0-9][a-z0-9.+-]+$/);
        expect(parseDebianVersion(f.version), `${v.id} ${f.version}`).toBeDefined();
      }
    }
  });

  it('is frozen, so a caller cannot change the shared data', () => {
    expect(Object.isFrozen(BUILTIN_VULNS)).toBe(true);
    expect(Object.isFrozen(byId('CVE-2024-6387').configurations[0]!.nodes[0]!.cpeMatch[0])).toBe(true);
    expect(() => {
      (BUILTIN_VULNS as BuiltinVuln[]).push(byId('CVE-2024-6387'));
    }).toThrow();
  });
});

describe('realistic matches', () => {
  const ssh = (v: string, u?: string): string => app('openbsd', 'openssh', v, u);
  const httpd = (v: string): string => app('apache', 'http_server', v);

  it('OpenSSH 9.2p1 has regreSSHion and the agent bug; 9.8p1 has neither', () => {
    expect(hits('CVE-2024-6387', [ssh('9.2p1')])).toBe(true);
    expect(hits('CVE-2023-38408', [ssh('9.2p1')])).toBe(true);
    expect(hits('CVE-2024-6387', [ssh('9.2', 'p1')])).toBe(true);
    expect(hits('CVE-2024-6387', ['cpe:/a:openbsd:openssh:9.2p1'])).toBe(true);
    expect(hits('CVE-2024-6387', [ssh('9.8p1')])).toBe(false);
    expect(hits('CVE-2024-6387', [ssh('9.8', 'p1')])).toBe(false);
    expect(matching([ssh('9.8p1')])).toEqual([]);
  });

  it('models the regreSSHion ranges as NVD does: < 4.4, 8.5p1, 8.6 … < 9.8', () => {
    expect(hits('CVE-2024-6387', [ssh('4.3p2')])).toBe(true);
    expect(hits('CVE-2024-6387', [ssh('8.5p1')])).toBe(true);
    expect(hits('CVE-2024-6387', [ssh('8.4p1')])).toBe(false);
    expect(hits('CVE-2024-6387', [ssh('7.4p1')])).toBe(false);
    expect(hits('CVE-2023-38408', [ssh('9.3p1')])).toBe(true);
    expect(hits('CVE-2023-38408', [ssh('9.3p2')])).toBe(false);
    expect(hits('CVE-2018-15473', [ssh('7.4p1')])).toBe(true);
  });

  it('Apache httpd 2.4.49 has the path traversal, 2.4.51 does not', () => {
    expect(hits('CVE-2021-41773', [httpd('2.4.49')])).toBe(true);
    expect(hits('CVE-2021-42013', [httpd('2.4.49')])).toBe(true);
    expect(hits('CVE-2021-41773', [httpd('2.4.50')])).toBe(false);
    expect(hits('CVE-2021-42013', [httpd('2.4.50')])).toBe(true);
    expect(hits('CVE-2021-41773', [httpd('2.4.51')])).toBe(false);
    expect(hits('CVE-2021-42013', [httpd('2.4.51')])).toBe(false);
    expect(hits('CVE-2021-40438', [httpd('2.4.48')])).toBe(true);
    expect(hits('CVE-2021-40438', [httpd('2.4.49')])).toBe(false);
    expect(matching([httpd('2.4.58')])).toEqual([]);
  });

  it('vsftpd 2.3.4 has the backdoor, 3.0.3 does not (NVD vendor vsftpd_project)', () => {
    expect(hits('CVE-2011-2523', [app('vsftpd_project', 'vsftpd', '2.3.4')])).toBe(true);
    expect(hits('CVE-2011-2523', [app('vsftpd_project', 'vsftpd', '3.0.3')])).toBe(false);
    // nmap says cpe:/a:vsftpd:vsftpd and older data beasts:vsftpd: neither is NVD's name today.
    expect(hits('CVE-2011-2523', [app('beasts', 'vsftpd', '2.3.4')])).toBe(false);
  });

  it('matches the other services on their version ranges', () => {
    expect(hits('CVE-2021-23017', [app('f5', 'nginx', '1.20.0')])).toBe(true);
    expect(hits('CVE-2021-23017', [app('f5', 'nginx', '1.20.1')])).toBe(false);
    expect(hits('CVE-2013-2028', [app('f5', 'nginx', '1.4.0')])).toBe(true);
    expect(hits('CVE-2015-3306', [app('proftpd', 'proftpd', '1.3.5')])).toBe(true);
    expect(hits('CVE-2015-3306', [app('proftpd', 'proftpd', '1.3.5b')])).toBe(false);
    expect(hits('CVE-2019-12815', [app('proftpd', 'proftpd', '1.3.5b')])).toBe(true);
    expect(hits('CVE-2019-12815', [app('proftpd', 'proftpd', '1.3.6')])).toBe(false);
    expect(hits('CVE-2019-10149', [app('exim', 'exim', '4.91')])).toBe(true);
    expect(hits('CVE-2019-10149', [app('exim', 'exim', '4.92')])).toBe(false);
    expect(hits('CVE-2019-15846', [app('exim', 'exim', '4.92.1')])).toBe(true);
    expect(hits('CVE-2019-15846', [app('exim', 'exim', '4.92.2')])).toBe(false);
    expect(hits('CVE-2023-51764', [app('postfix', 'postfix', '3.7.5')])).toBe(true);
    expect(hits('CVE-2023-51764', [app('postfix', 'postfix', '3.7.9')])).toBe(false);
    expect(hits('CVE-2014-0160', [app('openssl', 'openssl', '1.0.1f')])).toBe(true);
    expect(hits('CVE-2014-0160', [app('openssl', 'openssl', '1.0.1g')])).toBe(false);
    expect(hits('CVE-2014-0160', [app('openssl', 'openssl', '1.0.2')])).toBe(false);
    expect(hits('CVE-2022-3602', [app('openssl', 'openssl', '3.0.6')])).toBe(true);
    expect(hits('CVE-2022-3602', [app('openssl', 'openssl', '3.0.7')])).toBe(false);
    expect(hits('CVE-2012-2122', [app('oracle', 'mysql', '5.1.61')])).toBe(true);
    expect(hits('CVE-2012-2122', [app('oracle', 'mysql', '5.1.63')])).toBe(false);
    expect(hits('CVE-2012-2122', [app('mariadb', 'mariadb', '5.5.22')])).toBe(true);
    expect(hits('CVE-2023-5869', [app('postgresql', 'postgresql', '15.4')])).toBe(true);
    expect(hits('CVE-2023-5869', [app('postgresql', 'postgresql', '15.5')])).toBe(false);
    expect(hits('CVE-2023-5869', [app('postgresql', 'postgresql', '16.0')])).toBe(true);
    expect(hits('CVE-2023-5869', [app('postgresql', 'postgresql', '16.1')])).toBe(false);
    expect(hits('CVE-2022-24834', [app('redis', 'redis', '7.0.11')])).toBe(true);
    expect(hits('CVE-2022-24834', [app('redis', 'redis', '7.0.12')])).toBe(false);
    expect(hits('CVE-2017-7494', [app('samba', 'samba', '4.5.9')])).toBe(true);
    expect(hits('CVE-2017-7494', [app('samba', 'samba', '4.6.4')])).toBe(false);
    expect(hits('CVE-2021-44142', [app('samba', 'samba', '4.13.16')])).toBe(true);
  });

  it('keeps CVE-2022-0543 as NVD models it: redis:- on Debian/Ubuntu, so no versioned banner matches', () => {
    const m = entries(byId('CVE-2022-0543')).filter((e) => e.vulnerable);
    expect(m.map((e) => e.criteria)).toEqual(['cpe:2.3:a:redis:redis:-:*:*:*:*:*:*:*']);
    expect(hits('CVE-2022-0543', [app('redis', 'redis', '6.0.16')], [cpe23('o', 'debian', 'debian_linux', '11.0')])).toBe(false);
    expect(byId('CVE-2022-0543').fixedIn?.map((f) => f.version)).toContain('5:6.0.16-1+deb11u2');
  });
});

describe('builtinCandidates', () => {
  it('selects by the vulnerable vendor:product pairs', () => {
    expect(ids(builtinCandidates([{ vendor: 'openbsd', product: 'openssh' }]))).toEqual(['CVE-2018-15473', 'CVE-2023-38408', 'CVE-2024-6387']);
    expect(ids(builtinCandidates([{ vendor: 'apache', product: 'http_server' }]))).toEqual(
      ['CVE-2017-15715', 'CVE-2019-0211', 'CVE-2021-40438', 'CVE-2021-41773', 'CVE-2021-42013', 'CVE-2021-44790', 'CVE-2023-25690']);
    expect(ids(builtinCandidates([{ vendor: 'f5', product: 'nginx' }]))).toEqual(['CVE-2013-2028', 'CVE-2017-7529', 'CVE-2021-23017']);
    expect(ids(builtinCandidates([{ vendor: 'vsftpd_project', product: 'vsftpd' }]))).toEqual(['CVE-2011-2523']);
    expect(ids(builtinCandidates([{ vendor: 'proftpd', product: 'proftpd' }]))).toEqual(['CVE-2015-3306', 'CVE-2019-12815']);
    expect(ids(builtinCandidates([{ vendor: 'exim', product: 'exim' }]))).toEqual(['CVE-2019-10149', 'CVE-2019-15846', 'CVE-2020-28017']);
    expect(ids(builtinCandidates([{ vendor: 'postfix', product: 'postfix' }]))).toEqual(['CVE-2023-51764']);
    expect(ids(builtinCandidates([{ vendor: 'openssl', product: 'openssl' }]))).toEqual(['CVE-2014-0160', 'CVE-2022-0778', 'CVE-2022-3602']);
    expect(ids(builtinCandidates([{ vendor: 'oracle', product: 'mysql' }]))).toEqual(['CVE-2012-2122', 'CVE-2016-6662']);
    expect(ids(builtinCandidates([{ vendor: 'mariadb', product: 'mariadb' }]))).toEqual(['CVE-2012-2122', 'CVE-2016-6662', 'CVE-2021-27928', 'CVE-2022-0778']);
    expect(ids(builtinCandidates([{ vendor: 'postgresql', product: 'postgresql' }]))).toEqual(['CVE-2023-5869']);
    expect(ids(builtinCandidates([{ vendor: 'redis', product: 'redis' }]))).toEqual(['CVE-2022-0543', 'CVE-2022-24834', 'CVE-2023-45145', 'CVE-2025-49844']);
    expect(ids(builtinCandidates([{ vendor: 'samba', product: 'samba' }]))).toEqual(['CVE-2017-7494', 'CVE-2021-44142']);
  });

  it('unions several products, keeps dataset order and lists each CVE once', () => {
    const got = builtinCandidates([{ vendor: 'mariadb', product: 'mariadb' }, { vendor: 'oracle', product: 'mysql' }, { vendor: 'mariadb', product: 'mariadb' }]);
    expect(got.map((v) => v.id)).toEqual(BUILTIN_VULNS.filter((v) => got.includes(v)).map((v) => v.id));
    expect(new Set(got).size).toBe(got.length);
    expect(got).toHaveLength(4);
  });

  it('ignores case and surrounding blanks, but applies no vendor aliases', () => {
    expect(ids(builtinCandidates([{ vendor: ' OpenBSD ', product: 'OpenSSH' }]))).toHaveLength(3);
    expect(builtinCandidates([{ vendor: 'nginx', product: 'nginx' }])).toEqual([]);
    expect(builtinCandidates([{ vendor: 'beasts', product: 'vsftpd' }])).toEqual([]);
    expect(builtinCandidates([{ vendor: 'openbsd', product: 'openssh_server' }])).toEqual([]);
  });

  it('selects nothing from hostile input', () => {
    expect(builtinCandidates([])).toEqual([]);
    for (const bad of [null, undefined, 'openbsd:openssh', 42, {}, [null], [42], [{ vendor: 1, product: 2 }], [{ vendor: 'openbsd' }], [{ vendor: 'x'.repeat(100_000), product: 'openssh' }]]) {
      expect(builtinCandidates(bad as never)).toEqual([]);
    }
    expect(builtinCandidates([{ vendor: 'openbsd:openssh', product: '' }])).toEqual([]);
    expect(builtinCandidates([{ vendor: '*', product: '*' }])).toEqual([]);
  });
});
