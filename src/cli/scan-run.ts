/**
 * Runs a validated scan: scope check, outputs, checkpoint, progress, Ctrl-C, then the engine.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { HostResult, PortResult, ScanPlan, ScanSummary, Service } from '../core/model.js';
import { serviceNameForPort } from '../core/ports.js';
import { compileExclusions, countTargets, expandTargets, type Target } from '../core/targets.js';
import { quoteToken } from '../core/errors.js';
import { findFormat } from '../report/registry.js';
import type { ReportWriter, RunInfo } from '../report/types.js';
import { CheckpointWriter } from '../scan/checkpoint.js';
import { createSocketLayer, nativeStatus } from '../scan/connect.js';
import { runScan, type EngineStats, type ScanTarget } from '../scan/engine.js';
import { socketCap } from '../scan/limits.js';
import { resolveName } from '../scan/resolve.js';
import { assertInScope, loadScope, type Scope } from '../scan/scope.js';
import type { ScanConfig } from './commands/scan.js';
import { startProgress } from './progress.js';
import type { Detection } from './scan-detect.js';
import { ScanRecorder } from './scan-store.js';
import { Sink } from './sink.js';
import { VERSION } from './version.js';

interface Output {
  writer: ReportWriter;
  sink: Sink;
}

/** The state folder for checkpoints: $XDG_STATE_HOME/portolan or ~/.local/state/portolan. */
function defaultCheckpointPath(): string {
  const base = process.env.XDG_STATE_HOME || join(homedir(), '.local', 'state');
  const dir = join(base, 'portolan', 'checkpoints');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return join(dir, `scan-${new Date().toISOString().replace(/[:.]/g, '-')}-${process.pid}.jsonl`);
}

function openOutputs(config: ScanConfig): Output[] {
  const outputs: Output[] = [];
  const toStdout = config.outputs.some((o) => o.path === '-');
  if (!toStdout) {
    const normal = findFormat('normal');
    if (normal) outputs.push({ writer: normal.create({ destination: 'terminal' }), sink: new Sink('-', process.stdout.isTTY === true) });
  }
  for (const o of config.outputs) {
    const format = findFormat(o.formatId);
    if (!format) continue;
    const destination = o.path === '-' ? 'terminal' : 'file';
    outputs.push({ writer: format.create({ destination }), sink: new Sink(o.path, o.path === '-' && format.id === 'jsonl') });
  }
  return outputs;
}

/** The port-table guess nmap shows in its SERVICE column before any version probing. */
function withTableService(p: PortResult): PortResult {
  const name = serviceNameForPort(p.port);
  if (name !== undefined && p.service === undefined) p.service = { name, method: 'table', confidence: 3, cpe: [] } satisfies Service;
  return p;
}

/** Run the scan; resolves to the exit code (0 done, 130 interrupted). */
export async function runScanCommand(config: ScanConfig): Promise<number> {
  let scope: Scope | undefined;
  if (config.scopeFile !== undefined) {
    scope = await loadScope(config.scopeFile, resolveName);
    await assertInScope(config.specs, scope, resolveName);
  }
  const exclusions = await compileExclusions(config.excludes, resolveName);
  // Signature files are read (and rejected) before anything is sent.
  // Loaded only when used: the detectors cost ~100 ms of start-up that --ports-only need not pay.
  const detection: Detection | undefined = config.detect.enabled ? await (await import('./scan-detect.js')).createDetection(config.detect, Math.floor(socketCap() / 2)) : undefined;
  const finished = new Map<string, HostResult>();
  for (const h of config.resume?.finished.hosts ?? []) finished.set(h.address, h);

  const startedAt = Date.now();
  // Opened before anything is sent, so a bad --db costs nothing but one line.
  const recorder = await ScanRecorder.open(config.store, config.argv, startedAt);
  try {
    return await scanAndReport(config, scope, exclusions, detection, finished, startedAt, recorder);
  } finally {
    await recorder?.close();
  }
}

/** The scan proper: outputs, checkpoint, Ctrl-C, the engine, then the store. */
async function scanAndReport(
  config: ScanConfig,
  scope: Scope | undefined,
  exclusions: Awaited<ReturnType<typeof compileExclusions>>,
  detection: Detection | undefined,
  finished: ReadonlyMap<string, HostResult>,
  startedAt: number,
  recorder: ScanRecorder | undefined,
): Promise<number> {
  const plan: ScanPlan = { args: config.argv, scanType: 'connect', protocol: 'tcp', ports: Array.from(config.ports), startedAt, version: VERSION };
  const info: RunInfo = { targets: config.targetTexts, verbosity: config.verbosity, openOnly: config.openOnly, showReason: config.showReason };
  const outputs = openOutputs(config);
  for (const o of outputs) o.sink.write(o.writer.begin(plan, info));

  const checkpointPath = config.resume?.path ?? config.checkpointPath ?? defaultCheckpointPath();
  const checkpoint = new CheckpointWriter(checkpointPath, { type: 'portolan-checkpoint', version: 1, args: config.argv, startedAt }, config.resume !== undefined);
  if (config.verbosity > 0) process.stderr.write(`portolan: checkpoint ${checkpointPath} (resume with: portolan scan --resume ${checkpointPath})\n`);

  let hostsUp = 0;
  let hostsTotal = 0;
  const emitHost = (host: HostResult): void => {
    hostsTotal++;
    if (host.status === 'up') hostsUp++;
    host.ports.forEach(withTableService);
    for (const o of outputs) o.sink.write(o.writer.host(host));
    recorder?.add(host);
  };
  const writePort = (target: ScanTarget, result: PortResult): void => {
    withTableService(result);
    for (const o of outputs) if (o.writer.port) o.sink.write(o.writer.port(target, result));
  };
  // With detection, an open port (and then its host) is written once its service is known.
  const portWrites = new Map<string, Promise<void>[]>();
  const hostWrites: Promise<void>[] = [];
  const emitPort = (target: ScanTarget, result: PortResult): void => {
    if (!detection || result.state !== 'open') {
      writePort(target, result);
      return;
    }
    const list = portWrites.get(target.address) ?? [];
    list.push(detection.port(target, result).then(() => writePort(target, result)));
    portWrites.set(target.address, list);
  };
  const finishHost = (host: HostResult): void => {
    if (!detection) {
      emitHost(host);
      checkpoint.addHost(host);
      return;
    }
    const writes = portWrites.get(host.address) ?? [];
    portWrites.delete(host.address);
    hostWrites.push(
      Promise.all(writes)
        .then(() => detection.host(host))
        .then(() => {
          emitHost(host);
          checkpoint.addHost(host);
        }),
    );
  };
  // Hosts finished before an interruption: reported again so the merged output equals a clean run.
  for (const host of finished.values()) {
    for (const p of host.ports) writePort(host, p);
    emitHost(host);
  }

  const controller = new AbortController();
  let interrupts = 0;
  const onSigint = (): void => {
    interrupts++;
    if (interrupts > 1) process.exit(130);
    process.stderr.write('\nportolan: interrupted; finishing output (Ctrl-C again to quit at once)\n');
    controller.abort();
    detection?.abort();
  };
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigint);

  const targets = scopedTargets(config, exclusions, scope, finished);
  let stats: EngineStats = { probesSent: 0, hostsDone: 0, hostsUp: 0, portsDone: 0, localLimitHits: 0, lagBackoffs: 0, interrupted: false, socketLayer: 'js' };
  let live: (() => EngineStats) | undefined;
  const totalHosts = Number(countTargets(config.specs)) - finished.size;
  const progress = await startProgress({
    total: totalHosts > 0 && config.specs.every((s) => s.kind !== 'name') ? totalHosts * config.ports.length : undefined,
    bar: config.progress && process.stderr.isTTY === true,
    statsEveryMs: config.statsEveryMs,
    stats: () => live?.() ?? stats,
  });
  let error: unknown;
  try {
    const running = runScan(targets, {
      ports: config.ports,
      timing: config.timing,
      ...(config.discoveryPorts && { discoveryPorts: config.discoveryPorts }),
      maxRetries: config.maxRetries,
      ...(config.minRate !== undefined && { minRate: config.minRate }),
      ...(config.maxRate !== undefined && { maxRate: config.maxRate }),
      fdCap: detection ? Math.max(8, socketCap() - detection.fds) : socketCap(),
      ...(detection && { onOpen: detection.onOpen }),
      ...(config.hostGroup !== undefined && { hostGroup: config.hostGroup }),
      createLayer: (opts) => {
        const layer = createSocketLayer(opts);
        if (config.verbosity > 0) {
          const why = layer.kind === 'js' ? ` (native path: ${nativeStatus().reason ?? 'not chosen'})` : '';
          process.stderr.write(`portolan: socket path ${layer.kind}${why}\n`);
        }
        return layer;
      },
      onPort: emitPort,
      onHost: finishHost,
      signal: controller.signal,
      statsRef: (get) => {
        live = get;
      },
    });
    stats = await running;
    await Promise.all(hostWrites);
    await detection?.drain();
  } catch (err) {
    error = err;
  } finally {
    progress.stop();
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigint);
  }
  const interrupted = stats.interrupted;
  const summary: ScanSummary = {
    endedAt: Date.now(),
    hostsUp,
    hostsDown: hostsTotal - hostsUp,
    hostsTotal,
    exit: interrupted || error !== undefined ? 'error' : 'success',
    elapsedMs: Date.now() - startedAt,
    probesSent: stats.probesSent,
  };
  if (interrupted) summary.message = 'Interrupted by user';
  else if (error !== undefined) summary.message = error instanceof Error ? error.message : 'scan failed';
  for (const o of outputs) {
    o.sink.write(o.writer.end(summary));
    o.sink.close();
  }
  checkpoint.close(!interrupted && error === undefined);
  // A finished scan needs no resume point; keep only the ones the user asked for by name.
  if (!interrupted && error === undefined && config.checkpointPath === undefined && config.resume === undefined) rmSync(checkpointPath, { force: true });
  await recorder?.finish(interrupted ? 'interrupted' : error !== undefined ? 'failed' : 'done');
  if (error !== undefined) throw error instanceof Error ? error : new Error('scan failed');
  if (interrupted) {
    process.stderr.write(`portolan: resume with: portolan scan --resume ${quoteToken(checkpointPath)}\n`);
    return 130;
  }
  return 0;
}

/** The target stream: resolved, excluded, scope-checked, and without hosts a resumed scan already has. */
async function* scopedTargets(config: ScanConfig, exclusions: Awaited<ReturnType<typeof compileExclusions>>, scope: Scope | undefined, finished: ReadonlyMap<string, HostResult>): AsyncGenerator<ScanTarget> {
  const onUnresolved = (name: string, reason: string): void => {
    process.stderr.write(`portolan: failed to resolve ${quoteToken(name)} (${reason}); skipped\n`);
  };
  const options = {
    exclusions,
    resolveAll: true,
    onUnresolved,
    ...(config.family !== undefined && { family: config.family }),
    ...(config.seed !== undefined && { seed: config.seed }),
  };
  for await (const t of expandTargets(config.specs, resolveName, options)) {
    if (finished.has(t.address)) continue;
    if (scope && !scope.contains(t.address)) {
      process.stderr.write(`portolan: ${t.address}${t.hostname ? ` (${quoteToken(t.hostname)})` : ''} is outside the scope in ${quoteToken(scope.path)}; not scanned\n`);
      continue;
    }
    yield toScanTarget(t);
  }
}

function toScanTarget(t: Target): ScanTarget {
  return t.hostname !== undefined ? { address: t.address, family: t.family, hostname: t.hostname } : { address: t.address, family: t.family };
}
