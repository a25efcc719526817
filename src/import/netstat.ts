/**
 * Linux net-tools `netstat` output: `netstat -tulnp` (servers only), `netstat -an` (servers and
 * connections, followed by UNIX-domain and other sections that are skipped), with or without `-p`
 * (`PID/Program name`, `-` when unknown) and `-e` (`User` and `Inode` columns).
 *
 * TCP rows in state LISTEN and UDP rows whose foreign end is unset (`0.0.0.0:*`, `:::*`) become
 * listeners; connected rows only help name the host. netstat prints no state for unconnected UDP, so
 * the columns after the foreign address are read by shape, not by position. The program column holds
 * the process's command line cut to the column width (`2211/redis-server 1`), kept as written; the
 * `-e` User column is kept as written too (a uid with `-n`, a name without).
 */
import type { Protocol } from '../core/model.js';
import { ImportError } from './errors.js';
import { headLines } from './host-merge.js';
import { HostListeners, parsePid, splitEndpoint, type SocketOwner } from './host-text.js';
import { readLines } from './lines.js';
import type { Importer } from './types.js';

const SECTION_RE = /^Active\s+(\S.*)$/;
const INET_HEADER_RE = /^Proto\s+Recv-Q\s+Send-Q\s+Local\s+Address\s+Foreign\s+Address\b/;
// Columns of the other sections' headers (UNIX: RefCnt/Flags; Bluetooth, IPX, AX.25, X.25 …).
const ROW_RE = /^([a-z][a-z0-9]{0,9})\s+(\d+)\s+(\d+)\s+(\S+)\s+(\S+)(?:\s+(.*))?$/;
const PROTOCOLS: Readonly<Record<string, Protocol>> = { tcp: 'tcp', tcp6: 'tcp', udp: 'udp', udp6: 'udp' };
/** Unrecognised lines allowed before the first header or row: a localised "Active …" title. */
const MAX_PREAMBLE = 3;
const NUMERIC_HINT = 'run netstat with -n for numeric ports';

/** A row of an Internet section. */
interface Row {
  proto: string;
  local: string;
  foreign: string;
  /** Everything after the foreign address, split on white space. */
  tail: string[];
}

function parseRow(line: string): Row | undefined {
  const m = ROW_RE.exec(line);
  if (!m) return undefined;
  return { proto: m[1] ?? '', local: m[4] ?? '', foreign: m[5] ?? '', tail: (m[6] ?? '').split(/\s+/).filter((t) => t.length > 0) };
}

/** State word (LISTEN, ESTABLISHED, …; localised builds may differ) — never a number or a pid/program. */
const isState = (t: string | undefined): boolean => t !== undefined && /^[A-Z][A-Z0-9_]*$/.test(t);

/**
 * The state and owner from the columns after the foreign address: `[STATE] [User Inode] [PID/Program]`.
 * `-e` is recognised by its numeric inode after a non-pid token, so a program name whose text holds
 * a number (`2211/redis-server 1`) is not taken for it.
 */
function tailOf(tail: string[]): { state: string | undefined; owner: SocketOwner } {
  let i = 0;
  const state = isState(tail[0]) ? tail[i++] : undefined;
  const owner: SocketOwner = {};
  const a = tail[i];
  const b = tail[i + 1];
  if (a !== undefined && b !== undefined && !/^(?:\d+\/|-$)/.test(a) && /^\d+$/.test(b)) {
    owner.user = a;
    i += 2;
  }
  const prog = tail.slice(i).join(' ');
  const m = /^(\d{1,10})\/(.*)$/.exec(prog);
  if (m) {
    const pid = parsePid(m[1]);
    if (pid !== undefined) owner.pid = pid;
    if ((m[2] ?? '').length > 0) owner.process = m[2];
  }
  return { state, owner };
}

/** Which listener a row is, if any. */
function listenerProtocol(row: Row, state: string | undefined): Protocol | undefined {
  const protocol = PROTOCOLS[row.proto];
  if (protocol === 'tcp') return state === 'LISTEN' ? 'tcp' : undefined;
  if (protocol === 'udp') return row.foreign.endsWith(':*') ? 'udp' : undefined;
  return undefined;
}

export const importer: Importer = {
  id: 'netstat',
  description: 'Linux netstat -tulnp / -an output (net-tools)',
  source: 'netstat',
  sniff(head) {
    const lines = headLines(head, 5);
    // netstat -p run as a user prints a two-line "(Not all processes could be identified …)" note first.
    if (lines.slice(0, 3).some((l) => /^Active Internet connections\b/.test(l) || INET_HEADER_RE.test(l))) return 10;
    // Localised output: the title and header are translated, so find the first row after them.
    for (const line of lines.slice(0, MAX_PREAMBLE + 1)) {
      const row = parseRow(line);
      if (row === undefined) continue;
      return PROTOCOLS[row.proto] !== undefined && splitEndpoint(row.local) !== undefined ? 7 : 0;
    }
    return 0;
  },
  async *read(input, ctx, meta) {
    meta.source = 'netstat';
    const host = new HostListeners(ctx, 'netstat');
    // `inet` inside an Internet section; `other` inside UNIX, Bluetooth, … (skipped); `start` before any.
    let section: 'start' | 'inet' | 'other' = 'start';
    let recognised = false;
    let preamble = 0;
    for await (const { line, no } of readLines(input, ctx)) {
      const text = line.trim();
      if (text.length === 0) continue;
      const title = SECTION_RE.exec(text);
      if (title) {
        section = /^Internet\b/.test(title[1] ?? '') ? 'inet' : 'other';
        recognised = true;
        continue;
      }
      if (section === 'other') continue;
      if (INET_HEADER_RE.test(text)) {
        section = 'inet';
        recognised = true;
        continue;
      }
      const row = parseRow(text);
      if (row === undefined) {
        if (!recognised && preamble++ < MAX_PREAMBLE) continue;
        throw new ImportError(ctx.file, no, 'not netstat output: expected "Active Internet connections", the "Proto Recv-Q Send-Q …" header or a socket row');
      }
      recognised = true;
      // raw, raw6, udpl and friends share the row shape; only TCP and UDP are read.
      if (PROTOCOLS[row.proto] === undefined) continue;
      const { state, owner } = tailOf(row.tail);
      host.row(no, listenerProtocol(row, state), row.local, owner, NUMERIC_HINT, true);
    }
    if (!recognised) throw new ImportError(ctx.file, undefined, 'not netstat output: no "Active Internet connections" section, header or socket row');
    const obs = host.observation();
    if (obs !== undefined) yield obs;
  },
};
