import { describe, expect, it } from 'vitest';
import { tierRank } from '../core/finding.js';
import { deriveFindings, type ServiceSubject } from './findings.js';

const redis: ServiceSubject = {
  address: '203.0.113.7',
  protocol: 'tcp',
  port: 6379,
  state: 'open',
  service: { name: 'redis', product: 'Redis key-value store', version: '7.0.15', method: 'probed', confidence: 10, cpe: ['cpe:2.3:a:redis:redis:7.0.15:*:*:*:*:*:*:*'], evidence: [{ id: 'redis-no-auth', detail: 'Redis answers commands without authentication' }] },
  vulns: [
    { id: 'CVE-2023-45145', cvss: 3.6, confidence: 'banner-based' },
    { id: 'CVE-2022-0543', cvss: 10, kev: true, epss: 0.94, confidence: 'confirmed', summary: 'Lua sandbox escape' },
    { id: 'CVE-2022-0543', cvss: 10, kev: true, confidence: 'confirmed' },
  ],
};

describe('deriveFindings', () => {
  it('makes one exposure finding per open service, one per distinct CVE and one per failed check, with stable keys', () => {
    const out = deriveFindings([redis, { ...redis, port: 6380, state: 'closed' }]);
    expect(out.map((f) => f.key)).toEqual([
      '203.0.113.7/tcp/6379/exposure',
      '203.0.113.7/tcp/6379/vulnerability/CVE-2023-45145',
      '203.0.113.7/tcp/6379/vulnerability/CVE-2022-0543',
      '203.0.113.7/tcp/6379/check/redis-no-auth',
    ]);
    expect(out[0]?.title).toBe('Redis key-value store 7.0.15 exposed on 6379/tcp');
    expect(out[1]?.title).toBe('CVE-2023-45145 in Redis key-value store 7.0.15 (by banner version, possibly backported)');
    expect(out[2]?.cve).toEqual({ id: 'CVE-2022-0543', cvss: 10, kev: true, epss: 0.94, confidence: 'confirmed', summary: 'Lua sandbox escape' });
    for (const f of out) {
      expect(f.reasons.length).toBeGreaterThan(0);
      expect(f.service?.cpe).toEqual(['cpe:2.3:a:redis:redis:7.0.15:*:*:*:*:*:*:*']);
    }
    // A known-exploited CVE on an internet-facing database ranks above the bare exposure.
    expect(tierRank(out[2]!.tier)).toBeLessThanOrEqual(tierRank('high'));
    expect(out[2]!.score).toBeGreaterThan(out[0]!.score);
    expect(out[3]!.reasons.map((r) => r.text).join(' ')).toMatch(/authentication/i);
  });

  it('is deterministic: the same input gives the same findings', () => {
    expect(deriveFindings([redis])).toEqual(deriveFindings([redis]));
  });

  it('names an unidentified service plainly and survives hostile service data', () => {
    const out = deriveFindings([
      { address: '198.18.0.22', protocol: 'tcp', port: 31337, state: 'open' },
      { address: '198.18.0.22', protocol: 'udp', port: 0, state: 'open', service: { name: '\u001b[31m<x>', method: 'table', confidence: Number.NaN, cpe: [], evidence: [{ id: '', detail: 'ignored' }] }, vulns: Array.from({ length: 5000 }, (_, i) => ({ id: `CVE-2020-${10000 + i}`, cvss: Number.NaN, confidence: 'banner-based' as const })) },
    ]);
    expect(out[0]?.title).toBe('unknown service exposed on 31337/tcp');
    expect(out.filter((f) => f.kind === 'vulnerability')).toHaveLength(500);
    expect(out.filter((f) => f.kind === 'check')).toHaveLength(0);
  });

  it('says so when a service is open from some vantage points and filtered from others', () => {
    const [plain] = deriveFindings([{ ...redis, vulns: [] }]);
    const [mixed] = deriveFindings([{ ...redis, vulns: [], filteredButReachable: true }]);
    expect(plain?.reasons.map((r) => r.rule)).not.toContain('filtered-but-reachable');
    expect(mixed?.reasons.map((r) => r.rule)).toContain('filtered-but-reachable');
    expect(mixed!.score).toBeGreaterThan(plain!.score);
  });
});
