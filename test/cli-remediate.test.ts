/**
 * `portolan remediate` end to end on a store filled from an nmap XML import (no traffic): plans in
 * every format, the scripts written with private modes, choices validated before anything is
 * written, hostile service strings kept out of scripts and escaped in documents, and `--apply`
 * refusing a host that is not this one.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TEST_HOME, runCli, succeeded } from './helpers/cli.js';
import { Locations } from './helpers/store.js';

const where = new Locations();
afterAll(() => where.cleanup());

const HOSTILE_PRODUCT = 'Redis`$(touch /tmp/portolan-pwned)`</code><script>alert(1)</script>\n# injected';

function nmapXml(name: string): string {
  const file = join(TEST_HOME, `${name}.xml`);
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/"/g, '&quot;').replace(/\n/g, '&#10;');
  const port = (n: number, svc: string) => `<port protocol="tcp" portid="${n}"><state state="open" reason="syn-ack" reason_ttl="0"/>${svc}</port>`;
  writeFileSync(
    file,
    `<?xml version="1.0"?>\n<nmaprun scanner="nmap" args="nmap -sV 203.0.113.7" start="1763700000" version="7.93" xmloutputversion="1.05">\n<host starttime="1763700000" endtime="1763700001"><status state="up" reason="syn-ack" reason_ttl="0"/><address addr="203.0.113.7" addrtype="ipv4"/><ports>` +
      port(22, '<service name="ssh" product="OpenSSH" version="9.2p1" method="probed" conf="10"><cpe>cpe:/a:openbsd:openssh:9.2p1</cpe></service>') +
      port(6379, `<service name="redis" product="${esc(HOSTILE_PRODUCT)}" version="7.0.15" method="probed" conf="10"/>`) +
      port(5432, '<service name="postgresql" product="PostgreSQL DB" version="15.8" method="probed" conf="10"/>') +
      `</ports></host>\n<runstats><finished time="1763700002" exit="success"/><hosts up="1" down="0" total="1"/></runstats></nmaprun>\n`,
  );
  return file;
}

describe('portolan remediate', () => {
  const db = where.next('sqlite');
  const redis = '203.0.113.7/tcp/6379/exposure';
  const ssh = '203.0.113.7/tcp/22/exposure';

  it('writes a plan per finding with every option\'s scripts, private, under -o DIR', async () => {
    succeeded(await runCli(['import', '--db', db, nmapXml('svc')]));
    const out = mkdtempSync(join(TEST_HOME, 'plans-'));
    const r = succeeded(await runCli(['remediate', '--all', '--db', db, '-o', out]));
    expect(r.stdout).toMatch(/^\d+ files written under .* \(\d+ plans\)\n$/);
    const dirs = readdirSync(out).sort();
    expect(dirs).toEqual(expect.arrayContaining(['203.0.113.7_tcp_22_exposure', '203.0.113.7_tcp_6379_exposure', '203.0.113.7_tcp_5432_exposure']));
    const redisDir = join(out, '203.0.113.7_tcp_6379_exposure');
    const files = readdirSync(redisDir);
    expect(files).toEqual(expect.arrayContaining(['plan.md', 'apply-block-nftables.sh', 'rollback-block-nftables.sh', 'apply-bind-loopback-redis.sh', 'rollback-bind-loopback-redis.sh']));
    expect(statSync(join(redisDir, 'plan.md')).mode & 0o777).toBe(0o600);
    expect(statSync(join(redisDir, 'apply-block-nftables.sh')).mode & 0o777).toBe(0o700);
    for (const f of files.filter((x) => x.endsWith('.sh'))) {
      const text = readFileSync(join(redisDir, f), 'utf8');
      // The hostile product string never reaches a script, and every script parses.
      expect(text).not.toContain('portolan-pwned');
      expect(text).not.toContain('<script>');
      expect(spawnSync('bash', ['-n', join(redisDir, f)]).status, f).toBe(0);
    }
    const md = readFileSync(join(redisDir, 'plan.md'), 'utf8');
    expect(md).toContain('6379');
    expect(md).not.toContain('<script>');
  });

  it('prints one document for several findings in md, html and json', async () => {
    const md = succeeded(await runCli(['remediate', redis, ssh, '--db', db])).stdout;
    expect(md).toContain('203.0.113.7');
    expect(md.indexOf('6379')).toBeGreaterThanOrEqual(0);
    expect(md).toMatch(/^# Remediation plans\n/);
    const single = succeeded(await runCli(['remediate', redis, '--db', db])).stdout;
    expect(single).toMatch(/^# Redis/);
    const html = succeeded(await runCli(['remediate', redis, '--db', db, '--format', 'html'])).stdout;
    expect(html).toMatch(/^<!DOCTYPE html>/i);
    expect(html).not.toContain('<script>');
    const json = JSON.parse(succeeded(await runCli(['remediate', redis, ssh, '--db', db, '--format', 'json'])).stdout) as { plans: { finding: { key: string }; sections: { id: string }[]; recommended: string }[] };
    expect(json.plans.map((p) => p.finding.key)).toEqual([redis, ssh]);
    expect(json.plans[0]!.sections.map((s) => s.id)).toEqual(['introduction', 'technical', 'detection', 'solution', 'verification', 'prevention', 'risks', 'references']);
  });

  it('each backend\'s scripts, and allowlist sources from --allow-from', async () => {
    for (const backend of ['iptables', 'nftables', 'ufw', 'firewalld', 'windows']) {
      const out = mkdtempSync(join(TEST_HOME, `plans-${backend}-`));
      succeeded(await runCli(['remediate', redis, '--db', db, '--backend', backend, '--mode', 'allowlist', '--allow-from', '10.1.0.0/16,2001:db8::/32', '-o', out]));
      const dir = join(out, '203.0.113.7_tcp_6379_exposure');
      const ext = backend === 'windows' ? 'ps1' : 'sh';
      const apply = readFileSync(join(dir, `apply-allowlist-${backend}.${ext}`), 'utf8');
      expect(apply, backend).toContain('10.1.0.0');
      // The finding's address is IPv4: the IPv6 source is for IPv6 findings only.
      expect(apply, backend).not.toContain('2001:db8::');
      expect(readdirSync(dir)).toEqual(expect.arrayContaining([`rollback-allowlist-${backend}.${ext}`, `apply-block-${backend}.${ext}`]));
    }
  });

  it('refuses bad choices before writing anything, with exit 2 and one line', async () => {
    const out = join(TEST_HOME, 'never-written');
    for (const [args, pattern] of [
      [['--backend', 'pf'], /--backend "?pf"?: expected one of iptables, nftables, ufw, firewalld, windows/],
      [['--mode', 'allowlist', '--allow-from', '10.0.0.1/8'], /10\.0\.0\.1\/8/],
      [['--allow-from', '$(reboot)'], /reboot/],
      [['--iface', 'eth0;reboot'], /eth0/],
      [['--format', 'pdf'], /--format "?pdf"?/],
      [['--service-manager', 'upstart'], /--service-manager/],
      [['--mode', 'block', '--allow-from', '10.0.0.0/8'], /--allow-from goes with --mode allowlist/],
      [['--option', 'block'], /--option goes with --apply/],
    ] as const) {
      const r = await runCli(['remediate', redis, '--db', db, '-o', out, ...args]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(pattern);
    }
    expect(() => statSync(out)).toThrow();
    const none = await runCli(['remediate', '--db', db]);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/give finding keys or --all/);
    const unknown = await runCli(['remediate', '203.0.113.7/tcp/1/exposure', '--db', db]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/no finding/);
  });

  it('--apply changes only this host: a finding elsewhere is refused before anything runs', async () => {
    const r = await runCli(['remediate', redis, '--db', db, '--apply', '--yes']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/203\.0\.113\.7 is not an address of this host/);
    const all = await runCli(['remediate', '--all', '--db', db, '--apply']);
    expect(all.code).toBe(2);
  });
});
