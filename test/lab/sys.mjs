// Process and bookkeeping helpers for the lab: bounded child processes, PID identity checks, and
// the per-lab record file under /run/portolan-lab/ that lets a later run clean up after a crash.
import { spawn } from 'node:child_process';
import { accessSync, constants, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout, clearTimeout } from 'node:timers';

/** Where each lab writes `<prefix>.json`: owner PID, namespaces, listener PIDs. */
export const RECORD_DIR = '/run/portolan-lab';
/** Namespace names of every lab instance match this: `ptl<ownerPid>x<random>-<role>`. */
export const LAB_NS_RE = /^(ptl(\d+)x[0-9a-z]+)-([a-z]+)$/;

const DEFAULT_TIMEOUT_MS = 60_000;
const DEFAULT_MAX_BYTES = 64 * 1024 * 1024;

/**
 * Run a command; never throws for a non-zero exit (the result says so). A timeout SIGKILLs the
 * child we started and reports `timedOut`. Output beyond `maxBytes` is dropped, not buffered.
 */
export function run(cmd, args, opts = {}) {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_BYTES;
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    const out = [];
    const err = [];
    let outLen = 0;
    let errLen = 0;
    let timedOut = false;
    child.stdout.on('data', (b) => {
      if (outLen < maxBytes) out.push(b);
      outLen += b.length;
    });
    child.stderr.on('data', (b) => {
      if (errLen < maxBytes) err.push(b);
      errLen += b.length;
    });
    const timer = setTimeout(() => {
      timedOut = true;
      if (child.pid !== undefined) child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({
        code,
        signal,
        timedOut,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        durationMs: performance.now() - t0,
      });
    });
    if (opts.input !== undefined) child.stdin.end(opts.input);
  });
}

/** Like run() but a non-zero exit is a program error here (lab setup must not half-succeed). */
export async function mustRun(cmd, args, opts = {}) {
  const r = await run(cmd, args, opts);
  if (r.code !== 0) {
    const what = [cmd, ...args].join(' ');
    throw new Error(`lab: \`${what.length > 200 ? `${what.slice(0, 200)}…` : what}\` failed (${r.timedOut ? 'timeout' : `exit ${r.code}`}): ${r.stderr.trim()}`);
  }
  return r;
}

/** The kernel start time of a process (jiffies since boot), or null when it does not exist. */
export function procStartTime(pid) {
  if (!Number.isInteger(pid) || pid <= 0) return null;
  let stat;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // comm (field 2) may hold spaces and parentheses: count fields after the last ')'.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return rest[19] ?? null; // field 22 overall
}

/** The one-letter state of a process (R, S, Z, ...), or null when it does not exist. */
export function procState(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  } catch {
    return null;
  }
}

/** True when `pid` is alive and is the same process as when `start` was recorded (no PID reuse). */
export function isSameProcess(pid, start) {
  const now = procStartTime(pid);
  return now !== null && (start === undefined || start === null || now === start);
}

/** The command line of a process, or '' when it is gone. */
export function procCmdline(pid) {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
  } catch {
    return '';
  }
}

/** Find an executable on PATH (no shell). */
export function which(cmd) {
  for (const dir of (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(delimiter)) {
    const p = join(dir, cmd);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  for (const dir of ['/usr/sbin', '/sbin']) {
    const p = join(dir, cmd);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return null;
}

/** Write (atomically) the record of a lab instance. */
export function writeRecord(rec) {
  mkdirSync(RECORD_DIR, { recursive: true, mode: 0o755 });
  const file = join(RECORD_DIR, `${rec.prefix}.json`);
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(rec, null, 2)}\n`, { mode: 0o644 });
  renameSync(tmp, file);
}

/** Every readable lab record; unreadable or foreign files are skipped. */
export function readRecords() {
  let names;
  try {
    names = readdirSync(RECORD_DIR);
  } catch {
    return [];
  }
  const out = [];
  for (const name of names) {
    if (!name.endsWith('.json') || !/^ptl\d+x[0-9a-z]+\.json$/.test(name)) continue;
    try {
      const rec = JSON.parse(readFileSync(join(RECORD_DIR, name), 'utf8'));
      if (rec && typeof rec.prefix === 'string' && `${rec.prefix}.json` === name) out.push(rec);
    } catch {
      // a half-written or foreign file: leave it alone
    }
  }
  return out;
}

/** Remove a lab's record file. */
export function removeRecord(prefix) {
  rmSync(join(RECORD_DIR, `${prefix}.json`), { force: true });
}

/** Names of all network namespaces (`ip netns list`). */
export async function listNetns() {
  const r = await mustRun('ip', ['netns', 'list'], { timeoutMs: 10_000 });
  return r.stdout.split('\n').map((l) => l.split(' ')[0]).filter((n) => n !== undefined && n !== '');
}
