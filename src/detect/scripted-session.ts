/**
 * A Session without a network, for detector unit tests: the "server" is a function from what the
 * client sent to what it answers. Reads resolve at once (a silent server ends as `timeout` without
 * waiting), so hostile replies can be tested exhaustively and fast. Not used by the scanner.
 */
import type { Duplex } from 'node:stream';
import type { ReadResult, Session, Target, TlsInfo } from './types.js';

export interface Script {
  /** Bytes the server sends on accept (a greeting), if any. */
  greeting?: Buffer | string;
  /**
   * Answer to each send: bytes to queue, or undefined (silence). The exact strings `'close'` (close
   * after the queued bytes) and `'reset'` (reset, dropping them) are commands, not data.
   */
  reply?: (sent: Buffer, all: Buffer) => Buffer | string | undefined;
  /** Close right after the greeting. */
  closeAfterGreeting?: boolean;
  /** Byte cap (default 64 KiB) */
  maxBytes?: number;
  /** Result of startTls (default: undefined = fails). */
  tls?: TlsInfo;
  /** What a reconnect yields; default a new session with the same script. */
  reconnect?: 'same' | 'fail';
}

export class ScriptedSession implements Session {
  readonly target: Target;
  #pending: Buffer[] = [];
  #received = Buffer.alloc(0);
  #sent: Buffer[] = [];
  #state: 'open' | 'closing' | 'closed' | 'reset' | 'cap' = 'open';
  readonly #script: Script;
  readonly #max: number;
  sentBytes = 0;
  reconnects = 0;

  constructor(script: Script, target: Partial<Target> = {}) {
    this.#script = script;
    this.#max = script.maxBytes ?? 65536;
    this.target = { address: '198.18.0.99', port: 0, ...target };
    if (script.greeting !== undefined) this.#pending.push(Buffer.from(script.greeting));
    if (script.closeAfterGreeting) this.#state = 'closing';
  }

  /** Everything the client sent, concatenated. */
  get sent(): Buffer {
    return Buffer.concat(this.#sent);
  }

  get received(): Buffer {
    return this.#received;
  }

  get ended(): boolean {
    return this.#state !== 'open' && this.#pending.length === 0;
  }

  send(data: Buffer | string): void {
    if (this.#state === 'closed' || this.#state === 'reset' || this.#state === 'cap') return;
    const b = Buffer.from(data);
    this.#sent.push(b);
    this.sentBytes += b.length;
    const answer = this.#script.reply?.(b, this.sent);
    if (answer === 'close') this.#state = 'closing';
    else if (answer === 'reset') {
      this.#state = 'reset';
      this.#pending = [];
    } else if (answer !== undefined) this.#pending.push(Buffer.from(answer));
  }

  read(_timeoutMs: number, complete?: (data: Buffer) => boolean): Promise<ReadResult> {
    let got = Buffer.alloc(0);
    while (this.#pending.length > 0) {
      const chunk = this.#pending.shift()!;
      const room = this.#max - this.#received.length;
      const take = chunk.subarray(0, Math.max(0, room));
      got = Buffer.concat([got, take]);
      this.#received = Buffer.concat([this.#received, take]);
      if (take.length < chunk.length || this.#received.length >= this.#max) {
        this.#state = 'cap';
        this.#pending = [];
        return Promise.resolve({ data: got, end: 'cap' });
      }
      if (complete?.(got)) return Promise.resolve({ data: got, end: 'complete' });
    }
    if (this.#state === 'reset') return Promise.resolve({ data: got, end: 'reset' });
    if (this.#state === 'closing' || this.#state === 'closed') {
      this.#state = 'closed';
      return Promise.resolve({ data: got, end: 'closed' });
    }
    if (this.#state === 'cap') return Promise.resolve({ data: got, end: 'cap' });
    return Promise.resolve({ data: got, end: 'timeout' });
  }

  reconnect(): Promise<Session | undefined> {
    this.reconnects++;
    if (this.#script.reconnect === 'fail') return Promise.resolve(undefined);
    return Promise.resolve(new ScriptedSession(this.#script, this.target));
  }

  openStream(): Promise<Duplex | undefined> {
    return Promise.resolve(undefined);
  }

  startTls(): Promise<TlsInfo | undefined> {
    return Promise.resolve(this.#script.tls);
  }

  remainingMs(): number {
    return 10_000;
  }

  close(): void {
    this.#state = 'closed';
    this.#pending = [];
  }
}
