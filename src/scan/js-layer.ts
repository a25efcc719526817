/**
 * The pure-JS socket layer: one net.Socket per probe. Slower than the native path but portable.
 * Results are batched per event-loop turn into the same typed-array handler the native layer uses.
 *
 * A slot stays busy (and counts in `inFlight`) from `open` until its result is delivered, the
 * caller aborts it, or a kept socket is taken or dies: the same books as the native layer keeps.
 */
import { isIP, Socket } from 'node:net';
import { Outcome, outcomeFromErrno } from '../core/status.js';
import type { Endpoint, ResultHandler, SocketLayer, SocketLayerOptions } from './socket-layer.js';

const FREE = 0;
const BUSY = 1;
/** Delivered as Connected with keep: waiting for takeConnection. */
const KEPT = 2;

interface Probe {
  socket: Socket;
  keep: boolean;
  /** The handshake completed and the socket is being kept (delivered or not). */
  connected: boolean;
}

/** Throws the TypeError both layers use for a bad slot or port (a program error, not an outcome). */
export function checkProbeArgs(slot: number, port: number, maxSlots: number): void {
  if (!Number.isInteger(slot) || slot < 0 || slot >= maxSlots) {
    throw Object.assign(new TypeError('slot must be an integer in [0, maxSlots)'), { code: 'ERR_PORTOLAN_ARG' });
  }
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw Object.assign(new TypeError('port must be an integer in [1, 65535]'), { code: 'ERR_PORTOLAN_ARG' });
  }
}

/** An error code as an outcome; a reset after the handshake still proves the port open. */
function outcomeOfError(err: unknown): Outcome {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ECONNRESET' || code === 'EPIPE' ? Outcome.Connected : outcomeFromErrno(code);
}

/** The net.Socket-backed socket layer. Construct through `createSocketLayer`. */
export class JsSocketLayer implements SocketLayer {
  readonly kind = 'js' as const;
  readonly #onResults: ResultHandler;
  readonly #max: number;
  /** Per slot, what the caller sees: FREE, BUSY or KEPT. */
  readonly #state: Uint8Array;
  /** Per slot, the live socket (connecting or kept), if any. */
  readonly #probes: (Probe | undefined)[];
  /** Per slot, the index of its result in the batch not yet delivered (abort withdraws it), or -1. */
  readonly #pendingAt: Int32Array;
  readonly #checked = new WeakSet<Endpoint>();
  #slots: Int32Array;
  #outcomes: Uint8Array;
  #count = 0;
  #scheduled = false;
  #busy = 0;
  #closed = false;

  constructor(opts: SocketLayerOptions) {
    if (!Number.isInteger(opts.maxSlots) || opts.maxSlots < 1 || opts.maxSlots > 1 << 20) {
      throw new TypeError('maxSlots must be an integer in [1, 1048576]');
    }
    this.#onResults = opts.onResults;
    this.#max = opts.maxSlots;
    this.#state = new Uint8Array(opts.maxSlots);
    this.#probes = new Array<Probe | undefined>(opts.maxSlots).fill(undefined);
    this.#pendingAt = new Int32Array(opts.maxSlots).fill(-1);
    this.#slots = new Int32Array(opts.maxSlots);
    this.#outcomes = new Uint8Array(opts.maxSlots);
  }

  open(slot: number, endpoint: Endpoint, port: number, keep: boolean): Outcome | 0 {
    return this.#start(slot, endpoint, port, keep, false);
  }

  /** Test hook, not part of SocketLayer: bind to the target itself to force a self-connect. @internal */
  openBoundToSelf(slot: number, endpoint: Endpoint, port: number, keep: boolean): Outcome | 0 {
    return this.#start(slot, endpoint, port, keep, true);
  }

  abort(slot: number): void {
    checkProbeArgs(slot, 1, this.#max);
    const at = this.#pendingAt[slot]!;
    if (at >= 0) {
      this.#outcomes[at] = 0;
      this.#pendingAt[slot] = -1;
    }
    const p = this.#probes[slot];
    if (p) this.#kill(p);
    this.#probes[slot] = undefined;
    this.#release(slot);
  }

  takeConnection(slot: number): Socket | undefined {
    checkProbeArgs(slot, 1, this.#max);
    const p = this.#probes[slot];
    if (this.#state[slot] !== KEPT || !p) return undefined;
    this.#probes[slot] = undefined;
    this.#release(slot);
    p.socket.removeAllListeners('error');
    p.socket.removeAllListeners('connect');
    return p.socket;
  }

  get inFlight(): number {
    return this.#busy;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (let slot = 0; slot < this.#max; slot++) {
      const p = this.#probes[slot];
      if (p) this.#kill(p);
      this.#probes[slot] = undefined;
    }
    this.#state.fill(FREE);
    this.#busy = 0;
    this.#count = 0;
  }

  #start(slot: number, endpoint: Endpoint, port: number, keep: boolean, bindToSelf: boolean): Outcome | 0 {
    checkProbeArgs(slot, port, this.#max);
    if (this.#closed) throw Object.assign(new Error('socket layer is closed'), { code: 'ERR_PORTOLAN_CLOSED' });
    if (this.#state[slot] !== FREE) throw Object.assign(new Error('slot already has a socket'), { code: 'ERR_PORTOLAN_SLOT_BUSY' });
    if (!this.#checked.has(endpoint)) {
      // A host name here would make net.Socket resolve it: only numeric addresses are endpoints.
      if (isIP(endpoint.address) !== endpoint.family) {
        throw Object.assign(new TypeError(`not an IPv${endpoint.family} address: ${JSON.stringify(endpoint.address)}`), { code: 'ERR_PORTOLAN_ARG' });
      }
      this.#checked.add(endpoint);
    }
    const socket = new Socket();
    const probe: Probe = { socket, keep, connected: false };
    socket.once('connect', () => this.#connected(slot, probe));
    socket.on('error', (err) => this.#failed(slot, probe, err));
    try {
      const opts = { port, host: endpoint.address, family: endpoint.family };
      socket.connect(bindToSelf ? { ...opts, localAddress: endpoint.address, localPort: port } : opts);
    } catch (err) {
      // Synchronous failures are local ones (EMFILE and friends).
      socket.destroy();
      const o = outcomeOfError(err);
      return o === Outcome.OtherError ? Outcome.LocalLimit : o;
    }
    this.#probes[slot] = probe;
    this.#state[slot] = BUSY;
    this.#busy++;
    return 0;
  }

  #connected(slot: number, p: Probe): void {
    if (this.#probes[slot] !== p) return;
    const s = p.socket;
    const self = s.localPort === s.remotePort && s.localAddress === s.remoteAddress;
    if (self || !p.keep) {
      this.#probes[slot] = undefined;
      s.resetAndDestroy();
    } else {
      p.connected = true;
    }
    this.#report(slot, self ? Outcome.SelfConnect : Outcome.Connected);
  }

  #failed(slot: number, p: Probe, err: Error): void {
    if (this.#probes[slot] !== p) return;
    this.#probes[slot] = undefined;
    p.socket.destroy();
    // A kept socket that dies: if already delivered, the slot is simply free again (take finds
    // nothing); if not, its Connected result still stands and the slot frees on delivery.
    if (!p.connected) this.#report(slot, outcomeOfError(err));
    else if (this.#state[slot] === KEPT) this.#release(slot);
  }

  #report(slot: number, outcome: Outcome): void {
    const i = this.#count++;
    if (i === this.#slots.length) this.#grow();
    this.#slots[i] = slot;
    this.#outcomes[i] = outcome;
    this.#pendingAt[slot] = i;
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => this.#flush());
    }
  }

  #flush(): void {
    this.#scheduled = false;
    const n = this.#count;
    this.#count = 0;
    if (n === 0 || this.#closed) return;
    // Settle the books before the handler runs, so it sees what it would see natively.
    for (let i = 0; i < n; i++) {
      const slot = this.#slots[i]!;
      if (this.#outcomes[i] === 0) continue;
      if (this.#probes[slot]?.connected) this.#state[slot] = KEPT;
      else this.#release(slot);
    }
    try {
      this.#onResults(this.#slots, this.#outcomes, n);
    } finally {
      for (let i = 0; i < n; i++) this.#pendingAt[this.#slots[i]!] = -1;
    }
  }

  #release(slot: number): void {
    if (this.#state[slot] === FREE) return;
    this.#state[slot] = FREE;
    this.#busy--;
  }

  // Only abort-and-reopen within one turn can put a slot in a batch twice; make room rather than drop.
  #grow(): void {
    const slots = new Int32Array(this.#slots.length * 2);
    const outcomes = new Uint8Array(this.#outcomes.length * 2);
    slots.set(this.#slots);
    outcomes.set(this.#outcomes);
    this.#slots = slots;
    this.#outcomes = outcomes;
  }

  #kill(p: Probe): void {
    p.socket.removeAllListeners('connect');
    // Keep an error listener: a late error on a dying socket must not become an uncaught exception.
    p.socket.removeAllListeners('error');
    p.socket.on('error', () => {});
    // resetAndDestroy waits for 'connect' on a connecting socket; destroy closes it in SYN_SENT,
    // which sends nothing and leaves no TIME_WAIT.
    if (p.socket.connecting) p.socket.destroy();
    else p.socket.resetAndDestroy();
  }
}
