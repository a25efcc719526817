/** Run the built CLI (dist/) as a user would, with bounded time. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const BIN = fileURLToPath(new URL('../../bin/portolan.js', import.meta.url));

/**
 * A home of its own for every test run: the CLI stores scans in $XDG_DATA_HOME and checkpoints in
 * $XDG_STATE_HOME, and tests must never touch the real ones. Set on process.env too, so children
 * spawned directly (and lab commands, which inherit the environment) use it as well.
 */
export const TEST_HOME = mkdtempSync(join(tmpdir(), 'portolan-home-'));
export const TEST_ENV = { XDG_DATA_HOME: join(TEST_HOME, 'data'), XDG_STATE_HOME: join(TEST_HOME, 'state') } as const;
Object.assign(process.env, TEST_ENV);
process.on('exit', () => rmSync(TEST_HOME, { recursive: true, force: true }));

/** The run ended with exit 0 and no internal error; returns it for chaining. */
export function succeeded(r: RunResult): RunResult {
  if (r.code !== 0 || /internal error/.test(r.stderr)) throw new Error(`expected exit 0, got ${String(r.code)}: ${r.stderr}`);
  return r;
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Run `portolan ARGS` (optionally through a shell prefix such as `ulimit -n 256;`). */
export function runCli(args: string[], opts: { timeoutMs?: number; shellPrefix?: string; input?: string; env?: NodeJS.ProcessEnv } = {}): Promise<RunResult> {
  const child = opts.shellPrefix
    ? spawn('bash', ['-c', `${opts.shellPrefix} exec "$0" "$@"`, process.execPath, BIN, ...args], { env: { ...process.env, ...TEST_ENV, ...opts.env } })
    : spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...TEST_ENV, ...opts.env } });
  return collect(child, opts.timeoutMs ?? 60_000, opts.input);
}

/** Collect a child's output; kill it (by its PID) if it outlives the timeout. */
export function collect(child: ChildProcess, timeoutMs: number, input?: string): Promise<RunResult> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  if (input !== undefined) child.stdin?.end(input);
  else child.stdin?.end();
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  return new Promise((resolve) => {
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** Parse JSON Lines output into objects. */
export function jsonLines(text: string): Record<string, unknown>[] {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** `host port state reason` lines from JSON Lines port records, sorted: a canonical form for comparing runs. */
export function portLines(text: string): string[] {
  return jsonLines(text)
    .filter((r) => r.type === 'port')
    .map((r) => `${String(r.ip)} ${String(r.port)} ${String(r.state)} ${String(r.reason)}`)
    .sort();
}
