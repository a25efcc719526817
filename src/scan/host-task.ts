/**
 * The scan state of one host: its phase (discovery, then ports), what is left to send, what is in
 * flight, its RTT estimate and its congestion window. Pure bookkeeping; the engine does the I/O.
 */
import type { Family, HostReason, HostResult, PortResult } from '../core/model.js';
import { Outcome, isAnswer, verdictOf } from '../core/status.js';
import type { Endpoint } from './socket-layer.js';
import { CongestionWindow, RttEstimator, type TimingProfile } from './timing.js';

export interface ScanTarget {
  address: string;
  family: Family;
  /** The name the user gave, when the target came from a hostname. */
  hostname?: string;
}

export type Phase = 'discover' | 'ports' | 'done';

const EMPTY = new Uint16Array(0);

export class HostTask {
  readonly endpoint: Endpoint;
  phase: Phase;
  work: Uint16Array;
  /** Next index of `work` never sent yet. */
  next = 0;
  /** Indices of `work` waiting for a retransmission (or for a retry after a local limit). */
  readonly retry: number[] = [];
  tries: Uint8Array;
  /** Final outcome per index of `work`, 0 while undecided. */
  outcome: Uint8Array;
  rttMs: Float32Array;
  decided = 0;
  inFlight = 0;
  /** In-flight probes in send order, as (slot, sequence) pairs; stale entries are skipped lazily. */
  fifoSlot: number[] = [];
  fifoSeq: number[] = [];
  fifoHead = 0;
  readonly rtt: RttEstimator;
  readonly window: CongestionWindow;
  /** A retransmission was answered: timeouts on this host are loss, not firewall silence. */
  lossSeen = false;
  maxSuccessfulTry = 0;
  nextSendAt = 0;
  readonly startedAt: number;
  readonly startedAtEpoch: number;
  statusReason: HostReason = 'user-set';
  up = false;
  timedOut = false;
  sawUnreach = false;

  constructor(
    readonly id: number,
    readonly target: ScanTarget,
    private readonly ports: Uint16Array,
    discoveryPorts: Uint16Array | undefined,
    profile: TimingProfile,
    windowMax: number,
    now: number,
  ) {
    this.endpoint = { address: target.address, family: target.family };
    this.rtt = new RttEstimator(profile);
    this.window = new CongestionWindow(profile.initialHostWindow, 1, windowMax);
    this.startedAt = now;
    this.startedAtEpoch = Date.now();
    if (discoveryPorts && discoveryPorts.length > 0) {
      this.phase = 'discover';
      this.work = discoveryPorts;
    } else {
      this.phase = 'ports';
      this.up = true;
      this.work = ports;
    }
    this.tries = new Uint8Array(this.work.length);
    this.outcome = new Uint8Array(this.work.length);
    this.rttMs = new Float32Array(this.phase === 'ports' ? this.work.length : 0);
  }

  /** True when there is something to send (a retry or a never-sent port). */
  hasWork(): boolean {
    return this.phase !== 'done' && (this.retry.length > 0 || this.next < this.work.length);
  }

  /** Take the next index to send: retransmissions first, as they are the oldest. */
  takeWork(): number {
    const r = this.retry.pop();
    if (r !== undefined) return r;
    return this.next++;
  }

  /** True when every index of the current phase is decided and nothing is in flight. */
  phaseComplete(): boolean {
    return this.decided === this.work.length && this.inFlight === 0;
  }

  pushInFlight(slot: number, seq: number): void {
    this.fifoSlot.push(slot);
    this.fifoSeq.push(seq);
  }

  /** Drop the consumed front of the FIFO once it is large, so memory stays bounded. */
  compactFifo(): void {
    if (this.fifoHead > 1024 && this.fifoHead * 2 > this.fifoSlot.length) {
      this.fifoSlot = this.fifoSlot.slice(this.fifoHead);
      this.fifoSeq = this.fifoSeq.slice(this.fifoHead);
      this.fifoHead = 0;
    }
  }

  /**
   * Record a final outcome for `index`. In discovery, the first answer from the host proves it up
   * and switches to the port phase.
   */
  decide(index: number, outcome: Outcome, rttMs: number): void {
    if (this.outcome[index] !== 0) return;
    this.outcome[index] = outcome;
    this.decided++;
    if (this.phase === 'ports') {
      this.rttMs[index] = rttMs;
      return;
    }
    if (!this.up && (outcome === Outcome.Connected || outcome === Outcome.Refused)) {
      this.up = true;
      this.statusReason = outcome === Outcome.Connected ? 'syn-ack' : 'conn-refused';
    } else if (outcome === Outcome.HostUnreach || outcome === Outcome.NetUnreach || outcome === Outcome.AdminProhibited) {
      this.sawUnreach = true;
    }
  }

  /** Leave discovery: either start on the ports, or end the host as down. */
  finishDiscovery(): void {
    this.retry.length = 0;
    this.fifoSlot = [];
    this.fifoSeq = [];
    this.fifoHead = 0;
    if (!this.up) {
      this.statusReason = this.sawUnreach ? 'host-unreach' : 'no-response';
      this.phase = 'done';
      this.work = EMPTY;
      return;
    }
    this.phase = 'ports';
    this.work = this.ports;
    this.next = 0;
    this.decided = 0;
    this.tries = new Uint8Array(this.work.length);
    this.outcome = new Uint8Array(this.work.length);
    this.rttMs = new Float32Array(this.work.length);
  }

  /** The port result for a decided index. */
  portResult(index: number): PortResult {
    const outcome = this.outcome[index] as Outcome;
    const verdict = verdictOf(outcome) ?? { state: 'filtered', reason: 'error' };
    const result: PortResult = {
      protocol: 'tcp',
      port: this.work[index] ?? 0,
      state: verdict.state,
      reason: verdict.reason,
      tries: this.tries[index] ?? 0,
    };
    if (isAnswer(outcome)) result.rttMs = this.rttMs[index] ?? 0;
    return result;
  }

  /** The host's final result, ports in ascending order. */
  toResult(portResults: (index: number) => PortResult | undefined): HostResult {
    const ports: PortResult[] = [];
    if (this.up && !this.timedOut && this.phase !== 'discover') {
      const order = Array.from(this.work.keys()).sort((a, b) => (this.work[a] ?? 0) - (this.work[b] ?? 0));
      for (const i of order) {
        const r = portResults(i);
        if (r) ports.push(r);
      }
    }
    const result: HostResult = {
      address: this.target.address,
      family: this.target.family,
      hostnames: this.target.hostname ? [{ name: this.target.hostname, type: 'user' }] : [],
      status: this.up ? 'up' : 'down',
      statusReason: this.statusReason,
      ports,
      startedAt: this.startedAtEpoch,
      endedAt: Date.now(),
    };
    if (this.rtt.hasSample) {
      result.srttUs = Math.round(this.rtt.srttMs * 1000);
      result.rttvarUs = Math.round(this.rtt.rttvarMs * 1000);
    }
    result.timeoutUs = Math.round(this.rtt.timeoutMs() * 1000);
    if (this.timedOut) result.timedOut = true;
    return result;
  }
}
