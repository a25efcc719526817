/**
 * Identifies the service on one open port: greeting first (only as long as the port's evidence
 * says a greeting may come), then protocol probes ordered by the port's hint and by rarity, TLS on
 * any port with the service inside the tunnel identified the same way, all within one budget.
 */
import type { Socket } from 'node:net';
import type { Service } from '../core/model.js';
import { serviceNameForPort } from '../core/ports.js';
import { makeBudget, openSession, openTcp, releaseBudget, SocketSession, type PortBudget } from './probe.js';
import { mergeFieldSignatures, probeDetectors } from './signature-probes.js';
import type { Signature, SignatureProbe } from './signature.js';
import { matchSignatures, TEMPLATE_FIELDS } from './signature.js';
import { hasLine, printable } from './text.js';
import { connectTls, legacyVersions, looksLikeTls, tlsEvidence } from './tls.js';
import type { Detector, Identification, ProbeTiming, Session, Target, TlsInfo } from './types.js';

export interface DetectOptions {
  /** 0–9 as nmap's --version-intensity (default 7). */
  intensity: number;
  detectors: readonly Detector[];
  /** User and Recog signatures: raw ones (no probe) match greetings, field ones enrich results. */
  signatures: readonly Signature[];
  /** Probes from user signature files. */
  probes: readonly SignatureProbe[];
  /** Whole time one port may take, ms. */
  budgetMs: number;
  /** Greeting wait when the port's usual protocol speaks first, ms. */
  greetingMs: number;
  /** Greeting wait on a port with no hint, ms. */
  unknownGreetingMs: number;
  timing: ProbeTiming;
  connectMs: number;
  /** Byte cap per connection. */
  maxBytes: number;
}

export const DEFAULT_DETECT_OPTIONS: Omit<DetectOptions, 'detectors'> = {
  intensity: 7,
  signatures: [],
  probes: [],
  budgetMs: 20_000,
  greetingMs: 4_000,
  unknownGreetingMs: 2_000,
  timing: { replyMs: 2_500, settleMs: 150 },
  connectMs: 3_000,
  maxBytes: 64 * 1024,
};

export interface IdentifyInput {
  address: string;
  family: 4 | 6;
  hostname?: string;
  port: number;
  /** The connection the port scan made, already connected; a new one is opened when absent. */
  socket?: Socket;
}

interface Found {
  id: Identification;
  detector: Detector | undefined;
  /** The session the match came from, for the follow-up. */
  session: Session;
  /** True when the detector's own probe matched (its conversation is on `session`). */
  viaProbe: boolean;
}

/**
 * Identify the service on one open port. Never throws; closes every socket it opened. An abort
 * ends the port's budget at once: pending reads settle and whatever was found is returned.
 */
export async function identify(input: IdentifyInput, opts: DetectOptions, signal?: AbortSignal): Promise<Service> {
  const budget = makeBudget(opts.budgetMs, opts.maxBytes, opts.connectMs, input.family);
  const onAbort = (): void => {
    budget.deadline = 0;
    releaseBudget(budget);
  };
  if (signal?.aborted) onAbort();
  signal?.addEventListener('abort', onAbort, { once: true });
  const target: Target = { address: input.address, port: input.port, ...(input.hostname !== undefined && { hostname: input.hostname }) };
  const run = new Run(target, budget, { ...opts, detectors: [...probeDetectors(opts.probes, opts.signatures), ...opts.detectors] });
  try {
    return await run.identify(input.socket);
  } catch {
    return run.fallback();
  } finally {
    // Probes still running in parallel after the winner must not open anything more.
    budget.deadline = 0;
    signal?.removeEventListener('abort', onAbort);
    // RST, not FIN, for every socket (the scan's own included): no TIME_WAIT piles up.
    if (input.socket) budget.opened.add(input.socket);
    releaseBudget(budget);
  }
}

class Run {
  /** Bytes seen on the first connection, for `unknown` banners and tcpwrapped. */
  private firstData: Buffer = Buffer.alloc(0);
  private firstClosedEmpty = false;
  /** A TLS handshake was tried (or we are inside TLS already). */
  private tlsDone = false;
  /** The scan's own connection has carried a probe; later probes reconnect. */
  private firstTaken = false;

  constructor(
    private readonly target: Target,
    private readonly budget: PortBudget,
    private readonly opts: DetectOptions,
  ) {}

  async identify(socket: Socket | undefined): Promise<Service> {
    const port = this.target.port;
    const tlsHint = this.opts.detectors.some((d) => d.tlsPorts?.includes(port));
    if (tlsHint) {
      const raw = socket ?? (await openTcp(this.target, this.budget));
      const inTunnel = raw ? await this.tunnel(raw) : undefined;
      if (inTunnel) return inTunnel;
      const plain = await openSession(this.target, this.budget);
      return plain ? await this.plain(plain, true) : this.fallback();
    }
    const first = socket ? new SocketSession(socket, this.target, this.budget) : await openSession(this.target, this.budget);
    return first ? await this.plain(first, false) : this.fallback();
  }

  /** Greeting and probes on a plain (or tunnelled, see `tunnel`) connection. */
  private async plain(first: Session, tlsTried: boolean): Promise<Service> {
    const found = await this.search(first, tlsTried);
    if (found && 'id' in found) return this.finish(await this.followUp(found));
    return found ?? this.fallback();
  }

  /** Run greeting and probes; a Service when TLS took over, a Found, or undefined. */
  private async search(first: Session, tlsTried: boolean): Promise<Found | Service | undefined> {
    const port = this.target.port;
    const hinted = this.opts.detectors.filter((d) => d.ports.includes(port) || (this.target.tunnel === 'ssl' && d.tlsPorts?.includes(port)));
    const serverFirst = hinted.some((d) => d.serverFirst === true);
    const wait = hinted.length === 0 ? this.opts.unknownGreetingMs : serverFirst ? this.opts.greetingMs : 0;
    const started = performance.now();
    if (wait > 0) {
      const r = await first.read(wait, (d) => hasLine(d) || this.matchGreeting(d) !== undefined);
      this.noteFirst(first, r.end, started);
      const hit = this.greetingHit(first);
      if (hit) return hit;
      if (looksLikeTls(first.received) && !tlsTried) return this.tunnelFresh();
    }
    this.tlsDone = tlsTried || this.target.tunnel === 'ssl';
    const hintedProbes = hinted.filter((d) => d.probe !== undefined);
    // The port's usual protocols first, one at a time, the first on the scan's own connection.
    for (const d of hintedProbes) {
      const r = await this.step(d, first, started);
      if (r) return r;
    }
    // Then everything else, a few at a time on their own connections: a silent port costs
    // (probes / PARALLEL_PROBES) reply waits instead of one per probe.
    const rest = this.order(hintedProbes);
    let next = 0;
    let result: Found | Service | undefined;
    return new Promise((resolve) => {
      let workers = PARALLEL_PROBES;
      const worker = async (): Promise<void> => {
        while (result === undefined && next < rest.length && this.budget.deadline > performance.now()) {
          const r = await this.step(rest[next++]!, first, started);
          if (r && result === undefined) {
            // The first answer wins at once; probes still waiting end when the budget is released.
            result = r;
            resolve(r);
          }
        }
        if (--workers === 0) resolve(result);
      };
      for (let i = 0; i < PARALLEL_PROBES; i++) void worker();
    });
  }

  /** One probe (or the TLS step) on a fresh connection, or on `first` if nothing was sent on it yet. */
  private async step(d: Detector, first: Session, started: number): Promise<Found | Service | undefined> {
    if (this.budget.deadline <= performance.now()) return undefined;
    if (d === TLS_STEP) {
      if (this.tlsDone) return undefined;
      this.tlsDone = true;
      return this.tunnelFresh();
    }
    const reuse = first.sentBytes === 0 && !first.ended && !this.firstTaken;
    if (reuse) this.firstTaken = true;
    const session = reuse ? first : await first.reconnect();
    if (!session) return undefined;
    let id: Identification | undefined;
    try {
      id = await d.probe?.({ session, timing: this.opts.timing, intensity: this.opts.intensity });
    } catch {
      id = undefined;
    }
    if (session === first) this.noteFirst(first, first.ended ? 'closed' : 'timeout', started);
    if (id) return { id, detector: d, session, viaProbe: true };
    const late = this.greetingHit(session) ?? this.greetingHit(first);
    if (late) return late;
    const head = session.received.subarray(0, 4096);
    if (!this.tlsDone && (looksLikeTls(head) || /plain HTTP request was sent to HTTPS port/i.test(head.toString('latin1')))) {
      this.tlsDone = true;
      const t = await this.tunnelFresh();
      if (t) return t;
    }
    if (session !== first) session.close();
    return undefined;
  }

  private noteFirst(first: Session, end: string, started: number): void {
    if (first.received.length > this.firstData.length) this.firstData = first.received.subarray(0, 512);
    // nmap's tcpwrapped: the server closed right after accepting, before saying anything.
    if (first.received.length === 0 && (end === 'closed' || end === 'reset') && performance.now() - started < this.opts.timing.replyMs + 1000) this.firstClosedEmpty = true;
  }

  /** Probes after the hinted ones: the commonest (rarity 1), then TLS, then the rest by rarity (≤ intensity). */
  private order(hinted: readonly Detector[]): Detector[] {
    const rest = this.opts.detectors
      .filter((d) => d.probe !== undefined && !hinted.includes(d) && (d.rarity ?? 5) <= this.opts.intensity)
      .sort((a, b) => (a.rarity ?? 5) - (b.rarity ?? 5));
    const firstRare = rest.findIndex((d) => (d.rarity ?? 5) > 1);
    const at = firstRare < 0 ? rest.length : firstRare;
    return [...rest.slice(0, at), TLS_STEP, ...rest.slice(at)];
  }

  matchGreeting(data: Buffer): Found['id'] | undefined {
    return this.greetingOf(data)?.id;
  }

  private greetingOf(data: Buffer): { id: Identification; detector: Detector | undefined } | undefined {
    if (data.length === 0) return undefined;
    const user = matchSignatures(this.opts.signatures.filter((s) => s.probe === undefined && s.field === undefined), data);
    if (user) return { id: user, detector: undefined };
    for (const d of this.opts.detectors) {
      if (!d.greeting) continue;
      try {
        const id = d.greeting(data, this.target);
        if (id) return { id, detector: d };
      } catch {
        // a detector's parser failing on hostile bytes is "not mine"
      }
    }
    return undefined;
  }

  private greetingHit(session: Session): Found | undefined {
    const g = this.greetingOf(session.received);
    return g ? { ...g, session, viaProbe: false } : undefined;
  }

  private async followUp(found: Found): Promise<Identification> {
    const d = found.detector;
    if (!d?.followUp || this.budget.deadline <= performance.now()) return found.id;
    let session = found.session;
    if (!found.viaProbe && (session.ended || session.sentBytes > 0)) {
      // A server-first protocol matched on a connection that carried another probe: start clean.
      const fresh = await session.reconnect();
      if (!fresh) return found.id;
      if (d.serverFirst === true) await fresh.read(this.opts.greetingMs, (x) => hasLine(x) || this.matchGreeting(x) !== undefined);
      session = fresh;
    }
    try {
      return await d.followUp({ session, timing: this.opts.timing, intensity: this.opts.intensity, previous: found.id });
    } catch {
      return found.id;
    }
  }

  /** TLS on a fresh connection. */
  private async tunnelFresh(): Promise<Service | undefined> {
    const raw = await openTcp(this.target, this.budget);
    return raw ? this.tunnel(raw) : undefined;
  }

  /** Handshake on `raw`; on success identify the service inside, with the legacy-version check alongside. */
  private async tunnel(raw: Socket): Promise<Service | undefined> {
    const remaining = this.budget.deadline - performance.now();
    const tls = await connectTls(raw, this.target, Math.min(this.opts.connectMs, remaining));
    if (!tls) {
      raw.destroy();
      return undefined;
    }
    this.budget.opened.add(tls.socket);
    const inner: Target = { ...this.target, tunnel: 'ssl' };
    const legacy = legacyVersions(() => openTcp(this.target, this.budget), this.target, Math.min(this.opts.connectMs, remaining));
    const innerRun = new Run(inner, this.budget, this.opts);
    const session = new SocketSession(tls.socket, inner, this.budget);
    const found = await innerRun.search(session, true);
    if (found && !('id' in found)) return found;
    // TLS, but nothing recognised inside: nmap's `ssl/unknown`.
    const id: Identification = found ? await innerRun.followUp(found) : { service: 'unknown', confidence: 8 };
    const info: TlsInfo = { ...tls.info, legacyVersions: await legacy };
    const service = this.finish({ ...id, tls: info, evidence: [...tlsEvidence(info), ...(id.evidence ?? [])] }, 'ssl');
    if (!found && innerRun.firstData.length > 0) service.banner = printable(innerRun.firstData, 256);
    return service;
  }

  /** The Service for an identification, enriched by field signatures (user files, Recog). */
  finish(id: Identification, tunnel?: 'ssl'): Service {
    const merged = mergeFieldSignatures(id, this.opts.signatures);
    const s: Service = { name: merged.service, method: 'probed', confidence: clampConf(merged.confidence), cpe: merged.cpe ?? [] };
    for (const k of [...TEMPLATE_FIELDS, 'distro', 'packageRevision'] as const) {
      const v = merged[k];
      if (v !== undefined && v !== '') s[k] = v;
    }
    if (tunnel) s.tunnel = tunnel;
    if (merged.tls) s.tls = merged.tls;
    if (merged.startTls) s.startTls = true;
    if (merged.fields && Object.keys(merged.fields).length > 0) s.fields = boundedFields(merged.fields);
    if (merged.evidence && merged.evidence.length > 0) s.evidence = merged.evidence;
    return s;
  }

  /** Nothing recognised: tcpwrapped, unknown with the banner, or the port-table guess. */
  fallback(): Service {
    if (this.firstClosedEmpty) return { name: 'tcpwrapped', method: 'probed', confidence: 8, cpe: [] };
    if (this.firstData.length > 0) return { name: 'unknown', method: 'probed', confidence: 0, cpe: [], banner: printable(this.firstData, 256) };
    const name = serviceNameForPort(this.target.port);
    return { name: name ?? 'unknown', method: 'table', confidence: 3, cpe: [] };
  }
}

/** Probes running at once on a port no hint explains. */
const PARALLEL_PROBES = 4;

/** Marker in the probe order for "try a TLS handshake here". */
const TLS_STEP: Detector = { name: 'ssl', ports: [] };

/** At most 16 fields of at most 256 printable characters: they go to every output. */
function boundedFields(fields: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(fields).slice(0, 16)) out[k.slice(0, 64)] = printable(Buffer.from(v, 'latin1'), 256);
  return out;
}

const clampConf = (c: number): number => Math.max(0, Math.min(10, Math.round(c)));
