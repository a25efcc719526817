/**
 * A bounded line splitter for text importers: never holds more than one line (capped) in memory,
 * counts lines from 1 for error messages, and decodes UTF-8 leniently (bad bytes become U+FFFD),
 * because a scanner's output may carry raw banner bytes.
 */
import type { Readable } from 'node:stream';
import { ImportError } from './errors.js';
import { inputChunks } from './input-chunks.js';
import type { ImportContext } from './types.js';

const LF = 0x0a;
const CR = 0x0d;

/**
 * Turn anything a stream may yield into bytes. Object-mode streams of strings are fine; anything
 * else is a programming error upstream, but it must still end as an ImportError.
 */
function toBuffer(chunk: unknown, ctx: ImportContext, no: number): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (typeof chunk === 'string') return Buffer.from(chunk, 'utf8');
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  throw new ImportError(ctx.file, no, 'input is not a byte stream');
}

/** Join a line's pieces, dropping a trailing CR (CRLF files). */
function join(parts: Buffer[], total: number): Buffer {
  const buf = parts.length === 1 ? parts[0]! : Buffer.concat(parts, total);
  return buf.length > 0 && buf[buf.length - 1] === CR ? buf.subarray(0, buf.length - 1) : buf;
}

/** Decode a line leniently; on line 1, drop a UTF-8 byte order mark. */
function decode(buf: Buffer, no: number): string {
  const line = buf.toString('utf8');
  return no === 1 && line.charCodeAt(0) === 0xfeff ? line.slice(1) : line;
}

/**
 * Yield the lines of `input` with their 1-based numbers, without the line terminator (LF or CRLF).
 * A last line without a terminator is yielded too; an empty file yields nothing. A line longer than
 * `maxLineBytes` raises ImportError naming the file and line before it is buffered; a failing stream
 * raises ImportError too, so callers only ever see that one error type.
 */
export async function* readLines(input: Readable, ctx: ImportContext, maxLineBytes = 1 << 20): AsyncGenerator<{ line: string; no: number }> {
  let parts: Buffer[] = [];
  let pending = 0;
  let no = 1;
  const limit = maxLineBytes % (1 << 20) === 0 ? `${maxLineBytes / (1 << 20)} MiB` : `${maxLineBytes} bytes`;
  const tooLong = (): ImportError => new ImportError(ctx.file, no, `line longer than ${limit}`);
  for await (const value of inputChunks(input, ctx, () => no)) {
    const chunk = toBuffer(value, ctx, no);
    let from = 0;
    while (from < chunk.length) {
      const lf = chunk.indexOf(LF, from);
      const end = lf === -1 ? chunk.length : lf;
      // One byte of slack for the CR of a CRLF, so the limit means the same in both styles.
      if (pending + (end - from) > maxLineBytes + 1) throw tooLong();
      if (end > from) {
        parts.push(chunk.subarray(from, end));
        pending += end - from;
      }
      if (lf === -1) break;
      const bytes = join(parts, pending);
      if (bytes.length > maxLineBytes) throw tooLong();
      parts = [];
      pending = 0;
      yield { line: decode(bytes, no), no };
      no++;
      from = lf + 1;
    }
  }
  if (pending > 0) {
    const bytes = join(parts, pending);
    if (bytes.length > maxLineBytes) throw tooLong();
    yield { line: decode(bytes, no), no };
  }
}
