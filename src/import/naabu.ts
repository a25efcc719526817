/**
 * naabu output, one open port per line, in any of the shapes naabu has written:
 * - JSON lines (`-json`), new flat shape (since 2.1.7): `{"host":"example.com","ip":"192.0.2.1",
 *   "timestamp":"2023-07-10T11:43:17.9Z","port":80,"protocol":"tcp","tls":false}`;
 * - JSON lines, old nested shape: `{"host":…,"ip":…,"port":{"Port":80,"Protocol":0,"TLS":false}}`
 *   (Protocol an enum: 0 tcp, 1 udp, 2 arp), and the oldest flat `{"ip":…,"port":80}`;
 * - plain output: `host:port` (`192.0.2.1:80`, `[2001:db8::1]:443`, `example.com:80`).
 * naabu reports open ports only. A plain line naming a host but no address cannot become a host
 * record (the model keys hosts by address); such lines are counted and reported once.
 * Consecutive lines of one host merge; see host-merge.ts for scattered ones.
 */
import type { Readable } from 'node:stream';
import type { Observation, PortResult, Protocol } from '../core/model.js';
import { ImportError } from './errors.js';
import { type Address, type HostBudget, HostMerger, type PortKey, headLines, isoTime, openPort, parseAddress, parseLines, portNumber, show } from './host-merge.js';
import type { ImportContext, ImportMeta, Importer } from './types.js';

interface NaabuRecord extends PortKey {
  tls: boolean;
}

interface Parsed {
  host: Address;
  rec: NaabuRecord;
  time?: number;
  hostname?: string;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Confidence that a port naabu found speaking TLS is "some TLS service". */
const TLS_CONFIDENCE = 5;

function fold(prev: PortResult | undefined, rec: NaabuRecord, _budget: HostBudget): PortResult {
  const port = prev ?? openPort(rec);
  if (rec.tls && port.service === undefined) port.service = { name: 'ssl', method: 'probed', confidence: TLS_CONFIDENCE, cpe: [] };
  return port;
}

/** naabu's protocol: a name in new output, an enum number in old. `skip` for ARP. */
function protocolOf(v: unknown): Protocol | 'skip' | undefined {
  if (v === undefined || v === 'tcp' || v === 0) return 'tcp';
  if (v === 'udp' || v === 1) return 'udp';
  if (v === 'arp' || v === 2) return 'skip';
  return undefined;
}

/** A host name as naabu printed it: letters, digits, dots, hyphens, underscores. */
const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?$/;

function parseJsonLine(line: string, no: number, ctx: ImportContext, skip: Counts): Parsed[] {
  const bad = (why: string): ImportError => new ImportError(ctx.file, no, `not a naabu JSON record: ${why}`);
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch (e) {
    throw new ImportError(ctx.file, no, `malformed JSON: ${e instanceof Error ? e.message.slice(0, 120) : 'parse error'}`);
  }
  if (!isObj(v)) throw bad('not an object');
  const hostText = typeof v.host === 'string' ? v.host : undefined;
  const ipText = typeof v.ip === 'string' && v.ip.length > 0 ? v.ip : hostText;
  if (ipText === undefined) throw bad('no "ip"');
  const host = parseAddress(ipText);
  if (host === undefined) {
    if (v.ip === undefined && hostText !== undefined && HOSTNAME.test(hostText)) {
      skip.names++;
      return [];
    }
    throw bad(`"ip" is not an IP address: ${JSON.stringify(ipText.slice(0, 64))}`);
  }
  let portValue = v.port;
  let protoValue = v.protocol;
  let tlsValue = v.tls;
  if (isObj(portValue)) {
    const nested = portValue;
    portValue = nested.Port ?? nested.port;
    protoValue = nested.Protocol ?? nested.protocol ?? protoValue;
    tlsValue = nested.TLS ?? nested.tls ?? tlsValue;
  }
  const port = portNumber(portValue);
  if (port === undefined) throw bad('bad "port"');
  const protocol = protocolOf(protoValue);
  if (protocol === undefined) throw bad(`unknown protocol ${show(protoValue)}`);
  if (protocol === 'skip') {
    skip.arp++;
    return [];
  }
  const out: Parsed = { host, rec: { protocol, port, tls: tlsValue === true } };
  const time = isoTime(v.timestamp);
  if (time !== undefined) out.time = time;
  if (hostText !== undefined && hostText !== ipText && HOSTNAME.test(hostText)) out.hostname = hostText.toLowerCase();
  return [out];
}

function parsePlainLine(line: string, no: number, ctx: ImportContext, skip: Counts): Parsed[] {
  const t = line.trim();
  let hostText: string;
  let portText: string;
  const bracket = /^\[([^\]]{1,64})\]:(\d{1,5})$/.exec(t);
  if (bracket !== null) {
    hostText = bracket[1]!;
    portText = bracket[2]!;
  } else {
    const colon = t.lastIndexOf(':');
    if (colon <= 0) throw new ImportError(ctx.file, no, 'not a naabu line (expected HOST:PORT or a JSON object)');
    hostText = t.slice(0, colon);
    portText = t.slice(colon + 1);
  }
  const port = /^\d{1,5}$/.test(portText) ? portNumber(portText) : undefined;
  if (port === undefined) throw new ImportError(ctx.file, no, `not a naabu line: bad port ${JSON.stringify(portText.slice(0, 20))}`);
  const host = parseAddress(hostText);
  if (host === undefined) {
    if (HOSTNAME.test(hostText)) {
      skip.names++;
      return [];
    }
    throw new ImportError(ctx.file, no, `not a naabu line: bad host ${JSON.stringify(hostText.slice(0, 64))}`);
  }
  return [{ host, rec: { protocol: 'tcp', port, tls: false } }];
}

interface Counts {
  names: number;
  arp: number;
}

async function* read(input: Readable, ctx: ImportContext, meta: ImportMeta): AsyncIterable<Observation> {
  meta.source = 'naabu';
  const merger = new HostMerger<NaabuRecord>('naabu', fold, Date.now());
  const skip: Counts = { names: 0, arp: 0 };
  const parse = (line: string, no: number): Parsed[] => {
    const t = line.trim();
    if (t.length === 0) return [];
    return t.startsWith('{') ? parseJsonLine(t, no, ctx, skip) : parsePlainLine(t, no, ctx, skip);
  };
  for await (const p of parseLines(input, ctx, parse)) {
    const done = merger.add(p.host, p.rec, p.time, p.hostname);
    if (done !== undefined) yield done;
  }
  const last = merger.finish();
  if (last !== undefined) yield last;
  if (skip.names > 0) ctx.warn(`${skip.names} line(s) skipped: they name a host but not its IP address (run naabu with -json, which records the address)`);
  if (skip.arp > 0) ctx.warn(`${skip.arp} ARP record(s) skipped: they have no place in the port model`);
}

const PLAIN = /^(?:\[[0-9A-Fa-f:.]{2,64}\]|[A-Za-z0-9_.-]{1,253}):\d{1,5}$/;

function sniff(head: Buffer): number {
  const lines = headLines(head);
  if (lines.length === 0) return 0;
  if (lines[0]!.startsWith('{')) {
    const l = lines[0]!;
    // masscan's JSON carries `ports`, `proto` and `rec_type`; naabu's never does.
    if (/"(?:ports|proto|rec_type)"\s*:/.test(l)) return 0;
    if (!/"ip"\s*:/.test(l) && !/"host"\s*:/.test(l)) return 0;
    if (/"port"\s*:\s*\{\s*"Port"/.test(l) || /"protocol"\s*:\s*"(?:tcp|udp)"/.test(l)) return 10;
    if (/"port"\s*:\s*\d/.test(l)) return 8;
    return 0;
  }
  if (lines.every((l) => PLAIN.test(l))) return 7;
  return 0;
}

/** naabu JSON lines (old nested and new flat shapes) and plain `host:port` output. */
export const importer: Importer = {
  id: 'naabu',
  description: 'naabu output: JSON lines (-json) or plain host:port lines',
  source: 'naabu',
  sniff,
  read,
};
