/**
 * nmap XML (`-oX`), streamed: each `<host>` becomes one Observation the moment `</host>` closes,
 * and nothing else is kept, so a gigabyte file costs constant memory. Reads nmap's own files and
 * portolan's `-oX` (which imitates them). A file cut short (a crashed or still-running scan)
 * yields its complete hosts and a warning; anything malformed is an ImportError.
 *
 * `<extraports>` are only counted by nmap ("997 closed ports"); they are not expanded into ports,
 * because nmap lists every port individually whenever its state matters.
 */
import { fromCpe22 } from '../core/cpe.js';
import type { Family, HostName, HostResult, HostStatus, Observation, PortResult, Service, Source } from '../core/model.js';
import { ImportError } from './errors.js';
import { MAX_HOSTNAMES, MAX_PORTS_PER_HOST, hostReason, portReason, portState, protocol, sortPorts, sourceFromArgs, splitArgs } from './nmap-common.js';
import type { ImportContext, ImportMeta, Importer } from './types.js';
import { canonicalAddress, epochSecondsToMs, parseDecimal, parsePort, text } from './values.js';
import { streamXml, type XmlHandler, type XmlStreamEnd, type XmlTag } from './xml-stream.js';
import type { Readable } from 'node:stream';

/** Most CPE names kept per service; nmap writes one to three. */
const MAX_CPES = 16;
/** Longest CPE text gathered (a `<cpe>` is short; a hostile one is not). */
const MAX_CPE_CHARS = 1024;
/** Longest banner kept, as the detector caps its own. */
const MAX_BANNER_CHARS = 1024;

/** Distinct CPE texts remembered per file; the same few names repeat on thousands of ports. */
const CPE_CACHE_SIZE = 4096;

/** The port being read: its service fields arrive in child elements. */
interface PortDraft {
  port: PortResult | undefined;
  service: Service | undefined;
  cpeText: string | undefined;
  banner: string | undefined;
}

/** Everything kept about the host being read. */
interface HostDraft {
  address: { address: string; family: Family } | undefined;
  status: HostStatus;
  statusReason: string | undefined;
  hostnames: HostName[];
  ports: Map<number, PortResult>;
  startedAt: number | undefined;
  endedAt: number | undefined;
  timedOut: boolean;
  times: { srtt?: number; rttvar?: number; to?: number };
  os: { name: string; accuracy: number } | undefined;
  skip: boolean;
}

function attr(tag: XmlTag, name: string): string | undefined {
  return tag.attributes[name];
}

/** An integer 0–2^31 attribute, or undefined. */
function intAttr(tag: XmlTag, name: string): number | undefined {
  const n = parseDecimal(attr(tag, name));
  return n === undefined || n < 0 || n > 2 ** 31 ? undefined : Math.round(n);
}

function serviceOf(tag: XmlTag): Service {
  const method = attr(tag, 'method') === 'probed' ? 'probed' : 'table';
  const conf = intAttr(tag, 'conf');
  const s: Service = {
    name: text(attr(tag, 'name'), 64) ?? 'unknown',
    method,
    confidence: conf === undefined ? (method === 'probed' ? 10 : 3) : Math.min(10, conf),
    cpe: [],
  };
  const product = text(attr(tag, 'product'));
  const version = text(attr(tag, 'version'));
  const extrainfo = text(attr(tag, 'extrainfo'));
  const ostype = text(attr(tag, 'ostype'), 64);
  const devicetype = text(attr(tag, 'devicetype'), 64);
  const hostname = text(attr(tag, 'hostname'), 255);
  if (product !== undefined) s.product = product;
  if (version !== undefined) s.version = version;
  if (extrainfo !== undefined) s.extrainfo = extrainfo;
  if (ostype !== undefined) s.ostype = ostype;
  if (devicetype !== undefined) s.devicetype = devicetype;
  if (hostname !== undefined) s.hostname = hostname;
  if (attr(tag, 'tunnel') === 'ssl') s.tunnel = 'ssl';
  return s;
}

/** Builds observations from parser events; one instance per file. */
class NmapXmlReader implements XmlHandler<Observation> {
  hosts = 0;
  private host: HostDraft | undefined;
  private port: PortDraft | undefined;
  private inService = false;
  private source: Source = 'nmap';
  private warnedProto = false;
  private readonly cpeCache = new Map<string, string | undefined>();

  constructor(
    private readonly ctx: ImportContext,
    private readonly meta: ImportMeta,
  ) {}

  open(tag: XmlTag, depth: number, _out: Observation[], line: number): void {
    if (depth === 0) return this.header(tag);
    const h = this.host;
    if (h === undefined) {
      if (tag.name === 'host' && depth === 1) this.host = this.startHost(tag);
      return;
    }
    switch (tag.name) {
      case 'status': {
        const state = attr(tag, 'state');
        // nmap's `unknown` and `skipped` hosts were never scanned: nothing to import.
        if (state !== 'up' && state !== 'down') h.skip = true;
        else h.status = state;
        h.statusReason = attr(tag, 'reason');
        return;
      }
      case 'address': {
        const type = attr(tag, 'addrtype') ?? 'ipv4';
        if (type === 'mac' || h.address !== undefined) return;
        const a = canonicalAddress(attr(tag, 'addr') ?? '');
        if (a === undefined || (type === 'ipv6') !== (a.family === 6)) throw new ImportError(this.ctx.file, line, `bad ${type === 'ipv6' ? 'IPv6' : 'IPv4'} address in <address>`);
        h.address = a;
        return;
      }
      case 'hostname': {
        const name = text(attr(tag, 'name'), 255);
        const type = attr(tag, 'type') === 'user' ? 'user' : 'PTR';
        if (name !== undefined && h.hostnames.length < MAX_HOSTNAMES && !h.hostnames.some((n) => n.name === name && n.type === type)) h.hostnames.push({ name, type });
        return;
      }
      case 'port':
        this.port = { port: this.startPort(tag, line), service: undefined, cpeText: undefined, banner: undefined };
        return;
      case 'state':
        if (this.port?.port !== undefined) this.portState(tag, this.port.port, line);
        return;
      case 'service':
        if (this.port !== undefined) {
          this.port.service = serviceOf(tag);
          this.inService = true;
        }
        return;
      case 'cpe':
        if (this.inService && this.port !== undefined) this.port.cpeText = '';
        return;
      case 'script':
        if (this.port !== undefined && attr(tag, 'id') === 'banner') this.port.banner = text(attr(tag, 'output'), MAX_BANNER_CHARS);
        return;
      case 'osmatch': {
        const name = text(attr(tag, 'name'));
        const accuracy = intAttr(tag, 'accuracy') ?? 0;
        // nmap lists the best match first; keep the first of the highest accuracy.
        if (name !== undefined && (h.os === undefined || accuracy > h.os.accuracy)) h.os = { name, accuracy };
        return;
      }
      case 'times':
        h.times = { srtt: intAttr(tag, 'srtt'), rttvar: intAttr(tag, 'rttvar'), to: intAttr(tag, 'to') };
        return;
      default:
    }
  }

  text(chunk: string): void {
    const p = this.port;
    if (p?.cpeText !== undefined && p.cpeText.length < MAX_CPE_CHARS) p.cpeText += chunk.slice(0, MAX_CPE_CHARS - p.cpeText.length);
  }

  close(name: string, depth: number, out: Observation[], line: number): void {
    const h = this.host;
    if (h === undefined) return;
    if (depth === 1 && name === 'host') {
      this.host = undefined;
      this.port = undefined;
      this.inService = false;
      const o = h.skip ? undefined : this.finishHost(h, line);
      if (o !== undefined) out.push(o);
      this.hosts++;
      return;
    }
    const p = this.port;
    if (p === undefined) return;
    if (name === 'cpe' && p.cpeText !== undefined) {
      const cpe = this.cpe(p.cpeText);
      if (cpe !== undefined && p.service !== undefined && p.service.cpe.length < MAX_CPES && !p.service.cpe.includes(cpe)) p.service.cpe.push(cpe);
      p.cpeText = undefined;
    } else if (name === 'service') this.inService = false;
    else if (name === 'port') {
      this.port = undefined;
      const port = p.port;
      if (port === undefined) return;
      if (p.service !== undefined) {
        if (p.banner !== undefined) p.service.banner = p.banner;
        port.service = p.service;
      }
      if (h.ports.size >= MAX_PORTS_PER_HOST) throw new ImportError(this.ctx.file, line, `more than ${MAX_PORTS_PER_HOST} ports in one <host>`);
      h.ports.set((port.protocol === 'udp' ? 65536 : 0) + port.port, port);
    }
  }

  /** fromCpe22 with a bounded memo (cleared when full, so a hostile file cannot grow it). */
  private cpe(uri: string): string | undefined {
    const cached = this.cpeCache.get(uri);
    if (cached !== undefined || this.cpeCache.has(uri)) return cached;
    const cpe = fromCpe22(uri);
    if (this.cpeCache.size >= CPE_CACHE_SIZE) this.cpeCache.clear();
    this.cpeCache.set(uri, cpe);
    return cpe;
  }

  private header(tag: XmlTag): void {
    const args = splitArgs(attr(tag, 'args') ?? '');
    this.source = sourceFromArgs(args, attr(tag, 'scanner'));
    this.meta.source = this.source;
    if (args.length > 0) this.meta.args = args;
    const version = text(attr(tag, 'version'), 64);
    if (version !== undefined) this.meta.toolVersion = version;
    const start = epochSecondsToMs(attr(tag, 'start'));
    if (start !== undefined) this.meta.startedAt = start;
  }

  private startHost(tag: XmlTag): HostDraft {
    return {
      address: undefined,
      status: 'up',
      statusReason: undefined,
      hostnames: [],
      ports: new Map(),
      startedAt: epochSecondsToMs(attr(tag, 'starttime')),
      endedAt: epochSecondsToMs(attr(tag, 'endtime')),
      timedOut: attr(tag, 'timedout') === 'true',
      times: {},
      os: undefined,
      skip: false,
    };
  }

  /** A port, or undefined for one the model cannot hold (sctp); its state comes from `<state>`. */
  private startPort(tag: XmlTag, line: number): PortResult | undefined {
    const protoWord = attr(tag, 'protocol') ?? '';
    const proto = protocol(protoWord);
    if (proto === undefined) throw new ImportError(this.ctx.file, line, `unknown port protocol ${JSON.stringify(protoWord.slice(0, 20))}`);
    const port = parsePort(attr(tag, 'portid'));
    if (port === undefined) throw new ImportError(this.ctx.file, line, 'bad portid (not a number 0-65535)');
    if (proto === null) {
      if (!this.warnedProto) this.ctx.warn(`${protoWord} ports skipped (portolan stores tcp and udp)`);
      this.warnedProto = true;
      return undefined;
    }
    return { protocol: proto, port, state: 'filtered', reason: 'no-response', tries: 1 };
  }

  private portState(tag: XmlTag, port: PortResult, line: number): void {
    const word = attr(tag, 'state') ?? '';
    const state = portState(word);
    if (state === undefined) throw new ImportError(this.ctx.file, line, `unknown port state ${JSON.stringify(word.slice(0, 20))}`);
    if (state === null) {
      // Known to nmap, unknown to the model (unfiltered): drop the port.
      this.port!.port = undefined;
      return;
    }
    port.state = state;
    port.reason = portReason(attr(tag, 'reason'), state);
  }

  private finishHost(h: HostDraft, line: number): Observation {
    if (h.address === undefined) throw new ImportError(this.ctx.file, line, '<host> without an IPv4 or IPv6 address');
    const startedAt = h.startedAt ?? this.meta.startedAt ?? 0;
    const host: HostResult = {
      address: h.address.address,
      family: h.address.family,
      hostnames: h.hostnames,
      status: h.status,
      statusReason: hostReason(h.statusReason, h.status),
      ports: h.status === 'up' ? sortPorts([...h.ports.values()]) : [],
      startedAt,
      endedAt: h.endedAt ?? startedAt,
    };
    if (h.timedOut) host.timedOut = true;
    if (h.times.srtt !== undefined) host.srttUs = h.times.srtt;
    if (h.times.rttvar !== undefined) host.rttvarUs = h.times.rttvar;
    if (h.times.to !== undefined) host.timeoutUs = h.times.to;
    const o: Observation = { host, source: this.source };
    if (h.os !== undefined) o.osHint = h.os.name;
    return o;
  }
}

/** How sure the head is nmap XML: an `<nmaprun>` root, not one written by masscan. */
function sniff(head: Buffer): number {
  const s = head.toString('latin1');
  const at = s.indexOf('<nmaprun');
  if (at < 0) return s.includes('<!DOCTYPE nmaprun') ? 5 : 0;
  const tag = s.slice(at, at + 4096);
  const scanner = /\sscanner="([^"]*)"/.exec(tag)?.[1];
  if (scanner === 'nmap' || scanner === 'portolan') return 10;
  // masscan imitates nmap's root element; its own importer reads those files.
  if (scanner !== undefined) return 2;
  return 7;
}

async function* read(input: Readable, ctx: ImportContext, meta: ImportMeta): AsyncGenerator<Observation> {
  const reader = new NmapXmlReader(ctx, meta);
  const end: XmlStreamEnd = { complete: false, line: 0 };
  yield* streamXml(input, ctx, { roots: ['nmaprun'], format: 'nmap XML' }, reader, end);
  if (!end.complete) ctx.warn(`truncated after ${reader.hosts} host${reader.hosts === 1 ? '' : 's'} (no </nmaprun>); the complete hosts were imported`);
}

/** nmap XML (`-oX`), including portolan's own. */
export const importer: Importer = {
  id: 'nmap-xml',
  description: 'nmap XML output (-oX), streamed; also portolan -oX',
  source: 'nmap',
  sniff,
  read,
};
