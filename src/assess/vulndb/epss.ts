/**
 * FIRST EPSS scores (`epss_scores-YYYY-MM-DD.csv`, after gunzip): the probability that a CVE is
 * exploited in the next 30 days, and its percentile among all scored CVEs. The file opens with a
 * comment (`#model_version:v2025.03.14,score_date:2025-11-20T00:00:00+0000`; files from before
 * 2022 lack it), then the header `cve,epss,percentile`, then one row per CVE (about 300 000).
 *
 * Line-oriented, so it streams: {@link EpssLineParser} takes one line at a time, {@link epssRows}
 * yields rows from an async iterable of lines in constant memory, and {@link parseEpss} /
 * {@link parseEpssLines} collect a Map. No header → {@link VulnDbError}; a bad row is skipped and
 * counted. Pure: the caller reads (and decompresses) the file.
 */
import { quoteToken } from '../../core/errors.js';
import { CVE_ID_RE, decodeFeed, isoTimestamp, oneLine, SkipLog, VulnDbError, warningsOf } from './errors.js';

/** Largest file read as one string; the real one is about 10 MiB. */
export const MAX_EPSS_BYTES = 256 * 1024 * 1024;
/** Most rows read; the real file has about 300 000, one per published CVE. */
export const MAX_EPSS_ROWS = 2_000_000;
/** Longest line considered; a real row is under 40 characters. */
export const MAX_EPSS_LINE_CHARS = 1024;

/** A CVE's scores. */
export interface EpssScore {
  /** Probability of exploitation activity in the next 30 days, 0–1. */
  epss: number;
  /** Share of scored CVEs with an equal or lower score, 0–1; undefined in files without that column. */
  percentile: number | undefined;
}

export interface EpssRow extends EpssScore {
  cve: string;
}

/** What the file says about itself, and what was skipped. */
export interface EpssSummary {
  file: string;
  /** From the leading comment, e.g. `v2025.03.14`; undefined when the file has no such comment. */
  modelVersion: string | undefined;
  /** The day the scores are for, ISO 8601 UTC; undefined when the file does not say. */
  scoreDate: string | undefined;
  /** Rows read (valid ones, duplicates included). */
  rows: number;
  /** Rows skipped because they were malformed. */
  malformed: number;
  /** One-line, terminal-safe warnings. */
  warnings: string[];
}

/** All scores of a file, by CVE id. */
export interface EpssData extends EpssSummary {
  scores: Map<string, EpssScore>;
}

export interface EpssParseOptions {
  maxBytes?: number;
  maxRows?: number;
}

/** A decimal as EPSS writes it (`0.00043`, `1.0`, and scientific notation just in case). */
const NUMBER_RE = /^(?:\d{1,3}(?:\.\d{1,20})?|\.\d{1,20})(?:[eE][-+]?\d{1,3})?$/;

/** A probability field, or undefined when it is not a number within 0–1. */
function probability(text: string | undefined): number | undefined {
  if (text === undefined || !NUMBER_RE.test(text)) return undefined;
  const n = Number(text);
  return n >= 0 && n <= 1 ? n : undefined;
}

/**
 * Parses EPSS CSV one line at a time. Feed lines without their terminator (a stray `\r` is
 * dropped) to {@link line}; call {@link finish} at the end for the summary. Throws
 * {@link VulnDbError} when the first non-comment line is not the header, when there are more than
 * `maxRows` rows, or (at finish) when the file had no header at all.
 */
export class EpssLineParser {
  modelVersion: string | undefined;
  scoreDate: string | undefined;
  private lineNo = 0;
  private rowCount = 0;
  private columns: { cve: number; epss: number; percentile: number | undefined; count: number } | undefined;
  private readonly malformed: SkipLog;
  private readonly maxRows: number;

  constructor(
    readonly file: string,
    options: EpssParseOptions = {},
  ) {
    this.malformed = new SkipLog(file, 'malformed EPSS rows skipped');
    this.maxRows = options.maxRows ?? MAX_EPSS_ROWS;
  }

  /** One line of the file; the row it holds, or undefined for comments, the header, blanks and bad rows. */
  line(raw: string): EpssRow | undefined {
    this.lineNo++;
    if (raw.length > MAX_EPSS_LINE_CHARS) {
      if (this.columns === undefined) throw this.error(`line is ${raw.length} characters long; not a FIRST EPSS CSV`);
      this.malformed.add(`line ${this.lineNo}: ${raw.length} characters long`);
      return undefined;
    }
    const text = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (text.trim() === '') return undefined;
    if (text.startsWith('#')) {
      if (this.columns === undefined) this.readComment(text.slice(1));
      return undefined;
    }
    if (this.columns === undefined) {
      this.readHeader(text);
      return undefined;
    }
    const fields = text.split(',');
    const c = this.columns;
    const cve = fields[c.cve]?.trim() ?? '';
    const epss = probability(fields[c.epss]?.trim());
    const percentile = c.percentile === undefined ? undefined : probability(fields[c.percentile]?.trim());
    let problem: string | undefined;
    if (fields.length !== c.count) problem = `${fields.length} fields, expected ${c.count}`;
    else if (!CVE_ID_RE.test(cve)) problem = `${quoteToken(cve)} is not a CVE id`;
    else if (epss === undefined) problem = `epss ${quoteToken(fields[c.epss] ?? '')} is not a number from 0 to 1`;
    else if (c.percentile !== undefined && percentile === undefined) {
      problem = `percentile ${quoteToken(fields[c.percentile] ?? '')} is not a number from 0 to 1`;
    }
    if (problem !== undefined || epss === undefined) {
      this.malformed.add(`line ${this.lineNo}: ${problem ?? 'invalid'}`);
      return undefined;
    }
    if (++this.rowCount > this.maxRows) throw this.error(`more than ${this.maxRows} rows; not a FIRST EPSS CSV, or split it`);
    return { cve, epss, percentile };
  }

  /** The summary; throws if no header was ever seen (an empty or comment-only file). */
  finish(extraWarnings: readonly string[] = []): EpssSummary {
    if (this.columns === undefined) throw new VulnDbError(this.file, 'has no "cve,epss,percentile" header; expected a FIRST EPSS CSV');
    return {
      file: this.file,
      modelVersion: this.modelVersion,
      scoreDate: this.scoreDate,
      rows: this.rowCount,
      malformed: this.malformed.total,
      warnings: [...warningsOf(this.malformed), ...extraWarnings],
    };
  }

  private error(detail: string): VulnDbError {
    return new VulnDbError(this.file, detail, this.lineNo);
  }

  /** `model_version:v2025.03.14,score_date:2025-11-20T00:00:00+0000`; unknown keys are ignored. */
  private readComment(body: string): void {
    for (const pair of body.split(',')) {
      const colon = pair.indexOf(':');
      if (colon < 0) continue;
      const key = pair.slice(0, colon).trim();
      const value = pair.slice(colon + 1).trim();
      if (key === 'model_version' && /^[\x21-\x7e]{1,64}$/.test(value)) this.modelVersion = value;
      else if (key === 'score_date') this.scoreDate = isoTimestamp(value);
    }
  }

  private readHeader(text: string): void {
    const names = text.split(',').map((n) => n.trim().toLowerCase());
    const cve = names.indexOf('cve');
    const epss = names.indexOf('epss');
    const percentile = names.indexOf('percentile');
    if (cve < 0 || epss < 0 || names.length > 16) {
      throw this.error(`expected the header "cve,epss,percentile" of a FIRST EPSS CSV, found ${quoteToken(oneLine(text, 80))}`);
    }
    this.columns = { cve, epss, percentile: percentile < 0 ? undefined : percentile, count: names.length };
  }
}

/** The lines of a string without building an array of them. */
function* linesOf(text: string): Generator<string> {
  let start = 0;
  while (start <= text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    yield text.slice(start, end);
    start = end + 1;
  }
}

/** Duplicate rows are kept once (the first); the tracker turns them into one warning. */
function collect(scores: Map<string, EpssScore>, duplicates: SkipLog, row: EpssRow | undefined): void {
  if (row === undefined) return;
  if (scores.has(row.cve)) duplicates.add(row.cve);
  else scores.set(row.cve, { epss: row.epss, percentile: row.percentile });
}

/**
 * Parse a whole EPSS CSV held in memory. Throws {@link VulnDbError} naming `file` when it is empty,
 * too large, compressed or not EPSS CSV.
 */
export function parseEpss(input: string | Uint8Array, file: string, options: EpssParseOptions = {}): EpssData {
  const text = decodeFeed(input, file, options.maxBytes ?? MAX_EPSS_BYTES, 'FIRST EPSS CSV');
  const parser = new EpssLineParser(file, options);
  const scores = new Map<string, EpssScore>();
  const duplicates = new SkipLog(file, 'duplicate EPSS rows skipped (the first is kept)');
  for (const line of linesOf(text)) collect(scores, duplicates, parser.line(line));
  return { ...parser.finish(warningsOf(duplicates)), scores };
}

/**
 * Parse EPSS CSV from lines (as `readline` yields them), collecting a Map; the file never sits in
 * memory as one string. Same errors as {@link parseEpss}.
 */
export async function parseEpssLines(lines: AsyncIterable<string> | Iterable<string>, file: string, options: EpssParseOptions = {}): Promise<EpssData> {
  const parser = new EpssLineParser(file, options);
  const scores = new Map<string, EpssScore>();
  const duplicates = new SkipLog(file, 'duplicate EPSS rows skipped (the first is kept)');
  for await (const line of lines) {
    for (const part of line.includes('\n') ? linesOf(line) : [line]) collect(scores, duplicates, parser.line(part));
  }
  return { ...parser.finish(warningsOf(duplicates)), scores };
}

/**
 * Rows of an EPSS CSV as they are read, in constant memory (duplicates are not detected here; an
 * upsert keyed by CVE absorbs them). The generator's return value is the {@link EpssSummary}.
 */
export async function* epssRows(lines: AsyncIterable<string> | Iterable<string>, file: string, options: EpssParseOptions = {}): AsyncGenerator<EpssRow, EpssSummary> {
  const parser = new EpssLineParser(file, options);
  for await (const line of lines) {
    for (const part of line.includes('\n') ? linesOf(line) : [line]) {
      const row = parser.line(part);
      if (row !== undefined) yield row;
    }
  }
  return parser.finish();
}
