/**
 * The contract between the scan engine and the code that opens sockets. The engine decides what to
 * send and when; a socket layer only starts connects, reports how they ended, and closes them.
 *
 * Two implementations: `native` (Linux epoll addon, see native/) and `js` (net.Socket). Both close
 * every probe socket with a RST (SO_LINGER 0) so no TIME_WAIT piles up.
 */
import type { Socket } from 'node:net';
import type { Family } from '../core/model.js';
import type { Outcome } from '../core/status.js';

/** A resolved target address, prepared once per host and reused for every port. */
export interface Endpoint {
  address: string;
  family: Family;
}

/**
 * Completed probes, delivered in batches: for i < count, `slots[i]` ended as `outcomes[i]`.
 * The arrays are reused after the callback returns; copy what you keep. An outcome of 0 means
 * "withdrawn": the slot was aborted after its probe ended but before this entry was delivered
 * (typically by the handler itself, earlier in the same batch); skip it. Apart from withdrawn
 * entries a slot appears at most once per batch.
 */
export type ResultHandler = (slots: Int32Array, outcomes: Uint8Array, count: number) => void;

export interface SocketLayer {
  readonly kind: 'native' | 'js';
  /**
   * Start a connect for `slot` (a small non-negative integer the engine owns; at most one probe per
   * slot in flight). Returns an Outcome when the connect ended immediately (a local limit such as
   * EMFILE, an unreachable network) and 0 when the result will come through the handler; a layer
   * may deliver immediate failures through the handler too (the native one always does: its worker
   * threads run the connects). When `keep` is set and the connect succeeds, the socket stays open
   * until `takeConnection` or `abort`; otherwise it is reset at once. A bad slot, port or endpoint
   * throws a TypeError; a busy slot throws an Error with code ERR_PORTOLAN_SLOT_BUSY.
   */
  open(slot: number, endpoint: Endpoint, port: number, keep: boolean): Outcome | 0;
  /** Give up on an in-flight or kept slot: close with RST. Unknown or finished slots are ignored. */
  abort(slot: number): void;
  /**
   * Hand a kept, connected socket to the caller (who then owns it; it is already connected, so
   * 'connect' will not fire). Undefined if none is kept (e.g. it was reset before being taken).
   */
  takeConnection(slot: number): Socket | undefined;
  /** Busy slots: opened and not yet delivered, aborted or taken (in flight plus kept). */
  readonly inFlight: number;
  /** Stop the layer: abort everything and release its resources. */
  close(): void;
}

export interface SocketLayerOptions {
  onResults: ResultHandler;
  /** Highest slot number the engine will use, plus one. */
  maxSlots: number;
}
