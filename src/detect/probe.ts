/**
 * The probe runner's connections: a Session over a TCP or TLS socket with hard caps. Every read is
 * bounded in bytes (per connection) and time (per read and per port budget); when the byte cap is
 * hit the socket is destroyed, so an endless stream, a drip feed or a 1 MiB line cannot grow memory
 * or hold the scan. Every socket a port opens is tracked and destroyed when its budget ends.
 */
import { Socket, connect as netConnect } from 'node:net';
import type { Duplex } from 'node:stream';
import { connectTls } from './tls.js';
import type { ReadEnd, ReadResult, Session, Target, TlsInfo } from './types.js';

/** Limits shared by every connection of one port. */
export interface PortBudget {
  /** performance.now() value after which nothing more is read or opened (0 once aborted). */
  deadline: number;
  /** Per-connection byte cap. */
  readonly maxBytes: number;
  /** Time allowed for a TCP connect or a TLS handshake. */
  readonly connectMs: number;
  /** Address family for new connections. */
  readonly family: 4 | 6;
  /** Everything opened for this port, destroyed by `release`. */
  readonly opened: Set<Duplex>;
}

export function makeBudget(totalMs: number, maxBytes: number, connectMs: number, family: 4 | 6): PortBudget {
  return { deadline: performance.now() + totalMs, maxBytes, connectMs, family, opened: new Set() };
}

/** Destroy every socket the port opened (RST where possible, so no TIME_WAIT piles up). */
export function releaseBudget(budget: PortBudget): void {
  for (const s of budget.opened) destroyHard(s);
  budget.opened.clear();
}

function destroyHard(s: Duplex): void {
  if (s instanceof Socket && !s.destroyed && typeof s.resetAndDestroy === 'function' && s.readyState === 'open') {
    try {
      s.resetAndDestroy();
      return;
    } catch {
      // fall through to destroy
    }
  }
  s.destroy();
}

const ignore = (): void => undefined;

const remaining = (b: PortBudget): number => Math.max(0, b.deadline - performance.now());

/** Open a TCP connection within the budget; undefined on failure or timeout. */
export function openTcp(target: Target, budget: PortBudget): Promise<Socket | undefined> {
  const ms = Math.min(budget.connectMs, remaining(budget));
  if (ms <= 0) return Promise.resolve(undefined);
  return new Promise((resolve) => {
    const socket = netConnect({ host: target.address, port: target.port, family: budget.family, noDelay: true });
    budget.opened.add(socket);
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      socket.off('connect', onConnect);
      socket.off('error', onError);
      if (!ok) {
        destroyHard(socket);
        budget.opened.delete(socket);
      }
      resolve(ok ? socket : undefined);
    };
    const onConnect = (): void => done(true);
    const onError = (): void => done(false);
    const timer = setTimeout(() => done(false), ms);
    // A reset after connect must never become an uncaught exception, whoever holds the socket then.
    socket.on('error', ignore);
    socket.once('connect', onConnect);
    socket.once('error', onError);
  });
}

interface PendingRead {
  complete: ((data: Buffer) => boolean) | undefined;
  resolve: (r: ReadResult) => void;
  timer: NodeJS.Timeout;
}

/** A Session over a connected socket (plain or TLS). */
export class SocketSession implements Session {
  readonly target: Target;
  #socket: Duplex;
  readonly #budget: PortBudget;
  #chunks: Buffer[] = [];
  #size = 0;
  #received: Buffer | undefined = Buffer.alloc(0);
  /** Bytes already returned by earlier reads. */
  #cursor = 0;
  #end: ReadEnd | undefined;
  #pending: PendingRead | undefined;
  sentBytes = 0;
  readonly #onData = (chunk: Buffer): void => this.#data(chunk);
  readonly #onEnd = (): void => this.#finish('closed');
  readonly #onError = (): void => this.#finish('reset');
  readonly #onClose = (): void => this.#finish('closed');

  constructor(socket: Duplex, target: Target, budget: PortBudget) {
    this.#socket = socket;
    this.target = target;
    this.#budget = budget;
    budget.opened.add(socket);
    this.#attach(socket);
  }

  #attach(s: Duplex): void {
    s.on('data', this.#onData);
    s.on('end', this.#onEnd);
    s.on('error', this.#onError);
    s.on('close', this.#onClose);
  }

  #detach(s: Duplex): void {
    s.off('data', this.#onData);
    s.off('end', this.#onEnd);
    s.off('error', this.#onError);
    s.off('close', this.#onClose);
  }

  get received(): Buffer {
    if (this.#received === undefined) {
      this.#received = Buffer.concat(this.#chunks, this.#size);
      this.#chunks = [this.#received];
    }
    return this.#received;
  }

  get ended(): boolean {
    return this.#end !== undefined;
  }

  #data(chunk: Buffer): void {
    if (this.#end !== undefined) return;
    const room = this.#budget.maxBytes - this.#size;
    const take = chunk.length > room ? chunk.subarray(0, room) : chunk;
    if (take.length > 0) {
      this.#chunks.push(take);
      this.#size += take.length;
      this.#received = undefined;
    }
    if (this.#size >= this.#budget.maxBytes) {
      // The cap: stop reading at once and drop the connection, whatever the server keeps sending.
      this.#finish('cap');
      destroyHard(this.#socket);
      return;
    }
    this.#check();
  }

  #unread(): Buffer {
    return this.received.subarray(this.#cursor);
  }

  #check(): void {
    const p = this.#pending;
    if (!p) return;
    const data = this.#unread();
    if (p.complete !== undefined && data.length > 0 && safeComplete(p.complete, data)) this.#settle('complete');
  }

  #settle(end: ReadEnd): void {
    const p = this.#pending;
    if (!p) return;
    this.#pending = undefined;
    clearTimeout(p.timer);
    const data = this.#unread();
    this.#cursor = this.#size;
    p.resolve({ data, end });
  }

  #finish(end: ReadEnd): void {
    if (this.#end === undefined) this.#end = end;
    if (this.#pending) {
      const data = this.#unread();
      // Bytes that complete the reply win over the close that followed them.
      const whole = this.#pending.complete !== undefined && data.length > 0 && safeComplete(this.#pending.complete, data);
      this.#settle(whole ? 'complete' : this.#end);
    }
  }

  send(data: Buffer | string): void {
    if (this.#end !== undefined || this.#socket.destroyed || !this.#socket.writable) return;
    const b = typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
    this.sentBytes += b.length;
    this.#socket.write(b);
  }

  read(timeoutMs: number, complete?: (data: Buffer) => boolean): Promise<ReadResult> {
    if (this.#pending) this.#settle('timeout');
    return new Promise((resolve) => {
      const data = this.#unread();
      if (complete !== undefined && data.length > 0 && safeComplete(complete, data)) {
        this.#cursor = this.#size;
        resolve({ data, end: 'complete' });
        return;
      }
      if (this.#end !== undefined) {
        this.#cursor = this.#size;
        resolve({ data, end: this.#end });
        return;
      }
      const ms = Math.max(0, Math.min(timeoutMs, remaining(this.#budget)));
      const timer = setTimeout(() => this.#settle('timeout'), ms);
      this.#pending = { complete, resolve, timer };
    });
  }

  async reconnect(): Promise<Session | undefined> {
    return openSession(this.target, this.#budget);
  }

  async openStream(): Promise<Duplex | undefined> {
    return openTcp(this.target, this.#budget);
  }

  async startTls(): Promise<TlsInfo | undefined> {
    if (this.#end !== undefined || !(this.#socket instanceof Socket)) return undefined;
    const raw = this.#socket;
    this.#detach(raw);
    const result = await connectTls(raw, this.target, Math.min(this.#budget.connectMs, remaining(this.#budget)));
    if (!result) {
      this.#finish('reset');
      destroyHard(raw);
      return undefined;
    }
    this.#socket = result.socket;
    this.#budget.opened.add(result.socket);
    this.#attach(result.socket);
    // What follows is the tunnel's conversation: earlier plaintext is not returned again.
    this.#cursor = this.#size;
    return result.info;
  }

  remainingMs(): number {
    return remaining(this.#budget);
  }

  close(): void {
    this.#finish('closed');
    destroyHard(this.#socket);
    this.#budget.opened.delete(this.#socket);
  }
}

/** A predicate from a detector is untrusted code path on hostile data: a throw means "not yet". */
function safeComplete(complete: (data: Buffer) => boolean, data: Buffer): boolean {
  try {
    return complete(data);
  } catch {
    return false;
  }
}

/** Open a session to `target` (TLS when `target.tunnel` is set) within the budget. */
export async function openSession(target: Target, budget: PortBudget): Promise<SocketSession | undefined> {
  const raw = await openTcp(target, budget);
  if (!raw) return undefined;
  if (target.tunnel !== 'ssl') return new SocketSession(raw, target, budget);
  const tls = await connectTls(raw, target, Math.min(budget.connectMs, remaining(budget)));
  if (!tls) {
    destroyHard(raw);
    return undefined;
  }
  budget.opened.add(tls.socket);
  return new SocketSession(tls.socket, target, budget);
}
