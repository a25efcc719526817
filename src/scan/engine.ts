/**
 * The connect-scan scheduler. One loop decides what to send to which host and when, within a
 * global congestion window, per-host windows, the fd limit, --min-rate/--max-rate and the timing
 * template; a socket layer starts the connects and reports how they ended.
 *
 * No timer per probe: each host keeps its in-flight probes in send order, so its oldest probe is
 * the next to expire, and one timer is armed for the earliest expiry across hosts. Expiry runs in
 * the event loop's check phase, after pending I/O, so a late-processed answer is never mistaken for
 * a timeout.
 */
import { performance } from 'node:perf_hooks';
import { Outcome, isAnswer } from '../core/status.js';
import { HostTask, type ScanTarget } from './host-task.js';
import { SlotTable } from './slots.js';
import type { SocketLayer } from './socket-layer.js';
import type { EngineOptions, EngineStats } from './engine-types.js';
import { CongestionWindow, RateGate } from './timing.js';

export type { ScanTarget } from './host-task.js';

export type { EngineOptions, EngineStats, OpenConnection } from './engine-types.js';

const CHUNK = 1024;
const LOCAL_LIMIT_BACKOFF_MS = 10;
/** A timer this late means the event loop, not the network, is behind. */
const LAG_LIMIT_MS = 50;

/** Run a scan to completion (or until `signal` aborts). Results arrive through the callbacks. */
export function runScan(targets: AsyncIterable<ScanTarget>, opts: EngineOptions): Promise<EngineStats> {
  return new Engine(targets, opts).run();
}

class Engine {
  private readonly layer: SocketLayer;
  private readonly slots: SlotTable;
  private readonly active: HostTask[] = [];
  private cursor = 0;
  private readonly pending: ScanTarget[] = [];
  private targetsDone = false;
  private pulling = false;
  private nextHostId = 0;
  private readonly global: CongestionWindow;
  private readonly rate: RateGate;
  private capacityCap: number;
  private backoffUntil = 0;
  private readonly startedAt = performance.now();
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;
  private expiryQueued = false;
  private fillQueued = false;
  private finished = false;
  private resolve!: (s: EngineStats) => void;
  private reject!: (e: unknown) => void;
  private readonly iterator: AsyncIterator<ScanTarget>;
  private readonly stats: EngineStats;
  private readonly hostGroup: number;

  constructor(
    targets: AsyncIterable<ScanTarget>,
    private readonly opts: EngineOptions,
  ) {
    const cap = Math.max(1, Math.min(opts.fdCap, opts.timing.maxParallelism));
    this.capacityCap = cap;
    this.slots = new SlotTable(cap);
    this.global = new CongestionWindow(Math.max(opts.timing.initialHostWindow * 2, 1), 1, cap);
    this.rate = new RateGate(opts.maxRate, this.startedAt);
    const perHost = Math.max(1, opts.ports.length);
    // Few hosts at a time keeps per-batch bookkeeping small and lets finished hosts die young in the GC.
    this.hostGroup = opts.hostGroup ?? Math.max(8, Math.min(256, Math.ceil((cap * 4) / perHost)));
    this.iterator = targets[Symbol.asyncIterator]();
    this.layer = opts.createLayer({ maxSlots: cap, onResults: (s, o, n) => this.onResults(s, o, n) });
    this.stats = { probesSent: 0, hostsDone: 0, hostsUp: 0, portsDone: 0, localLimitHits: 0, lagBackoffs: 0, interrupted: false, socketLayer: this.layer.kind };
    opts.statsRef?.(() => this.stats);
  }

  run(): Promise<EngineStats> {
    return new Promise<EngineStats>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
      if (this.opts.signal?.aborted) return this.interrupt();
      this.opts.signal?.addEventListener('abort', () => this.interrupt(), { once: true });
      this.pullTargets();
    });
  }

  /** Keep a small buffer of upcoming targets filled from the (async) target iterator. */
  private pullTargets(): void {
    if (this.pulling || this.targetsDone || this.finished) return;
    if (this.pending.length >= this.hostGroup) return;
    this.pulling = true;
    this.iterator.next().then(
      (r) => {
        this.pulling = false;
        if (this.finished) return;
        if (r.done) this.targetsDone = true;
        else this.pending.push(r.value);
        this.pullTargets();
        this.fill();
      },
      (err: unknown) => this.fail(err),
    );
  }

  private admitHosts(now: number): void {
    while (this.active.length < this.hostGroup && this.pending.length > 0) {
      const target = this.pending.shift()!;
      const windowMax = this.capacityCap;
      this.active.push(new HostTask(this.nextHostId++, target, this.opts.ports, this.opts.discoveryPorts, this.opts.timing, windowMax, now));
    }
    this.pullTargets();
  }

  /** Send as much as the windows, rate and limits allow. */
  private fill(): void {
    if (this.finished) return;
    const now = performance.now();
    this.admitHosts(now);
    if (now < this.backoffUntil) return this.armTimer(this.backoffUntil);
    let budget = Math.min(this.global.allowed, this.capacityCap) - this.layer.inFlight;
    if (this.opts.minRate) {
      const due = (this.opts.minRate * (now - this.startedAt)) / 1000 - this.stats.probesSent;
      if (due > 0) budget = Math.max(budget, Math.min(Math.ceil(due), this.capacityCap - this.layer.inFlight));
    }
    budget = Math.min(budget, this.rate.available(now), CHUNK, this.slots.available);
    let sent = 0;
    let idle = 0;
    while (sent < budget && this.active.length > 0 && idle < this.active.length && now >= this.backoffUntil) {
      if (this.cursor >= this.active.length) this.cursor = 0;
      const host = this.active[this.cursor]!;
      const room = host.window.allowed - host.inFlight;
      if (room <= 0 || !host.hasWork() || now < host.nextSendAt) {
        idle++;
        this.cursor++;
        continue;
      }
      idle = 0;
      const burst = Math.min(room, budget - sent, 64);
      for (let k = 0; k < burst && host.hasWork() && this.slots.available > 0; k++) {
        this.send(host, now);
        sent++;
        if (this.opts.timing.scanDelayMs > 0) {
          host.nextSendAt = now + this.opts.timing.scanDelayMs;
          break;
        }
        if (now < this.backoffUntil || host.phase === 'done') break;
      }
      this.cursor++;
    }
    this.rate.take(sent);
    // Hosts that just finished leave room for pending ones: come back for them at once.
    if (this.finishHosts() && this.pending.length > 0) this.queueFill();
    if (sent >= CHUNK || (sent > 0 && sent === budget && this.global.allowed - this.layer.inFlight > 0)) this.queueFill();
    else if (this.rate.waitMs() > 0) this.armTimer(now + this.rate.waitMs());
    this.armExpiry(now);
    this.checkDone();
  }

  private queueFill(): void {
    if (this.fillQueued) return;
    this.fillQueued = true;
    setImmediate(() => {
      this.fillQueued = false;
      this.fill();
    });
  }

  private send(host: HostTask, now: number): void {
    const index = host.takeWork();
    const slot = this.slots.acquire(host, index, now);
    host.tries[index] = (host.tries[index] ?? 0) + 1;
    host.inFlight++;
    host.pushInFlight(slot, this.slots.seq[slot]!);
    this.stats.probesSent++;
    const keep = host.phase === 'ports' && this.opts.onOpen !== undefined;
    const immediate = this.layer.open(slot, host.endpoint, host.work[index] ?? 0, keep);
    if (immediate !== 0) this.complete(slot, immediate, now);
  }

  private onResults(slots: Int32Array, outcomes: Uint8Array, count: number): void {
    const now = performance.now();
    for (let i = 0; i < count; i++) {
      const outcome = outcomes[i]!;
      // 0: we aborted that slot earlier in this batch (e.g. discovery ended); it may carry a new probe.
      if (outcome !== 0) this.complete(slots[i]!, outcome as Outcome, now);
    }
    this.fill();
  }

  /** Free a slot and return its host. */
  private release(slot: number): HostTask | undefined {
    const host = this.slots.release(slot);
    if (host) host.inFlight--;
    return host;
  }

  private complete(slot: number, outcome: Outcome, now: number): void {
    const index = this.slots.index[slot]!;
    const sentAt = this.slots.sentAt[slot]!;
    const host = this.release(slot);
    if (!host || host.phase === 'done') {
      if (outcome === Outcome.Connected) this.layer.abort(slot);
      return;
    }
    const tryNo = (host.tries[index] ?? 1) - 1;
    if (outcome === Outcome.LocalLimit || outcome === Outcome.SelfConnect) {
      // Not an answer and not a try: give the try back and send again later.
      host.tries[index] = tryNo;
      host.retry.push(index);
      if (outcome === Outcome.LocalLimit) this.localLimit(now);
      return;
    }
    const rtt = now - sentAt;
    if (isAnswer(outcome)) {
      host.rtt.sample(rtt);
      if (tryNo > 0) {
        // An answered retransmission: the first try was lost on the way. Real loss: slow down.
        const proven = tryNo > host.maxSuccessfulTry;
        host.lossSeen = true;
        host.maxSuccessfulTry = Math.max(host.maxSuccessfulTry, tryNo);
        if (proven) this.reopenTimeouts(host);
        host.window.cut(now, host.rtt.timeoutMs());
        this.global.cut(now, host.rtt.timeoutMs());
      } else {
        host.window.grow();
        this.global.grow();
      }
      this.capacityCap = Math.min(this.capacityCap + 1, this.slots.size);
    } else if (outcome === Outcome.Timeout && tryNo < this.allowedRetries(host)) {
      host.retry.push(index);
      this.timeoutWindow(host, now);
      return;
    } else if (outcome === Outcome.Timeout) {
      this.timeoutWindow(host, now);
    }
    if (outcome === Outcome.Connected && host.phase === 'ports' && this.opts.onOpen) {
      const socket = this.layer.takeConnection(slot);
      if (socket) this.opts.onOpen({ target: host.target, port: host.work[index] ?? 0, socket });
    }
    this.decide(host, index, outcome, rtt, now);
  }

  private decide(host: HostTask, index: number, outcome: Outcome, rtt: number, now: number): void {
    host.decide(index, outcome, rtt);
    if (host.phase === 'ports') {
      this.stats.portsDone++;
      // A timeout is provisional until the host is done (see reopenTimeouts); answers stream at once.
      if (this.opts.onPort && outcome !== Outcome.Timeout) this.opts.onPort(host.target, host.portResult(index));
    } else if (host.up || host.decided === host.work.length) {
      this.abortHost(host);
      host.finishDiscovery();
      host.nextSendAt = now;
    }
  }

  /**
   * Retries just proved useful on this host, so ports given up as silent under the old allowance
   * may have lost their probes too: give them the tries the new allowance grants.
   */
  private reopenTimeouts(host: HostTask): void {
    if (host.phase !== 'ports') return;
    const allowed = this.allowedRetries(host) + 1;
    for (let i = 0; i < host.work.length; i++) {
      if (host.outcome[i] === Outcome.Timeout && (host.tries[i] ?? 0) < allowed) {
        host.outcome[i] = 0;
        host.decided--;
        this.stats.portsDone--;
        host.retry.push(i);
      }
    }
  }

  /** Retries allowed for a port: one until a retransmission has proven useful, then up to --max-retries. */
  private allowedRetries(host: HostTask): number {
    return Math.min(this.opts.maxRetries, Math.max(1, host.maxSuccessfulTry + 1));
  }

  private timeoutWindow(host: HostTask, now: number): void {
    if (host.lossSeen) {
      host.window.cut(now, host.rtt.timeoutMs());
      this.global.cut(now, host.rtt.timeoutMs());
    } else {
      host.window.grow();
      this.global.grow();
    }
  }

  /** EMFILE and friends: shrink our own ceiling below what we have open and pause briefly. */
  private localLimit(now: number): void {
    this.stats.localLimitHits++;
    this.capacityCap = Math.max(4, Math.floor(this.layer.inFlight * 0.9));
    this.backoffUntil = now + LOCAL_LIMIT_BACKOFF_MS;
  }

  /** Abort every probe the host has in flight. */
  private abortHost(host: HostTask): void {
    for (let i = host.fifoHead; i < host.fifoSlot.length; i++) {
      const slot = host.fifoSlot[i]!;
      if (this.slots.live(slot, host, host.fifoSeq[i])) {
        this.layer.abort(slot);
        this.release(slot);
      }
    }
    host.fifoHead = host.fifoSlot.length;
  }

  private armExpiry(now: number): void {
    let earliest = Infinity;
    for (const host of this.active) {
      const due = this.headDeadline(host);
      if (due < earliest) earliest = due;
      if (this.opts.timing.hostTimeoutMs > 0) earliest = Math.min(earliest, host.startedAt + this.opts.timing.hostTimeoutMs);
      if (host.nextSendAt > now && host.hasWork()) earliest = Math.min(earliest, host.nextSendAt);
    }
    if (earliest < Infinity) this.armTimer(earliest);
  }

  /** When the oldest live probe of this host expires (skipping finished entries). */
  private headDeadline(host: HostTask): number {
    while (host.fifoHead < host.fifoSlot.length) {
      const slot = host.fifoSlot[host.fifoHead]!;
      if (this.slots.live(slot, host, host.fifoSeq[host.fifoHead])) {
        return this.slots.sentAt[slot]! + host.rtt.timeoutMs();
      }
      host.fifoHead++;
    }
    host.compactFifo();
    return Infinity;
  }

  private armTimer(at: number): void {
    if (this.finished || at >= this.timerAt) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => this.onTimer(), Math.max(0, Math.ceil(at - performance.now())));
  }

  private onTimer(): void {
    const lag = performance.now() - this.timerAt;
    this.timer = undefined;
    this.timerAt = Infinity;
    if (lag > LAG_LIMIT_MS) {
      // The event loop stalled (GC, a slow consumer, an overloaded machine): our own clock is the
      // bottleneck, not the network. Halve the global window so there is less to keep up with.
      this.stats.lagBackoffs++;
      this.global.cut(performance.now(), lag);
    }
    if (this.expiryQueued) return;
    this.expiryQueued = true;
    // The check phase runs after this iteration's I/O: answers already in are counted first.
    setImmediate(() => {
      this.expiryQueued = false;
      this.expire();
      this.fill();
    });
  }

  private expire(): void {
    const now = performance.now();
    for (const host of this.active) {
      if (this.opts.timing.hostTimeoutMs > 0 && now - host.startedAt >= this.opts.timing.hostTimeoutMs && host.phase !== 'done') {
        this.abortHost(host);
        host.timedOut = true;
        host.phase = 'done';
        continue;
      }
      const timeout = host.rtt.timeoutMs();
      while (host.fifoHead < host.fifoSlot.length) {
        const slot = host.fifoSlot[host.fifoHead]!;
        if (!this.slots.live(slot, host, host.fifoSeq[host.fifoHead])) {
          host.fifoHead++;
          continue;
        }
        if (this.slots.sentAt[slot]! + timeout > now) break;
        host.fifoHead++;
        this.layer.abort(slot);
        this.complete(slot, Outcome.Timeout, now);
      }
      host.compactFifo();
    }
  }

  /** Report and retire hosts whose work is complete; true if any was retired. */
  private finishHosts(): boolean {
    let retired = false;
    for (let i = 0; i < this.active.length; i++) {
      const host = this.active[i]!;
      const done = host.phase === 'done' ? host.inFlight === 0 || host.timedOut : host.phase === 'ports' && host.phaseComplete();
      if (!done) continue;
      if (host.inFlight > 0) this.abortHost(host);
      host.phase = 'done';
      this.active.splice(i--, 1);
      this.stats.hostsDone++;
      if (host.up) this.stats.hostsUp++;
      if (this.opts.onPort && host.up && !host.timedOut) {
        for (let idx = 0; idx < host.work.length; idx++) if (host.outcome[idx] === Outcome.Timeout) this.opts.onPort(host.target, host.portResult(idx));
      }
      this.opts.onHost(host.toResult((idx) => host.portResult(idx)));
      retired = true;
    }
    return retired;
  }

  private checkDone(): void {
    if (this.finished || !this.targetsDone || this.pulling || this.pending.length > 0 || this.active.length > 0) return;
    this.stop();
    this.resolve(this.stats);
  }

  private interrupt(): void {
    if (this.finished) return;
    this.stats.interrupted = true;
    this.stop();
    void this.iterator.return?.();
    this.resolve(this.stats);
  }

  private fail(err: unknown): void {
    if (this.finished) return;
    this.stop();
    this.reject(err);
  }

  private stop(): void {
    this.finished = true;
    if (this.timer) clearTimeout(this.timer);
    this.layer.close();
  }
}
