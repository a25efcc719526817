/**
 * Reading an importer's input stream chunk by chunk, the one way every streaming reader needs:
 * a stream that fails raises ImportError, and the stream is released however reading ends.
 */
import type { Readable } from 'node:stream';
import { ImportError } from './errors.js';
import type { ImportContext } from './types.js';

/**
 * The chunks of `input`, as the stream yields them. A read that fails raises ImportError naming the
 * file and `line()` (where the reader had got to); an ImportError from upstream passes unchanged.
 * The stream is closed when the chunks run out, when the reader throws and when it stops early.
 */
export async function* inputChunks(input: Readable, ctx: ImportContext, line: () => number): AsyncGenerator<unknown> {
  const iterator = input[Symbol.asyncIterator]();
  try {
    for (;;) {
      let next: IteratorResult<unknown>;
      try {
        next = (await iterator.next()) as IteratorResult<unknown>;
      } catch (e) {
        if (e instanceof ImportError) throw e;
        throw new ImportError(ctx.file, line(), `read failed: ${e instanceof Error ? e.message : String(e)}`);
      }
      if (next.done === true) return;
      yield next.value;
    }
  } finally {
    try {
      await iterator.return?.();
    } catch {
      // Closing a failed stream may fail again; the error being raised says more.
    }
  }
}
