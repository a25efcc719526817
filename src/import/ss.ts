/**
 * iproute2 `ss` output: `ss -tulnp` (Netid column), `ss -tlnp` / `ss -ulnp` (no Netid column: the
 * state tells TCP `LISTEN` from UDP `UNCONN`), with or without the header (`-H`), with or without
 * `-p` (`users:(("name",pid=N,fd=N),…)`; old ss writes `("name",N,N)`) and `-e` / `-a` extras.
 * Listening TCP sockets and unconnected (bound) UDP sockets become listeners; connected rows only
 * help name the host. Other socket kinds (`u_str`, `raw`, …) are skipped. A 0-byte file is valid:
 * `ss -H` with nothing listening prints nothing.
 */
import type { Protocol } from '../core/model.js';
import { ImportError } from './errors.js';
import { headLines } from './host-merge.js';
import { HostListeners, parsePid, splitEndpoint, type SocketOwner } from './host-text.js';
import { readLines } from './lines.js';
import type { Importer } from './types.js';

/** ss's state names (misc/ss.c `sstate_name`). */
const STATES = new Set(['UNKNOWN', 'ESTAB', 'SYN-SENT', 'SYN-RECV', 'FIN-WAIT-1', 'FIN-WAIT-2', 'TIME-WAIT', 'UNCONN', 'CLOSE-WAIT', 'LAST-ACK', 'LISTEN', 'CLOSING']);
const NETID_RE = /^(?:[a-z][a-z0-9_]{0,7}|\?\?\?)$/;
// Recent ss glues "Peer Address:Port" and "Process" together when the column is narrow.
const HEADER_RE = /^(?:Netid\s+)?State\s+Recv-Q\s+Send-Q\s+Local\s+Address:Port\s+Peer\s+Address:Port\s*(?:Process)?$/;
/** How much of the process column is searched (a real one is well under this). */
const MAX_PROCESS_FIELD = 4096;
// `("name",pid=1,fd=3)` or, from old ss, `("name",1,3)`; names may hold spaces and commas.
const USER_RE = /\("(.{0,512}?)",(?:pid=)?(\d{1,10}),(?:fd=)?\d{1,10}\)/g;
const NUMERIC_HINT = 'run ss with -n for numeric ports';

/** One socket row: netid (when the column is there), state, local and peer endpoints, the rest. */
interface Row {
  netid: string | undefined;
  state: string;
  local: string;
  peer: string;
  rest: string;
}

/** The first `n` white-space separated tokens of `line` and what follows them. */
function tokens(line: string, n: number): { parts: string[]; rest: string } {
  const parts: string[] = [];
  const re = /\S+/g;
  let m: RegExpExecArray | null;
  let end = 0;
  while (parts.length < n && (m = re.exec(line)) !== null) {
    parts.push(m[0]);
    end = re.lastIndex;
  }
  return { parts, rest: line.slice(end).trim() };
}

/** The row `line` holds, or undefined when it is not a socket row. */
function parseRow(line: string): Row | undefined {
  const { parts, rest } = tokens(line, 6);
  const [t0, t1, t2, t3, t4, t5] = parts;
  if (t0 === undefined || t1 === undefined || t2 === undefined || t3 === undefined || t4 === undefined) return undefined;
  if (STATES.has(t0)) {
    if (!/^\d+$/.test(t1) || !/^\d+$/.test(t2)) return undefined;
    return { netid: undefined, state: t0, local: t3, peer: t4, rest: tokens(line, 5).rest };
  }
  if (!NETID_RE.test(t0) || !STATES.has(t1) || !/^\d+$/.test(t2) || !/^\d+$/.test(t3) || t5 === undefined) return undefined;
  return { netid: t0, state: t1, local: t4, peer: t5, rest };
}

/** Which protocol's listener a row is, if any: TCP in LISTEN, UDP unconnected. */
function listenerProtocol(row: Row): Protocol | undefined {
  if (row.netid === undefined) return row.state === 'LISTEN' ? 'tcp' : row.state === 'UNCONN' ? 'udp' : undefined;
  if (row.netid === 'tcp') return row.state === 'LISTEN' ? 'tcp' : undefined;
  if (row.netid === 'udp') return row.state === 'UNCONN' ? 'udp' : undefined;
  return undefined;
}

/** The owner from `users:(…)`: the lowest pid listed (forked workers share their parent's socket). */
export function parseUsers(rest: string): SocketOwner {
  const at = rest.indexOf('users:(');
  if (at < 0) return {};
  const field = rest.slice(at, at + MAX_PROCESS_FIELD);
  let best: SocketOwner = {};
  for (const m of field.matchAll(USER_RE)) {
    const pid = parsePid(m[2]);
    if (pid === undefined || (best.pid !== undefined && best.pid <= pid)) continue;
    best = { pid, process: m[1] ?? '' };
  }
  return best;
}

/** True for the netids whose rows this importer reads (other kinds lay their columns out differently). */
const isInet = (row: Row): boolean => row.netid === undefined || row.netid === 'tcp' || row.netid === 'udp';

export const importer: Importer = {
  id: 'ss',
  description: 'iproute2 ss -tulnp / -tlnp / -ulnp output, with or without header',
  source: 'netstat',
  sniff(head) {
    const lines = headLines(head, 5);
    const first = lines[0];
    if (first === undefined) return 0;
    if (HEADER_RE.test(first)) return 10;
    const row = parseRow(first);
    if (row === undefined || !isInet(row) || splitEndpoint(row.local) === undefined) return 0;
    return row.netid === undefined ? 6 : 8;
  },
  async *read(input, ctx, meta) {
    meta.source = 'netstat';
    const host = new HostListeners(ctx, 'netstat');
    let rows = 0;
    for await (const { line, no } of readLines(input, ctx)) {
      const text = line.trimEnd();
      if (text.length === 0) continue;
      // `ss -i`, `-m` print their details on indented lines under the row.
      if (/^\s/.test(text) && rows > 0) continue;
      if (HEADER_RE.test(text)) continue;
      const row = parseRow(text);
      if (row === undefined) throw new ImportError(ctx.file, no, 'not ss output: expected the "Netid State Recv-Q Send-Q …" header or a socket row');
      rows++;
      if (!isInet(row)) continue;
      host.row(no, listenerProtocol(row), row.local, parseUsers(row.rest), NUMERIC_HINT);
    }
    const obs = host.observation();
    if (obs !== undefined) yield obs;
  },
};
