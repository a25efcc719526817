import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ImportError } from './errors.js';
import { readLines } from './lines.js';

const ctx = { file: 'in.txt', warn: () => {} };

/** `data` as a stream cut into `size`-byte chunks. */
function stream(data: Buffer | string, size = 3): Readable {
  const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  const chunks: Buffer[] = [];
  for (let i = 0; i < buf.length; i += size) chunks.push(buf.subarray(i, i + size));
  return Readable.from(chunks);
}

async function lines(data: Buffer | string, max?: number, size?: number): Promise<[number, string][]> {
  const out: [number, string][] = [];
  for await (const { line, no } of readLines(stream(data, size), ctx, max)) out.push([no, line]);
  return out;
}

describe('readLines', () => {
  it('splits LF and CRLF lines, numbering from 1, with or without a final newline', async () => {
    expect(await lines('a\nbb\r\n\nccc')).toEqual([
      [1, 'a'],
      [2, 'bb'],
      [3, ''],
      [4, 'ccc'],
    ]);
    expect(await lines('a\n')).toEqual([[1, 'a']]);
    expect(await lines('')).toEqual([]);
  });

  it('drops a BOM on line 1 and decodes bad UTF-8 leniently, also across chunks', async () => {
    expect(await lines(Buffer.from([0xef, 0xbb, 0xbf, 0x41, 0x0a, 0xff, 0x42]))).toEqual([
      [1, 'A'],
      [2, '\ufffdB'],
    ]);
    expect(await lines('é€😀\nx', undefined, 1)).toEqual([
      [1, 'é€😀'],
      [2, 'x'],
    ]);
  });

  it('accepts a line of exactly the limit in either line-ending style and rejects one byte more', async () => {
    expect(await lines(`${'x'.repeat(10)}\n${'y'.repeat(10)}\r\nz`, 10, 4)).toHaveLength(3);
    await expect(lines(`ok\n${'x'.repeat(11)}\n`, 10)).rejects.toThrow(/"in\.txt" line 2: line longer than 10 bytes/);
    await expect(lines(`ok\n${'x'.repeat(11)}`, 10)).rejects.toThrow(/line 2/);
  });

  it('rejects a 10 MB line without buffering it whole', async () => {
    const e = await lines(`a\n${'x'.repeat(10 * 1024 * 1024)}\n`, undefined, 65536).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(ImportError);
    expect((e as ImportError).message).toBe('"in.txt" line 2: line longer than 1 MiB');
  });

  it('reads string chunks and turns stream failures into ImportError', async () => {
    const out: string[] = [];
    for await (const { line } of readLines(Readable.from(['a\nb', 'c\n'], { objectMode: true }), ctx)) out.push(line);
    expect(out).toEqual(['a', 'bc']);
    const broken = new Readable({
      read() {
        this.destroy(new Error('EIO: disk on fire'));
      },
    });
    await expect(readLines(broken, ctx).next()).rejects.toThrow(/"in\.txt" line 1: read failed: EIO/);
    await expect(readLines(Readable.from([{ not: 'bytes' }]), ctx).next()).rejects.toBeInstanceOf(ImportError);
  });

  it('closes the stream when the consumer stops early', async () => {
    const s = stream('a\nb\nc\n', 2);
    for await (const { no } of readLines(s, ctx)) if (no === 1) break;
    expect(s.destroyed).toBe(true);
  });
});
