/**
 * Glue between the port scan and service detection: open connections the engine hands over are
 * queued for identification, and a port (and its host) is reported once its service is known.
 */
import type { HostResult, PortResult, Service } from '../core/model.js';
import { DETECTORS } from '../detect/registry.js';
import { DEFAULT_DETECT_OPTIONS, type DetectOptions } from '../detect/identify.js';
import { DetectionQueue } from '../detect/queue.js';
import type { Signature, SignatureProbe } from '../detect/signature.js';
import type { OpenConnection, ScanTarget } from '../scan/engine.js';
import { escapeTerminal } from '../core/escape.js';
import type { DetectConfig } from './commands/scan.js';

/** Ports identified at the same time, at most. */
const MAX_CONCURRENCY = 64;
/** Sockets one port may hold at once: its first connection and up to four probes (parallel, or TLS checks). */
const FDS_PER_PORT = 5;

export class Detection {
  /** File descriptors detection may use at once; the port scan gets the rest. */
  readonly fds: number;
  readonly #queue: DetectionQueue;
  readonly #services = new Map<string, Promise<Service>>();
  readonly #byHost = new Map<string, Promise<unknown>[]>();

  /** `fdBudget`: descriptors detection may take (half of what the process may open, say). */
  constructor(options: DetectOptions, fdBudget: number) {
    const concurrency = Math.max(2, Math.min(MAX_CONCURRENCY, Math.floor(fdBudget / (FDS_PER_PORT + 1))));
    // Each running port may hold FDS_PER_PORT sockets, each waiting one its first connection.
    this.fds = concurrency * (FDS_PER_PORT + 1);
    this.#queue = new DetectionQueue(options, concurrency, concurrency);
  }

  #submit(target: ScanTarget, port: number, socket?: OpenConnection['socket']): Promise<Service> {
    const key = `${target.address}|${port}`;
    const existing = this.#services.get(key);
    if (existing) return existing;
    const p = this.#queue.submit({
      address: target.address,
      family: target.family,
      port,
      ...(target.hostname !== undefined && { hostname: target.hostname }),
      ...(socket !== undefined && { socket }),
    });
    this.#services.set(key, p);
    const list = this.#byHost.get(target.address) ?? [];
    list.push(p);
    this.#byHost.set(target.address, list);
    return p;
  }

  /** The engine's onOpen: start identifying on the connection it made. */
  onOpen = (conn: OpenConnection): void => {
    void this.#submit(conn.target, conn.port, conn.socket);
  };

  /** Resolves once an open port's service is set on `result` (at once for other states). */
  async port(target: ScanTarget, result: PortResult): Promise<void> {
    if (result.state !== 'open') return;
    result.service = await this.#submit(target, result.port);
  }

  /** Resolves once every open port of `host` carries its service. */
  async host(host: HostResult): Promise<void> {
    const open = host.ports.filter((p) => p.state === 'open');
    const target: ScanTarget = { address: host.address, family: host.family };
    for (const p of open) p.service = await this.#submit(target, p.port);
    for (const p of open) this.#services.delete(`${host.address}|${p.port}`);
    this.#byHost.delete(host.address);
  }

  drain(): Promise<void> {
    return this.#queue.drain();
  }

  abort(): void {
    this.#queue.abort();
  }
}

/** Build detection for a scan, loading --signatures files; undefined when --ports-only. */
export async function createDetection(config: DetectConfig, fdBudget: number): Promise<Detection | undefined> {
  if (!config.enabled) return undefined;
  const signatures: Signature[] = [];
  const probes: SignatureProbe[] = [];
  if (config.signatureFiles.length > 0) {
    const { loadSignatureFile } = await import('../detect/signature-file.js');
    for (const file of config.signatureFiles) {
      const loaded = await loadSignatureFile(file);
      signatures.push(...loaded.signatures);
      probes.push(...loaded.probes);
      const shown = loaded.warnings.slice(0, 20);
      for (const w of shown) process.stderr.write(`portolan: warning: ${escapeTerminal(w)}\n`);
      if (loaded.warnings.length > shown.length) process.stderr.write(`portolan: warning: ${loaded.warnings.length - shown.length} more warnings in ${escapeTerminal(file)}\n`);
    }
  }
  const options: DetectOptions = {
    ...DEFAULT_DETECT_OPTIONS,
    intensity: config.intensity,
    detectors: DETECTORS,
    signatures,
    probes,
    ...(config.budgetMs !== undefined && { budgetMs: config.budgetMs }),
  };
  return new Detection(options, fdBudget);
}
