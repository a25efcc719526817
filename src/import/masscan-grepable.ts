/**
 * masscan grepable output (`-oG`): nmap's grepable shape, one line per record, tab-separated.
 *   # Masscan 1.3.2 scan initiated Fri Feb  7 16:40:30 2020
 *   Timestamp: 1581090030	Host: 192.0.2.1 ()	Ports: 80/open/tcp//http//
 *   Host: 192.0.2.1 ()	Port: 80	Service: http	Banner: HTTP/1.0 200 OK\x0d\x0a…
 *   # Masscan done at Fri Feb  7 16:40:44 2020
 * Older masscan wrote status lines without the `Timestamp:` field. The service name on a status
 * line is masscan's port-table guess; a banner line names what the port said. A banner line
 * carries no protocol: it joins the port's UDP record when only that exists, else TCP.
 * Consecutive records of one host merge; see host-merge.ts for scattered ones.
 */
import type { Readable } from 'node:stream';
import type { Observation, Protocol } from '../core/model.js';
import { ImportError } from './errors.js';
import { type Address, epochSeconds, headLines, nonEmpty, parseAddress, parseLines, portNumber } from './host-merge.js';
import { type MasscanRecord, finishMasscan, masscanMerger, masscanProtocol, masscanStatus } from './masscan-record.js';
import type { ImportContext, ImportMeta, Importer } from './types.js';

interface Parsed {
  host: Address;
  rec: MasscanRecord;
  time: number | undefined;
  /** A banner line: its protocol is decided against what the merger holds. */
  banner?: boolean;
}

const HEADER = /^# Masscan (\S{1,40}) scan initiated (.{1,60})$/;

function parseHeader(line: string, meta: ImportMeta): void {
  const m = HEADER.exec(line);
  if (m === null) return;
  meta.toolVersion = m[1];
  // masscan prints the start time in UTC with strftime's %c.
  const t = Date.parse(`${m[2]!.trim()} UTC`);
  if (Number.isFinite(t) && t >= 0) meta.startedAt = t;
}

/** `Name: value` fields of one tab-separated line; a banner keeps any tabs it contains. */
function fieldsOf(line: string): Map<string, string> {
  const out = new Map<string, string>();
  const parts = line.split('\t');
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    const colon = part.indexOf(': ');
    if (colon <= 0) continue;
    const name = part.slice(0, colon);
    if (name === 'Banner') {
      out.set(name, [part.slice(colon + 2), ...parts.slice(i + 1)].join('\t'));
      break;
    }
    out.set(name, part.slice(colon + 2));
  }
  return out;
}

function parse(line: string, no: number, ctx: ImportContext, meta: ImportMeta, skipped: { n: number }): Parsed[] {
  if (line.length === 0) return [];
  if (line.startsWith('#')) {
    parseHeader(line, meta);
    return [];
  }
  const bad = (why: string): ImportError => new ImportError(ctx.file, no, `not a masscan grepable record: ${why}`);
  const f = fieldsOf(line);
  const hostField = f.get('Host');
  if (hostField === undefined) throw bad('no "Host:" field');
  const addrText = /^(\S+)(?: \([^)]*\))?$/.exec(hostField)?.[1];
  const host = addrText === undefined ? undefined : parseAddress(addrText);
  if (host === undefined) throw new ImportError(ctx.file, no, `not an IP address: ${JSON.stringify(hostField.slice(0, 64))}`);
  let time: number | undefined;
  const ts = f.get('Timestamp');
  if (ts !== undefined) {
    time = epochSeconds(ts);
    if (time === undefined) throw bad(`bad timestamp ${JSON.stringify(ts.slice(0, 20))}`);
  }
  const ports = f.get('Ports');
  if (ports !== undefined) {
    const out: Parsed[] = [];
    // One spec per line from masscan; nmap-style lists are accepted too.
    for (const spec of ports.split(', ')) {
      const [portText, stateText, protoText, , guess] = spec.split('/');
      const port = portNumber(portText);
      if (port === undefined) throw bad(`bad port ${JSON.stringify((portText ?? '').slice(0, 20))}`);
      const protocol = masscanProtocol(protoText);
      const status = masscanStatus(stateText);
      if (protocol === undefined) throw bad(`unknown protocol ${JSON.stringify((protoText ?? '').slice(0, 20))}`);
      if (status === undefined) throw bad(`unknown port state ${JSON.stringify((stateText ?? '').slice(0, 20))}`);
      if (protocol === 'skip' || status === 'skip') {
        skipped.n++;
        continue;
      }
      const rec: MasscanRecord = { protocol, port, status };
      if (guess !== undefined && /^[\w.+-]{1,40}$/.test(guess)) rec.guess = guess;
      out.push({ host, time, rec });
    }
    return out;
  }
  const portField = f.get('Port');
  if (portField !== undefined) {
    const port = portNumber(portField);
    if (port === undefined) throw bad(`bad port ${JSON.stringify(portField.slice(0, 20))}`);
    const app = f.get('Service');
    if (app === undefined) throw bad('banner line without "Service:"');
    return [{ host, time, banner: true, rec: { protocol: 'tcp', port, app, banner: f.get('Banner') ?? '' } }];
  }
  throw bad('no "Ports:" or "Port:" field');
}

async function* read(input: Readable, ctx: ImportContext, meta: ImportMeta): AsyncIterable<Observation> {
  meta.source = 'masscan';
  const merger = masscanMerger(Date.now());
  const skipped = { n: 0 };
  const stream = await nonEmpty(input, ctx);
  if (stream === undefined) return;
  for await (const p of parseLines(stream, ctx, (line, no) => parse(line, no, ctx, meta, skipped))) {
    if (p.banner === true) {
      const udp: Protocol = 'udp';
      if (merger.peek(p.host.address, 'tcp', p.rec.port) === undefined && merger.peek(p.host.address, udp, p.rec.port) !== undefined) p.rec.protocol = udp;
    }
    const done = merger.add(p.host, p.rec, p.time ?? meta.startedAt);
    if (done !== undefined) yield done;
  }
  yield* finishMasscan(merger, ctx, skipped.n);
}

/**
 * A status line exactly as masscan writes it: one `port/state/proto/owner/service/rpc/version`
 * entry (six slashes; owner, rpc and version empty, the service too in older versions) and nothing
 * after it. nmap ends every entry with a seventh `/` and writes `Status:` lines, so no nmap line has
 * this shape, with or without the `Timestamp:` field older masscan left out.
 */
const STATUS_LINE = /^(?:Timestamp: \d+\t)?Host: \S+ \([^)]*\)\tPorts: \d+\/[a-z]+\/[a-z]+\/[^/\t]*\/[^/\t]*\/[^/\t]*\/[^/\t]*$/;
const BANNER_LINE = /^Host: \S+ \([^)]*\)\tPort: \d+\tService: /;

function sniff(head: Buffer): number {
  const lines = headLines(head);
  if (lines.length === 0) return 0;
  if (/^# Masscan \S+ scan initiated/.test(lines[0]!)) return 10;
  const data = lines.filter((l) => !l.startsWith('#'));
  if (data.length === 0) return 0;
  if (data.some((l) => /^Timestamp: \d+\tHost: \S+ \([^)]*\)\tPorts: /.test(l) || BANNER_LINE.test(l))) return 9;
  // Header comments stripped (grep -v '^#'): every line in masscan's exact shape.
  if (data.every((l) => STATUS_LINE.test(l))) return 9;
  return 0;
}

/** masscan `-oG` grepable output. */
export const importer: Importer = {
  id: 'masscan-grepable',
  description: 'masscan grepable output (-oG)',
  source: 'masscan',
  sniff,
  read,
};
