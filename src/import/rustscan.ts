/**
 * RustScan greppable output (`-g`): one line per host with its open ports,
 * `192.0.2.1 -> [22,80,443]`. RustScan reports open TCP ports only and no times. A host on several
 * lines (RustScan run twice into one file) merges when the lines are adjacent; otherwise the store
 * merges the observations (it upserts by host and port).
 */
import type { Readable } from 'node:stream';
import type { Observation, PortResult } from '../core/model.js';
import { ImportError } from './errors.js';
import { type Address, HostMerger, type PortKey, headLines, openPort, parseAddress, parseLines, portNumber } from './host-merge.js';
import type { ImportContext, ImportMeta, Importer } from './types.js';

const LINE = /^(\S+) -> \[([0-9,\s]*)\]$/;

interface Parsed {
  host: Address;
  rec: PortKey;
}

function parse(line: string, no: number, ctx: ImportContext): Parsed[] {
  const t = line.trim();
  if (t.length === 0 || t.startsWith('#')) return [];
  const m = LINE.exec(t);
  if (m === null) throw new ImportError(ctx.file, no, 'not a RustScan greppable line (expected "ADDRESS -> [PORT,…]")');
  const host = parseAddress(m[1]!);
  if (host === undefined) throw new ImportError(ctx.file, no, `not an IP address: ${JSON.stringify(m[1]!.slice(0, 64))}`);
  const out: Parsed[] = [];
  for (const item of m[2]!.split(',')) {
    const s = item.trim();
    if (s.length === 0) continue;
    const port = portNumber(s);
    if (port === undefined) throw new ImportError(ctx.file, no, `port out of range: ${s.slice(0, 20)}`);
    out.push({ host, rec: { protocol: 'tcp', port } });
  }
  // An empty list (`[]`) says nothing about any port, so it adds nothing.
  return out;
}

const fold = (prev: PortResult | undefined, rec: PortKey): PortResult => prev ?? openPort(rec);

async function* read(input: Readable, ctx: ImportContext, meta: ImportMeta): AsyncIterable<Observation> {
  meta.source = 'rustscan';
  const merger = new HostMerger<PortKey>('rustscan', fold, Date.now());
  for await (const p of parseLines(input, ctx, (line, no) => parse(line, no, ctx))) {
    const done = merger.add(p.host, p.rec);
    if (done !== undefined) yield done;
  }
  const last = merger.finish();
  if (last !== undefined) yield last;
}

function sniff(head: Buffer): number {
  const lines = headLines(head).filter((l) => !l.startsWith('#'));
  if (lines.length === 0) return 0;
  return lines.every((l) => LINE.test(l)) ? 10 : 0;
}

/** RustScan `-g` greppable output. */
export const importer: Importer = {
  id: 'rustscan',
  description: 'RustScan greppable output (-g)',
  source: 'rustscan',
  sniff,
  read,
};
