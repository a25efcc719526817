/**
 * Format detection from content, never from the file name: the first 64 KiB go to every importer,
 * the highest score wins (ties to registry order), and `--format ID` skips the guessing.
 */
import { Readable } from 'node:stream';
import { UsageError, quoteToken } from '../core/errors.js';
import { ImportError } from './errors.js';
import { IMPORTERS } from './registry.js';
import type { Importer } from './types.js';

/** How much of a file the importers see when sniffing. */
export const SNIFF_BYTES = 64 * 1024;

export interface SniffResult {
  importer: Importer;
  /** 1–10. */
  score: number;
}

/** A sniff score made safe: a throwing or nonsensical importer counts as "not mine". */
function scoreOf(importer: Importer, head: Buffer): number {
  try {
    const s = importer.sniff(head);
    return typeof s === 'number' && Number.isFinite(s) ? Math.max(0, Math.min(10, s)) : 0;
  } catch {
    return 0;
  }
}

/** The importer most sure `head` is its format, or undefined when none is (every score 0). */
export function sniffFormat(head: Buffer, importers: readonly Importer[] = IMPORTERS): SniffResult | undefined {
  let best: SniffResult | undefined;
  for (const importer of importers) {
    const score = scoreOf(importer, head);
    if (score > 0 && (best === undefined || score > best.score)) best = { importer, score };
  }
  return best;
}

function formatList(importers: readonly Importer[]): string {
  return importers.map((i) => i.id).join(', ');
}

/** The importer `--format` names; a UsageError listing the valid ids otherwise. */
export function forcedImporter(id: string, importers: readonly Importer[] = IMPORTERS): Importer {
  const found = importers.find((i) => i.id === id);
  if (!found) throw new UsageError('E_USAGE', `--format ${quoteToken(id)}: unknown import format; use one of ${formatList(importers)}`, { token: id });
  return found;
}

/** The masscan format the empty-file message suggests (masscan's plainest output, -oL). */
const EMPTY_SCAN_FORMAT = 'masscan-list';

/** True when `head` is the whole file (shorter than a sniff) and holds only whitespace. */
function isBlankFile(head: Buffer): boolean {
  return head.length < SNIFF_BYTES && /^[ \t\r\n]*$/.test(head.toString('latin1'));
}

/**
 * Why an empty file cannot be imported without --format. masscan opens its output file at the
 * start but writes even the header only with the first result, so a scan that found nothing
 * leaves 0 bytes behind in every format; every masscan importer reads that as no results.
 */
function emptyFileMessage(head: Buffer, importers: readonly Importer[]): string {
  const what = `${head.length === 0 ? 'empty file' : 'blank file (whitespace only)'}: no content to tell its format from`;
  const masscan = importers.filter((i) => i.source === 'masscan').map((i) => i.id);
  if (masscan.length === 0) return `${what}; use --format (one of ${formatList(importers)})`;
  const suggested = masscan.includes(EMPTY_SCAN_FORMAT) ? EMPTY_SCAN_FORMAT : masscan[0]!;
  const others = masscan.filter((id) => id !== suggested);
  const alternatives = others.length > 0 ? ` (any masscan format will do: ${others.join(', ')})` : '';
  return `${what}; masscan writes an empty file when it found nothing: pass --format ${suggested}${alternatives} to record an empty scan`;
}

/**
 * The importer for `file` given its first bytes: the forced one, else the best sniff. No match is
 * an ImportError naming the file; an empty or blank one says why (only --format can give it a meaning).
 */
export function chooseImporter(file: string, head: Buffer, forced?: string, importers: readonly Importer[] = IMPORTERS): Importer {
  if (forced !== undefined) return forcedImporter(forced, importers);
  const best = sniffFormat(head, importers);
  if (best) return best.importer;
  if (isBlankFile(head)) throw new ImportError(file, undefined, emptyFileMessage(head, importers));
  throw new ImportError(file, undefined, `unrecognised format; use --format (one of ${formatList(importers)})`);
}

export interface Peeked {
  /** Up to `bytes` bytes from the start of the stream. */
  head: Buffer;
  /** The whole stream again, head included, for the importer to read. */
  rest: Readable;
}

/**
 * Read the first `bytes` of a stream without losing them: works the same for files, pipes and
 * stdin, so a file is opened once and read once. Read errors propagate to the caller.
 */
export async function peekStream(input: Readable, bytes = SNIFF_BYTES): Promise<Peeked> {
  const iterator = input[Symbol.asyncIterator]() as AsyncIterator<unknown>;
  const chunks: Buffer[] = [];
  let size = 0;
  let done = false;
  while (size < bytes) {
    const next = await iterator.next();
    if (next.done) {
      done = true;
      break;
    }
    const value = next.value;
    const chunk = Buffer.isBuffer(value) ? value : typeof value === 'string' ? Buffer.from(value, 'utf8') : Buffer.from(value as Uint8Array);
    chunks.push(chunk);
    size += chunk.length;
  }
  const all = Buffer.concat(chunks, size);
  const head = all.length > bytes ? all.subarray(0, bytes) : all;
  async function* replay(): AsyncGenerator<Buffer> {
    try {
      if (all.length > 0) yield all;
      if (done) return;
      for (;;) {
        const next = await iterator.next();
        if (next.done) return;
        yield next.value as Buffer;
      }
    } finally {
      // An importer that stops early (bad input) must still release the file.
      if (!done) await iterator.return?.();
    }
  }
  return { head, rest: Readable.from(replay(), { objectMode: false }) };
}
