/**
 * Windows `netstat -ano` output (also `-an` without the PID column, and `-anob`, whose `[name.exe]`
 * lines under a row name its process). `  TCP    0.0.0.0:135    0.0.0.0:0    LISTENING    1012`,
 * IPv6 in brackets (`[::]:445`, `[fe80::1%12]:1900`), UDP rows with no state and `*:*` as the far end.
 *
 * Localised Windows translates the title, the header and the state names (German `ABHÖREN`), so
 * rows are recognised by shape and a TCP row counts as listening when its state is `LISTENING` or,
 * in a state name we do not know, when its far end is the unset `0.0.0.0:0` / `[::]:0` that only
 * listening (and English `BOUND`) sockets show. Every UDP row is a bound socket, so a listener.
 * Output redirected by Windows PowerShell is UTF-16LE with a byte order mark; it is transcoded.
 */
import { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import type { Protocol } from '../core/model.js';
import { ImportError } from './errors.js';
import { headLines } from './host-merge.js';
import { HostListeners, parsePid, splitEndpoint, type SocketOwner } from './host-text.js';
import { readLines } from './lines.js';
import type { Importer } from './types.js';

const TITLE_RE = /^Active Connections$/;
const HEADER_RE = /^Proto\s+Local\s+Address\s+Foreign\s+Address\s+State\b/;
const ROW_RE = /^(TCP|UDP)\s+(\S+)\s+(\S+)(?:\s+(.*))?$/;
/** The English state names; a state outside this list is a localised one. */
const ENGLISH_STATES = new Set(['LISTENING', 'ESTABLISHED', 'SYN_SENT', 'SYN_RECEIVED', 'FIN_WAIT_1', 'FIN_WAIT_2', 'TIME_WAIT', 'CLOSE_WAIT', 'CLOSING', 'LAST_ACK', 'CLOSED', 'BOUND', 'DELETE_TCB']);
const UNSET_REMOTE_RE = /^(?:0\.0\.0\.0|\[::\]):0$/;
/** `-b` writes a service name line and/or `[name.exe]` (or "Can not obtain ownership information") under a row. */
const MAX_ANNOTATIONS = 3;
const PROCESS_RE = /^\[(.{1,260})\]$/;
const MAX_PREAMBLE = 3;
const NUMERIC_HINT = 'run netstat with -n for numeric ports';

/** UTF-16LE byte order mark, as Windows PowerShell 5 writes redirected output. */
const isUtf16le = (b: Buffer): boolean => b.length >= 2 && b[0] === 0xff && b[1] === 0xfe;

/** `input` as UTF-8: UTF-16LE (with BOM) is decoded chunk by chunk, anything else passes through. */
function asUtf8(input: Readable): Readable {
  async function* convert(): AsyncGenerator<Buffer> {
    let decoder: StringDecoder | undefined;
    let first = true;
    let held = Buffer.alloc(0);
    for await (const chunk of input as AsyncIterable<unknown>) {
      let buf = Buffer.isBuffer(chunk) ? chunk : typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : Buffer.from(chunk as Uint8Array);
      if (first) {
        // Need two bytes to see the BOM; a 1-byte first chunk waits for the next one.
        held = Buffer.concat([held, buf]);
        if (held.length < 2) continue;
        buf = held;
        first = false;
        if (isUtf16le(buf)) decoder = new StringDecoder('utf16le');
      }
      yield decoder === undefined ? buf : Buffer.from(decoder.write(buf), 'utf8');
    }
    if (first && held.length > 0) yield held;
    if (decoder !== undefined) yield Buffer.from(decoder.end(), 'utf8');
  }
  return Readable.from(convert(), { objectMode: false });
}

/** A socket row and what its tail columns say. */
interface Row {
  protocol: Protocol;
  local: string;
  listening: boolean;
  owner: SocketOwner;
}

/** The row in `line`, undefined when it is not a row, or 'bad' when it is a TCP/UDP row of the wrong shape. */
function parseRow(line: string): Row | 'bad' | undefined {
  const m = ROW_RE.exec(line);
  if (!m) return undefined;
  const protocol: Protocol = m[1] === 'TCP' ? 'tcp' : 'udp';
  const remote = m[3] ?? '';
  const tail = (m[4] ?? '').split(/\s+/).filter((t) => t.length > 0);
  if (splitEndpoint(m[2] ?? '') === undefined || splitEndpoint(remote) === undefined) return 'bad';
  let state: string | undefined;
  let pidText: string | undefined;
  if (protocol === 'tcp') {
    if (tail.length < 1 || tail.length > 2 || /^\d+$/.test(tail[0] ?? '')) return 'bad';
    [state, pidText] = tail;
  } else if (tail.length === 1) {
    pidText = tail[0];
  } else if (tail.length === 2) {
    [state, pidText] = tail;
  } else if (tail.length > 2) {
    return 'bad';
  }
  if (pidText !== undefined && !/^\d{1,10}$/.test(pidText)) return 'bad';
  const listening =
    protocol === 'udp' || state === 'LISTENING' || (state !== undefined && !ENGLISH_STATES.has(state) && UNSET_REMOTE_RE.test(remote));
  const owner: SocketOwner = {};
  const pid = parsePid(pidText);
  if (pid !== undefined) owner.pid = pid;
  return { protocol, local: m[2] ?? '', listening, owner };
}

export const importer: Importer = {
  id: 'netstat-windows',
  description: 'Windows netstat -ano / -an / -anob output',
  source: 'netstat',
  sniff(head) {
    const text = isUtf16le(head) ? Buffer.from(head.subarray(2, head.length & ~1).toString('utf16le'), 'utf8') : head;
    const lines = headLines(text, 5);
    if (lines.slice(0, 3).some((l) => TITLE_RE.test(l) || HEADER_RE.test(l))) return 10;
    // Localised output: the title and header are translated, so find the first row after them.
    for (const line of lines.slice(0, MAX_PREAMBLE + 1)) {
      const row = parseRow(line);
      if (row === 'bad') return 0;
      if (row !== undefined) return 8;
    }
    return 0;
  },
  async *read(input, ctx, meta) {
    meta.source = 'netstat';
    const host = new HostListeners(ctx, 'netstat');
    let recognised = false;
    let preamble = 0;
    // The last row, held until its -b annotation lines (if any) have been read.
    let pending: { row: Row; no: number; annotations: number } | undefined;
    const flush = (): void => {
      if (pending === undefined) return;
      const { row, no } = pending;
      pending = undefined;
      host.row(no, row.listening ? row.protocol : undefined, row.local, row.owner, NUMERIC_HINT);
    };
    for await (const { line, no } of readLines(asUtf8(input), ctx)) {
      const text = line.trim();
      if (text.length === 0) continue;
      if (TITLE_RE.test(text) || HEADER_RE.test(text)) {
        flush();
        recognised = true;
        continue;
      }
      const row = parseRow(text);
      if (row === 'bad') throw new ImportError(ctx.file, no, 'not a netstat -ano row: expected "TCP|UDP  local:port  remote:port  [state]  [pid]"');
      if (row !== undefined) {
        flush();
        recognised = true;
        pending = { row, no, annotations: 0 };
        // A port that is not a number fails here, with its line, rather than at flush time.
        const local = splitEndpoint(row.local);
        if (row.listening && local !== undefined) host.port(local.port, no, NUMERIC_HINT);
        continue;
      }
      if (pending !== undefined && pending.annotations++ < MAX_ANNOTATIONS) {
        const m = PROCESS_RE.exec(text);
        if (m) pending.row.owner.process = m[1] ?? '';
        continue;
      }
      if (!recognised && preamble++ < MAX_PREAMBLE) continue;
      throw new ImportError(ctx.file, no, 'not Windows netstat output: expected "Active Connections", the "Proto Local Address …" header or a socket row');
    }
    flush();
    if (!recognised) throw new ImportError(ctx.file, undefined, 'not Windows netstat output: no "Active Connections" title, header or socket row');
    const obs = host.observation();
    if (obs !== undefined) yield obs;
  },
};
