/**
 * `portolan verify` on loopback: an SSH server whose banner claims a vulnerable OpenSSH is scanned
 * and assessed; once it is gone, verify re-scans exactly its port and marks its findings fixed.
 * Verifying again changes nothing.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TEST_HOME, runCli, succeeded } from './helpers/cli.js';
import { loopbackServers } from './helpers/loopback-server.js';
import { Locations } from './helpers/store.js';

const where = new Locations();
const servers = loopbackServers();
afterAll(async () => {
  await servers.closeAll();
  await where.cleanup();
});
const FX = join(import.meta.dirname, 'fixtures');

const ok = succeeded;

interface FindingJson {
  key: string;
  status: string;
  lastSeen: number;
  cve?: { id: string; confidence: string };
}

describe('portolan verify', () => {
  it('re-scans the ports behind open findings and marks them fixed once the service is gone; twice changes nothing', async () => {
    const db = where.next('sqlite');
    const port = await servers.serve((s) => {
      s.write('SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u2\r\n');
      s.resume();
    });
    ok(await runCli(['scan', '127.0.0.1', '-p', String(port), '-Pn', '--no-progress', '--db', db]));
    ok(await runCli(['vulndb', 'update', '--db', db, '--nvd', join(FX, 'nvd', 'page-1.json')]));
    const before = JSON.parse(ok(await runCli(['findings', '--db', db, '--json'])).stdout) as FindingJson[];
    const mine = before.filter((f) => f.key.startsWith(`127.0.0.1/tcp/${port}/`));
    expect(mine.map((f) => f.key).sort()).toEqual([`127.0.0.1/tcp/${port}/exposure`, `127.0.0.1/tcp/${port}/vulnerability/CVE-2023-38408`, `127.0.0.1/tcp/${port}/vulnerability/CVE-2024-6387`]);
    expect(mine.find((f) => f.cve?.id === 'CVE-2024-6387')?.cve?.confidence).toBe('banner-based');

    // While the service still runs, verify says so (exit 1) and changes nothing.
    const still = await runCli(['verify', '--db', db, `127.0.0.1/tcp/${port}/exposure`]);
    expect(still.code, still.stderr).toBe(1);
    expect(still.stdout).toMatch(new RegExp(`still open +127\\.0\\.0\\.1/tcp/${port}/exposure +open \\(syn-ack\\): OpenSSH 9\\.2p1`));

    // The scope holds for the re-scan too: nothing outside it is touched, and nothing changes.
    const scope = join(TEST_HOME, 'verify-scope.txt');
    writeFileSync(scope, '127.0.1.0/24\n');
    const accepted = servers.accepted;
    const refused = await runCli(['verify', '--db', db, '--scope', scope]);
    expect(refused.code, refused.stderr).toBe(2);
    expect(refused.stderr).toMatch(/^portolan: the verification scan failed \(exit 2\): .*outside the scope/);
    expect(servers.accepted).toBe(accepted);

    await servers.closeAll();
    const fixed = ok(await runCli(['verify', '--db', db, '--json']));
    const verdicts = JSON.parse(fixed.stdout) as { key: string; result: string; evidence: string }[];
    expect(verdicts.map((v) => `${v.result} ${v.key}`).sort()).toEqual(mine.map((f) => `fixed ${f.key}`).sort());
    for (const v of verdicts) expect(v.evidence).toBe('closed (conn-refused)');
    const after = JSON.parse(ok(await runCli(['findings', '--db', db, '--json', '--status', 'fixed'])).stdout) as FindingJson[];
    expect(after.map((f) => f.key).sort()).toEqual(mine.map((f) => f.key).sort());

    // Again: nothing open to verify; and verifying the fixed ones by key keeps them as they are.
    expect(ok(await runCli(['verify', '--db', db])).stdout).toBe('nothing to verify: no open findings\n');
    ok(await runCli(['verify', '--db', db, ...mine.map((f) => f.key)]));
    const again = JSON.parse(ok(await runCli(['findings', '--db', db, '--json', '--status', 'fixed'])).stdout) as FindingJson[];
    expect(again).toEqual(after);
  });

  it('refuses an unknown finding key or scan with one line and exit 2', async () => {
    const db = where.next('sqlite');
    for (const args of [['192.0.2.1/tcp/22/exposure'], ['--since', '7']]) {
      const r = await runCli(['verify', '--db', db, ...args]);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
  });
});
