/**
 * Service detection against real Debian daemons in the lab's `svc` namespace, and against the
 * `hostile` host. Expected versions come from dpkg at lab start (never hard-coded). Traffic stays
 * inside the namespaces this test creates.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, jsonLines } from './helpers/cli.js';
import { labUnavailableReason, startLab, type Lab } from './lab/lab.js';

const unavailable = labUnavailableReason();

/**
 * Daemons whose protocol does not reveal a version before authentication in their Debian default
 * configuration: Postfix ("ESMTP Postfix (Debian/GNU)"), Dovecot ("Dovecot (Debian) ready."),
 * PostgreSQL (the version is sent only after login). For them no version must be invented.
 */
const VERSIONLESS = new Set(['smtp', 'dovecot', 'postgresql']);

type PortLine = { ip: string; port: number; state: string; service?: Record<string, unknown> };

describe.skipIf(unavailable !== null)('service detection in the lab', () => {
  let lab: Lab;
  let dir: string;
  beforeAll(async () => {
    lab = await startLab({ hosts: ['svc', 'hostile'] });
    dir = mkdtempSync(join(tmpdir(), 'portolan-detect-'));
  }, 120_000);
  afterAll(async () => {
    await lab?.teardown();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function scan(args: string[]): Promise<{ lines: PortLine[]; stdout: string; stderr: string; rssKiB: number; ms: number }> {
    const rssFile = join(dir, `rss-${Date.now()}`);
    const t0 = performance.now();
    const r = await lab.exec(['/usr/bin/time', '-f', '%M', '-o', rssFile, process.execPath, BIN, 'scan', '--no-store', '-Pn', '-n', '--no-progress', ...args], { timeoutMs: 120_000 });
    const ms = performance.now() - t0;
    expect(r.code, r.stderr).toBe(0);
    const rssKiB = Number(readFileSync(rssFile, 'utf8').trim().split('\n').pop());
    const lines = args.includes('-oJ') ? (jsonLines(r.stdout).filter((l) => l.type === 'port') as unknown as PortLine[]) : [];
    return { lines, stdout: r.stdout, stderr: r.stderr, rssKiB, ms };
  }

  it('names service, product and exact version of every daemon, v4 and v6', async () => {
    const truth = lab.services;
    const targets = [...new Set(truth.flatMap((t) => [t.address, ...(t.address6 ? [t.address6] : [])]))];
    const ports = [...new Set(truth.map((t) => t.port))].join(',');
    const { lines } = await scan(['-p', ports, '-oJ', '-', ...targets]);
    const problems: string[] = [];
    let checked = 0;
    for (const t of truth) {
      for (const address of [t.address, t.address6]) {
        if (address === null) continue;
        const line = lines.find((l) => l.ip === address && l.port === t.port);
        const s = line?.service;
        const where = `${t.daemon} ${address} ${t.port}`;
        checked++;
        if (line?.state !== 'open' || s === undefined) {
          problems.push(`${where}: ${line?.state ?? 'missing'}`);
          continue;
        }
        if (s.name !== t.service) problems.push(`${where}: service ${String(s.name)}, want ${t.service}`);
        if ((s.tunnel ?? null) !== t.tunnel) problems.push(`${where}: tunnel ${String(s.tunnel)}, want ${String(t.tunnel)}`);
        if (!t.product.test(String(s.product))) problems.push(`${where}: product ${String(s.product)}, want ${String(t.product)}`);
        if (s.method !== 'probed') problems.push(`${where}: method ${String(s.method)}`);
        const wantVersion = VERSIONLESS.has(t.daemon) ? undefined : t.version;
        if (s.version !== wantVersion) problems.push(`${where}: version ${String(s.version)}, want ${String(wantVersion)} (dpkg ${t.packageVersion})`);
        if (!Array.isArray(s.cpe) || s.cpe.length === 0) problems.push(`${where}: no CPE`);
      }
    }
    expect(problems).toEqual([]);
    expect(checked).toBeGreaterThanOrEqual(truth.length);
  }, 120_000);

  it('keeps the distribution revision apart and records TLS and safe-check evidence', async () => {
    const svc = lab.services;
    const ssh = svc.find((t) => t.daemon === 'ssh')!;
    const https = svc.find((t) => t.port === 443)!;
    const ftp = svc.find((t) => t.daemon === 'ftp')!;
    const redis = svc.find((t) => t.daemon === 'redis')!;
    const { lines } = await scan(['-p', `${ssh.port},${https.port},${ftp.port},${redis.port}`, '-oJ', '-', ssh.address]);
    const at = (port: number) => lines.find((l) => l.port === port)?.service ?? {};
    const revision = ssh.packageVersion.replace(/^\d+:/, '').split('-').slice(1).join('-');
    expect(at(ssh.port)).toMatchObject({ distro: 'Debian', package_revision: revision, ostype: 'Linux' });
    const evidence = (port: number) => ((at(port).evidence as { id: string }[] | undefined) ?? []).map((e) => e.id);
    // The auth-method check ran (method `none` only) and recorded what the server offers.
    expect((at(ssh.port).fields as Record<string, string>)['ssh.auth_methods']).toMatch(/publickey/);
    const tls = at(https.port).tls as { protocol: string; certificate: { selfSigned: boolean; subject: string } };
    expect(tls.protocol).toMatch(/^TLSv1\.[23]$/);
    expect(tls.certificate.selfSigned).toBe(true);
    expect(evidence(https.port)).toContain('tls-certificate-self-signed');
    expect(evidence(ftp.port)).toContain('ftp-anonymous');
    expect(evidence(redis.port)).toContain('redis-no-auth');
  }, 60_000);

  it('writes DTD-valid XML with service elements and CPEs', async () => {
    const t = lab.services;
    const xml = join(dir, 'svc.xml');
    await scan(['-p', [...new Set(t.map((x) => x.port))].join(','), '-oX', xml, t[0]!.address]);
    execFileSync('xmllint', ['--noout', '--dtdvalid', '/usr/share/nmap/nmap.dtd', xml]);
    const text = readFileSync(xml, 'utf8');
    expect(text).toMatch(/<service name="ssh" product="OpenSSH" version="[^"]+"[^>]*method="probed" conf="10"><cpe>cpe:\/a:openbsd:openssh:/);
    expect(text).toMatch(/<service name="http"[^>]*tunnel="ssl"/);
  }, 60_000);

  describe('the hostile host', () => {
    it('finishes within its budget, in bounded memory, with every banner escaped', async () => {
      const h = lab.hostile;
      const ports = h.map((p) => p.port).join(',');
      const xml = join(dir, 'hostile.xml');
      const budget = 20_000;
      const r = await scan(['-vv', '-p', ports, '-oJ', '-', '-oX', xml, '-oN', join(dir, 'hostile.nmap'), h[0]!.address]);
      // One port budget plus scan and start-up overhead: no port can hold the scan longer.
      expect(r.ms).toBeLessThan(budget + 8_000);
      expect(r.rssKiB / 1024).toBeLessThan(200);
      for (const p of h) {
        const s = lines(r.lines, p.port);
        if (p.service !== null) expect(s?.name, `port ${p.port} (${p.behaviour})`).toBe(p.service);
        else expect(s?.name, `port ${p.port} (${p.behaviour})`).not.toBe('tcpwrapped');
      }
      execFileSync('xmllint', ['--noout', '--dtdvalid', '/usr/share/nmap/nmap.dtd', xml]);
      for (const text of [readFileSync(xml, 'utf8'), readFileSync(join(dir, 'hostile.nmap'), 'utf8'), r.stdout]) {
        expect(text).not.toContain('\x1b');
        // eslint-disable-next-line no-control-regex -- looking for raw control characters is the point
        expect(text).not.toMatch(/[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/);
      }
      // In XML the markup is text, never an element; in the text formats it is inert.
      expect(readFileSync(xml, 'utf8')).not.toContain('<script>');
      expect(readFileSync(xml, 'utf8')).toContain('&lt;script&gt;');
      const ansi = lines(r.lines, h.find((p) => p.behaviour === 'ansi')!.port);
      expect(String(ansi?.banner)).toContain('\\x1b');
    }, 120_000);
  });
});

function lines(all: PortLine[], port: number): Record<string, unknown> | undefined {
  return all.find((l) => l.port === port)?.service;
}
