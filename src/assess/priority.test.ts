import { describe, expect, it } from 'vitest';
import { prng } from '../../test/helpers/fuzz.js';
import { RULES, TIERS, TIER_THRESHOLDS, assessService, rulesMarkdown, tierForScore, type AssessInput, type ServiceFacts, type Tier } from './priority.js';

const PUBLIC = '93.184.216.34';
const PUBLIC6 = '2606:2800:220:1::1';
const PRIVATE = '10.0.0.5';
const LAB = '198.18.0.20';

const svc = (name: string, port: number, extra: Partial<ServiceFacts> = {}): ServiceFacts => ({
  name,
  port,
  protocol: 'tcp',
  state: 'open',
  confidence: 10,
  method: 'probed',
  ...extra,
});

interface Case {
  name: string;
  input: AssessInput;
  tier: Tier;
  fires: string[];
  not?: string[];
}

/** Realistic cases, each with the tier a seasoned analyst would give and the reasons that must show. */
const CASES: Case[] = [
  { name: 'redis on a public IP with no auth', input: { service: svc('redis', 6379, { product: 'Redis key-value store' }), address: PUBLIC, safeCheckFailed: [{ id: 'redis-no-auth', detail: 'Redis answered PING and INFO without authentication' }] }, tier: 'critical', fires: ['database', 'exposure-internet', 'sensitive-on-internet', 'unauthenticated-access'] },
  { name: 'redis on a private IP with no auth', input: { service: svc('redis', 6379), address: PRIVATE, safeCheckFailed: [{ id: 'redis-no-auth', detail: 'Redis answered PING' }] }, tier: 'high', fires: ['database', 'exposure-internal', 'unauthenticated-access'] },
  { name: 'redis on a public IP, auth unknown', input: { service: svc('redis', 6379), address: PUBLIC }, tier: 'high', fires: ['database', 'sensitive-on-internet'] },
  { name: 'ssh on a private address, no CVEs', input: { service: svc('ssh', 22, { product: 'OpenSSH', version: '9.6p1' }), address: PRIVATE }, tier: 'low', fires: ['remote-admin', 'exposure-internal'], not: ['unusual-port', 'alternate-port'] },
  { name: 'ssh on a public address', input: { service: svc('ssh', 22, { product: 'OpenSSH' }), address: PUBLIC }, tier: 'medium', fires: ['remote-admin', 'exposure-internet'], not: ['sensitive-on-internet'] },
  { name: 'ssh on a public IPv6 address with password auth', input: { service: svc('ssh', 22), address: PUBLIC6, safeCheckFailed: [{ id: 'ssh-password-auth', detail: 'password authentication offered (methods: publickey,password)' }] }, tier: 'medium', fires: ['remote-admin', 'exposure-internet', 'weak-configuration'], not: ['unauthenticated-access'] },
  { name: 'ssh accepting auth none on the internet', input: { service: svc('ssh', 22), address: PUBLIC, safeCheckFailed: [{ id: 'ssh-no-auth', detail: 'server accepted user without any credential' }] }, tier: 'critical', fires: ['unauthenticated-access'] },
  { name: 'ssh moved to 2222', input: { service: svc('ssh', 2222), address: PRIVATE }, tier: 'low', fires: ['alternate-port'], not: ['unusual-port'] },
  { name: 'postgres bound to 127.0.0.1 on a public host', input: { service: svc('postgresql', 5432, { method: 'table', confidence: 3 }), address: PUBLIC, listenerScope: 'loopback', bindAddress: '127.0.0.1' }, tier: 'low', fires: ['database', 'loopback-only'], not: ['exposure-internet', 'uncertain-identification'] },
  { name: 'postgres found on 127.0.0.1', input: { service: svc('postgresql', 5432), address: '127.0.0.1' }, tier: 'low', fires: ['database', 'loopback-only'] },
  { name: 'redis with no auth on loopback is capped', input: { service: svc('redis', 6379), address: '::1', safeCheckFailed: [{ id: 'redis-no-auth', detail: 'x' }] }, tier: 'low', fires: ['loopback-only', 'unauthenticated-access'] },
  { name: 'telnet on a private address', input: { service: svc('telnet', 23, { product: 'Linux telnetd' }), address: '192.168.1.1' }, tier: 'high', fires: ['remote-admin', 'cleartext-remote-shell'], not: ['cleartext'] },
  { name: 'telnet on a public address', input: { service: svc('telnet', 23), address: PUBLIC }, tier: 'high', fires: ['cleartext-remote-shell', 'exposure-internet'] },
  { name: 'telnet on a ULA address', input: { service: svc('telnet', 23), address: 'fd00::23' }, tier: 'high', fires: ['cleartext-remote-shell'] },
  { name: 'telnet in the lab range', input: { service: svc('telnet', 23), address: LAB }, tier: 'high', fires: ['cleartext-remote-shell', 'exposure-internal'] },
  { name: 'telnet bound to loopback only', input: { service: svc('telnet', 23), address: PRIVATE, bindAddress: '127.0.0.1' }, tier: 'low', fires: ['cleartext-remote-shell', 'loopback-only'] },
  { name: 'rlogin from a listener audit', input: { service: svc('login', 513, { method: 'table', confidence: 3 }), address: PRIVATE, listenerScope: 'all' }, tier: 'high', fires: ['cleartext-remote-shell'] },
  { name: 'http on 80, public', input: { service: svc('http', 80, { product: 'nginx' }), address: PUBLIC }, tier: 'low', fires: ['exposure-internet'], not: ['cleartext', 'alternate-port'] },
  { name: 'http on 80, private', input: { service: svc('http', 80), address: PRIVATE }, tier: 'info', fires: ['exposure-internal'] },
  { name: 'http with Basic auth and no TLS, public', input: { service: svc('http', 80, { wwwAuthenticate: 'Basic realm="router"' }), address: PUBLIC }, tier: 'medium', fires: ['cleartext'] },
  { name: 'https with Basic auth', input: { service: svc('http', 443, { tls: true, wwwAuthenticate: 'Basic realm="router"' }), address: PUBLIC }, tier: 'low', fires: ['exposure-internet'], not: ['cleartext', 'unusual-port', 'alternate-port'] },
  { name: 'unknown service on 31337', input: { service: svc('unknown', 31337, { confidence: 0 }), address: PRIVATE }, tier: 'medium', fires: ['unknown-service', 'unusual-port'], not: ['uncertain-identification'] },
  { name: 'unknown service on 31337, public', input: { service: svc('unknown', 31337), address: PUBLIC }, tier: 'medium', fires: ['unknown-service', 'unusual-port', 'exposure-internet'] },
  { name: 'tcpwrapped on 22', input: { service: svc('tcpwrapped', 22), address: PRIVATE }, tier: 'low', fires: ['unknown-service'], not: ['unusual-port'] },
  { name: 'http answering on 22', input: { service: svc('http', 22), address: PRIVATE }, tier: 'low', fires: ['unusual-port'] },
  { name: 'ssh identified with low confidence', input: { service: svc('ssh', 22, { confidence: 3 }), address: PRIVATE }, tier: 'medium', fires: ['remote-admin', 'uncertain-identification'] },
  { name: 'nmap name marked uncertain', input: { service: svc('http?', 8000), address: PRIVATE }, tier: 'low', fires: ['uncertain-identification'] },
  { name: 'docker API in cleartext on the internet', input: { service: svc('http', 2375, { product: 'Docker Engine API' }), address: PUBLIC }, tier: 'critical', fires: ['admin-panel', 'no-auth-by-default', 'sensitive-on-internet'] },
  { name: 'docker API over TLS, private', input: { service: svc('docker', 2376, { tls: true }), address: PRIVATE }, tier: 'medium', fires: ['admin-panel'], not: ['no-auth-by-default'] },
  { name: 'kubelet by its port in the DMZ', input: { service: svc('https', 10250, { tls: true }), address: '172.16.0.9', zone: 'dmz' }, tier: 'medium', fires: ['admin-panel', 'exposure-dmz'] },
  { name: 'memcached, private', input: { service: svc('memcached', 11211), address: PRIVATE }, tier: 'medium', fires: ['database', 'no-auth-by-default'] },
  { name: 'memcached confirmed open', input: { service: svc('memcached', 11211), address: PRIVATE, safeCheckFailed: [{ id: 'memcached-no-auth', detail: 'stats without auth' }] }, tier: 'high', fires: ['unauthenticated-access'], not: ['no-auth-by-default'] },
  { name: 'mqtt broker accepting anonymous clients', input: { service: svc('mqtt', 1883, { product: 'Mosquitto' }), address: PRIVATE, safeCheckFailed: [{ id: 'mqtt-anonymous', detail: 'CONNECT without user name' }] }, tier: 'high', fires: ['broker', 'unauthenticated-access'] },
  { name: 'kafka on the internet', input: { service: svc('kafka', 9092), address: PUBLIC }, tier: 'medium', fires: ['broker', 'sensitive-on-internet'] },
  { name: 'smb, private', input: { service: svc('microsoft-ds', 445, { product: 'Samba smbd' }), address: PRIVATE }, tier: 'low', fires: ['file-sharing'] },
  { name: 'smb on the internet without signing', input: { service: svc('microsoft-ds', 445), address: PUBLIC, safeCheckFailed: [{ id: 'smb-signing-not-required', detail: 'SMB 3.1.1 server does not require message signing' }] }, tier: 'high', fires: ['file-sharing', 'sensitive-on-internet', 'weak-configuration'] },
  { name: 'anonymous ftp, private', input: { service: svc('ftp', 21, { product: 'vsftpd' }), address: PRIVATE, safeCheckFailed: [{ id: 'ftp-anonymous', detail: 'anonymous FTP login accepted' }] }, tier: 'high', fires: ['file-sharing', 'cleartext', 'unauthenticated-access'] },
  { name: 'pop3 without TLS', input: { service: svc('pop3', 110), address: PRIVATE }, tier: 'low', fires: ['cleartext'] },
  { name: 'imap with STARTTLS but cleartext logins', input: { service: svc('imap', 143, { startTls: true }), address: PUBLIC, safeCheckFailed: [{ id: 'imap-plaintext-auth', detail: 'IMAP accepts cleartext logins before TLS' }] }, tier: 'medium', fires: ['weak-configuration'], not: ['cleartext'] },
  { name: 'ldap anonymous root DSE is a weakness, not a login', input: { service: svc('ldap', 389), address: PRIVATE, safeCheckFailed: [{ id: 'ldap-anonymous-rootdse', detail: 'root DSE readable' }] }, tier: 'low', fires: ['cleartext', 'weak-configuration'], not: ['unauthenticated-access'] },
  { name: 'critical CVE, confirmed, on a public ssh', input: { service: svc('ssh', 22, { product: 'OpenSSH', version: '8.5p1' }), address: PUBLIC, vulns: [{ id: 'CVE-2024-6387', cvss: 8.1, epss: 0.42, confidence: 'confirmed' }, { id: 'CVE-2023-38408', cvss: 9.8, confidence: 'confirmed' }] }, tier: 'critical', fires: ['cve-critical', 'cve-epss'], not: ['cve-high', 'cve-banner-only'] },
  { name: 'high CVE from a banner on a private http', input: { service: svc('http', 80, { product: 'Apache httpd', version: '2.4.49' }), address: PRIVATE, vulns: [{ id: 'CVE-2021-40438', cvss: 9.0 - 1.0, confidence: 'banner-based' }] }, tier: 'low', fires: ['cve-high', 'cve-banner-only'] },
  { name: 'KEV CVE on an internet-facing service', input: { service: svc('http', 80, { product: 'Apache httpd', version: '2.4.49' }), address: PUBLIC, vulns: [{ id: 'CVE-2021-41773', cvss: 7.5, kev: true, epss: 0.97, confidence: 'banner-based' }] }, tier: 'critical', fires: ['cve-high', 'cve-kev', 'cve-kev-internet', 'cve-epss', 'cve-banner-only'] },
  { name: 'KEV with a low score, private: raised to medium', input: { service: svc('http', 80), address: PRIVATE, vulns: [{ id: 'CVE-2020-0001', cvss: 3.1, kev: true, confidence: 'confirmed' }] }, tier: 'medium', fires: ['cve-low', 'cve-kev'], not: ['cve-kev-internet'] },
  { name: 'KEV with a low score behind an internet zone: raised to high', input: { service: svc('http', 80), address: PRIVATE, zone: 'internet', vulns: [{ id: 'CVE-2020-0001', cvss: 3.1, kev: true, confidence: 'confirmed' }] }, tier: 'high', fires: ['cve-kev-internet', 'exposure-internet'] },
  { name: 'KEV lifts the loopback cap', input: { service: svc('http', 8080), address: PUBLIC, listenerScope: 'loopback', vulns: [{ id: 'CVE-2023-46604', cvss: 9.8, kev: true, confidence: 'confirmed' }] }, tier: 'medium', fires: ['loopback-only', 'cve-kev', 'cve-critical'] },
  { name: 'critical CVE on loopback without KEV stays low', input: { service: svc('http', 8080), address: '127.0.0.1', vulns: [{ id: 'CVE-2023-0001', cvss: 9.8, confidence: 'confirmed' }] }, tier: 'low', fires: ['loopback-only', 'cve-critical'] },
  { name: 'medium CVE on a public web server', input: { service: svc('http', 80), address: PUBLIC, vulns: [{ id: 'CVE-2023-0002', cvss: 5.3, confidence: 'confirmed' }] }, tier: 'medium', fires: ['cve-medium'] },
  { name: 'CVE with no usable CVSS', input: { service: svc('http', 80), address: PUBLIC, vulns: [{ id: 'CVE-2023-0003', cvss: Number.NaN, confidence: 'confirmed' }] }, tier: 'medium', fires: ['cve-unscored'] },
  { name: 'closed port', input: { service: svc('ssh', 22, { state: 'closed' }), address: PUBLIC }, tier: 'info', fires: ['not-open'] },
  { name: 'filtered port with a critical CVE stays info', input: { service: svc('ssh', 22, { state: 'filtered' }), address: PUBLIC, vulns: [{ id: 'CVE-1', cvss: 10, confidence: 'confirmed' }] }, tier: 'info', fires: ['not-open'] },
  { name: 'filtered here but open from elsewhere', input: { service: svc('mysql', 3306, { state: 'filtered' }), address: PRIVATE, filteredButReachable: true }, tier: 'medium', fires: ['filtered-but-reachable', 'database'], not: ['not-open'] },
  { name: 'mysql behind a declared internal zone on a public IP', input: { service: svc('mysql', 3306), address: PUBLIC, zone: 'internal' }, tier: 'low', fires: ['exposure-internal'], not: ['exposure-internet', 'sensitive-on-internet'] },
  { name: 'host name without a zone', input: { service: svc('ssh', 22), address: 'bastion.example.com' }, tier: 'low', fires: ['exposure-unknown'] },
  { name: 'service the policy allows', input: { service: svc('ssh', 22), address: PUBLIC, expected: true }, tier: 'medium', fires: ['expected-service'] },
  { name: 'unexpected service on a host with many', input: { service: svc('http', 8000), address: PRIVATE, expected: false, unexpectedOnHost: 6 }, tier: 'medium', fires: ['unexpected-service', 'many-unexpected'] },
  { name: 'two unexpected services are not "many"', input: { service: svc('http', 8000), address: PRIVATE, expected: false, unexpectedOnHost: 2 }, tier: 'low', fires: ['unexpected-service'], not: ['many-unexpected'] },
];

const fired = (a: ReturnType<typeof assessService>): string[] => a.reasons.map((r) => r.rule);

describe('assessService on realistic cases', () => {
  it.each(CASES)('$name → $tier', ({ input, tier, fires, not }) => {
    const a = assessService(input);
    expect(a.tier, JSON.stringify(a.reasons, null, 1)).toBe(tier);
    expect(fired(a)).toEqual(expect.arrayContaining(fires));
    for (const r of not ?? []) expect(fired(a)).not.toContain(r);
    expect(a.score).toBe(a.reasons.reduce((s, r) => s + r.weight, 0));
  });

  it('writes reasons a person can act on', () => {
    const redis = assessService(CASES[0]!.input);
    expect(redis.reasons[0]).toEqual({ rule: 'unauthenticated-access', text: 'unauthenticated access confirmed by a safe check: redis-no-auth: Redis answered PING and INFO without authentication', weight: 40 });
    expect(redis.reasons.map((r) => r.text)).toContain('public address 93.184.216.34: reachable from the internet unless a firewall says otherwise');
    const many = assessService(CASES.find((c) => c.name.startsWith('unexpected service on a host'))!.input);
    expect(many.reasons.find((r) => r.rule === 'many-unexpected')?.text).toBe('6 services on this host are not allowed by the policy: possible compromise or leftover dev builds');
    const kev = assessService(CASES.find((c) => c.name === 'KEV CVE on an internet-facing service')!.input);
    const kevText = kev.reasons.find((r) => r.rule === 'cve-kev')?.text ?? '';
    expect(kevText).toContain('CVE-2021-41773 (CVSS 7.5, EPSS 97.0%, KEV, banner-based, possibly backported)');
    expect(kev.reasons.find((r) => r.rule === 'cve-epss')?.text).toMatch(/^EPSS 97\.0% for CVE-2021-41773/);
    const pg = assessService(CASES.find((c) => c.name.startsWith('postgres bound'))!.input);
    expect(pg.reasons.find((r) => r.rule === 'database')?.text).toMatch(/^PostgreSQL \(name guessed from the port\) is a database or cache: /);
  });

  it('marks the floor or cap that decided the tier', () => {
    const telnet = assessService(CASES.find((c) => c.name === 'telnet on a private address')!.input);
    expect(telnet.score).toBeLessThan(TIER_THRESHOLDS.high);
    expect(telnet.reasons.find((r) => r.rule === 'cleartext-remote-shell')?.text).toMatch(/\[raises the tier to high\]$/);
    const capped = assessService(CASES.find((c) => c.name.startsWith('redis with no auth on loopback'))!.input);
    expect(capped.score).toBeGreaterThanOrEqual(TIER_THRESHOLDS.medium);
    expect(capped.reasons.find((r) => r.rule === 'loopback-only')?.text).toMatch(/\[caps the tier at low\]$/);
  });

  it('raises the tier for a KEV CVE compared with the same CVE without KEV', () => {
    const base: AssessInput = { service: svc('http', 80), address: PUBLIC, vulns: [{ id: 'CVE-2021-41773', cvss: 7.5, confidence: 'confirmed' }] };
    const withKev: AssessInput = { ...base, vulns: [{ id: 'CVE-2021-41773', cvss: 7.5, kev: true, confidence: 'confirmed' }] };
    expect(TIERS.indexOf(assessService(withKev).tier)).toBeLessThan(TIERS.indexOf(assessService(base).tier));
  });

  it('lists many CVEs briefly, worst first, and merges duplicates', () => {
    const vulns = Array.from({ length: 40 }, (_, i) => ({ id: `CVE-2020-${1000 + i}`, cvss: 9 + (i % 10) / 10, confidence: 'confirmed' as const }));
    vulns.push({ id: 'CVE-2020-1000', cvss: 9.9, confidence: 'confirmed' }, { id: 'CVE-2019-1', cvss: 5, confidence: 'confirmed' });
    const a = assessService({ service: svc('http', 80), address: PRIVATE, vulns });
    const text = a.reasons.find((r) => r.rule === 'cve-critical')?.text ?? '';
    expect(text).toMatch(/^critical-severity CVEs: CVE-2020-1000 \(CVSS 9\.9\), CVE-2020-1009 \(CVSS 9\.9\), CVE-2020-1019 \(CVSS 9\.9\) and 37 more; 1 more at lower severity$/);
    expect(fired(a).filter((r) => r.startsWith('cve-'))).toEqual(['cve-critical']);
  });
});

describe('the rule table', () => {
  it('gives every rule an id, a description and a weight', () => {
    const ids = new Set<string>();
    for (const r of RULES) {
      expect(r.id).toMatch(/^[a-z][a-z0-9-]+$/);
      expect(ids.has(r.id), r.id).toBe(false);
      ids.add(r.id);
      expect(r.description.length, r.id).toBeGreaterThan(15);
      expect(Number.isFinite(r.weight), r.id).toBe(true);
      if (r.cap?.unless !== undefined) expect(RULES.map((x) => x.id)).toContain(r.cap.unless);
    }
  });

  it('has every rule fire in at least one realistic case', () => {
    const seen = new Set(CASES.flatMap((c) => fired(assessService(c.input))));
    expect(RULES.map((r) => r.id).filter((id) => !seen.has(id))).toEqual([]);
  });

  it('renders as a Markdown table for the README', () => {
    const md = rulesMarkdown();
    for (const r of RULES) expect(md).toContain(`| \`${r.id}\` |`);
    expect(md).toContain('at most low unless cve-kev');
    expect(md.split('\n').filter((l) => l.startsWith('| `')).length).toBe(RULES.length);
  });

  it('maps scores to tiers at the thresholds', () => {
    expect(tierForScore(TIER_THRESHOLDS.critical)).toBe('critical');
    expect(tierForScore(TIER_THRESHOLDS.critical - 1)).toBe('high');
    expect(tierForScore(TIER_THRESHOLDS.high)).toBe('high');
    expect(tierForScore(TIER_THRESHOLDS.medium)).toBe('medium');
    expect(tierForScore(TIER_THRESHOLDS.low)).toBe('low');
    expect(tierForScore(TIER_THRESHOLDS.low - 1)).toBe('info');
    expect(tierForScore(-100)).toBe('info');
    expect(tierForScore(Number.NaN)).toBe('info');
  });
});

// eslint-disable-next-line no-control-regex -- looking for control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

function checkInvariants(input: AssessInput): void {
  const a = assessService(input);
  expect(TIERS).toContain(a.tier);
  expect(Number.isFinite(a.score)).toBe(true);
  const ids = RULES.map((r) => r.id);
  expect(new Set(fired(a)).size).toBe(a.reasons.length);
  for (const r of a.reasons) {
    expect(ids).toContain(r.rule);
    expect(r.weight).toBe(RULES.find((x) => x.id === r.rule)?.weight);
    expect(r.text, r.text).not.toMatch(CONTROL);
    expect(r.text.length).toBeLessThan(2000);
  }
  expect(assessService(input)).toEqual(a); // deterministic
}

describe('hostile input', () => {
  it('treats garbage service names as unknown and never echoes control characters', () => {
    for (const name of ['\u001b[31mredis\u001b[0m', '\u0000', '../../etc/passwd', 'a'.repeat(1_000_000), '<script>', '\u202eevil']) {
      const input: AssessInput = { service: svc(name, 6379, { product: `\u001b]0;pwned\u0007${'x'.repeat(100_000)}` }), address: PRIVATE };
      checkInvariants(input);
      const a = assessService(input);
      expect(fired(a)).toContain('unknown-service');
    }
  });

  it('ignores NaN, infinite, negative and out-of-range numbers', () => {
    for (const cvss of [Number.NaN, Infinity, -Infinity, -1, 10.1, 1e308, '9.8' as unknown as number]) {
      const a = assessService({ service: svc('http', 80), address: PRIVATE, vulns: [{ id: 'CVE-2024-1', cvss, epss: Number.NaN, confidence: 'confirmed' }] });
      expect(fired(a)).toContain('cve-unscored');
      expect(fired(a)).not.toContain('cve-epss');
    }
    for (const n of [Number.NaN, Infinity, -5, 1e12]) expect(fired(assessService({ service: svc('ssh', 22), address: PRIVATE, unexpectedOnHost: n }))).not.toContain('many-unexpected');
    for (const port of [Number.NaN, -1, 0, 70000, 22.5, Infinity]) checkInvariants({ service: svc('http', port), address: PRIVATE });
    checkInvariants({ service: svc('ssh', 22, { confidence: Number.NaN }), address: PRIVATE });
  });

  it('survives wrong types everywhere', () => {
    const junk: unknown[] = [
      {},
      { service: null, address: null },
      { service: 'ssh', address: 42 },
      { service: { name: 22, port: '22', protocol: 'sctp', state: 'weird', method: 'magic', confidence: '10' }, address: ['10.0.0.1'] },
      { service: svc('ssh', 22), address: PRIVATE, vulns: 'CVE-2024-1' },
      { service: svc('ssh', 22), address: PRIVATE, vulns: [null, 1, 'x', { id: 7 }, { id: '\u001b[2J'.repeat(50), cvss: 9.8, kev: 'yes', confidence: 'maybe' }] },
      { service: svc('ssh', 22), address: PRIVATE, safeCheckFailed: [null, { id: 'REDIS-NO-AUTH\u0000', detail: 5 }, { id: 'x-no-auth', detail: '\u001b[31m'.repeat(1000) }] },
      { service: svc('ssh', 22), address: PRIVATE, zone: 'moon', listenerScope: 'everywhere', bindAddress: '\u0000', expected: 'yes', filteredButReachable: 1 },
    ];
    for (const j of junk) checkInvariants(j as AssessInput);
    // A vuln with an unknown confidence counts as banner-based (the weaker claim), and a truthy non-boolean KEV is not KEV.
    const a = assessService(junk[5] as AssessInput);
    expect(fired(a)).toEqual(expect.arrayContaining(['cve-critical', 'cve-banner-only']));
    expect(fired(a)).not.toContain('cve-kev');
  });

  it('stays fast and bounded on huge lists', () => {
    const t = Date.now();
    const vulns = Array.from({ length: 100_000 }, (_, i) => ({ id: `CVE-2024-${i}`, cvss: (i % 100) / 10, epss: (i % 1000) / 1000, kev: i % 997 === 0, confidence: 'banner-based' as const }));
    const safeCheckFailed = Array.from({ length: 10_000 }, (_, i) => ({ id: `check-${i}`, detail: 'd'.repeat(10_000) }));
    const a = assessService({ service: svc('http', 80), address: PUBLIC, vulns, safeCheckFailed });
    expect(Date.now() - t).toBeLessThan(2000);
    expect(a.tier).toBe('critical');
    for (const r of a.reasons) expect(r.text.length).toBeLessThan(2000);
  });

  it('holds its invariants on random inputs', () => {
    const rand = prng(5);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
    const names = ['ssh', 'telnet', 'http', 'https', 'redis', 'unknown', 'tcpwrapped', 'ssl/http', 'http?', 'docker', '', '\u0000', 'x'.repeat(70), 'ms-wbt-server', 'ftp', 'snmp', 'amqp'];
    const addresses = [PUBLIC, PUBLIC6, PRIVATE, LAB, '127.0.0.1', '::1', 'fe80::1%eth0', '100.64.0.1', 'host.example', '', '\u001b'];
    const numbers = [0, 1, 3, 5, 9.8, 10, -1, Number.NaN, Infinity, 1e9];
    for (let i = 0; i < 2000; i++) {
      const input: AssessInput = {
        service: svc(pick(names), Math.floor(rand() * 70000) - 2, { state: pick(['open', 'closed', 'filtered'] as const), confidence: pick(numbers), method: pick(['table', 'probed'] as const), tls: rand() < 0.3 }),
        address: pick(addresses),
        ...(rand() < 0.3 ? { zone: pick(['internet', 'dmz', 'internal'] as const) } : {}),
        ...(rand() < 0.3 ? { listenerScope: pick(['loopback', 'all', 'specific'] as const) } : {}),
        vulns: Array.from({ length: Math.floor(rand() * 4) }, (_, j) => ({ id: `CVE-${j}`, cvss: pick(numbers), epss: rand(), kev: rand() < 0.2, confidence: pick(['confirmed', 'banner-based'] as const) })),
        safeCheckFailed: rand() < 0.3 ? [{ id: pick(['redis-no-auth', 'tls-legacy-version', 'ftp-anonymous']), detail: 'd' }] : [],
        unexpectedOnHost: pick(numbers),
        ...(rand() < 0.5 ? { expected: rand() < 0.5 } : {}),
      };
      checkInvariants(input);
      const a = assessService(input);
      const loopback = fired(a).includes('loopback-only');
      if (loopback && !fired(a).includes('cve-kev')) expect(TIERS.indexOf(a.tier)).toBeGreaterThanOrEqual(TIERS.indexOf('low'));
      if (fired(a).includes('not-open')) expect(a.tier).toBe('info');
      if (fired(a).includes('cve-kev-internet') && !fired(a).includes('not-open')) expect(TIERS.indexOf(a.tier)).toBeLessThanOrEqual(TIERS.indexOf('high'));
    }
  });
});
