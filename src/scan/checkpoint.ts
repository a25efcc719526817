/**
 * Checkpoints for --resume: a JSON Lines file with a header (the original arguments) and one line
 * per finished host, appended as hosts finish and flushed to disk every second, so even a kill -9
 * loses at most the last second of finished hosts (those are scanned again on resume). Reading
 * (with validation) lives in checkpoint-read.ts, loaded only when resuming.
 */
import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs';
import type { HostResult } from '../core/model.js';

export const CHECKPOINT_FORMAT = 'portolan-checkpoint';

export interface CheckpointHeader {
  type: typeof CHECKPOINT_FORMAT;
  version: 1;
  args: string[];
  startedAt: number;
}

/** Appends finished hosts to a checkpoint file. */
export class CheckpointWriter {
  private readonly fd: number;
  private buffer: string[] = [];
  private buffered = 0;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  /** `append` continues an existing checkpoint (resume); otherwise the file is created anew. */
  constructor(
    readonly path: string,
    header: CheckpointHeader,
    append: boolean,
    private readonly flushEveryMs = 1000,
  ) {
    this.fd = openSync(path, append ? 'a' : 'w', 0o600);
    if (!append) {
      writeSync(this.fd, JSON.stringify(header) + '\n');
      fsyncSync(this.fd);
    }
  }

  addHost(host: HostResult): void {
    if (this.closed) return;
    const line = JSON.stringify({ type: 'host', host }) + '\n';
    this.buffer.push(line);
    this.buffered += line.length;
    // Flush by size too: a fast many-host sweep would otherwise hold a second of results in memory.
    if (this.buffered >= 256 * 1024) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), this.flushEveryMs);
  }

  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.buffer.length === 0 || this.closed) return;
    writeSync(this.fd, this.buffer.join(''));
    this.buffer = [];
    this.buffered = 0;
    fsyncSync(this.fd);
  }

  /** Flush and close; `complete` marks the scan as finished. */
  close(complete: boolean): void {
    if (this.closed) return;
    this.flush();
    if (complete) writeSync(this.fd, JSON.stringify({ type: 'complete' }) + '\n');
    fsyncSync(this.fd);
    closeSync(this.fd);
    this.closed = true;
  }
}

