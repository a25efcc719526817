/**
 * The probe slots: one per socket the engine may have in flight. A slot records which host and
 * which work index it probes, when it was sent, and a sequence number, so a stale reference (a
 * host's FIFO entry for a slot since reused) is recognised and skipped.
 */
import type { HostTask } from './host-task.js';

export class SlotTable {
  readonly host: (HostTask | undefined)[];
  readonly index: Int32Array;
  readonly seq: Float64Array;
  readonly sentAt: Float64Array;
  private readonly free: Int32Array;
  private freeTop: number;
  private nextSeq = 0;

  constructor(readonly size: number) {
    this.host = new Array<HostTask | undefined>(size).fill(undefined);
    this.index = new Int32Array(size);
    this.seq = new Float64Array(size);
    this.sentAt = new Float64Array(size);
    this.free = new Int32Array(size);
    for (let i = 0; i < size; i++) this.free[i] = size - 1 - i;
    this.freeTop = size;
  }

  /** Slots not in use. */
  get available(): number {
    return this.freeTop;
  }

  /** Take a free slot for (host, index) sent at `now`; returns the slot and records its sequence number. */
  acquire(host: HostTask, index: number, now: number): number {
    const slot = this.free[--this.freeTop]!;
    this.host[slot] = host;
    this.index[slot] = index;
    this.seq[slot] = ++this.nextSeq;
    this.sentAt[slot] = now;
    return slot;
  }

  /** Free a slot; returns the host it belonged to, or undefined if it was already free. */
  release(slot: number): HostTask | undefined {
    const host = this.host[slot];
    if (!host) return undefined;
    this.host[slot] = undefined;
    this.seq[slot] = 0;
    this.free[this.freeTop++] = slot;
    return host;
  }

  /** Does `slot` still carry the probe `seq` of `host`? */
  live(slot: number, host: HostTask, seq: number | undefined): boolean {
    return this.host[slot] === host && this.seq[slot] === seq;
  }
}
