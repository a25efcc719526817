/**
 * The error the vulnerability-feed parsers throw, and the guards every feed goes through before it
 * is parsed. Feeds are files the user downloaded, so they are hostile input: sizes are capped before
 * decoding, JSON is parsed inside a guard (deep nesting, truncation), and every problem either
 * becomes a {@link VulnDbError} naming the file or a counted, one-line warning.
 */
import { quoteToken, UsageError } from '../../core/errors.js';
import { escapeTerminal } from '../../core/escape.js';

/**
 * A feed that cannot be used at all: empty, not the expected format, over a size cap, malformed
 * JSON or CSV header. A `UsageError` with code `E_VULNDB`, so the CLI prints it and exits 2.
 */
export class VulnDbError extends UsageError {
  constructor(
    /** The file name as the caller gave it (unescaped; the message quotes it). */
    readonly file: string,
    /** What is wrong and what to do, without the file name. */
    readonly detail: string,
    /** 1-based line, for line-oriented feeds (EPSS). */
    readonly line?: number,
  ) {
    super('E_VULNDB', `${quoteToken(file)}${line !== undefined ? ` line ${line}` : ''}: ${detail}`, { token: file });
    this.name = 'VulnDbError';
  }
}

/** `CVE-YYYY-NNNN…`; the sequence number is capped so an id stays a sane key. */
export const CVE_ID_RE = /^CVE-\d{4}-\d{4,19}$/;

/** Human-readable byte size for messages. */
export function mib(bytes: number): string {
  return `${Math.round((bytes / 1024 / 1024) * 10) / 10} MiB`;
}

/**
 * A feed's text: size checked before anything is decoded, gzip refused with a hint (the feeds are
 * published compressed), a UTF-8 BOM dropped. Invalid UTF-8 decodes to U+FFFD, which later checks
 * reject where it matters (ids, CPE names).
 */
export function decodeFeed(input: string | Uint8Array, file: string, maxBytes: number, kind: string): string {
  const size = typeof input === 'string' ? input.length : input.byteLength;
  if (size > maxBytes) throw new VulnDbError(file, `is larger than the ${mib(maxBytes)} a ${kind} file may have; is this the right file?`);
  if (size === 0) throw new VulnDbError(file, `is empty; expected a ${kind} file`);
  let text: string;
  if (typeof input === 'string') text = input;
  else {
    if (input[0] === 0x1f && input[1] === 0x8b) throw new VulnDbError(file, `is gzip-compressed; decompress it (gunzip) before importing it as a ${kind} file`);
    try {
      text = Buffer.from(input.buffer, input.byteOffset, input.byteLength).toString('utf8');
    } catch {
      // Only reachable near V8's string length limit.
      throw new VulnDbError(file, `is too large to decode as a ${kind} file`);
    }
  }
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/** JSON.parse with every failure (syntax, truncation, stack exhaustion on deep nesting) as a VulnDbError. */
export function parseFeedJson(text: string, file: string, kind: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    const why = e instanceof SyntaxError ? e.message : 'nesting too deep';
    throw new VulnDbError(file, `is not valid JSON (${oneLine(why, 120)}); expected a ${kind} file`);
  }
}

/**
 * Text from a feed made inert and bounded: whitespace runs (newlines included) become one space,
 * remaining control and bidi characters become visible escapes, and the result is cut at `max`
 * characters with an ellipsis. Used for descriptions and names that end up on terminals and reports.
 */
export function oneLine(text: string, max: number): string {
  // Cut before the regexes run, so a 100 MB description costs no more than a short one.
  const head = text.length > max * 2 ? text.slice(0, max * 2) : text;
  const flat = escapeTerminal(head.replace(/\s+/g, ' ').trim());
  return flat.length > max || head.length < text.length ? `${flat.slice(0, max - 1)}…` : flat;
}

/**
 * An ISO 8601 timestamp from a feed, normalised to `toISOString()` form (UTC, milliseconds).
 * Feeds write `2023-07-20T03:15:10.170` (NVD: no zone, meaning UTC), `…Z`, or `…+0000` (EPSS).
 * Undefined for anything else, including impossible dates (month 13, 30 February).
 */
export function isoTimestamp(text: string): string | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?(Z|[+-]\d{2}:?\d{2})?$/.exec(text);
  if (m === null) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map((v) => Number(v ?? 0)) as [number, number, number, number, number, number];
  const frac = m[7] ?? '0';
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return undefined;
  let ms = Date.UTC(year, month - 1, day, hour, minute, second, Number(frac.padEnd(3, '0').slice(0, 3)));
  if (new Date(Date.UTC(year, month - 1, day)).getUTCDate() !== day) return undefined;
  const zone = m[8];
  if (zone !== undefined && zone !== 'Z') {
    const sign = zone.startsWith('-') ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    const zh = Number(digits.slice(0, 2));
    const zm = Number(digits.slice(2, 4));
    if (zh > 23 || zm > 59) return undefined;
    ms -= sign * (zh * 60 + zm) * 60_000;
  }
  // Date.UTC maps years 0-99 to 1900-1999; feeds have no such dates, so refuse rather than misread.
  if (year < 1970 || !Number.isFinite(ms)) return undefined;
  return new Date(ms).toISOString();
}

/** A calendar date `YYYY-MM-DD` (KEV's dateAdded, dueDate), checked for existence. */
export function isoDate(text: string): string | undefined {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(text)) return undefined;
  const iso = isoTimestamp(text);
  return iso === undefined ? undefined : text;
}

/** How many skipped-entry details a warning spells out before it only counts. */
const MAX_EXAMPLES = 3;

/**
 * Counts entries skipped for one reason and keeps the first few details, so a file with 50 000 bad
 * rows yields one warning line, not 50 000.
 */
export class SkipLog {
  private count = 0;
  private readonly examples: string[] = [];

  constructor(
    private readonly file: string,
    /** Plural noun with reason, e.g. `malformed CVE entries skipped`. */
    private readonly what: string,
  ) {}

  /** Record one skipped entry; `detail` must already be terminal-safe. */
  add(detail: string): void {
    this.count++;
    if (this.examples.length < MAX_EXAMPLES) this.examples.push(detail);
  }

  get total(): number {
    return this.count;
  }

  /** The warning line, or undefined when nothing was skipped. */
  warning(): string | undefined {
    if (this.count === 0) return undefined;
    const more = this.count > this.examples.length ? '; …' : '';
    return `${quoteToken(this.file)}: ${this.count} ${this.what} (${this.examples.join('; ')}${more})`;
  }
}

/** Collect the warnings of several logs, in order, leaving out the empty ones. */
export function warningsOf(...logs: SkipLog[]): string[] {
  return logs.map((l) => l.warning()).filter((w): w is string => w !== undefined);
}

/** First zod-style issue as `path: message`, for a skipped-entry detail. */
export function firstIssue(issues: readonly { path: readonly PropertyKey[]; message: string }[]): string {
  const first = issues[0];
  if (first === undefined) return 'invalid';
  const path = first.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('').replace(/^\./, '');
  return oneLine(`${path === '' ? '' : `${path}: `}${first.message}`, 200);
}
