/**
 * Top-level JSON objects out of a stream that is "JSON-ish" the way scanners write it: a proper
 * array, an array with trailing commas, objects with no enclosing brackets at all, or one object
 * per line (ndjson). Only brackets, commas and whitespace may stand between objects. Each object is
 * cut out by a small scanner that tracks strings and nesting, bounded in size, then handed to
 * JSON.parse; line numbers come from the shared line reader, so errors name the object's line.
 */
import type { Readable } from 'node:stream';
import { ImportError } from './errors.js';
import { readLines } from './lines.js';
import type { ImportContext } from './types.js';

/** One object's source text and the line it starts on. */
export interface JsonChunk {
  text: string;
  line: number;
}

/** Largest object accepted, in characters. */
export const MAX_OBJECT_CHARS = 1024 * 1024;

/** Deepest nesting accepted inside one object. */
const MAX_DEPTH = 32;

/**
 * The object texts of `input`, in order. `truncated` is set when the stream ends inside an object
 * (a file cut short); the incomplete object is dropped, and the caller decides how to report it.
 */
export async function* jsonObjects(input: Readable, ctx: ImportContext, end: { truncated: boolean; line: number } = { truncated: false, line: 0 }): AsyncGenerator<JsonChunk> {
  let parts: string[] = [];
  let size = 0;
  let depth = 0;
  let inString = false;
  let escaped = false;
  let start = 0;
  let lastLine = 0;
  for await (const { line, no } of readLines(input, ctx, MAX_OBJECT_CHARS)) {
    // A string never spans lines in JSON: one left open by the previous line is a broken record
    // (unless that line was the last, which is a truncated file).
    if (inString) throw new ImportError(ctx.file, lastLine, 'unterminated JSON string');
    lastLine = no;
    let from = 0;
    for (let i = 0; i < line.length; i++) {
      const c = line.charCodeAt(i);
      if (depth === 0) {
        // Between objects: only the array's brackets, commas and blanks.
        if (c === 0x7b) {
          depth = 1;
          start = no;
          from = i;
          continue;
        }
        if (c === 0x5b || c === 0x5d || c === 0x2c || c === 0x20 || c === 0x09 || c === 0x0d) continue;
        throw new ImportError(ctx.file, no, `unexpected ${describe(line, i)} between JSON records`);
      }
      if (inString) {
        if (escaped) escaped = false;
        else if (c === 0x5c) escaped = true;
        else if (c === 0x22) inString = false;
        continue;
      }
      if (c === 0x22) inString = true;
      else if (c === 0x7b || c === 0x5b) {
        if (++depth > MAX_DEPTH) throw new ImportError(ctx.file, no, `JSON nested deeper than ${MAX_DEPTH}`);
      } else if (c === 0x7d || c === 0x5d) {
        if (--depth === 0) {
          parts.push(line.slice(from, i + 1));
          const text = parts.join('\n');
          parts = [];
          size = 0;
          yield { text, line: start };
        }
      }
    }
    if (depth > 0) {
      const rest = line.slice(from);
      size += rest.length + 1;
      if (size > MAX_OBJECT_CHARS) throw new ImportError(ctx.file, start, `JSON record longer than ${MAX_OBJECT_CHARS / (1024 * 1024)} MiB`);
      parts.push(rest);
    }
  }
  end.truncated = depth > 0;
  end.line = lastLine;
}

function describe(line: string, i: number): string {
  const ch = line.slice(i, i + 12);
  return JSON.stringify(ch.length < line.length - i ? `${ch}…` : ch);
}

/** JSON.parse as an ImportError naming the record's line. */
export function parseJson(chunk: JsonChunk, ctx: ImportContext): unknown {
  try {
    return JSON.parse(chunk.text) as unknown;
  } catch (e) {
    throw new ImportError(ctx.file, chunk.line, `malformed JSON record: ${e instanceof Error ? e.message.slice(0, 120) : 'parse error'}`);
  }
}
