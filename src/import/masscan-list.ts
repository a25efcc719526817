/**
 * masscan list output (`-oL`): a `#masscan` line, then one line per record,
 * `open tcp 80 192.0.2.1 1581090030` or
 * `banner tcp 80 192.0.2.1 1581090031 http HTTP/1.0 200 OK\x0d\x0a…`, then `# end`.
 * A 0-byte (or blank) file is a scan that found nothing. Consecutive records of one host merge
 * into one observation; a host whose records are scattered comes out several times and the store
 * merges them (it upserts by host and port).
 */
import type { Readable } from 'node:stream';
import type { Observation } from '../core/model.js';
import { ImportError } from './errors.js';
import { type Address, epochSeconds, headLines, nonEmpty, parseAddress, parseLines, portNumber } from './host-merge.js';
import { type MasscanRecord, finishMasscan, masscanMerger, masscanProtocol, masscanStatus } from './masscan-record.js';
import type { ImportContext, ImportMeta, Importer } from './types.js';

const RECORD = /^(\w+) (\w+) (\d{1,5}) (\S+) (\d{1,12})(?: (\S+)(?: (.*))?)?$/;
const SNIFF_RECORD = /^(?:open|closed|banner|up|unknown) (?:tcp|udp|sctp|icmp|arp|oproto) \d{1,5} [0-9a-fA-F.:]+ \d{1,12}(?: |$)/;

interface Parsed {
  host: Address;
  rec: MasscanRecord;
  time: number | undefined;
}

/** Counts of records the model has no place for (SCTP, ICMP, ARP), reported once. */
interface Skipped {
  n: number;
}

function parse(line: string, no: number, ctx: ImportContext, skipped: Skipped): Parsed[] {
  if (line.length === 0 || line.startsWith('#')) return [];
  const m = RECORD.exec(line);
  if (m === null) throw new ImportError(ctx.file, no, 'not a masscan list record (expected "open tcp PORT ADDRESS TIME")');
  const [, kind, protoText, portText, addrText, timeText, app, banner] = m;
  const protocol = masscanProtocol(protoText);
  if (protocol === undefined) throw new ImportError(ctx.file, no, `unknown protocol ${JSON.stringify(protoText)}`);
  const host = parseAddress(addrText!);
  if (host === undefined) throw new ImportError(ctx.file, no, `not an IP address: ${JSON.stringify(addrText!.slice(0, 64))}`);
  const port = portNumber(portText);
  if (port === undefined) throw new ImportError(ctx.file, no, `port out of range: ${portText}`);
  const time = epochSeconds(timeText);
  if (time === undefined) throw new ImportError(ctx.file, no, `bad timestamp: ${timeText}`);
  if (protocol === 'skip') {
    skipped.n++;
    return [];
  }
  if (kind === 'banner') {
    if (app === undefined) throw new ImportError(ctx.file, no, 'banner record without a banner type');
    return [{ host, time, rec: { protocol, port, app, banner: banner ?? '' } }];
  }
  const status = masscanStatus(kind);
  if (status === undefined) throw new ImportError(ctx.file, no, `unknown record type ${JSON.stringify(kind)}`);
  if (status === 'skip') {
    skipped.n++;
    return [];
  }
  return [{ host, time, rec: { protocol, port, status } }];
}

async function* read(input: Readable, ctx: ImportContext, meta: ImportMeta): AsyncIterable<Observation> {
  meta.source = 'masscan';
  const merger = masscanMerger(meta.startedAt ?? Date.now());
  const skipped: Skipped = { n: 0 };
  const stream = await nonEmpty(input, ctx);
  if (stream === undefined) return;
  for await (const p of parseLines(stream, ctx, (line, no) => parse(line, no, ctx, skipped))) {
    const done = merger.add(p.host, p.rec, p.time);
    if (done !== undefined) yield done;
  }
  yield* finishMasscan(merger, ctx, skipped.n);
}

function sniff(head: Buffer): number {
  const lines = headLines(head);
  if (lines.length === 0) return 0;
  if (lines[0] === '#masscan') return 10;
  const data = lines.filter((l) => !l.startsWith('#'));
  if (data.length > 0 && data.every((l) => SNIFF_RECORD.test(l))) return 9;
  return 0;
}

/** masscan `-oL` list output. */
export const importer: Importer = {
  id: 'masscan-list',
  description: 'masscan list output (-oL)',
  source: 'masscan',
  sniff,
  read,
};
