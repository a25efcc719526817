/**
 * Where output text goes: stdout or a file. Text is gathered into chunks and written synchronously
 * (files) or through process.stdout (which is synchronous for files, pipes and terminals on Linux),
 * so a result printed is a result on disk even if the process is killed right after.
 */
import { closeSync, openSync, writeSync } from 'node:fs';

const CHUNK_BYTES = 64 * 1024;

export class Sink {
  private parts: string[] = [];
  private size = 0;
  private readonly fd: number | undefined;

  /** `path` `-` is stdout. `eager` flushes on every write (a terminal wants to see hosts as they finish). */
  constructor(
    readonly path: string,
    private readonly eager = false,
  ) {
    this.fd = path === '-' ? undefined : openSync(path, 'w', 0o644);
  }

  write(text: string): void {
    if (text.length === 0) return;
    this.parts.push(text);
    this.size += text.length;
    if (this.eager || this.size >= CHUNK_BYTES) this.flush();
  }

  flush(): void {
    if (this.size === 0) return;
    const text = this.parts.length === 1 ? this.parts[0]! : this.parts.join('');
    this.parts = [];
    this.size = 0;
    if (this.fd === undefined) process.stdout.write(text);
    else writeSync(this.fd, text);
  }

  /** Resolve once stdout has drained (for producers that can outrun a slow pipe). */
  async drained(): Promise<void> {
    if (this.fd !== undefined || !process.stdout.writableNeedDrain) return;
    await new Promise<void>((resolve) => process.stdout.once('drain', resolve));
  }

  close(): void {
    this.flush();
    if (this.fd !== undefined) closeSync(this.fd);
  }
}
