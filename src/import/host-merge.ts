/**
 * Shared plumbing for the importers of tools that write one record per port (masscan, naabu,
 * RustScan, amap): consecutive records of one host fold into one Observation, addresses and times
 * are validated once, text from the file is made safe once, and line formats get one policy for a
 * malformed last line (a file cut short by a killed scanner).
 *
 * Merging is of *consecutive* records only: such files can be huge and unordered, so holding every
 * host until the end would cost memory without bound. A host whose records are not adjacent comes
 * out as several observations; the store upserts services by host and port, so nothing duplicates.
 */
import { isIP } from 'node:net';
import { Readable } from 'node:stream';
import type { Family, HostResult, Observation, PortResult, Protocol, Source } from '../core/model.js';
import { escapeTerminal } from '../core/escape.js';
import { ImportError } from './errors.js';
import { readLines } from './lines.js';
import type { ImportContext } from './types.js';

/** A host address as the file wrote it, validated. */
export interface Address {
  address: string;
  family: Family;
}

/**
 * The address in `text` (IPv4, IPv6, IPv6 in brackets), or undefined when it is not one: a host
 * name, garbage. IPv6 is lower-cased so that the same host always gets the same key.
 */
export function parseAddress(text: string): Address | undefined {
  const bare = text.length > 2 && text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  if (bare.length === 0 || bare.length > 64) return undefined;
  const v = isIP(bare);
  if (v === 4) return { address: bare, family: 4 };
  if (v === 6) return { address: bare.toLowerCase(), family: 6 };
  return undefined;
}

/** Latest time accepted: year 2200. Anything later is a corrupt field, not a scan. */
const MAX_EPOCH_MS = 7_258_118_400_000;

/** Epoch seconds (a number or a decimal string) as epoch ms; undefined for anything else. */
export function epochSeconds(value: unknown): number | undefined {
  const n = typeof value === 'number' ? value : typeof value === 'string' && /^\d{1,12}$/.test(value) ? Number(value) : NaN;
  if (!Number.isInteger(n) || n < 0) return undefined;
  const ms = n * 1000;
  return ms <= MAX_EPOCH_MS ? ms : undefined;
}

/** An ISO 8601 time (naabu's `timestamp`) as epoch ms; undefined when it is not one. */
export function isoTime(value: unknown): number | undefined {
  if (typeof value !== 'string' || value.length > 64 || !/^\d{4}-\d{2}-\d{2}T/.test(value)) return undefined;
  const ms = Date.parse(value);
  return Number.isFinite(ms) && ms >= 0 && ms <= MAX_EPOCH_MS ? ms : undefined;
}

/** A port number 0–65535 from a number or a decimal string; undefined otherwise. */
export function portNumber(value: unknown): number | undefined {
  const n = typeof value === 'number' ? value : typeof value === 'string' && /^\d{1,5}$/.test(value) ? Number(value) : NaN;
  return Number.isInteger(n) && n >= 0 && n <= 65535 ? n : undefined;
}

/** Longest banner kept per record, in characters after escaping. */
export const MAX_BANNER_CHARS = 1024;

/**
 * Text from a file made safe to store and print: controls and bidi characters become visible
 * escapes, and the result is cut to `max` characters (never in the middle of an escape).
 */
export function safeText(s: string, max = MAX_BANNER_CHARS): string {
  let out = escapeTerminal(s.length > max ? s.slice(0, max) : s);
  if (out.length > max) {
    out = out.slice(0, max);
    // Drop a trailing partial escape such as `\x1` or `\u20`.
    out = out.replace(/\\(?:x[0-9a-f]?|u[0-9a-f]{0,3})?$/, '');
  }
  return out;
}

/**
 * Bytes of banner text one host may hold while its records are merged: a hostile file repeating
 * banners for 131 072 ports would otherwise cost gigabytes. Past it, banners are dropped (and
 * counted) while ports and service names are still kept.
 */
export const HOST_BANNER_BUDGET = 1024 * 1024;

/** Per-host scratch the fold function may use to respect {@link HOST_BANNER_BUDGET}. */
export interface HostBudget {
  bannerChars: number;
  /** Banners dropped for this host; summed over the file into {@link HostMerger.droppedBanners}. */
  dropped: number;
}

/** True (and the budget charged) when `text` still fits in the host's banner budget. */
export function spend(budget: HostBudget, text: string): boolean {
  if (budget.bannerChars + text.length > HOST_BANNER_BUDGET) {
    budget.dropped++;
    return false;
  }
  budget.bannerChars += text.length;
  return true;
}

/** The part of a record the merger needs; the rest is the fold function's business. */
export interface PortKey {
  protocol: Protocol;
  port: number;
}

/** Folds one record into the port as known so far (`prev` is undefined for the first record). */
export type Fold<R extends PortKey> = (prev: PortResult | undefined, rec: R, budget: HostBudget) => PortResult;

/** A port that a record says is open, as the base a fold starts from. */
export function openPort(key: PortKey): PortResult {
  return { protocol: key.protocol, port: key.port, state: 'open', reason: 'syn-ack', tries: 1 };
}

const portIndex = (protocol: Protocol, port: number): number => (protocol === 'udp' ? 65536 : 0) + port;

/**
 * Folds consecutive records of one host into one Observation. `add` returns the previous host's
 * observation when the host changes; `finish` returns the last one. Memory is one host's ports,
 * which the port space bounds (2 × 65 536), plus its banners, which {@link HostBudget} bounds.
 */
export class HostMerger<R extends PortKey> {
  private current: Address | undefined;
  private ports = new Map<number, PortResult>();
  private hostnames: string[] = [];
  private first: number | undefined;
  private last: number | undefined;
  private budget: HostBudget = { bannerChars: 0, dropped: 0 };
  /** Banners dropped over the whole file because a host exceeded its budget. */
  droppedBanners = 0;

  constructor(
    private readonly source: Source,
    private readonly fold: Fold<R>,
    /** Epoch ms for hosts whose records carry no time. */
    private readonly fallbackTime: number,
  ) {}

  /** Add one record for `host`; returns the previous host's observation if `host` is a new one. */
  add(host: Address, rec: R, time?: number, hostname?: string): Observation | undefined {
    let done: Observation | undefined;
    if (this.current === undefined || this.current.address !== host.address) {
      done = this.finish();
      this.current = host;
    }
    const key = portIndex(rec.protocol, rec.port);
    this.ports.set(key, this.fold(this.ports.get(key), rec, this.budget));
    if (time !== undefined) {
      if (this.first === undefined || time < this.first) this.first = time;
      if (this.last === undefined || time > this.last) this.last = time;
    }
    if (hostname !== undefined && hostname.length > 0 && this.hostnames.length < 8 && !this.hostnames.includes(hostname)) this.hostnames.push(hostname);
    return done;
  }

  /** The port held for `address` if it is the host being merged now. */
  peek(address: string, protocol: Protocol, port: number): PortResult | undefined {
    return this.current?.address === address ? this.ports.get(portIndex(protocol, port)) : undefined;
  }

  /** The observation of the host being merged, if any, and a clean slate. */
  finish(): Observation | undefined {
    const cur = this.current;
    if (cur === undefined) return undefined;
    const ports = [...this.ports.entries()].sort((a, b) => a[0] - b[0]).map((e) => e[1]);
    const anyOpen = ports.some((p) => p.state === 'open');
    const host: HostResult = {
      address: cur.address,
      family: cur.family,
      hostnames: this.hostnames.map((name) => ({ name, type: 'user' as const })),
      status: 'up',
      statusReason: anyOpen || ports.length === 0 ? 'syn-ack' : 'conn-refused',
      ports,
      startedAt: this.first ?? this.fallbackTime,
      endedAt: this.last ?? this.first ?? this.fallbackTime,
    };
    this.droppedBanners += this.budget.dropped;
    this.current = undefined;
    this.ports = new Map();
    this.hostnames = [];
    this.first = undefined;
    this.last = undefined;
    this.budget = { bannerChars: 0, dropped: 0 };
    return { host, source: this.source };
  }

  /** Tell the user, once per file, about banners dropped to keep memory bounded. */
  report(ctx: ImportContext): void {
    if (this.droppedBanners > 0) ctx.warn(`${this.droppedBanners} banner(s) dropped: a host's banners exceeded ${HOST_BANNER_BUDGET / (1024 * 1024)} MiB`);
  }
}

/**
 * The lines of a line-oriented format, each handed to `parse`, which returns its records or
 * throws ImportError for a malformed line. A malformed *last* line after at least one good record
 * is a file cut short (a scanner killed mid-write): it becomes a warning and the complete records
 * stand. Anywhere else it is an error naming the line.
 */
export async function* parseLines<T>(input: Readable, ctx: ImportContext, parse: (line: string, no: number) => Iterable<T>): AsyncGenerator<T> {
  let pending: ImportError | undefined;
  let good = 0;
  for await (const { line, no } of readLines(input, ctx)) {
    if (pending !== undefined) throw pending;
    let records: Iterable<T>;
    try {
      records = parse(line, no);
    } catch (e) {
      const err = e instanceof ImportError ? e : new ImportError(ctx.file, no, e instanceof Error ? e.message : String(e));
      if (good === 0) throw err;
      pending = err;
      continue;
    }
    for (const r of records) {
      good++;
      yield r;
    }
  }
  if (pending !== undefined) ctx.warn(`${pending.message} (last line; file truncated?)`);
}

/**
 * `input` with its leading whitespace-only chunks read ahead: undefined when the whole stream is
 * whitespace (a 0-byte masscan file means "no results"), else a stream replaying everything.
 */
export async function nonEmpty(input: Readable, ctx: ImportContext): Promise<Readable | undefined> {
  const iterator = input[Symbol.asyncIterator]() as AsyncIterator<unknown>;
  const held: Buffer[] = [];
  let heldBytes = 0;
  for (;;) {
    let next: IteratorResult<unknown>;
    try {
      next = await iterator.next();
    } catch (e) {
      throw new ImportError(ctx.file, undefined, `read failed: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (next.done === true) return undefined;
    const v = next.value;
    const chunk = Buffer.isBuffer(v) ? v : typeof v === 'string' ? Buffer.from(v, 'utf8') : Buffer.from(v as Uint8Array);
    held.push(chunk);
    heldBytes += chunk.length;
    if (!isBlank(chunk) || heldBytes > 1024 * 1024) break;
  }
  async function* replay(): AsyncGenerator<Buffer> {
    let finished = false;
    try {
      for (const b of held) yield b;
      for (;;) {
        const next = await iterator.next();
        if (next.done === true) {
          finished = true;
          return;
        }
        const v = next.value;
        yield Buffer.isBuffer(v) ? v : typeof v === 'string' ? Buffer.from(v, 'utf8') : Buffer.from(v as Uint8Array);
      }
    } finally {
      if (!finished) await iterator.return?.();
    }
  }
  return Readable.from(replay(), { objectMode: false });
}

function isBlank(b: Buffer): boolean {
  for (const c of b) if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) return false;
  return true;
}

/** The non-blank, non-comment lines at the start of a sniffed head (the last, maybe cut, dropped). */
export function headLines(head: Buffer, max = 20): string[] {
  const text = head.toString('utf8').replace(/^\ufeff/, '');
  const lines = text.split('\n');
  if (head.length >= 64 * 1024) lines.pop();
  const out: string[] = [];
  for (const raw of lines) {
    const line = raw.replace(/\r$/, '').trim();
    if (line.length === 0) continue;
    out.push(line);
    if (out.length >= max) break;
  }
  return out;
}

/** A value from a file quoted for an error message, capped: `"sctpx"`, or its type for non-strings. */
export function show(v: unknown, max = 20): string {
  if (typeof v === 'string') return JSON.stringify(v.length > max ? `${v.slice(0, max)}…` : v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return v === null ? 'null' : typeof v;
}
