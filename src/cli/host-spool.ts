/**
 * Hosts of a scan kept until the scan is over: the first ones in memory, the rest in a private
 * temporary file (JSON lines, mode 0600), so a large sweep costs disk rather than heap. The store
 * gets them only when the scan completes, in one short transaction.
 */
import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { StringDecoder } from 'node:string_decoder';
import { join } from 'node:path';
import type { HostResult } from '../core/model.js';

/** Ports (plus one per host) held in memory before the spool spills to its file. */
const MEMORY_PORTS = 50_000;
const READ_CHUNK = 1 << 20;

export class HostSpool {
  #memory: HostResult[] = [];
  #memoryPorts = 0;
  #dir: string | undefined;
  #fd: number | undefined;
  #spilled = 0;

  get size(): number {
    return this.#memory.length + this.#spilled;
  }

  add(host: HostResult): void {
    if (this.#fd === undefined && this.#memoryPorts + host.ports.length + 1 <= MEMORY_PORTS) {
      this.#memory.push(host);
      this.#memoryPorts += host.ports.length + 1;
      return;
    }
    if (this.#fd === undefined) {
      this.#dir = mkdtempSync(join(tmpdir(), 'portolan-spool-'));
      this.#fd = openSync(join(this.#dir, 'hosts.jsonl'), 'w+', 0o600);
    }
    writeSync(this.#fd, `${JSON.stringify(host)}\n`);
    this.#spilled++;
  }

  /** Every host in the order added: memory first, then the file. */
  *hosts(): Generator<HostResult> {
    yield* this.#memory;
    if (this.#fd === undefined) return;
    const buf = Buffer.alloc(READ_CHUNK);
    // A chunk may end inside a multi-byte character: the decoder keeps the partial bytes.
    const decoder = new StringDecoder('utf8');
    let rest = '';
    let at = 0;
    for (;;) {
      const n = readSync(this.#fd, buf, 0, READ_CHUNK, at);
      if (n === 0) break;
      at += n;
      const lines = (rest + decoder.write(buf.subarray(0, n))).split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) if (line !== '') yield JSON.parse(line) as HostResult;
    }
    rest += decoder.end();
    if (rest !== '') yield JSON.parse(rest) as HostResult;
  }

  /** Forget everything and remove the file. Safe to call more than once. */
  discard(): void {
    this.#memory = [];
    this.#memoryPorts = 0;
    this.#spilled = 0;
    if (this.#fd !== undefined) closeSync(this.#fd);
    this.#fd = undefined;
    if (this.#dir !== undefined) rmSync(this.#dir, { recursive: true, force: true });
    this.#dir = undefined;
  }
}
