/**
 * `portolan findings` end to end: an nmap XML import and the fixture vulnerability feeds in a store,
 * assessed into ranked findings with reasons; formats, the CI gate, decisions, and a port that
 * closes turning its findings fixed.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TEST_HOME, runCli, succeeded } from './helpers/cli.js';
import { Locations } from './helpers/store.js';

const where = new Locations();
afterAll(() => where.cleanup());
const FX = join(import.meta.dirname, 'fixtures');

function nmapXml(name: string, sshState: string): string {
  const file = join(TEST_HOME, `${name}.xml`);
  const port = (n: number, state: string, svc: string) => `<port protocol="tcp" portid="${n}"><state state="${state}" reason="${state === 'open' ? 'syn-ack' : 'conn-refused'}" reason_ttl="0"/>${svc}</port>`;
  writeFileSync(
    file,
    `<?xml version="1.0"?>\n<nmaprun scanner="nmap" args="nmap -sV 203.0.113.7" start="1763700000" version="7.93" xmloutputversion="1.05">\n<host starttime="1763700000" endtime="1763700001"><status state="up" reason="syn-ack" reason_ttl="0"/><address addr="203.0.113.7" addrtype="ipv4"/><ports>` +
      port(22, sshState, '<service name="ssh" product="OpenSSH" version="9.2p1" method="probed" conf="10"><cpe>cpe:/a:openbsd:openssh:9.2p1</cpe></service>') +
      port(6379, 'open', '<service name="redis" product="Redis key-value store" version="7.0.15" method="probed" conf="10"><cpe>cpe:/a:redis:redis:7.0.15</cpe></service>') +
      port(80, 'open', '<service name="http" product="nginx" version="1.22.1" method="probed" conf="10"><cpe>cpe:/a:f5:nginx:1.22.1</cpe></service>') +
      `</ports></host>\n<runstats><finished time="1763700002" exit="success"/><hosts up="1" down="0" total="1"/></runstats></nmaprun>\n`,
  );
  return file;
}

const ok = succeeded;

interface FindingJson {
  key: string;
  tier: string;
  kind: string;
  status: string;
  reasons: { rule: string; text: string }[];
  cve?: { id: string; confidence: string; kev?: boolean };
}

describe('portolan findings', () => {
  const db = where.next('sqlite');

  it('ranks the imported services with reasons, and matches CVEs from the vulnerability data', async () => {
    ok(await runCli(['import', '--db', db, nmapXml('before', 'open')]));
    ok(await runCli(['vulndb', 'update', '--db', db, '--nvd', join(FX, 'nvd', 'page-1.json'), '--kev', join(FX, 'kev', 'known_exploited_vulnerabilities.json')]));
    const findings = JSON.parse(ok(await runCli(['findings', '--db', db, '--json'])).stdout) as FindingJson[];
    const keys = findings.map((f) => f.key);
    expect(keys).toEqual(expect.arrayContaining(['203.0.113.7/tcp/22/exposure', '203.0.113.7/tcp/6379/exposure', '203.0.113.7/tcp/80/exposure', '203.0.113.7/tcp/22/vulnerability/CVE-2024-6387', '203.0.113.7/tcp/22/vulnerability/CVE-2023-38408']));
    // A banner version is never proof: the CVE is kept, marked as possibly backported.
    expect(findings.find((f) => f.key.endsWith('CVE-2024-6387'))?.cve?.confidence).toBe('banner-based');
    // Most urgent first; every finding says why.
    const ranks = findings.map((f) => ['critical', 'high', 'medium', 'low', 'info'].indexOf(f.tier));
    expect(ranks).toEqual([...ranks].sort((a, b) => a - b));
    for (const f of findings) expect(f.reasons.length).toBeGreaterThan(0);
    expect(findings.find((f) => f.key === '203.0.113.7/tcp/6379/exposure')?.reasons.map((r) => r.rule)).toContain('database');

    const table = ok(await runCli(['findings', '--db', db])).stdout.split('\n');
    expect(table[0]).toMatch(/^TIER +SCORE +HOST +PORT +STATUS +TITLE +WHY +KEY +LAST SEEN$/);
    const sarif = JSON.parse(ok(await runCli(['findings', '--db', db, '--format', 'sarif'])).stdout) as { version: string; runs: { results: unknown[] }[] };
    expect(sarif.version).toBe('2.1.0');
    expect(sarif.runs[0]?.results).toHaveLength(findings.length);
    expect(ok(await runCli(['findings', '--db', db, '--format', 'markdown'])).stdout).toMatch(/CVE-2024-6387/);
  });

  it('is a CI gate: --fail-on exits 1 when an open finding reaches the tier, 0 when none does', async () => {
    const gate = await runCli(['findings', '--db', db, '--fail-on', 'low']);
    expect(gate.code).toBe(1);
    expect(gate.stderr).toMatch(/open findings? at low or above \(--fail-on low\)/);
    const none = await runCli(['findings', '--db', db, '--fail-on', 'low', '--host', '192.0.2.1']);
    expect(none.code, none.stderr).toBe(0);
    expect(none.stdout).toBe('no findings\n');
    const bad = await runCli(['findings', '--db', db, '--fail-on', 'urgent']);
    expect(bad.code).toBe(2);
    // A policy that is not one (or never ends) is refused, size-capped, with one line.
    const zero = await runCli(['findings', '--db', db, '--policy', '/dev/zero']);
    expect(zero.code, zero.stderr).toBe(2);
    expect(zero.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('records decisions: an accepted risk (with a reason) leaves the open list; an unknown key is refused', async () => {
    const key = '203.0.113.7/tcp/80/exposure';
    expect(ok(await runCli(['findings', '--db', db, '--accept', key, '--reason', 'public web site', '--until', '90d'])).stdout).toMatch(/^finding 203\.0\.113\.7\/tcp\/80\/exposure: accepted until /);
    const open = JSON.parse(ok(await runCli(['findings', '--db', db, '--json'])).stdout) as FindingJson[];
    expect(open.map((f) => f.key)).not.toContain(key);
    const accepted = JSON.parse(ok(await runCli(['findings', '--db', db, '--json', '--status', 'accepted'])).stdout) as FindingJson[];
    expect(accepted.map((f) => f.key)).toEqual([key]);
    const history = JSON.parse(ok(await runCli(['findings', '--db', db, '--history', key, '--json'])).stdout) as { status: string; note?: string }[];
    expect(history.map((e) => `${e.status}:${e.note ?? ''}`)).toEqual(['open:found', 'accepted:public web site']);
    expect((await runCli(['findings', '--db', db, '--history', '203.0.113.9/tcp/1/exposure'])).code).toBe(2);
    expect((await runCli(['findings', '--db', db, '--accept', key])).code).toBe(2);
    expect((await runCli(['findings', '--db', db, '--false-positive', '203.0.113.9/tcp/1/exposure'])).code).toBe(2);
  });

  it('marks the findings of a port that closed as fixed, and keeps the rest open', async () => {
    ok(await runCli(['import', '--db', db, nmapXml('after', 'closed')]));
    const fixed = JSON.parse(ok(await runCli(['findings', '--db', db, '--json', '--status', 'fixed'])).stdout) as FindingJson[];
    expect(fixed.map((f) => f.key).sort()).toEqual(['203.0.113.7/tcp/22/exposure', '203.0.113.7/tcp/22/vulnerability/CVE-2023-38408', '203.0.113.7/tcp/22/vulnerability/CVE-2024-6387']);
    const open = JSON.parse(ok(await runCli(['findings', '--db', db, '--json'])).stdout) as FindingJson[];
    expect(open.map((f) => f.key)).toContain('203.0.113.7/tcp/6379/exposure');
    // Running the assessment again with nothing new changes nothing.
    expect(ok(await runCli(['findings', '--db', db, '--json'])).stdout).toBe(ok(await runCli(['findings', '--db', db, '--json'])).stdout);
  });

  it('works offline out of the box: the built-in data matches with no vulndb update, under nmap\'s vendor names', async () => {
    const fresh = where.next('sqlite');
    const file = join(TEST_HOME, 'old-nginx.xml');
    writeFileSync(
      file,
      `<?xml version="1.0"?>\n<nmaprun scanner="nmap" args="nmap -sV 203.0.113.20" start="1763700000" version="7.93" xmloutputversion="1.05">\n<host starttime="1763700000" endtime="1763700001"><status state="up" reason="syn-ack" reason_ttl="0"/><address addr="203.0.113.20" addrtype="ipv4"/><ports>` +
        `<port protocol="tcp" portid="80"><state state="open" reason="syn-ack" reason_ttl="0"/><service name="http" product="nginx" version="1.18.0" method="probed" conf="10"><cpe>cpe:/a:igor_sysoev:nginx:1.18.0</cpe></service></port>` +
        `<port protocol="tcp" portid="21"><state state="open" reason="syn-ack" reason_ttl="0"/><service name="ftp" product="vsftpd" version="2.3.4" method="probed" conf="10"><cpe>cpe:/a:beasts:vsftpd:2.3.4</cpe></service></port>` +
        `</ports></host>\n<runstats><finished time="1763700002" exit="success"/><hosts up="1" down="0" total="1"/></runstats></nmaprun>\n`,
    );
    ok(await runCli(['import', '--db', fresh, file]));
    const findings = JSON.parse(ok(await runCli(['findings', '--db', fresh, '--json'])).stdout) as FindingJson[];
    const keys = findings.map((f) => f.key);
    expect(keys).toContain('203.0.113.20/tcp/80/vulnerability/CVE-2021-23017');
    expect(keys).toContain('203.0.113.20/tcp/21/vulnerability/CVE-2011-2523');
    expect((await runCli(['vulndb', 'status', '--db', fresh])).stdout).toBe('vulndb: 0 CVEs, 0 known exploited, 0 EPSS scores\n');
  });
});
