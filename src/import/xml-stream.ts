/**
 * Streaming XML for importers, on saxes: elements arrive as open/close events, the importer keeps
 * only the record it is building (one host) and emits it when the record's element closes, so a
 * gigabyte file costs constant memory. Hostile input is bounded here once for every XML importer:
 * no DOCTYPE internal subset (so no entity is ever declared, let alone expanded or fetched), a cap
 * on nesting depth and on the characters saxes may buffer between two events (a tag, an attribute
 * value, a text run, a comment), and every failure becomes an ImportError naming file and line.
 */
import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { SaxesParser } from 'saxes';
import { ImportError } from './errors.js';
import { inputChunks } from './input-chunks.js';
import type { ImportContext } from './types.js';

/** What the importer sees of a start tag. */
export interface XmlTag {
  name: string;
  attributes: Readonly<Record<string, string>>;
}

/** Callbacks; each may push finished records to `out`, and may throw ImportError. */
export interface XmlHandler<T> {
  /** `depth` is 0 for the root element. */
  open(tag: XmlTag, depth: number, out: T[], line: number): void;
  close(name: string, depth: number, out: T[], line: number): void;
  /** Character data (entity references already resolved); may arrive in several pieces. */
  text?(text: string, depth: number): void;
}

export interface XmlStreamOptions {
  /** The root element names this format accepts (`nmaprun`). */
  roots: readonly string[];
  /** The format's name for messages: `nmap XML`. */
  format: string;
  /** Most characters saxes may buffer between two events; default 16 Mi. */
  maxTokenChars?: number;
  /** Deepest element nesting accepted; default 64. */
  maxDepth?: number;
}

/** How the stream ended, filled in when iteration finishes. */
export interface XmlStreamEnd {
  /** True once the root element closed; false for a truncated file. */
  complete: boolean;
  /** Line the parser had reached. */
  line: number;
}

/** saxes keeps its event handlers in these (TypeScript-private) fields. */
interface HandlerSlots {
  xmldeclHandler: unknown;
  textHandler: unknown;
  piHandler: unknown;
  doctypeHandler: unknown;
  commentHandler: unknown;
  openTagStartHandler: unknown;
  attributeHandler: unknown;
  openTagHandler: unknown;
  closeTagHandler: unknown;
  cdataHandler: unknown;
  errorHandler: unknown;
  endHandler: unknown;
  readyHandler: unknown;
}

/**
 * saxes creates a handler field only when `on()` sets it. Adding nine of them to a constructed
 * parser pushes V8 into slow dictionary properties and makes every character read four times
 * slower; creating all the fields by name in the constructor keeps the fast object shape. They are
 * written out one by one on purpose: a loop over the names stores by computed key, and thirteen
 * such stores turn the parser into a dictionary-mode object too.
 */
class Parser extends SaxesParser<{ xmlns: false; position: true }> {
  constructor() {
    super({ xmlns: false, position: true });
    const slots = this as unknown as HandlerSlots;
    slots.xmldeclHandler = undefined;
    slots.textHandler = undefined;
    slots.piHandler = undefined;
    slots.doctypeHandler = undefined;
    slots.commentHandler = undefined;
    slots.openTagStartHandler = undefined;
    slots.attributeHandler = undefined;
    slots.openTagHandler = undefined;
    slots.closeTagHandler = undefined;
    slots.cdataHandler = undefined;
    slots.errorHandler = undefined;
    slots.endHandler = undefined;
    slots.readyHandler = undefined;
  }
}

/** Bytes of the input per parser write; bounds the records one write can produce. */
const SLICE = 64 * 1024;

/**
 * Parse `input` as XML whose root is one of `opts.roots`, feeding `handler` and yielding what it
 * pushes. Stops reading once the root closes. A file that ends inside the root yields everything
 * completed so far and sets `end.complete = false`; the caller decides how to report it. A file
 * with no root element at all, a wrong root, a DOCTYPE with an internal subset or any
 * well-formedness error raises ImportError.
 */
export async function* streamXml<T>(input: Readable, ctx: ImportContext, opts: XmlStreamOptions, handler: XmlHandler<T>, end: XmlStreamEnd = { complete: false, line: 0 }): AsyncGenerator<T> {
  const maxToken = opts.maxTokenChars ?? 16 * 1024 * 1024;
  const maxDepth = opts.maxDepth ?? 64;
  const parser = new Parser();
  const out: T[] = [];
  let failure: ImportError | undefined;
  let depth = 0;
  let rootSeen = false;
  let rootClosed = false;
  let sawEvent = false;
  let sinceEvent = 0;
  let bytes = 0;
  // Whatever follows the root's end tag is never read on purpose; errors saxes finds in the rest
  // of that chunk are ignored too, so the result does not depend on where a chunk ends.
  const fail = (message: string): void => {
    if (!rootClosed) failure ??= new ImportError(ctx.file, parser.line, message);
  };
  // Handlers may throw; saxes would then be left mid-token, so record the error and ignore the rest.
  const guard = (fn: () => void): void => {
    if (failure !== undefined || rootClosed) return;
    try {
      fn();
    } catch (e) {
      failure ??= e instanceof ImportError ? e : new ImportError(ctx.file, parser.line, e instanceof Error ? e.message : String(e));
    }
  };
  const mark = (): void => {
    sawEvent = true;
  };
  // Character data reaches the handler the same way whether it was text or a CDATA section.
  const onText = (text: string): void => {
    mark();
    if (handler.text !== undefined && depth > 0) guard(() => handler.text?.(text, depth - 1));
  };
  parser.on('error', (e) => fail(`not well-formed ${opts.format}: ${saxesMessage(e)}`));
  parser.on('doctype', (doctype) => {
    mark();
    // nmap writes a bare `<!DOCTYPE nmaprun>`; an internal subset is where entities live.
    if (/[[\]]|<!|ENTITY/i.test(doctype)) fail('DOCTYPE with an internal subset or entity declarations refused (entities are never expanded)');
  });
  for (const event of ['xmldecl', 'comment', 'processinginstruction'] as const) parser.on(event, mark);
  for (const event of ['text', 'cdata'] as const) parser.on(event, onText);
  parser.on('opentag', (tag) => {
    mark();
    guard(() => {
      if (depth === 0) {
        if (rootSeen) throw new ImportError(ctx.file, parser.line, `not ${opts.format}: more than one root element`);
        if (!opts.roots.includes(tag.name)) throw new ImportError(ctx.file, parser.line, `not ${opts.format}: root element is <${clip(tag.name)}>, expected <${opts.roots.join('> or <')}>`);
        rootSeen = true;
      }
      if (depth >= maxDepth) throw new ImportError(ctx.file, parser.line, `elements nested deeper than ${maxDepth}`);
      handler.open({ name: tag.name, attributes: tag.attributes }, depth, out, parser.line);
      depth++;
    });
  });
  parser.on('closetag', (tag) => {
    mark();
    guard(() => {
      depth--;
      handler.close(tag.name, depth, out, parser.line);
      if (depth === 0) rootClosed = true;
    });
  });

  const decoder = new StringDecoder('utf8');
  const feed = (text: string): void => {
    for (let i = 0; i < text.length && failure === undefined && !rootClosed; i += SLICE) {
      const piece = i === 0 && text.length <= SLICE ? text : text.slice(i, i + SLICE);
      sawEvent = false;
      try {
        parser.write(piece);
      } catch (e) {
        // saxes reports through the error event; a throw would be a parser bug on odd input.
        fail(`XML parser failed: ${e instanceof Error ? e.message : String(e)}`);
      }
      // Whatever saxes holds now was read after the last event (or, without one, on top of what
      // it held before): a run longer than the cap is an endless tag, value or text.
      sinceEvent = sawEvent ? 0 : sinceEvent + piece.length;
      if (sinceEvent > maxToken) fail(`XML token longer than ${Math.round(maxToken / (1024 * 1024))} MiB`);
    }
  };
  for await (const chunk of inputChunks(input, ctx, () => parser.line)) {
    if (typeof chunk === 'string') {
      bytes += chunk.length;
      feed(chunk);
    } else if (chunk instanceof Uint8Array) {
      bytes += chunk.byteLength;
      feed(decoder.write(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)));
    } else throw new ImportError(ctx.file, parser.line, 'input is not a byte stream');
    if (failure !== undefined) throw failure;
    // Records completed in this chunk go out before the next read: memory stays one chunk's worth.
    for (const record of out.splice(0)) yield record;
    // Stopping here closes the input: whatever follows the root is never read.
    if (rootClosed) break;
  }
  if (!rootClosed) {
    feed(decoder.end());
    if (failure !== undefined) throw failure;
    for (const record of out.splice(0)) yield record;
  }
  if (!rootSeen) throw new ImportError(ctx.file, undefined, bytes === 0 ? 'empty file' : `not ${opts.format}: no <${opts.roots[0] ?? 'root'}> element`);
  end.complete = rootClosed;
  end.line = parser.line;
}

/** Cap a name from the file before it goes into a message. */
function clip(s: string): string {
  return s.length > 40 ? `${s.slice(0, 40)}…` : s;
}

/** saxes prefixes messages with `line:column: `; ImportError names the line itself. */
function saxesMessage(e: Error): string {
  return e.message.replace(/^(?:[^:]*:)?\d+:\d+: /, '');
}
