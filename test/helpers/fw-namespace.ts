/**
 * The harness for live firewall tests: a network namespace per case (made and deleted by the test),
 * a TCP server and a connect probe inside it, and the script runners and checks the cases share.
 * Every command goes through `ip netns exec`; nothing runs in the host's own namespace.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { FirewallBackend, FirewallRuleSpec } from '../../src/remediate/types.js';
import { runBash, type ScriptResult } from './remediate.js';

export const SYSTEM_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
/** The port the rules cover, and one they must leave alone. */
export const P = 7001;
export const Q = 7002;
export const KEY = 'live/tcp/7001/test';
export const CASE_MS = 20_000;
export const CONNECT_MS = 700;

/** Where a command lives on the system PATH, or undefined. */
export function which(cmd: string): string | undefined {
  const r = spawnSync('sh', ['-c', 'command -v "$1"', 'sh', cmd], { encoding: 'utf8', env: { PATH: SYSTEM_PATH } });
  return r.status === 0 ? r.stdout.trim() : undefined;
}
export const has = (cmd: string): boolean => which(cmd) !== undefined;
export const isRoot = process.getuid?.() === 0;
/** What a suite needs and this machine lacks (root included), and the title suffix that says so. */
export const missing = (tools: string[]): string[] => [...(isRoot ? [] : ['root']), ...tools.filter((t) => !has(t))];
export const needs = (lacking: string[]): string => (lacking.length > 0 ? ` (skipped: needs ${lacking.join(', ')})` : '');

export const block: FirewallRuleSpec = { mode: 'block', protocol: 'tcp', port: P, family: 'both', findingKey: KEY };
export const allow: FirewallRuleSpec = { ...block, mode: 'allowlist', allowFrom: ['127.0.0.1/32'] };

/** Listens on 127.0.0.1 and ::1 at every port given; exits by itself after 60 s should a test die. */
export const SERVER_JS = `const net = require('net');
const ports = process.argv.slice(1).map(Number);
let up = 0;
for (const host of ['127.0.0.1', '::1']) for (const port of ports) {
  const s = net.createServer((c) => c.end());
  s.on('error', (e) => { console.error(e.message); process.exit(1); });
  s.listen(port, host, () => { if (++up === ports.length * 2) console.log('ready'); });
}
setTimeout(() => process.exit(0), 60000);`;

/** Connects to each [host, port] once, in parallel: `open`, `timeout` (dropped) or the error code. */
export const PROBE_JS = `const net = require('net');
Promise.all(JSON.parse(process.argv[1]).map(([host, port]) => new Promise((done) => {
  const s = net.connect({ host, port });
  const t = setTimeout(() => { s.destroy(); done('timeout'); }, ${CONNECT_MS});
  s.on('connect', () => { clearTimeout(t); s.destroy(); done('open'); });
  s.on('error', (e) => { clearTimeout(t); done(e.code); });
}))).then((r) => console.log(JSON.stringify(r)));`;

/** One namespace of our own, with the PATH its tools are found on (a shim first for another iptables). */
export class Namespace {
  readonly name = `portolan-fw-${randomBytes(4).toString('hex')}`;
  readonly backups: string;
  private readonly servers: ChildProcess[] = [];

  constructor(
    readonly tmp: string,
    readonly path: string,
  ) {
    this.backups = join(tmp, 'backups');
  }

  /** Runs a command inside the namespace; throws unless it succeeds, and returns its stdout. */
  run(cmd: string, args: string[], input?: string): string {
    const r = spawnSync('ip', ['netns', 'exec', this.name, cmd, ...args], { input, encoding: 'utf8', env: { PATH: this.path }, timeout: 10_000 });
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} in ${this.name}: status ${r.status}: ${r.stderr}`);
    return r.stdout;
  }

  /** Runs a generated script inside the namespace with the backups in the temp dir. */
  script(text: string, args: string[]): ScriptResult {
    const env = { PATH: this.path, PORTOLAN_BACKUP_ROOT: this.backups };
    return runBash(text, args, { env, wrap: ['ip', 'netns', 'exec', this.name], timeoutMs: 15_000 });
  }

  /** The backup directory the last apply recorded. */
  lastBackup(backend: string): string {
    return readFileSync(join(this.backups, `${backend}.last`), 'utf8').trim();
  }

  /** Starts the loopback servers for `ports` and waits until all listen. */
  async serve(ports: number[]): Promise<void> {
    const child = spawn('ip', ['netns', 'exec', this.name, process.execPath, '-e', SERVER_JS, ...ports.map(String)], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.servers.push(child);
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('servers did not start in 5 s')), 5_000);
      child.stdout.on('data', (d: Buffer) => d.toString().includes('ready') && (clearTimeout(t), resolve()));
      child.on('exit', (code) => (clearTimeout(t), reject(new Error(`servers exited with ${code}`))));
    });
  }

  /** What a connect from inside the namespace to each port on 127.0.0.1 and ::1 gets. */
  reach(ports: number[]): Record<string, string> {
    const targets = ['127.0.0.1', '::1'].flatMap((h) => ports.map((p) => [h, p] as const));
    const out = JSON.parse(this.run(process.execPath, ['-e', PROBE_JS, JSON.stringify(targets)])) as string[];
    return Object.fromEntries(targets.map(([h, p], i) => [`${h} ${p}`, out[i]!]));
  }

  /** Stops our servers by PID and deletes the namespace. */
  destroy(): void {
    for (const s of this.servers) if (s.pid !== undefined && s.exitCode === null) process.kill(s.pid, 'SIGTERM');
    spawnSync('ip', ['netns', 'delete', this.name]);
  }
}

/**
 * The system PATH, or with `shim` (`legacy`, `nft`) a PATH whose iptables tools are that variant's:
 * symlinks in `tmp` named as the scripts call them (the multi-call binaries go by that name).
 */
export function shimPath(tmp: string, shim: string | undefined): string {
  if (shim === undefined) return SYSTEM_PATH;
  const dir = join(tmp, 'shim');
  mkdirSync(dir);
  for (const cmd of ['iptables', 'ip6tables']) {
    for (const tail of ['', '-save', '-restore']) {
      const target = which(`${cmd}-${shim}${tail}`);
      if (target === undefined) throw new Error(`${cmd}-${shim}${tail} is not installed`);
      symlinkSync(target, join(dir, `${cmd}${tail}`));
    }
  }
  return `${dir}:${SYSTEM_PATH}`;
}

/** Runs `body` in a fresh namespace that is deleted afterwards, whatever happens; `shim` as in shimPath. */
export async function inNamespace(body: (ns: Namespace) => Promise<void> | void, shim?: string): Promise<void> {
  const tmp = mkdtempSync(join(tmpdir(), 'portolan-fw-live-'));
  const ns = new Namespace(tmp, shimPath(tmp, shim));
  try {
    const add = spawnSync('ip', ['netns', 'add', ns.name], { encoding: 'utf8' });
    if (add.status !== 0) throw new Error(`ip netns add ${ns.name}: ${add.stderr}`);
    ns.run('ip', ['link', 'set', 'lo', 'up']);
    await body(ns);
  } finally {
    ns.destroy();
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** Expected connect results: every address and port open except those listed. */
export function expectReach(ns: Namespace, dropped: string[]): void {
  const want = Object.fromEntries(['127.0.0.1', '::1'].flatMap((h) => [P, Q].map((p) => [`${h} ${p}`, dropped.includes(`${h} ${p}`) ? 'timeout' : 'open'])));
  expect(ns.reach([P, Q])).toEqual(want);
}

/** Runs a script and demands success; returns its stdout. */
export function ok(ns: Namespace, text: string, args: string[]): string {
  const r = ns.script(text, args);
  expect(r.stderr, r.stdout).toBe('');
  expect(r.status).toBe(0);
  return r.stdout;
}

/** A dry run of both scripts changes nothing: same dump, and not even the backup root is made. */
export function expectDryRunInert(ns: Namespace, backend: FirewallBackend, dump: () => string): void {
  const before = dump();
  const out = backend.build(block);
  expect(ok(ns, out.apply, [])).toContain('portolan: dry run, nothing changed');
  expect(ok(ns, out.rollback, [join(ns.tmp, 'none')])).toContain('portolan: dry run, nothing changed');
  expect(dump()).toBe(before);
  expect(existsSync(ns.backups)).toBe(false);
}

/** A run that must refuse before the first change: status 1, the reason on stderr, no backup recorded. */
export function expectRefused(ns: Namespace, text: string, why: string, backend: string): void {
  const r = ns.script(text, ['--apply']);
  expect(r.status).toBe(1);
  expect(r.stderr).toContain(why);
  expect(existsSync(join(ns.backups, `${backend}.last`))).toBe(false);
}
