// The network-namespace lab: a bridge in its own namespace, a scanner namespace and one namespace
// per target host, all on 198.18.0.0/24 and 2001:2::/64. Nothing is created in the root namespace:
// every veth is created inside the switch namespace with its peer placed straight into the target.
// Plain JS so `node` (benchmarks, lab-cli.mjs) and vitest (through lab.ts) share one implementation.
// Types: lab.d.mts. Host table: hosts.mjs.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, chmodSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { LAB_DEFAULT_HOSTS, LAB_HOSTS, LAB_HOST_NAMES, LAB_NET, expectationsOf, listenerArgs, nftRuleset } from './hosts.mjs';
import { DAEMON_NAMES, groundTruth, hostileTruth, startServices } from './services.mjs';
import {
  LAB_NS_RE, isSameProcess, listNetns, mustRun, procCmdline, procStartTime, procState, readRecords, removeRecord, run, which, writeRecord,
} from './sys.mjs';

export { LAB_DEFAULT_HOSTS, LAB_HOSTS, LAB_HOST_NAMES, LAB_NET, expectedState, expectationsOf, samplePorts, nftRuleset } from './hosts.mjs';
export {
  DAEMONS, DAEMON_NAMES, HOSTILE_PORTS, HOSTILE_PORT_NUMBERS, SERVICE_PORTS, groundTruth, hostileTruth, packageVersions, upstreamVersion,
} from './services.mjs';
export { RECORD_DIR } from './sys.mjs';

const LISTENER = fileURLToPath(new URL('./listener.mjs', import.meta.url));
const HOSTILE = fileURLToPath(new URL('./hostile.mjs', import.meta.url));
const WATCHDOG = fileURLToPath(new URL('./watchdog.mjs', import.meta.url));
const OUR_SCRIPTS = [LISTENER, HOSTILE, WATCHDOG];
// Namespaces in which every process is one the lab started (daemons and their children): teardown
// kills what is left in them by PID after the recorded processes were stopped.
const SWEPT_ROLES = new Set(['svc', 'hostile']);
const READY_TIMEOUT_MS = 10_000;
const KILL_GRACE_MS = 2_000;
// Target hosts answer every probe at once: Linux's default ICMP rate limits (per peer and global)
// would otherwise turn a burst of rejected probes into timeouts and make expectations flaky.
// Empty rate masks also bypass the global icmp_msgs_per_sec bucket, which older kernels keep
// machine-wide: we never write that one, so the root namespace's settings are never touched.
const HOST_SYSCTLS = [
  'net.ipv4.icmp_ratelimit=0', 'net.ipv4.icmp_ratemask=0', 'net.ipv6.icmp.ratelimit=0', 'net.ipv6.icmp.ratemask=',
];

/** Why the lab cannot run here, or null when it can. */
export function labUnavailableReason() {
  if (process.platform !== 'linux') return 'the lab needs Linux network namespaces';
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return 'the lab needs root (ip netns, nft)';
  for (const cmd of ['ip', 'nft']) if (which(cmd) === null) return `\`${cmd}\` is not installed`;
  return null;
}

/** True when the lab can run: Linux, root, `ip` and `nft` present. */
export function labAvailable() {
  return labUnavailableReason() === null;
}

let instances = 0;
function newPrefix() {
  instances += 1;
  return `ptl${process.pid}x${instances.toString(36)}${randomBytes(3).toString('hex')}`;
}

const nsExec = (ns, argv) => ['netns', 'exec', ns, ...argv];

function isRunning(pid, start) {
  // A zombie has exited; it only waits for its parent to reap it.
  return isSameProcess(pid, start) && procState(pid) !== 'Z';
}

async function waitGone(list, ms) {
  for (let i = 0; i < Math.ceil(ms / 50); i++) {
    if (!list.some((l) => isRunning(l.pid, l.start))) return;
    await sleep(50);
  }
}

/** Signal the recorded processes that are still the ones we started (never a reused PID). */
function signalAll(list, signal) {
  for (const l of list) {
    if (!isRunning(l.pid, l.start)) continue;
    try {
      process.kill(l.pid, signal ?? l.stopSignal ?? 'SIGTERM');
    } catch {
      // exited between the check and the signal
    }
  }
}

/** Stop the recorded listeners and delete the recorded namespaces; idempotent. */
async function teardownRecord(rec) {
  const listeners = rec.listeners ?? [];
  signalAll(listeners, null);
  await waitGone(listeners, KILL_GRACE_MS);
  signalAll(listeners, 'SIGKILL');
  await waitGone(listeners, KILL_GRACE_MS);
  const existing = new Set(await listNetns());
  // Daemon children (workers, backends) outlive a killed master: stop what is left, by PID.
  const swept = [];
  for (const ns of rec.namespaces ?? []) {
    if (!existing.has(ns) || !SWEPT_ROLES.has(ns.slice(rec.prefix.length + 1))) continue;
    const r = await run('ip', ['netns', 'pids', ns], { timeoutMs: 10_000 });
    for (const pid of r.stdout.split(/\s+/).filter(Boolean).map(Number)) {
      if (pid !== process.pid) swept.push({ pid, start: procStartTime(pid) });
    }
  }
  signalAll(swept, 'SIGKILL');
  await waitGone(swept, KILL_GRACE_MS);
  const doomed = [...(rec.namespaces ?? [])].reverse().filter((n) => existing.has(n) && n.startsWith(`${rec.prefix}-`));
  if (doomed.length > 0) await mustRun('ip', ['-batch', '-'], { input: doomed.map((n) => `netns del ${n}\n`).join('') });
  removeTmpDirs(rec);
  removeRecord(rec.prefix);
}

/**
 * Remove the lab's temporary directories: only ever `<tmpdir>/<prefix>-XXXXXX` (mkdtemp's pattern
 * for this unique prefix), found by name so that a crash between mkdtemp and the record is covered.
 */
function removeTmpDirs(rec) {
  const mine = (name) => name.startsWith(`${rec.prefix}-`) && /^[A-Za-z0-9]{6}$/.test(name.slice(rec.prefix.length + 1));
  const found = new Set(typeof rec.tmpDir === 'string' && mine(rec.tmpDir.slice(rec.tmpDir.lastIndexOf(sep) + 1)) ? [rec.tmpDir] : []);
  try {
    for (const n of readdirSync(tmpdir())) if (mine(n)) found.add(join(tmpdir(), n));
  } catch {
    // no readable tmpdir: nothing of ours there
  }
  for (const path of found) rmSync(path, { recursive: true, force: true });
}

/**
 * Remove labs whose owner process is dead (a crashed or killed test run), and lab-named namespaces
 * without any record whose owner PID (part of the name) is dead. Persistent labs (lab-cli `up`) are
 * left for `down`. Returns the prefixes removed.
 */
export async function cleanupStale() {
  const removed = [];
  for (const rec of readRecords()) {
    if (rec.persistent || isSameProcess(rec.ownerPid, rec.ownerStart)) continue;
    await teardownRecord(rec);
    removed.push(rec.prefix);
  }
  const known = new Set(readRecords().map((r) => r.prefix));
  const orphans = new Map();
  for (const name of await listNetns()) {
    const m = LAB_NS_RE.exec(name);
    if (!m || known.has(m[1]) || procStartTime(Number(m[2])) !== null) continue;
    orphans.set(m[1], [...(orphans.get(m[1]) ?? []), name]);
  }
  for (const [prefix, names] of orphans) {
    // No record: find our own listeners by what runs inside these namespaces.
    const listeners = [];
    for (const ns of names) {
      const r = await run('ip', ['netns', 'pids', ns], { timeoutMs: 10_000 });
      const ours = SWEPT_ROLES.has(ns.slice(prefix.length + 1));
      for (const pid of r.stdout.split(/\s+/).filter(Boolean).map(Number)) {
        const cmd = procCmdline(pid);
        if (ours || OUR_SCRIPTS.some((s) => cmd.includes(s))) listeners.push({ pid, start: procStartTime(pid) });
      }
    }
    await teardownRecord({ prefix, namespaces: names, listeners });
    removed.push(prefix);
  }
  return removed;
}

/** Tear down one lab by prefix from its record (lab-cli `down`). False when no record exists. */
export async function teardownPrefix(prefix) {
  const rec = readRecords().find((r) => r.prefix === prefix);
  if (!rec) return false;
  await teardownRecord(rec);
  return true;
}

/** Records of every lab on this machine, with whether the owner is alive (lab-cli `status`). */
export function listLabs() {
  return readRecords().map((r) => ({ ...r, ownerAlive: isSameProcess(r.ownerPid, r.ownerStart) }));
}

async function configureSwitch(sw, ports) {
  // The switch only bridges; IPv6 off keeps it from emitting RS/MLD noise of its own.
  await mustRun('ip', nsExec(sw, ['sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']));
  const lines = ['link set lo up', 'link add br0 type bridge mcast_snooping 0 stp_state 0', 'link set br0 up'];
  for (const { port, peerNs } of ports) {
    lines.push(`link add ${port} type veth peer name eth0 netns ${peerNs}`, `link set ${port} master br0 up`);
  }
  await mustRun('ip', ['-n', sw, '-batch', '-'], { input: `${lines.join('\n')}\n` });
}

async function configureEnd(ns, v4, v6, sysctls, ruleset) {
  if (sysctls.length > 0) await mustRun('ip', nsExec(ns, ['sysctl', '-qw', ...sysctls]));
  const lines = ['link set lo up', `addr add ${v4}/24 dev eth0`, `addr add ${v6}/64 dev eth0 nodad`, 'link set eth0 up'];
  await mustRun('ip', ['-n', ns, '-batch', '-'], { input: `${lines.join('\n')}\n` });
  if (ruleset) await mustRun('ip', nsExec(ns, ['nft', '-f', '-']), { input: ruleset });
}

function startListener(ns, args, { ownerPid, maxLifeS, persistent }, script = LISTENER) {
  const argv = nsExec(ns, [process.execPath, script, ...args, '--owner-pid', String(ownerPid), '--max-life-s', String(maxLifeS)]);
  const child = spawn('ip', argv, { stdio: ['ignore', 'pipe', 'pipe'], detached: persistent });
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => {
      if (child.pid !== undefined) child.kill('SIGKILL');
      reject(new Error(`lab: listener in ${ns} not ready after ${READY_TIMEOUT_MS} ms: ${err.trim()}`));
    }, READY_TIMEOUT_MS);
    child.stderr.on('data', (b) => {
      if (err.length < 8192) err += b.toString();
    });
    child.stdout.on('data', (b) => {
      out += b.toString();
      const line = out.split('\n').find((l) => l.startsWith('ready '));
      if (line === undefined) return;
      clearTimeout(timer);
      const pid = JSON.parse(line.slice(6)).pid;
      // The listener must outlive neither its namespace nor our interest: drop the pipes.
      child.stdout.destroy();
      child.stderr.destroy();
      child.unref();
      resolve({ ns, pid, start: procStartTime(pid), name: script === LISTENER ? 'listener' : script.split(sep).pop().replace('.mjs', '') });
    });
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`lab: listener in ${ns} exited (${code}) before ready: ${err.trim()}`));
    });
  });
}

/**
 * Build a lab and return its handle. Removes stale labs first. On any failure, what was built is
 * torn down before the error is thrown.
 */
export async function startLab(opts = {}) {
  const why = labUnavailableReason();
  if (why !== null) throw new Error(`lab unavailable: ${why}`);
  await cleanupStale();
  const t0 = performance.now();
  const prefix = newPrefix();
  const names = (opts.hosts ?? LAB_DEFAULT_HOSTS).filter((n) => {
    if (!LAB_HOSTS[n]) throw new Error(`unknown lab host ${JSON.stringify(n)}`);
    return true;
  });
  const present = names.filter((n) => LAB_HOSTS[n].present);
  const persistent = opts.persistent === true;
  const rec = {
    prefix,
    ownerPid: process.pid,
    ownerStart: procStartTime(process.pid),
    persistent,
    createdAt: new Date().toISOString(),
    namespaces: [`${prefix}-sw`, `${prefix}-scan`, ...present.map((n) => `${prefix}-${n}`)],
    hosts: names,
    listeners: [],
    tmpDir: null,
    daemons: names.includes('svc') ? [...(opts.daemons ?? DAEMON_NAMES)] : [],
    versions: {},
    serviceTimings: {},
  };
  // The record goes down before the first namespace exists, so a crash at any point is cleanable.
  writeRecord(rec);
  try {
    await mustRun('ip', ['-batch', '-'], { input: rec.namespaces.map((n) => `netns add ${n}\n`).join('') });
    const [sw, scanNs] = [`${prefix}-sw`, `${prefix}-scan`];
    await configureSwitch(sw, [
      { port: 'p-scan', peerNs: scanNs },
      ...present.map((n) => ({ port: `p-${n}`, peerNs: `${prefix}-${n}` })),
    ]);
    await Promise.all([
      configureEnd(scanNs, LAB_NET.scannerV4, LAB_NET.scannerV6, [], null),
      ...present.map(async (n) => {
        const ns = `${prefix}-${n}`;
        const sysctls = opts.icmpRateLimit === true ? [] : HOST_SYSCTLS;
        await configureEnd(ns, LAB_HOSTS[n].v4, LAB_HOSTS[n].v6, sysctls, nftRuleset(n));
      }),
    ]);
    const listenOpts = { ownerPid: persistent ? 0 : process.pid, maxLifeS: opts.maxLifeS ?? (persistent ? 12 * 3600 : 3 * 3600), persistent };
    // allSettled: every listener that did start is recorded before a failure tears the lab down.
    const started = await Promise.allSettled(
      present.map(async (n) => {
        const args = listenerArgs(n);
        if (args === null) return;
        rec.listeners.push(await startListener(`${prefix}-${n}`, args, listenOpts));
        writeRecord(rec);
      }),
    );
    const failed = started.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
    const extra = await Promise.allSettled([
      names.includes('hostile') ? startListener(`${prefix}-hostile`, [], listenOpts, HOSTILE).then((l) => {
        rec.listeners.push(l);
        writeRecord(rec);
      }) : null,
      names.includes('svc') ? startSvc(rec, listenOpts) : null,
    ]);
    const extraFailed = extra.find((r) => r.status === 'rejected');
    if (extraFailed) throw extraFailed.reason;
  } catch (err) {
    await teardownRecord(rec).catch(() => undefined);
    throw err;
  }
  return makeLab(rec, performance.now() - t0);
}

/** Start the `svc` host's daemons and its watchdog; every PID is recorded as soon as it exists. */
async function startSvc(rec, listenOpts) {
  rec.tmpDir = mkdtempSync(join(tmpdir(), `${rec.prefix}-`));
  chmodSync(rec.tmpDir, 0o755); // daemons drop to their own users and must reach their directories
  writeRecord(rec);
  const ns = `${rec.prefix}-svc`;
  rec.listeners.push(await startListener(ns, [], listenOpts, WATCHDOG));
  writeRecord(rec);
  const r = await startServices({
    ns, v4: LAB_HOSTS.svc.v4, v6: LAB_HOSTS.svc.v6, tmpDir: rec.tmpDir, names: rec.daemons, persistent: listenOpts.persistent,
    onSpawn: (proc) => {
      rec.listeners.push(proc);
      writeRecord(rec);
    },
  });
  rec.versions = r.versions;
  rec.serviceTimings = r.timings;
  writeRecord(rec);
}

/** A handle for a lab that is already up (lab-cli, benchmarks attaching to a persistent lab). */
export function attachLab(prefix) {
  const rec = readRecords().find((r) => r.prefix === prefix);
  if (!rec) throw new Error(`lab: no record for ${prefix}`);
  return makeLab(rec, 0);
}

function makeLab(rec, startupMs) {
  const hosts = {};
  for (const n of rec.hosts ?? LAB_HOST_NAMES) {
    const spec = LAB_HOSTS[n];
    hosts[n] = Object.freeze({ ...spec, ns: spec.present ? `${rec.prefix}-${n}` : null, expectations: expectationsOf(n) });
  }
  const scanNs = `${rec.prefix}-scan`;
  const nsOf = (host) => {
    const h = typeof host === 'string' ? hosts[host] : host;
    if (!h || h.ns === null) throw new Error(`lab: host ${JSON.stringify(h?.name ?? host)} has no namespace here`);
    return h.ns;
  };
  let down = false;
  return {
    prefix: rec.prefix,
    scanNs,
    switchNs: `${rec.prefix}-sw`,
    namespaces: [...rec.namespaces],
    scanner: { v4: LAB_NET.scannerV4, v6: LAB_NET.scannerV6 },
    hosts,
    startupMs,
    services: hosts.svc ? groundTruth({ names: rec.daemons ?? [], versions: rec.versions ?? {}, v4: hosts.svc.v4, v6: hosts.svc.v6 }) : [],
    hostile: hosts.hostile ? hostileTruth({ v4: hosts.hostile.v4, v6: hosts.hostile.v6 }) : [],
    serviceTimings: { ...(rec.serviceTimings ?? {}) },
    tmpDir: rec.tmpDir ?? null,
    scanArgv: (argv) => ['ip', ...nsExec(scanNs, argv)],
    exec: (argv, opts) => run('ip', nsExec(scanNs, argv), opts),
    execIn: (host, argv, opts) => run('ip', nsExec(nsOf(host), argv), opts),
    listenerPids: () => rec.listeners.map((l) => l.pid),
    processes: () => rec.listeners.map((l) => ({ ...l })),
    async readCanary() {
      const r = await mustRun('ip', nsExec(nsOf('canary'), ['nft', '-j', 'list', 'counters']));
      let total = 0;
      for (const item of JSON.parse(r.stdout).nftables ?? []) {
        if (item.counter && item.counter.table === 'portolan_lab') total += Number(item.counter.packets) || 0;
      }
      return total;
    },
    async teardown() {
      if (down) return;
      down = true;
      await teardownRecord(rec);
    },
  };
}
