import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Service } from '../core/model.js';
import { parseNvdPage } from './vulndb/nvd.js';
import { matchVulns, type VulnCandidate } from './vuln-match.js';

const page = parseNvdPage(readFileSync(join(import.meta.dirname, '../../test/fixtures/nvd/page-1.json')), 'page-1.json');
const fix = { distro: 'debian', package: 'openssh-server', version: '1:9.2p1-2+deb12u3' };
const candidates: VulnCandidate[] = page.cves.map((c) => ({
  id: c.id,
  description: c.description,
  configurations: c.configurations,
  ...(c.cvss && { cvss: { score: c.cvss.score } }),
  ...(c.id === 'CVE-2024-6387' && { fixedIn: [fix], kev: { dateAdded: '2024-07-01' }, epss: { epss: 0.5 } }),
}));
const ssh = (version: string, extra: Partial<Service> = {}): Service => ({ name: 'ssh', product: 'OpenSSH', version, method: 'probed', confidence: 10, cpe: [`cpe:2.3:a:openbsd:openssh:${version}:*:*:*:*:*:*:*`], ...extra });
const ids = (v: ReturnType<typeof matchVulns>) => v.map((x) => `${x.id}:${x.confidence}`).sort();

describe('matchVulns', () => {
  it('keeps a version-only match as banner-based (possibly backported), with CVSS, KEV and EPSS', () => {
    const out = matchVulns({ service: ssh('9.2p1') }, candidates);
    expect(ids(out)).toEqual(['CVE-2023-38408:banner-based', 'CVE-2024-6387:banner-based']);
    expect(out.find((v) => v.id === 'CVE-2024-6387')).toMatchObject({ kev: true, epss: 0.5, cvss: 8.1 });
    expect(out.find((v) => v.id === 'CVE-2024-6387')?.summary).toMatch(/9\.2p1 is in the vulnerable range/);
  });

  it('uses the distribution fix: a patched package is no finding, an older one is confirmed', () => {
    expect(ids(matchVulns({ service: ssh('9.2p1', { distro: 'Debian', packageRevision: '2+deb12u3' }) }, candidates))).toEqual(['CVE-2023-38408:banner-based']);
    expect(ids(matchVulns({ service: ssh('9.2p1', { distro: 'Debian', packageRevision: '2+deb12u2' }) }, candidates))).toEqual(['CVE-2023-38408:banner-based', 'CVE-2024-6387:confirmed']);
    // An SSH audit's package list beats the banner.
    const audited = (version: string) => matchVulns({ service: ssh('9.2p1'), packages: [{ name: 'openssh-server', version, manager: 'dpkg' }] }, candidates);
    expect(ids(audited('1:9.2p1-2+deb12u3'))).toEqual(['CVE-2023-38408:banner-based']);
    expect(ids(audited('1:9.2p1-2+deb12u1'))).toEqual(['CVE-2023-38408:banner-based', 'CVE-2024-6387:confirmed']);
    // Another distribution's fix says nothing about this one.
    expect(ids(matchVulns({ service: ssh('9.2p1', { distro: 'Ubuntu', packageRevision: '2ubuntu0.1' }) }, candidates))).toEqual(['CVE-2023-38408:banner-based', 'CVE-2024-6387:banner-based']);
  });

  it('matches nothing outside the ranges, without a version, or without a CPE', () => {
    expect(matchVulns({ service: ssh('9.8p1') }, candidates)).toEqual([]);
    expect(matchVulns({ service: { ...ssh('9.2p1'), cpe: ['cpe:2.3:a:openbsd:openssh:*:*:*:*:*:*:*:*'] } }, candidates)).toEqual([]);
    expect(matchVulns({ service: { ...ssh('9.2p1'), cpe: [] } }, candidates)).toEqual([]);
    // nmap's 2.2 URIs are converted.
    expect(ids(matchVulns({ service: { ...ssh('9.2p1'), cpe: ['cpe:/a:openbsd:openssh:9.2p1'] } }, candidates))).toHaveLength(2);
  });

  it('survives hostile candidates and services', () => {
    const junk: VulnCandidate[] = [
      { id: 'CVE-0000-0001', configurations: 'nope' },
      { id: 'CVE-0000-0002', configurations: [null, 1, { nodes: 'x' }, { nodes: [{ operator: 'OR', cpeMatch: [{ vulnerable: true, criteria: 'x'.repeat(100_000) }] }] }] },
      { id: 'CVE-0000-0003', configurations: [], cvss: { score: Number.NaN }, fixedIn: [{ distro: 'debian', package: 'p', version: '::::' }] },
    ];
    expect(matchVulns({ service: ssh('9.2p1', { distro: 'Debian', packageRevision: '\u0000' }) }, junk)).toEqual([]);
    expect(matchVulns({ service: { ...ssh('9.2p1'), cpe: [42 as unknown as string, 'cpe:/'] } }, candidates)).toEqual([]);
  });

  it('compares only with the fix for the same release, by source or binary package name', () => {
    const withFixes = (fixedIn: { distro: string; package: string; version: string }[]) => candidates.map((c) => (c.id === 'CVE-2024-6387' ? { ...c, fixedIn } : c));
    const bullseyeOnly = withFixes([{ distro: 'debian', package: 'openssh', version: '1:8.4p1-5+deb11u3' }]);
    // A bookworm host says nothing against a bullseye fix: kept as banner-based, neither dropped nor confirmed.
    expect(ids(matchVulns({ service: ssh('9.2p1', { distro: 'Debian', packageRevision: '2+deb12u3' }) }, bullseyeOnly))).toContain('CVE-2024-6387:banner-based');
    expect(ids(matchVulns({ service: ssh('9.2p1'), packages: [{ name: 'openssh-server', version: '1:9.2p1-2+deb12u3', manager: 'dpkg' }] }, bullseyeOnly))).toContain('CVE-2024-6387:banner-based');
    // The advisory's source package (openssh) covers the installed binary package (openssh-server).
    const both = withFixes([{ distro: 'debian', package: 'openssh', version: '1:9.2p1-2+deb12u3' }, { distro: 'debian', package: 'openssh', version: '1:8.4p1-5+deb11u3' }]);
    expect(ids(matchVulns({ service: ssh('9.2p1'), packages: [{ name: 'openssh-server', version: '1:9.2p1-2+deb12u3', manager: 'dpkg' }] }, both))).toEqual(['CVE-2023-38408:banner-based']);
    expect(ids(matchVulns({ service: ssh('9.2p1'), packages: [{ name: 'openssh-server', version: '1:9.2p1-2+deb12u2', manager: 'dpkg' }] }, both))).toContain('CVE-2024-6387:confirmed');
  });

  it('matches a product under the vendor name nmap gives it', () => {
    const nginx: VulnCandidate = { id: 'CVE-2021-23017', configurations: [{ operator: 'OR', negate: false, nodes: [{ operator: 'OR', negate: false, cpeMatch: [{ vulnerable: true, criteria: 'cpe:2.3:a:f5:nginx:*:*:*:*:*:*:*:*', versionStartIncluding: '0.6.18', versionEndExcluding: '1.20.1' }] }] }] };
    const service: Service = { name: 'http', product: 'nginx', version: '1.18.0', method: 'probed', confidence: 10, cpe: ['cpe:/a:igor_sysoev:nginx:1.18.0'] };
    expect(ids(matchVulns({ service }, [nginx]))).toEqual(['CVE-2021-23017:banner-based']);
  });
});
