/**
 * masscan JSON output, every shape masscan has written:
 * - `-oJ` (1.3): `[`, then `{ "ip": "192.0.2.1", "timestamp": "1581090030", "ports": [ {"port": 80,
 *   "proto": "tcp", "status": "open", "reason": "syn-ack", "ttl": 64} ] }` records separated by
 *   leading commas, then `]`; a banner record has `"service": {"name": "http", "banner": "…"}`
 *   instead of status and reason.
 * - older `-oJ`: records with trailing commas, no timestamp, a closing `{finished: 1}` (not JSON),
 *   sometimes no enclosing brackets at all;
 * - `-oD` ndjson: `{"ip":"…","timestamp":"…","port":80,"proto":"tcp","rec_type":"status",
 *   "data":{"status":"open","reason":"syn-ack","ttl":64}}`, `rec_type` `banner` with
 *   `data.service_name` and `data.banner`.
 * A 0-byte file is a scan that found nothing. A file cut inside a record (a killed scan) imports
 * its complete records with a warning. Consecutive records of one host merge; see host-merge.ts.
 */
import type { Readable } from 'node:stream';
import type { Observation } from '../core/model.js';
import { ImportError } from './errors.js';
import { type Address, epochSeconds, parseAddress, portNumber, show } from './host-merge.js';
import { type JsonChunk, jsonObjects, parseJson } from './json-objects.js';
import { type MasscanRecord, finishMasscan, masscanEscape, masscanMerger, masscanProtocol, masscanStatus } from './masscan-record.js';
import type { ImportContext, ImportMeta, Importer } from './types.js';

/** Old masscan ended its array with this non-JSON sentinel. */
const FINISHED = /^\{\s*"?finished"?\s*:\s*\d+\s*\}$/;

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

interface Parsed {
  host: Address;
  time: number | undefined;
  recs: MasscanRecord[];
  skipped: number;
}

function recordOf(chunk: JsonChunk, ctx: ImportContext): Parsed | undefined {
  if (FINISHED.test(chunk.text)) return undefined;
  const v = parseJson(chunk, ctx);
  const bad = (why: string): ImportError => new ImportError(ctx.file, chunk.line, `not a masscan JSON record: ${why}`);
  if (!isObj(v)) throw bad('not an object');
  const host = typeof v.ip === 'string' ? parseAddress(v.ip) : undefined;
  if (host === undefined) throw bad(typeof v.ip === 'string' ? `"ip" is not an IP address: ${JSON.stringify(v.ip.slice(0, 64))}` : 'no "ip"');
  let time: number | undefined;
  if (v.timestamp !== undefined) {
    time = epochSeconds(v.timestamp);
    if (time === undefined) throw bad('bad "timestamp"');
  }
  const out: Parsed = { host, time, recs: [], skipped: 0 };
  if (Array.isArray(v.ports)) {
    if (v.ports.length > 65536) throw bad('too many ports in one record');
    for (const p of v.ports) {
      if (!isObj(p)) throw bad('a "ports" entry is not an object');
      const svc = isObj(p.service) ? p.service : undefined;
      addRecord(out, p.port, p.proto, p.status, svc?.name, svc?.banner, svc !== undefined, bad);
    }
    return out;
  }
  if (v.port !== undefined) {
    // ndjson: one port per record, its payload under `data`.
    const data = isObj(v.data) ? v.data : {};
    const isBanner = v.rec_type === 'banner';
    if (!isBanner && v.rec_type !== 'status' && v.rec_type !== undefined) throw bad(`unknown "rec_type" ${show(v.rec_type)}`);
    addRecord(out, v.port, v.proto, isBanner ? undefined : (data.status ?? v.status), data.service_name, data.banner, isBanner, bad);
    return out;
  }
  throw bad('neither "ports" nor "port"');
}

function addRecord(out: Parsed, portValue: unknown, protoValue: unknown, statusValue: unknown, app: unknown, banner: unknown, isBanner: boolean, bad: (why: string) => ImportError): void {
  const port = portNumber(portValue);
  if (port === undefined) throw bad('bad "port"');
  const protocol = masscanProtocol(protoValue ?? 'tcp');
  if (protocol === undefined) throw bad(`unknown "proto" ${show(protoValue)}`);
  if (isBanner) {
    if (protocol === 'skip') out.skipped++;
    else out.recs.push({ protocol, port, app: typeof app === 'string' ? app : 'unknown', banner: typeof banner === 'string' ? masscanEscape(banner.length > 4096 ? banner.slice(0, 4096) : banner) : '' });
    return;
  }
  const status = masscanStatus(statusValue ?? 'open');
  if (status === undefined) throw bad(`unknown "status" ${show(statusValue)}`);
  if (protocol === 'skip' || status === 'skip') out.skipped++;
  else out.recs.push({ protocol, port, status });
}

async function* read(input: Readable, ctx: ImportContext, meta: ImportMeta): AsyncIterable<Observation> {
  meta.source = 'masscan';
  const merger = masscanMerger(Date.now());
  const end = { truncated: false, line: 0 };
  let skipped = 0;
  for await (const chunk of jsonObjects(input, ctx, end)) {
    const p = recordOf(chunk, ctx);
    if (p === undefined) continue;
    skipped += p.skipped;
    for (const rec of p.recs) {
      const done = merger.add(p.host, rec, p.time);
      if (done !== undefined) yield done;
    }
  }
  yield* finishMasscan(merger, ctx, skipped);
  if (end.truncated) ctx.warn(`${ctx.file}: file ends inside a record at line ${end.line} (truncated?); the complete records were imported`);
}

function sniff(head: Buffer): number {
  const text = head.subarray(0, 8192).toString('utf8').replace(/^\ufeff/, '').trimStart();
  if (text.length === 0) return 0;
  const first = text[0];
  if (first !== '[' && first !== '{') return 0;
  if (/"rec_type"\s*:/.test(text) && /"ip"\s*:/.test(text)) return 10;
  if (/"ip"\s*:\s*"[^"]*"\s*,[\s\S]{0,200}"ports"\s*:\s*\[/.test(text)) return 10;
  // masscan writes `[` and `]` even when it found nothing.
  if (/^\[\s*(?:\]\s*)?$/.test(text)) return 5;
  return 0;
}

/** masscan `-oJ` JSON (every variant) and `-oD` ndjson. */
export const importer: Importer = {
  id: 'masscan-json',
  description: 'masscan JSON (-oJ, old variants included) and ndjson (-oD)',
  source: 'masscan',
  sniff,
  read,
};
