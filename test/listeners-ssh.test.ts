/**
 * `portolan listeners --ssh` against the real OpenSSH server of the lab's `svc` host, run from the
 * scanner namespace with keys ssh-keygen made for this test. Host key policy (unknown, accepted,
 * OpenSSH-hashed, changed), key and agent authentication, and what the audit reports: sshd on 22
 * with its bind scope and pid, and openssh-server at the version dpkg reports. Needs `npm run build`.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN } from './helpers/cli.js';
import { labUnavailableReason, startLab, type Lab } from './lab/lab.js';

function toolsMissing(): string | null {
  for (const tool of ['ssh-keygen', 'ssh-agent', 'ssh-add']) {
    try {
      execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    } catch {
      return `${tool} not installed`;
    }
  }
  return existsSync('/usr/sbin/sshd') ? null : 'sshd not installed';
}

const why = labUnavailableReason() ?? toolsMissing();
const SSH_LOG = (lab: Lab): string => join(lab.tmpDir ?? '', 'ssh', 'ssh.log');

describe.skipIf(why !== null)(`listeners --ssh against OpenSSH in the lab${why ? ` (skipped: ${why})` : ''}`, () => {
  let lab: Lab;
  let dir: string;
  let key: string;
  let wrongKey: string;
  let host: string;
  let hostFingerprint: string;
  let sshdPid: number;

  /** `portolan listeners --ssh root@svc …` in the scanner namespace, without any agent unless `env` says so. */
  const listeners = (args: string[], env: string[] = ['-u', 'SSH_AUTH_SOCK']) =>
    lab.exec(['env', ...env, process.execPath, BIN, 'listeners', '--no-store', '--ssh', `root@${host}`, ...args], { timeoutMs: 60_000 });
  const keygen = (args: string[]): string => execFileSync('ssh-keygen', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const acceptedLogins = (): number => (readFileSync(SSH_LOG(lab), 'utf8').match(/Accepted publickey for root/g) ?? []).length;

  beforeAll(async () => {
    lab = await startLab({ hosts: ['svc'], daemons: ['ssh'] });
    host = lab.hosts.svc.v4;
    dir = mkdtempSync(join(tmpdir(), 'portolan-ssh-lab-'));
    key = join(dir, 'id_ed25519');
    wrongKey = join(dir, 'id_wrong');
    keygen(['-q', '-t', 'ed25519', '-N', '', '-C', 'portolan-test', '-f', key]);
    keygen(['-q', '-t', 'ed25519', '-N', '', '-C', 'not-authorized', '-f', wrongKey]);
    // The lab's sshd reads this file (empty at start) for every login: only our key gets in.
    writeFileSync(join(lab.tmpDir ?? '', 'ssh', 'authorized_keys'), readFileSync(`${key}.pub`), { mode: 0o600 });
    // OpenSSH's own fingerprint of the host key, to compare with what we print.
    hostFingerprint = keygen(['-l', '-E', 'sha256', '-f', join(lab.tmpDir ?? '', 'ssh', 'ssh_host_ed25519_key.pub')]).split(' ')[1] ?? '';
    const sshd = lab.processes().find((p) => p.ns === lab.hosts.svc.ns && p.name === 'svc:ssh');
    sshdPid = sshd?.pid ?? 0;
    expect(sshdPid).toBeGreaterThan(0);
  });
  afterAll(async () => {
    await lab?.teardown();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('refuses an unknown host key without --accept-new-host-key, naming OpenSSH’s fingerprint', async () => {
    const kh = join(dir, 'kh-unknown');
    const before = acceptedLogins();
    const r = await listeners(['-i', key, '--known-hosts', kh]);
    expect(r.code).toBe(2);
    expect(hostFingerprint).toMatch(/^SHA256:/);
    expect(r.stderr).toContain(`portolan: unknown host key for ${host} (fingerprint ${hostFingerprint}, ssh-ed25519); verify it and add it to known_hosts`);
    expect(r.stderr).toContain('--accept-new-host-key');
    expect(existsSync(kh)).toBe(false);
    expect(acceptedLogins()).toBe(before);
  });

  it('with --accept-new-host-key records the key (0600, readable by ssh-keygen -F) and lists sshd on 22 with its scope', async () => {
    const kh = join(dir, 'kh');
    const before = acceptedLogins();
    const r = await listeners(['-i', key, '--known-hosts', kh, '--accept-new-host-key', '--json']);
    expect(acceptedLogins()).toBe(before + 1);
    expect(r.stderr).toMatch(/installed packages recorded/);
    expect(r.code).toBe(0);
    expect(statSync(kh).mode & 0o777).toBe(0o600);
    expect(keygen(['-F', host, '-f', kh])).toContain(`${host} ssh-ed25519 `);
    const rows = JSON.parse(r.stdout) as { protocol: string; address: string; port: number; scope: string; pid?: number; process?: string; user?: string }[];
    const ssh = rows.filter((x) => x.protocol === 'tcp' && x.port === 22);
    // The lab's sshd listens on the host's two addresses only: one socket each, scope specific.
    expect(ssh.map((x) => x.address).sort()).toEqual([lab.hosts.svc.v4, lab.hosts.svc.v6].sort());
    for (const x of ssh) {
      expect(['all', 'specific']).toContain(x.scope);
      expect(x.scope).toBe('specific');
      expect(x).toMatchObject({ process: 'sshd', user: 'root' });
      expect(x.pid).toBe(sshdPid);
    }
    // The second run trusts the recorded key and adds nothing.
    const again = await listeners(['-i', key, '--known-hosts', kh, '-oJ', '-']);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/"port":\s*22/);
    expect(readFileSync(kh, 'utf8').trim().split('\n')).toHaveLength(1);
  });

  it('reports openssh-server at the version dpkg reports, and the OS', async () => {
    const kh = join(dir, 'kh');
    const script = [
      `const { auditRemote } = await import(${JSON.stringify(new URL('../dist/listeners/ssh.js', import.meta.url).href)});`,
      `const o = await auditRemote({ host: ${JSON.stringify(host)}, username: 'root', privateKeyPath: ${JSON.stringify(key)}, knownHostsPath: ${JSON.stringify(kh)} });`,
      `process.stdout.write(JSON.stringify({ source: o.source, address: o.host.address, osHint: o.osHint, count: o.packages.length, ssh: o.packages.filter((p) => p.name === 'openssh-server') }));`,
    ].join('\n');
    const r = await lab.exec(['env', '-u', 'SSH_AUTH_SOCK', process.execPath, '--input-type=module', '-e', script], { timeoutMs: 60_000 });
    expect(r.stderr).toBe('');
    const out = JSON.parse(r.stdout) as { source: string; address: string; osHint?: string; count: number; ssh: { name: string; version: string; manager: string }[] };
    const truth = lab.services.find((s) => s.daemon === 'ssh');
    expect(truth?.package).toBe('openssh-server');
    expect(out).toMatchObject({ source: 'ssh', address: host });
    expect(out.ssh).toEqual([expect.objectContaining({ name: 'openssh-server', version: truth?.packageVersion, manager: 'dpkg' })]);
    const all = execFileSync('dpkg-query', ['-W', '-f=${db:Status-Abbrev}\\n'], { encoding: 'utf8' }).split('\n').filter((l) => l[1] === 'i');
    expect(out.count).toBe(all.length);
    expect(out.osHint ?? '').toMatch(/\S/);
  });

  it('reads OpenSSH-hashed known_hosts entries (ssh-keygen -H)', async () => {
    const kh = join(dir, 'kh-hashed');
    writeFileSync(kh, readFileSync(join(dir, 'kh')), { mode: 0o600 });
    keygen(['-H', '-f', kh]);
    expect(readFileSync(kh, 'utf8')).toMatch(/^\|1\|/);
    const r = await listeners(['-i', key, '--known-hosts', kh]);
    expect(r.stderr).not.toMatch(/host key/i);
    expect(r.code).toBe(0);
  });

  it('refuses a changed host key loudly, also with --accept-new-host-key, and never logs in', async () => {
    const kh = join(dir, 'kh-tampered');
    const other = join(dir, 'other_host_key');
    keygen(['-q', '-t', 'ed25519', '-N', '', '-f', other]);
    const otherBlob = readFileSync(`${other}.pub`, 'utf8').split(' ')[1] ?? '';
    const tampered = readFileSync(join(dir, 'kh'), 'utf8').replace(/ssh-ed25519 \S+/, `ssh-ed25519 ${otherBlob}`);
    writeFileSync(kh, tampered, { mode: 0o600 });
    const before = acceptedLogins();
    for (const extra of [[], ['--accept-new-host-key']]) {
      const r = await listeners(['-i', key, '--known-hosts', kh, ...extra]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`portolan: HOST KEY MISMATCH for ${host}: it presented ssh-ed25519 ${hostFingerprint}`);
      expect(r.stderr).toContain('nothing was sent');
      expect(r.stdout).toBe('');
    }
    expect(readFileSync(kh, 'utf8')).toBe(tampered);
    expect(acceptedLogins()).toBe(before);
  });

  it('a key that is not authorized fails with an authentication error (exit 2)', async () => {
    const r = await listeners(['-i', wrongKey, '--known-hosts', join(dir, 'kh')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^portolan: authentication as "root" on 198\.18\.0\.20 failed \(tried key "[^"]+id_wrong"\)/);
  });

  it('authenticates through ssh-agent when no -i is given', async () => {
    const sock = join(dir, 'agent.sock');
    // -D: foreground, so it is our child and we stop it by its PID.
    const agent: ChildProcess = spawn('ssh-agent', ['-D', '-a', sock], { stdio: 'ignore' });
    try {
      for (let i = 0; i < 50 && !existsSync(sock); i++) await new Promise((r) => setTimeout(r, 50));
      execFileSync('ssh-add', ['-q', key], { env: { ...process.env, SSH_AUTH_SOCK: sock }, stdio: 'ignore' });
      const r = await listeners(['--known-hosts', join(dir, 'kh'), '--json'], [`SSH_AUTH_SOCK=${sock}`]);
      expect(r.stderr).not.toMatch(/authentication/);
      expect(r.code).toBe(0);
      const rows = JSON.parse(r.stdout) as { port: number; process?: string }[];
      expect(rows.find((x) => x.port === 22)?.process).toBe('sshd');
    } finally {
      if (agent.pid !== undefined) process.kill(agent.pid, 'SIGTERM');
    }
  });
});
