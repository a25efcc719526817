/**
 * Remediation proven in the lab. The `mixed` host's port 8080 is an exposure the policy does not
 * allow; the plan's nftables and iptables scripts run inside that host's namespace, `portolan
 * verify` (from the scanner namespace) reports the finding fixed (filtered) while SSH on the same
 * host still answers, the rollback opens it again, and the ruleset dump is byte-identical to the
 * one before. Allowlist mode keeps the scanner's access and refuses the `closed` host's. The service
 * path stops a real memcached through its SysV init script and starts it again on rollback.
 *
 * Traffic stays in the namespaces the lab creates (198.18.0.0/24). The SysV case gives the `mixed`
 * namespace its own /etc/init.d, /etc/rc?.d and /etc/systemd through `ip netns exec`'s
 * /etc/netns/<ns> bind mounts, so nothing under the host's /etc changes; that directory is removed
 * afterwards.
 */
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN } from './helpers/cli.js';
import { labUnavailableReason, startLab, type Lab, type LabExecResult } from './lab/lab.js';

const unavailable = labUnavailableReason();
const PORT = 8080;

interface Verdict {
  key: string;
  result: string;
  evidence: string;
}

/** The plan directory name `portolan remediate -o` uses for a key. */
const dirName = (key: string) => key.replace(/[/:]/g, '_').replace(/[^A-Za-z0-9_.-]/g, '-');

describe.skipIf(unavailable !== null)('remediation in the lab: apply, verify, roll back', () => {
  let lab: Lab;
  let dir: string;
  let db: string;
  let policy: string;
  let v4: string;
  let key: string;
  let sshKey: string;
  const backups = () => join(dir, 'backups');

  beforeAll(async () => {
    lab = await startLab({ hosts: ['mixed', 'closed'] });
    dir = mkdtempSync(join(tmpdir(), 'portolan-remediate-lab-'));
    // The scripts keep their backups here instead of /var/backups/portolan.
    process.env.PORTOLAN_BACKUP_ROOT = backups();
    db = join(dir, 'lab.db');
    policy = join(dir, 'policy.yaml');
    v4 = lab.hosts.mixed.v4;
    key = `${v4}/tcp/${PORT}/exposure`;
    sshKey = `${v4}/tcp/22/exposure`;
    writeFileSync(policy, `groups:\n  - name: lab\n    owner: tests\n    zone: internet\n    hosts: [198.18.0.0/24]\n    allow: ["22/tcp ssh", "80/tcp http", { port: 11211, service: memcache, from: [${lab.scanner.v4}/32] }]\n`);
    const scan = await portolan(['scan', v4, '-p', `22,80,${PORT}`, '-Pn', '-n', '--no-progress', '--db', db]);
    expect(scan.code, scan.stderr).toBe(0);
    const f = await portolan(['findings', '--db', db, '--json', '--policy', policy]);
    expect(f.code, f.stderr).toBe(0);
    expect((JSON.parse(f.stdout) as { key: string }[]).map((x) => x.key)).toContain(key);
  }, 180_000);

  afterAll(async () => {
    delete process.env.PORTOLAN_BACKUP_ROOT;
    if (lab?.hosts.mixed.ns) rmSync(`/etc/netns/${lab.hosts.mixed.ns}`, { recursive: true, force: true });
    await lab?.teardown();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** portolan in the scanner namespace. */
  function portolan(args: string[]): Promise<LabExecResult> {
    return lab.exec([process.execPath, BIN, ...args], { timeoutMs: 120_000 });
  }

  /** A command in the mixed host's namespace. */
  function onHost(argv: string[]): Promise<LabExecResult> {
    return lab.execIn('mixed', argv, { timeoutMs: 60_000 });
  }

  async function verify(keys: string[]): Promise<{ code: number | null; verdicts: Verdict[] }> {
    const r = await portolan(['verify', ...keys, '--db', db, '--json']);
    expect(r.stderr).not.toMatch(/internal error/);
    return { code: r.code, verdicts: JSON.parse(r.stdout) as Verdict[] };
  }

  /** Write the plan for `key` with `args`; returns its directory. */
  async function plan(forKey: string, args: string[]): Promise<string> {
    const out = join(dir, `plan-${Math.random().toString(36).slice(2)}`);
    const r = await portolan(['remediate', forKey, '--db', db, '--policy', policy, '-o', out, ...args]);
    expect(r.code, r.stderr).toBe(0);
    return join(out, dirName(forKey));
  }

  /** Run a generated script in the mixed namespace with --apply; returns the backup directory it printed. */
  async function applyOnHost(script: string): Promise<string> {
    const r = await onHost(['bash', script, '--apply']);
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    const saved = /saved state in (\S+)/.exec(r.stdout)?.[1];
    expect(saved, r.stdout).toBeDefined();
    return saved!;
  }

  async function rollbackOnHost(script: string, backup: string): Promise<void> {
    const r = await onHost(['bash', script, '--apply', backup]);
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
  }

  async function ruleset(): Promise<string> {
    const r = await onHost(['nft', 'list', 'ruleset']);
    expect(r.code, r.stderr).toBe(0);
    return r.stdout;
  }

  /** Port state as portolan sees it from a host namespace other than the scanner's. */
  async function stateFrom(host: 'closed', port: number): Promise<string> {
    const r = await lab.execIn(host, [process.execPath, BIN, 'scan', v4, '-p', String(port), '-Pn', '-n', '--no-progress', '--no-store', '-oJ', '-'], { timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(0);
    const line = r.stdout.split('\n').find((l) => l.startsWith('{"type":"port"'));
    return (JSON.parse(line!) as { state: string }).state;
  }

  it.each(['nftables', 'iptables'] as const)(
    '%s: block → verify fixed (filtered), SSH still answers → rollback → open again, ruleset byte-identical',
    async (backend) => {
      const planDir = await plan(key, ['--backend', backend, '--mode', 'block']);
      const files = readdirSync(planDir);
      expect(files).toEqual(expect.arrayContaining(['plan.md', `apply-block-${backend}.sh`, `rollback-block-${backend}.sh`]));
      const before = await ruleset();
      const iptBefore = backend === 'iptables' ? await onHost(['iptables-save']) : undefined;

      // The dry run changes nothing.
      const dry = await onHost(['bash', join(planDir, `apply-block-${backend}.sh`)]);
      expect(dry.code, dry.stderr).toBe(0);
      expect(await ruleset()).toBe(before);

      const backup = await applyOnHost(join(planDir, `apply-block-${backend}.sh`));
      expect(await ruleset()).not.toBe(before);
      const fixed = await verify([key]);
      expect(fixed.verdicts).toEqual([expect.objectContaining({ key, result: 'fixed', evidence: 'filtered (no-response)' })]);
      expect(fixed.code).toBe(0);
      // Smoke test: the allowed SSH service on the same host still answers.
      const ssh = await verify([sshKey]);
      expect(ssh.verdicts).toEqual([expect.objectContaining({ key: sshKey, result: 'still open', evidence: expect.stringMatching(/^open \(syn-ack\)/) as unknown })]);

      // A second apply adds nothing. (iptables-nft gives every rule a counter, and the rebuilt chain's
      // starts again at 0: counters aside, the ruleset is the same.)
      const uncounted = (text: string) => text.replace(/counter packets \d+ bytes \d+/g, 'counter');
      const applied = await ruleset();
      await applyOnHost(join(planDir, `apply-block-${backend}.sh`));
      expect(uncounted(await ruleset())).toBe(uncounted(applied));

      await rollbackOnHost(join(planDir, `rollback-block-${backend}.sh`), backup);
      const open = await verify([key]);
      expect(open.verdicts).toEqual([expect.objectContaining({ key, result: 'still open', evidence: expect.stringMatching(/^open \(syn-ack\)/) as unknown })]);
      expect(open.code).toBe(1);
      expect(await ruleset()).toBe(before);
      if (iptBefore !== undefined) {
        const strip = (s: string) => s.replace(/^#.*\n/gm, '');
        expect(strip((await onHost(['iptables-save'])).stdout)).toBe(strip(iptBefore.stdout));
      }
    },
    240_000,
  );

  it('allowlist: the allowed source (scanner) still connects, another namespace is refused; rollback restores', async () => {
    const planDir = await plan(key, ['--backend', 'nftables', '--mode', 'allowlist', '--allow-from', `${lab.scanner.v4}/32`]);
    const before = await ruleset();
    expect(await stateFrom('closed', PORT)).toBe('open');
    const backup = await applyOnHost(join(planDir, 'apply-allowlist-nftables.sh'));
    expect(await stateFrom('closed', PORT)).toBe('filtered');
    // From the allowed scanner the port still answers, so the finding is still open from there.
    const fromScanner = await verify([key]);
    expect(fromScanner.verdicts).toEqual([expect.objectContaining({ key, result: 'still open', evidence: expect.stringMatching(/^open/) as unknown })]);
    await rollbackOnHost(join(planDir, 'rollback-allowlist-nftables.sh'), backup);
    expect(await stateFrom('closed', PORT)).toBe('open');
    expect(await ruleset()).toBe(before);
  }, 240_000);

  it('remediate --apply --yes on the host itself: shows the script, applies, verifies fixed, prints the rollback', async () => {
    const before = await ruleset();
    const r = await onHost([process.execPath, BIN, 'remediate', key, '--db', db, '--policy', policy, '--backend', 'nftables', '--mode', 'block', '--apply', '--yes', '-o', join(dir, 'applied')]);
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toContain('--- dry run ---');
    expect(r.stdout).toMatch(/^fixed\s/m);
    const undo = /to roll back: (bash \S+ --apply \S+)/.exec(r.stdout)?.[1];
    expect(undo, r.stdout).toBeDefined();
    const rb = await onHost(['bash', '-c', undo!]);
    expect(rb.code, rb.stderr).toBe(0);
    expect(await ruleset()).toBe(before);
    // Without --yes and without a terminal it refuses before changing anything.
    const refused = await onHost([process.execPath, BIN, 'remediate', key, '--db', db, '--apply']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/--yes/);
    expect(await ruleset()).toBe(before);
  }, 240_000);

  it('service path: stops a real memcached through its SysV init script, verify fixed; rollback starts it again', async () => {
    const ns = lab.hosts.mixed.ns!;
    const etc = `/etc/netns/${ns}`;
    const pidFile = join(dir, 'memcached.pid');
    for (const d of ['init.d', 'rc0.d', 'rc1.d', 'rc2.d', 'rc3.d', 'rc4.d', 'rc5.d', 'rc6.d', 'rcS.d', 'systemd']) mkdirSync(join(etc, d), { recursive: true });
    // A real SysV init script for a real daemon, bound to the lab address only.
    writeFileSync(
      join(etc, 'init.d', 'memcached'),
      [
        '#!/bin/sh',
        '### BEGIN INIT INFO',
        '# Provides:          memcached',
        '# Required-Start:',
        '# Required-Stop:',
        '# Default-Start:     2 3 4 5',
        '# Default-Stop:      0 1 6',
        '# Short-Description: memcached for the portolan lab',
        '### END INIT INFO',
        `PIDFILE='${pidFile}'`,
        'case "$1" in',
        // start-stop-daemon writes the PID file as root; memcached itself runs as memcache.
        `  start) start-stop-daemon --start --quiet --background --make-pidfile --pidfile "$PIDFILE" --exec /usr/bin/memcached -- -u memcache -l ${v4} -p 11211 -U 0 ;;`,
        '  stop) start-stop-daemon --stop --quiet --oknodo --retry 5 --pidfile "$PIDFILE" --exec /usr/bin/memcached; rm -f "$PIDFILE" ;;',
        '  status) start-stop-daemon --status --pidfile "$PIDFILE" --exec /usr/bin/memcached ;;',
        '  restart) "$0" stop; "$0" start ;;',
        '  *) echo "usage: $0 start|stop|status|restart" >&2; exit 3 ;;',
        'esac',
        '',
      ].join('\n'),
      { mode: 0o755 },
    );
    try {
      expect((await onHost(['update-rc.d', 'memcached', 'defaults'])).code).toBe(0);
      const started = await onHost(['service', 'memcached', 'start']);
      expect(started.code, started.stderr).toBe(0);
      const memKey = `${v4}/tcp/11211/exposure`;
      const scan = await portolan(['scan', v4, '-p', '11211', '-Pn', '-n', '--no-progress', '--db', db]);
      expect(scan.code, scan.stderr).toBe(0);
      const planDir = await plan(memKey, ['--service-manager', 'sysv']);
      const planText = readFileSync(join(planDir, 'plan.md'), 'utf8');
      expect(planText).toContain('11211');
      const backup = await applyOnHost(join(planDir, 'apply-disable-sysv.sh'));
      expect(readFileSync(join(backup, 'sysv.state'), 'utf8')).toBe('enabled\nrunning\n');
      const fixed = await verify([memKey]);
      expect(fixed.verdicts).toEqual([expect.objectContaining({ key: memKey, result: 'fixed', evidence: 'closed (conn-refused)' })]);
      expect(readdirSync(join(etc, 'rc2.d')).some((l) => l.startsWith('K') && l.endsWith('memcached'))).toBe(true);

      await rollbackOnHost(join(planDir, 'rollback-disable-sysv.sh'), backup);
      const open = await verify([memKey]);
      expect(open.verdicts).toEqual([expect.objectContaining({ key: memKey, result: 'still open' })]);
      expect(readdirSync(join(etc, 'rc2.d')).some((l) => l.startsWith('S') && l.endsWith('memcached'))).toBe(true);
    } finally {
      await onHost(['sh', join(etc, 'init.d', 'memcached'), 'stop']);
      // Whatever happened above: the daemon is stopped by the PID it was started with.
      try {
        process.kill(Number(readFileSync(pidFile, 'utf8').trim()), 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }, 240_000);
});
