/**
 * Assessment in the lab: the `mixed` host gets one more listener, started by this test, whose SSH
 * banner claims a vulnerable OpenSSH. A scan from the scanner namespace, the fixture NVD page and
 * a policy that declares the lab internet-facing give the right CVE at the tier the rule table
 * computes; once the listener is stopped (by its PID), `portolan verify` marks the findings fixed.
 * All traffic stays in the namespaces the lab creates (198.18.0.0/24).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN } from './helpers/cli.js';
import { labUnavailableReason, startLab, type Lab } from './lab/lab.js';

const unavailable = labUnavailableReason();
const LISTENER = fileURLToPath(new URL('./lab/listener.mjs', import.meta.url));
const FX = join(import.meta.dirname, 'fixtures');
const PORT = 2222;

interface FindingJson {
  key: string;
  tier: string;
  score: number;
  status: string;
  reasons: { rule: string }[];
  cve?: { id: string; confidence: string };
}

describe.skipIf(unavailable !== null)('assessment and verification in the lab', () => {
  let lab: Lab;
  let dir: string;
  let listener: ChildProcess | undefined;
  beforeAll(async () => {
    lab = await startLab({ hosts: ['mixed'] });
    dir = mkdtempSync(join(tmpdir(), 'portolan-assess-'));
  }, 120_000);
  afterAll(async () => {
    if (listener?.exitCode === null) listener.kill('SIGKILL');
    await lab?.teardown();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** portolan inside the scanner namespace (the test helpers' XDG folders are in the environment it inherits). */
  async function portolan(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return lab.exec([process.execPath, BIN, ...args], { timeoutMs: 120_000 });
  }

  it('finds the CVE a vulnerable banner claims, ranks it, and verifies the fix', async () => {
    const host = lab.hosts.mixed;
    listener = spawn('ip', ['netns', 'exec', host.ns!, process.execPath, LISTENER, '--ports', String(PORT), '--banner', `${PORT}=SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u2\\r\\n`, '--owner-pid', String(process.pid), '--max-life-s', '600'], { stdio: ['ignore', 'pipe', 'pipe'] });
    await new Promise<void>((resolve, reject) => {
      listener!.stdout!.once('data', (d: Buffer) => (d.toString().startsWith('ready') ? resolve() : reject(new Error(d.toString()))));
      listener!.once('exit', (code) => reject(new Error(`listener exited ${code}`)));
    });
    const db = join(dir, 'lab.db');
    const policy = join(dir, 'policy.yaml');
    writeFileSync(policy, `groups:\n  - name: lab\n    owner: tests\n    zone: internet\n    hosts: [198.18.0.0/24]\n    allow: ["22/tcp ssh", "80/tcp http", "443/tcp", "8080/tcp"]\n`);
    const scan = await portolan(['scan', host.v4, '-p', `22,${PORT}`, '-Pn', '-n', '--no-progress', '--db', db]);
    expect(scan.code, scan.stderr).toBe(0);
    expect((await portolan(['vulndb', 'update', '--db', db, '--nvd', join(FX, 'nvd', 'page-1.json')])).code).toBe(0);
    const r = await portolan(['findings', '--db', db, '--json', '--policy', policy]);
    expect(r.code, r.stderr).toBe(0);
    const findings = JSON.parse(r.stdout) as FindingJson[];
    const at = (suffix: string) => findings.find((f) => f.key === `${host.v4}/tcp/${PORT}/${suffix}`);
    // The lab's own SSH banner (LabSSH_1.0) names no known product: no CVE there.
    expect(findings.filter((f) => f.key.startsWith(`${host.v4}/tcp/22/vulnerability`))).toEqual([]);
    const cve = at('vulnerability/CVE-2024-6387');
    expect(cve?.cve?.confidence).toBe('banner-based');
    // Rule table: internet-facing (+20), remote administration (+25), a high-CVSS CVE (+25),
    // banner-based (−10), not allowed by the policy (+15), ssh on another port (note, 0): 75 = high.
    expect(cve?.reasons.map((x) => x.rule).sort()).toEqual(['alternate-port', 'cve-banner-only', 'cve-high', 'exposure-internet', 'remote-admin', 'unexpected-service'].sort());
    expect(cve).toMatchObject({ tier: 'high', score: 75, status: 'open' });
    // The exposure alone: internet-facing (+20), remote administration (+25), unexpected (+15): 60 = high.
    expect(at('exposure')).toMatchObject({ tier: 'high', score: 60 });

    listener.kill('SIGTERM');
    await new Promise((resolve) => listener!.once('exit', resolve));
    const v = await portolan(['verify', '--db', db, '--json']);
    // Exit 1: the lab's own port 22 is still open (below).
    expect(v.code, v.stderr).toBe(1);
    expect(v.stderr).toBe('portolan: 1 finding still open\n');
    const verdicts = JSON.parse(v.stdout) as { key: string; result: string; evidence: string }[];
    for (const key of [`${host.v4}/tcp/${PORT}/exposure`, `${host.v4}/tcp/${PORT}/vulnerability/CVE-2024-6387`]) {
      expect(verdicts.find((x) => x.key === key)).toMatchObject({ result: 'fixed', evidence: 'closed (conn-refused)' });
    }
    // The lab's port 22 is still there: its exposure stays open.
    expect(verdicts.find((x) => x.key === `${host.v4}/tcp/22/exposure`)?.result).toBe('still open');
  }, 240_000);
});
