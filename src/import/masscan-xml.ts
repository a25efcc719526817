/**
 * masscan XML output (`-oX`): nmap's XML shape with `<nmaprun scanner="masscan">`, but one
 * `<host>` per record: `<host endtime="…"><address addr="…" addrtype="ipv4"/><ports><port
 * protocol="tcp" portid="80"><state state="open" reason="syn-ack" reason_ttl="64"/></port></ports>
 * </host>`, and for a banner `<service name="http" banner="…">` in the port. masscan writes
 * `addrtype="ipv4"` even for IPv6, so the family comes from the address itself.
 *
 * A 0-byte file is a scan that found nothing; a file without its closing tags (a killed scan)
 * imports its complete hosts with a warning. Consecutive records of one host merge into one
 * observation; scattered ones come out separately and the store merges them.
 */
import type { Readable } from 'node:stream';
import type { Observation } from '../core/model.js';
import { ImportError } from './errors.js';
import { type Address, epochSeconds, nonEmpty, parseAddress, portNumber, show } from './host-merge.js';
import { type MasscanRecord, finishMasscan, masscanMerger, masscanProtocol, masscanStatus } from './masscan-record.js';
import type { ImportContext, ImportMeta, Importer } from './types.js';
import { type XmlStreamEnd, type XmlTag, streamXml } from './xml-stream.js';

/** Ports one `<host>` element may list (masscan writes one; a merged file may hold a host's all). */
const MAX_PORTS_PER_HOST = 2 * 65536;

interface HostDraft {
  address?: Address;
  time?: number;
  recs: MasscanRecord[];
  line: number;
}

interface PortDraft {
  rec?: MasscanRecord;
  status?: string;
  app?: string;
  banner?: string;
}

async function* read(input: Readable, ctx: ImportContext, meta: ImportMeta): AsyncIterable<Observation> {
  meta.source = 'masscan';
  const stream = await nonEmpty(input, ctx);
  if (stream === undefined) return;
  const merger = masscanMerger(Date.now());
  const end: XmlStreamEnd = { complete: false, line: 0 };
  let host: HostDraft | undefined;
  let port: PortDraft | undefined;
  let skipped = 0;

  const open = (tag: XmlTag, depth: number, _out: Observation[], line: number): void => {
    const a = tag.attributes;
    if (depth === 0) {
      const start = epochSeconds(a.start);
      if (start !== undefined) meta.startedAt = start;
      if (typeof a.version === 'string' && a.version.length <= 40) meta.toolVersion = a.version;
      return;
    }
    switch (tag.name) {
      case 'host':
        if (depth !== 1) return;
        host = { recs: [], line };
        if (a.endtime !== undefined) {
          const t = epochSeconds(a.endtime);
          if (t === undefined) throw new ImportError(ctx.file, line, `bad host endtime ${show(a.endtime)}`);
          host.time = t;
        }
        return;
      case 'address': {
        if (host === undefined || typeof a.addr !== 'string') return;
        // nmap's shape allows a MAC address beside the IP one; only the IP is the host.
        if (a.addrtype === 'mac') return;
        const addr = parseAddress(a.addr);
        if (addr === undefined) throw new ImportError(ctx.file, line, `not an IP address: ${JSON.stringify(a.addr.slice(0, 64))}`);
        host.address = addr;
        return;
      }
      case 'port': {
        if (host === undefined) return;
        const num = portNumber(a.portid);
        if (num === undefined) throw new ImportError(ctx.file, line, `bad portid ${show(a.portid)}`);
        const protocol = masscanProtocol(a.protocol ?? 'tcp');
        if (protocol === undefined) throw new ImportError(ctx.file, line, `unknown protocol ${show(a.protocol)}`);
        port = protocol === 'skip' ? {} : { rec: { protocol, port: num } };
        if (protocol === 'skip') skipped++;
        return;
      }
      case 'state':
        if (port !== undefined) port.status = a.state;
        return;
      case 'service':
        if (port !== undefined) {
          port.app = typeof a.name === 'string' ? a.name : 'unknown';
          port.banner = a.banner ?? '';
        }
        return;
      default:
    }
  };

  const close = (name: string, depth: number, out: Observation[], line: number): void => {
    if (name === 'port' && port !== undefined && host !== undefined) {
      const p = port;
      port = undefined;
      if (p.rec === undefined) return;
      if (host.recs.length >= MAX_PORTS_PER_HOST) throw new ImportError(ctx.file, line, `more than ${MAX_PORTS_PER_HOST} ports in one host`);
      if (p.app !== undefined) {
        host.recs.push({ ...p.rec, app: p.app, banner: p.banner ?? '' });
        return;
      }
      const status = masscanStatus(p.status ?? 'open');
      if (status === undefined) throw new ImportError(ctx.file, line, `unknown port state ${show(p.status)}`);
      if (status === 'skip') skipped++;
      else host.recs.push({ ...p.rec, status });
      return;
    }
    if (name === 'host' && depth === 1 && host !== undefined) {
      const h = host;
      host = undefined;
      if (h.address === undefined) throw new ImportError(ctx.file, h.line, '<host> without an IP <address>');
      for (const rec of h.recs) {
        const done = merger.add(h.address, rec, h.time);
        if (done !== undefined) out.push(done);
      }
    }
  };

  yield* streamXml<Observation>(stream, ctx, { roots: ['nmaprun'], format: 'masscan XML', maxTokenChars: 1024 * 1024 }, { open, close }, end);
  yield* finishMasscan(merger, ctx, skipped);
  if (!end.complete) ctx.warn(`${ctx.file}: masscan XML ends before </nmaprun> at line ${end.line} (scan interrupted or file truncated); the complete hosts were imported`);
}

function sniff(head: Buffer): number {
  const text = head.subarray(0, 4096).toString('utf8');
  if (/<nmaprun\b[^>]*\bscanner\s*=\s*["']masscan["']/.test(text)) return 10;
  if (text.includes('<!-- masscan v') && text.includes('<nmaprun')) return 10;
  return 0;
}

/** masscan `-oX` XML output. */
export const importer: Importer = {
  id: 'masscan-xml',
  description: 'masscan XML output (-oX)',
  source: 'masscan',
  sniff,
  read,
};
