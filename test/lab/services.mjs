// The service lab: real Debian daemons on the `svc` host (one foreground process each, inside the
// host's namespace, bound to the lab addresses, all files in the lab's temporary directory) and the
// ground truth a version scanner is scored against. lab.mjs calls startServices() when the `svc`
// host is part of a lab; tests read `lab.services`. Types: services.d.mts. Tables: service-table.mjs.
import { spawn } from 'node:child_process';
import { chownSync, closeSync, mkdirSync, openSync, readFileSync, readdirSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { DAEMONS, DAEMON_NAMES, HOSTILE_PORTS } from './service-table.mjs';
import { DAEMON_SETUP } from './daemons.mjs';
import { mustRun, procStartTime, run } from './sys.mjs';

export { DAEMONS, DAEMON_NAMES, HOSTILE_PORTS, HOSTILE_PORT_NUMBERS, SERVICE_PORTS } from './service-table.mjs';

/** A daemon must listen on every port within this long after it was spawned (set-up not counted). */
export const DAEMON_READY_TIMEOUT_MS = 20_000;
/** One set-up command (initdb, mariadb-install-db, ssh-keygen, openssl...) may take this long. */
const SETUP_TIMEOUT_MS = 60_000;
const LOG_TAIL_BYTES = 2000;

/**
 * The upstream version in a Debian package version: no epoch, no Debian revision, no repack suffix.
 * "1:9.2p1-2+deb12u10" -> "9.2p1"; "1:2.3.19.1+dfsg1-2.1+deb12u7" -> "2.3.19.1"; "15.20-0+deb12u1" -> "15.20".
 */
export function upstreamVersion(packageVersion) {
  let v = String(packageVersion).trim().replace(/^\d+:/, '');
  const dash = v.lastIndexOf('-');
  if (dash > 0) v = v.slice(0, dash);
  return v.replace(/[+~](?:dfsg|ds|repack|really)[0-9.]*$/i, '');
}

/** The installed PostgreSQL major version and its binaries (Debian keeps them per major). */
function postgresInstall() {
  let majors = [];
  try {
    majors = readdirSync('/usr/lib/postgresql').filter((d) => /^\d+$/.test(d)).map(Number).sort((a, b) => b - a);
  } catch {
    // not installed
  }
  const major = majors[0];
  return major === undefined ? null : { pkg: `postgresql-${major}`, bin: `/usr/lib/postgresql/${major}/bin` };
}

/** The Debian package of each daemon (postgresql-* resolved to the installed major). */
export function daemonPackages(names = DAEMON_NAMES) {
  const out = {};
  for (const name of names) {
    const d = DAEMONS.find((x) => x.name === name);
    if (!d) throw new Error(`lab: unknown daemon ${JSON.stringify(name)}; daemons: ${DAEMON_NAMES.join(', ')}`);
    out[name] = d.pkg === 'postgresql-*' ? (postgresInstall()?.pkg ?? 'postgresql-15') : d.pkg;
  }
  return out;
}

/** Installed versions of the daemons' packages, read from dpkg at run time: { daemon: packageVersion }. */
export async function packageVersions(names = DAEMON_NAMES) {
  const pkgs = daemonPackages(names);
  const r = await run('dpkg-query', ['-W', '-f=${Package}\\t${Version}\\t${db:Status-Abbrev}\\n', ...new Set(Object.values(pkgs))]);
  const installed = new Map();
  for (const line of r.stdout.split('\n')) {
    const [pkg, version, status] = line.split('\t');
    if (pkg && version && status?.startsWith('ii')) installed.set(pkg, version);
  }
  const out = {};
  const missing = [];
  for (const [name, pkg] of Object.entries(pkgs)) {
    if (installed.has(pkg)) out[name] = installed.get(pkg);
    else missing.push(`${name} (${pkg})`);
  }
  if (missing.length > 0) throw new Error(`lab: daemon packages not installed: ${missing.join(', ')} (see .ci/run)`);
  return out;
}

/**
 * The ground truth for every port of the started daemons: what a version scanner must report.
 * `versions` maps daemon name to its full Debian package version.
 */
export function groundTruth({ names, versions, v4, v6, host = 'svc' }) {
  const pkgs = daemonPackages(names);
  const rows = [];
  for (const name of names) {
    const d = DAEMONS.find((x) => x.name === name);
    const packageVersion = versions[name];
    if (!d || packageVersion === undefined) continue;
    for (const p of d.ports) {
      rows.push(Object.freeze({
        host, daemon: name, address: v4, address6: d.v6 ? v6 : null, port: p.port, service: p.service,
        product: d.product, version: upstreamVersion(packageVersion), packageVersion, package: pkgs[name],
        tunnel: p.tunnel ?? null,
      }));
    }
  }
  return rows.sort((a, b) => a.port - b.port);
}

/** The hostile host's ports with their addresses (see HOSTILE_PORTS). */
export function hostileTruth({ v4, v6, host = 'hostile' }) {
  return HOSTILE_PORTS.map((h) => Object.freeze({ host, address: v4, address6: v6, ...h, service: h.service ?? null }));
}

/** 198.18.0.20 / 2001:2::20 as /proc/net/tcp{,6} spell them (32-bit words in host byte order). */
function procAddress(addr) {
  if (!addr.includes(':')) return Buffer.from(addr.split('.').map(Number)).reverse().toString('hex').toUpperCase();
  const [head, tail = ''] = addr.split('::');
  const h = head ? head.split(':') : [];
  const t = addr.includes('::') && tail ? tail.split(':') : [];
  const groups = [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  const bytes = Buffer.alloc(16);
  groups.forEach((g, i) => bytes.writeUInt16BE(parseInt(g, 16), i * 2));
  const words = [0, 4, 8, 12].map((o) => Buffer.from(bytes.subarray(o, o + 4)).reverse().toString('hex'));
  return words.join('').toUpperCase();
}

/** The `address:port` entries in LISTEN state of the namespace `pid` lives in. */
function listeningIn(pid) {
  const out = new Set();
  for (const file of ['tcp', 'tcp6']) {
    let text = '';
    try {
      text = readFileSync(`/proc/${pid}/net/${file}`, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f[3] === '0A' && f[1]) out.add(f[1]);
    }
  }
  return out;
}

function logTail(path) {
  try {
    const text = readFileSync(path, 'latin1');
    return text.slice(-LOG_TAIL_BYTES).trim();
  } catch {
    return '';
  }
}

/**
 * Start one daemon in `ns` and resolve once every one of its addresses:ports is in LISTEN state.
 * `onSpawn(proc)` is called with the PID record as soon as the process exists, before it is ready,
 * so a failing start is still torn down by PID. Rejects with the log tail on exit or timeout.
 */
async function startDaemon(daemon, { ns, dir, ctx, persistent, onSpawn, abort }) {
  const t0 = performance.now();
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  chmodSync(dir, 0o755);
  let setup;
  try {
    setup = await DAEMON_SETUP[daemon.name]({ ...ctx, dir });
  } catch (err) {
    throw new Error(`lab: ${daemon.name} set-up failed: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (abort.failed) throw new Abandoned(daemon.name);
  const log = join(dir, `${daemon.name}.log`);
  const fd = openSync(log, 'a', 0o644);
  let child;
  try {
    child = spawn('ip', ['netns', 'exec', ns, ...setup.argv], { stdio: ['ignore', fd, fd], detached: persistent });
  } finally {
    closeSync(fd);
  }
  let exited = null;
  child.once('exit', (code, signal) => (exited = signal ?? `exit ${code}`));
  child.once('error', (e) => (exited = e.message));
  await new Promise((r) => child.once('spawn', r).once('error', r));
  if (child.pid === undefined) throw new Error(`lab: ${daemon.name} did not start: ${exited}`);
  const spawnedAt = performance.now();
  const proc = { ns, pid: child.pid, start: procStartTime(child.pid), name: `svc:${daemon.name}`, stopSignal: setup.stopSignal ?? 'SIGTERM' };
  onSpawn(proc);
  const want = [];
  for (const p of daemon.ports) {
    want.push(`${procAddress(ctx.v4)}:${p.port.toString(16).toUpperCase().padStart(4, '0')}`);
    if (daemon.v6) want.push(`${procAddress(ctx.v6)}:${p.port.toString(16).toUpperCase().padStart(4, '0')}`);
  }
  for (;;) {
    if (abort.failed) throw new Abandoned(daemon.name);
    if (exited !== null) throw new Error(`lab: ${daemon.name} exited (${exited}) before listening; ${log}:\n${logTail(log)}`);
    const listening = listeningIn(child.pid);
    if (want.every((w) => listening.has(w))) break;
    if (performance.now() - spawnedAt > DAEMON_READY_TIMEOUT_MS) {
      throw new Error(`lab: ${daemon.name} not listening on ${daemon.ports.map((p) => p.port).join(',')} after ${DAEMON_READY_TIMEOUT_MS} ms; ${log}:\n${logTail(log)}`);
    }
    await sleep(25);
  }
  child.unref();
  return { ...proc, ms: performance.now() - t0 };
}

/** Another daemon failed first: this one's wait is abandoned (its PID is recorded, teardown stops it). */
class Abandoned extends Error {}

/** A self-signed certificate for the TLS ports (EC P-256: made in milliseconds). */
async function makeCert(dir, fqdn) {
  const cert = { cert: join(dir, 'lab-cert.pem'), key: join(dir, 'lab-key.pem') };
  await mustRun('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '3',
    '-subj', `/CN=${fqdn}`, '-addext', `subjectAltName=DNS:${fqdn}`, '-keyout', cert.key, '-out', cert.cert,
  ], { timeoutMs: SETUP_TIMEOUT_MS });
  return cert;
}

/** A set-up command; a failure reports both output streams (postfix logs its errors to stdout here). */
async function setupRun(cmd, args) {
  const r = await run(cmd, args, { timeoutMs: SETUP_TIMEOUT_MS });
  if (r.code === 0) return r;
  const out = `${r.stderr}\n${r.stdout}`.trim().slice(-LOG_TAIL_BYTES);
  throw new Error(`\`${[cmd, ...args].join(' ').slice(0, 300)}\` failed (${r.timedOut ? 'timeout' : `exit ${r.code}`}): ${out}`);
}

const gidOf = (group) => {
  for (const line of readFileSync('/etc/group', 'utf8').split('\n')) {
    const f = line.split(':');
    if (f[0] === group) return Number(f[2]);
  }
  throw new Error(`lab: no group ${group}`);
};

const uidOf = (user) => {
  for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
    const f = line.split(':');
    if (f[0] === user) return { uid: Number(f[2]), gid: Number(f[3]) };
  }
  throw new Error(`lab: no user ${user}`);
};

/**
 * Start the daemons `names` (default: all) of the host `{ v4, v6 }` inside `ns`, in parallel, with
 * their files under `tmpDir`. Each process is reported through `onSpawn` as soon as it exists. On
 * any failure every other start is still awaited (so all spawned PIDs are known), then the first
 * error is thrown. Returns { versions, processes, timings (ms per daemon and total) }.
 */
export async function startServices({ ns, v4, v6, tmpDir, names = DAEMON_NAMES, persistent = false, onSpawn = () => undefined }) {
  const t0 = performance.now();
  const daemons = names.map((n) => {
    const d = DAEMONS.find((x) => x.name === n);
    if (!d) throw new Error(`lab: unknown daemon ${JSON.stringify(n)}; daemons: ${DAEMON_NAMES.join(', ')}`);
    return d;
  });
  const versions = await packageVersions(names);
  const fqdn = 'svc.lab.test';
  const cert = names.includes('nginx') ? await makeCert(tmpDir, fqdn) : null;
  const ctx = {
    v4, v6, fqdn, cert, pgBin: postgresInstall()?.bin ?? '/usr/lib/postgresql/15/bin',
    run: (cmd, args) => setupRun(cmd, args),
    runInNs: (cmd, args) => setupRun('ip', ['netns', 'exec', ns, cmd, ...args]),
    chown: (path, user, group) => {
      const { uid, gid } = uidOf(user);
      chownSync(path, uid, group === undefined ? gid : gidOf(group));
    },
  };
  // The first failure ends every other wait at once; set-up commands still in flight are awaited
  // (each is bounded) so that every spawned PID is known before the caller tears down.
  const abort = { failed: false };
  const settled = await Promise.allSettled(
    daemons.map((d) => startDaemon(d, { ns, dir: join(tmpDir, d.name), ctx, persistent, onSpawn, abort }).catch((err) => {
      abort.failed = true;
      throw err;
    })),
  );
  const failed = settled.filter((s) => s.status === 'rejected' && !(s.reason instanceof Abandoned));
  if (failed.length > 0) throw new Error(failed.map((f) => (f.reason instanceof Error ? f.reason.message : String(f.reason))).join('\n'));
  const processes = settled.map((s) => s.value);
  const timings = Object.fromEntries(processes.map((p) => [p.name.slice(4), Math.round(p.ms)]));
  timings.total = Math.round(performance.now() - t0);
  return { versions, processes, timings };
}
