import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ImportError } from './errors.js';
import { inputChunks } from './input-chunks.js';
import { streamXml } from './xml-stream.js';

const ctx = { file: 'in.xml', warn: () => undefined };

/** A stream that yields `good` and then fails with `error`. */
function failing(good: string, error: Error): Readable {
  let sent = false;
  return new Readable({
    read() {
      if (!sent) {
        sent = true;
        this.push(good);
      } else this.destroy(error);
    },
  });
}

describe('inputChunks', () => {
  it('yields the chunks as the stream gives them', async () => {
    const out: unknown[] = [];
    for await (const c of inputChunks(Readable.from(['a', 'b'], { objectMode: true }), ctx, () => 1)) out.push(c);
    expect(out).toEqual(['a', 'b']);
  });

  it('turns a failed read into ImportError at the line the reader names, and closes the stream', async () => {
    const s = failing('x', new Error('EIO: disk on fire'));
    const chunks = inputChunks(s, ctx, () => 42);
    await chunks.next();
    await expect(chunks.next()).rejects.toThrow(/"in\.xml" line 42: read failed: EIO: disk on fire/);
    expect(s.destroyed).toBe(true);
  });

  it('passes an ImportError from upstream unchanged', async () => {
    const upstream = new ImportError('other.txt', 3, 'bad record');
    const chunks = inputChunks(failing('x', upstream), ctx, () => 1);
    await chunks.next();
    await expect(chunks.next()).rejects.toBe(upstream);
  });

  it('closes the stream when the reader stops early or throws', async () => {
    const a = Readable.from(['1', '2', '3']);
    for await (const _ of inputChunks(a, ctx, () => 1)) break;
    expect(a.destroyed).toBe(true);
    const b = Readable.from(['1', '2', '3']);
    await expect(
      (async () => {
        for await (const _ of inputChunks(b, ctx, () => 1)) throw new Error('reader gave up');
      })(),
    ).rejects.toThrow('reader gave up');
    expect(b.destroyed).toBe(true);
  });
});

describe('streamXml on a failing stream', () => {
  it('raises ImportError at the line the parser reached', async () => {
    const records = streamXml(failing('<r>\n<a/>', new Error('EIO')), ctx, { roots: ['r'], format: 'test XML' }, { open: () => undefined, close: () => undefined });
    await expect(records.next()).rejects.toThrow(/"in\.xml" line 2: read failed: EIO/);
  });
});
