/**
 * nmap grepable output (`-oG`), and portolan's imitation of it. Each host takes a `Status:` line
 * and, when ports were scanned, a `Ports:` line, both starting `Host: ADDR (NAME)` and holding
 * tab-separated `Key: value` fields. A port entry is `port/state/proto/owner/service/rpc/version/`,
 * entries joined by `, `. nmap does not escape the version text, which may hold `/` and `, `, so
 * entries are found by their `port/state/proto/` head rather than by splitting on commas.
 *
 * The format has no product/version split; the version text is split by shape (product words,
 * then a word starting with a digit, then a parenthesised extra), which matches what nmap writes
 * for most services and otherwise keeps the whole text as the product.
 */
import type { Readable } from 'node:stream';
import type { HostName, HostResult, HostStatus, Observation, PortResult, Service, Source } from '../core/model.js';
import { ImportError } from './errors.js';
import { readLines } from './lines.js';
import { MAX_PORTS_PER_HOST, hostReason, portReason, portState, protocol, sortPorts, sourceFromArgs, splitArgs } from './nmap-common.js';
import type { ImportContext, ImportMeta, Importer } from './types.js';
import { canonicalAddress, parsePort, text } from './values.js';

/**
 * A `Ports:` line lists every port of a host; a host answering on all 65 535 tcp ports writes
 * about 2 MB, so lines get more room than the 1 MiB default.
 */
const MAX_LINE_BYTES = 8 << 20;

/** Start of one port entry: number, a state nmap writes, a protocol. */
const ENTRY_HEAD = /(\d{1,5})\/(open\|filtered|closed\|filtered|open|closed|filtered|unfiltered)\/([a-z]{1,8})\//g;

const HEADER_RE = /^# (Nmap|portolan) (\S{1,64}) scan initiated (.{1,64}?) as: (.*)$/;
const HOST_RE = /^Host: (\S{1,64}) \((.*)\)$/;

/** One host being gathered from its consecutive lines. */
interface HostDraft {
  address: string;
  family: 4 | 6;
  hostnames: HostName[];
  status: HostStatus | undefined;
  timedOut: boolean;
  skip: boolean;
  ports: Map<number, PortResult>;
  osHint: string | undefined;
}

/** `ctime()` text (`Sat Nov 21 07:48:43 2026`) as epoch ms, read as UTC since the file names no zone. */
function ctimeMs(s: string): number | undefined {
  const m = /^\w{3} (\w{3}) +(\d{1,2}) (\d{2}):(\d{2}):(\d{2}) (\d{4})$/.exec(s.trim());
  if (!m) return undefined;
  const month = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'].indexOf(m[1]!);
  if (month < 0) return undefined;
  const ms = Date.UTC(Number(m[6]), month, Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5]));
  return Number.isFinite(ms) ? ms : undefined;
}

/** Split nmap's one-string version (`OpenSSH 9.2p1 Debian 2+deb12u3 (protocol 2.0)`) by shape. */
export function splitVersionText(full: string): Pick<Service, 'product' | 'version' | 'extrainfo'> {
  let rest = full.trim();
  const out: Pick<Service, 'product' | 'version' | 'extrainfo'> = {};
  const extra = /^(.*\S) \((.*)\)$/.exec(rest);
  if (extra) {
    rest = extra[1]!;
    const e = text(extra[2]);
    if (e !== undefined) out.extrainfo = e;
  }
  const words = rest.split(' ');
  const at = words.findIndex((w, i) => i > 0 && /^\d/.test(w));
  const product = text(at > 0 ? words.slice(0, at).join(' ') : rest);
  const version = at > 0 ? text(words.slice(at).join(' ')) : undefined;
  if (product !== undefined) out.product = product;
  if (version !== undefined) out.version = version;
  return out;
}

function serviceOf(name: string, versionText: string, probedRun: boolean): Service | undefined {
  let n = name.trim();
  if (n === '') return undefined;
  // `?`: version detection ran but nothing matched; the name is the port table's guess.
  const guessed = n.endsWith('?');
  if (guessed) n = n.slice(0, -1);
  let tunnel: 'ssl' | undefined;
  const bar = n.lastIndexOf('|');
  if (bar >= 0) {
    if (n.slice(0, bar) === 'ssl') tunnel = 'ssl';
    n = n.slice(bar + 1);
  }
  const split = splitVersionText(versionText);
  const probed = !guessed && (probedRun || split.product !== undefined);
  const s: Service = { name: text(n, 64) ?? 'unknown', method: probed ? 'probed' : 'table', confidence: probed ? 10 : 3, cpe: [], ...split };
  if (tunnel !== undefined) s.tunnel = tunnel;
  return s;
}

class GrepableReader {
  hosts = 0;
  footer = false;
  private draft: HostDraft | undefined;
  private source: Source = 'nmap';
  private probedRun = false;
  private warnedProto = false;

  constructor(
    private readonly ctx: ImportContext,
    private readonly meta: ImportMeta,
  ) {}

  /** Handle one line; returns a finished host when this line starts another one. `last`: the file's final line. */
  line(line: string, no: number, last: boolean): Observation | undefined {
    if (line.startsWith('#')) {
      if (no === 1 || this.meta.args === undefined) this.header(line);
      if (/^# (Nmap|portolan) done at /.test(line)) this.footer = true;
      return undefined;
    }
    if (line.trim() === '') return undefined;
    const fields = line.split('\t');
    const host = HOST_RE.exec(fields[0] ?? '');
    if (!host) throw new ImportError(this.ctx.file, no, 'not nmap grepable output: expected a "Host: ADDRESS (NAME)" line');
    const addr = canonicalAddress(host[1]!);
    if (addr === undefined) throw new ImportError(this.ctx.file, no, 'bad address after "Host:"');
    let done: Observation | undefined;
    if (this.draft !== undefined && this.draft.address !== addr.address) done = this.flush();
    const d: HostDraft = (this.draft ??= { ...addr, hostnames: [], status: undefined, timedOut: false, skip: false, ports: new Map<number, PortResult>(), osHint: undefined } satisfies HostDraft);
    const name = text(host[2], 255);
    if (name !== undefined && d.hostnames.length === 0) d.hostnames.push({ name, type: 'PTR' });
    for (const field of fields.slice(1)) this.field(d, field, no, last);
    return done;
  }

  /** The host being gathered, finished. */
  flush(): Observation | undefined {
    const d = this.draft;
    this.draft = undefined;
    if (d === undefined || d.skip) return undefined;
    this.hosts++;
    // A Ports line without a Status line still proves the host answered.
    const status = d.status ?? 'up';
    const t = this.meta.startedAt ?? 0;
    const host: HostResult = {
      address: d.address,
      family: d.family,
      hostnames: d.hostnames,
      status,
      statusReason: hostReason(undefined, status),
      ports: status === 'up' && !d.timedOut ? sortPorts([...d.ports.values()]) : [],
      startedAt: t,
      endedAt: t,
    };
    if (d.timedOut) host.timedOut = true;
    const o: Observation = { host, source: this.source };
    if (d.osHint !== undefined) o.osHint = d.osHint;
    return o;
  }

  private header(line: string): void {
    const m = HEADER_RE.exec(line);
    if (!m) return;
    const args = splitArgs(m[4]!);
    this.source = m[1] === 'portolan' ? 'portolan' : sourceFromArgs(args);
    this.meta.source = this.source;
    this.meta.args = args;
    this.meta.toolVersion = m[2]!;
    const start = ctimeMs(m[3]!);
    if (start !== undefined) this.meta.startedAt = start;
    this.probedRun = args.some((a) => a === '-sV' || a === '-A' || /^-s[A-Z]*V/.test(a));
  }

  private field(d: HostDraft, field: string, no: number, last: boolean): void {
    const colon = field.indexOf(': ');
    const key = colon < 0 ? field.replace(/:$/, '') : field.slice(0, colon);
    const value = colon < 0 ? '' : field.slice(colon + 2);
    switch (key) {
      case 'Status':
        if (value === 'Up') d.status = 'up';
        else if (value === 'Down') d.status = 'down';
        else if (value === 'Timeout') {
          d.status = 'up';
          d.timedOut = true;
        } else d.skip = true; // Unknown, Skipped: never scanned.
        return;
      case 'Ports':
        return this.ports(d, value, no, last);
      case 'OS':
        d.osHint = text(value);
        return;
      default:
      // Ignored State (a count only), Seq Index, IP ID Seq, Protocols: nothing the model keeps.
    }
  }

  private ports(d: HostDraft, value: string, no: number, last: boolean): void {
    const heads: { at: number; m: RegExpExecArray }[] = [];
    ENTRY_HEAD.lastIndex = 0;
    for (let m = ENTRY_HEAD.exec(value); m !== null; m = ENTRY_HEAD.exec(value)) {
      // An entry starts the field or follows `, `; anything else is text inside a version.
      if (m.index === 0 || value.startsWith(', ', m.index - 2)) heads.push({ at: m.index, m });
    }
    if (heads.length === 0 && value.trim() !== '') throw new ImportError(this.ctx.file, no, 'Ports field without a "port/state/protocol/" entry');
    if (heads.length > 0 && heads[0]!.at !== 0) throw new ImportError(this.ctx.file, no, 'Ports field does not start with a port entry');
    for (let i = 0; i < heads.length; i++) {
      const { at, m } = heads[i]!;
      const end = i + 1 < heads.length ? heads[i + 1]!.at - 2 : value.length;
      const body = value.slice(at + m[0].length, end);
      if (!body.endsWith('/')) {
        // The last entry of a file cut mid-line: drop it; the missing footer is reported.
        if (last && i === heads.length - 1) return;
        throw new ImportError(this.ctx.file, no, `port entry ${m[1]} does not end with "/"`);
      }
      this.entry(d, m, body.slice(0, -1), no);
    }
  }

  /** One entry: `m` holds port, state and protocol; `rest` is `owner/service/rpc/version`. */
  private entry(d: HostDraft, m: RegExpExecArray, rest: string, no: number): void {
    const port = parsePort(m[1]);
    if (port === undefined) throw new ImportError(this.ctx.file, no, `bad port number ${m[1]}`);
    const proto = protocol(m[3]!);
    if (proto === undefined) throw new ImportError(this.ctx.file, no, `unknown protocol in port entry ${port}`);
    const state = portState(m[2]!);
    if (proto === null) {
      if (!this.warnedProto) this.ctx.warn(`${m[3]} ports skipped (portolan stores tcp and udp)`);
      this.warnedProto = true;
      return;
    }
    if (state === null || state === undefined) return;
    const parts = rest.split('/');
    if (parts.length < 4) throw new ImportError(this.ctx.file, no, `port entry ${port} has too few "/" fields`);
    // owner / service / rpc / version; the version keeps any `/` it contains.
    const p: PortResult = { protocol: proto, port, state, reason: portReason(undefined, state), tries: 1 };
    const service = serviceOf(parts[1]!, parts.slice(3).join('/'), this.probedRun);
    if (service !== undefined) p.service = service;
    if (d.ports.size >= MAX_PORTS_PER_HOST) throw new ImportError(this.ctx.file, no, `more than ${MAX_PORTS_PER_HOST} ports for one host`);
    d.ports.set((proto === 'udp' ? 65536 : 0) + port, p);
  }
}

/**
 * A host line only nmap writes: `Status:`, or `Ports:` listing nothing or starting with an entry
 * that has nmap's trailing seventh `/` (`80/open/tcp//http///`). masscan's `-oG` lines look alike
 * but hold one entry with six slashes (`80/open/tcp//http//`) and no `Status:` lines.
 */
const NMAP_HOST_LINE = /^Host: \S+ \(.*\)\t(?:Status: |Ports: (?:\d+(?:\/[^/\t]*){6}\/|\t|\r?$))/;

/** How sure the head is nmap grepable output. */
function sniff(head: Buffer): number {
  const s = head.toString('latin1');
  const lines = s.split('\n', 64);
  const first = lines[0] ?? '';
  if (/^# Masscan /.test(first)) return 0;
  const header = /^# (?:Nmap|portolan) \S+ scan initiated .* as: /.test(first);
  const hostLine = lines.some((l) => NMAP_HOST_LINE.test(l));
  if (header && hostLine) return 10;
  if (hostLine) return 8;
  // nmap's normal output (-oN) has the same first line but "Nmap scan report" lines.
  if (header && !s.includes('Nmap scan report for') && !s.includes('PORT ')) return 5;
  return 0;
}

async function* read(input: Readable, ctx: ImportContext, meta: ImportMeta): AsyncGenerator<Observation> {
  const reader = new GrepableReader(ctx, meta);
  let pending: { line: string; no: number } | undefined;
  let sawAny = false;
  for await (const l of readLines(input, ctx, MAX_LINE_BYTES)) {
    sawAny = true;
    // One line of look-ahead, so the file's last line is known as such (it may be cut short).
    if (pending !== undefined) {
      const o = reader.line(pending.line, pending.no, false);
      if (o !== undefined) yield o;
    }
    pending = l;
  }
  if (!sawAny) throw new ImportError(ctx.file, undefined, 'empty file');
  if (pending !== undefined) {
    const last = !reader.footer && !pending.line.startsWith('#');
    let o: Observation | undefined;
    try {
      o = reader.line(pending.line, pending.no, last);
    } catch (e) {
      // Without the footer the last line may be cut anywhere, even inside "Host:"; drop it.
      if (!last || !(e instanceof ImportError)) throw e;
    }
    if (o !== undefined) yield o;
  }
  const o = reader.flush();
  if (o !== undefined) yield o;
  if (!reader.footer) ctx.warn(`truncated after ${reader.hosts} host${reader.hosts === 1 ? '' : 's'} (no "# Nmap done" line)`);
}

/** nmap grepable output (`-oG`), including portolan's. */
export const importer: Importer = {
  id: 'nmap-grepable',
  description: 'nmap grepable output (-oG); also portolan -oG',
  source: 'nmap',
  sniff,
  read,
};
