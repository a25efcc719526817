/**
 * `portolan scans`, `portolan hosts`, `portolan services`: what the store knows, as a table, JSON
 * or CSV. Filters are validated before the store is opened, so a typo is one line and exit 2.
 */
import { isIP } from 'node:net';
import type { Command } from 'commander';
import { parseCount } from '../../core/duration.js';
import { UsageError, quoteToken } from '../../core/errors.js';
import type { Source } from '../../core/model.js';
import type { PortState } from '../../core/status.js';
import type { HostRow, ScanRow, ServiceQuery, ServiceRow, Store } from '../../store/types.js';
import { tolerateClosedStdout } from '../stdout.js';
import { addStoreOptions, openCliStore } from '../store-location.js';
import { addFormatOptions, pickFormat, renderRows, timeText, type Column, type TableFormat } from '../tabular.js';
import type { CliCommand, CliContext } from './index.js';

const SOURCES = ['portolan', 'nmap', 'masscan', 'naabu', 'rustscan', 'amap', 'nessus', 'local', 'ssh', 'netstat'] as const satisfies readonly Source[];
// Fails to compile when model.ts gains a source this list lacks.
const _allSources: Exclude<Source, (typeof SOURCES)[number]> extends never ? true : never = true;
const STATES = ['open', 'closed', 'filtered'] as const satisfies readonly PortState[];

const SINCE_UNITS: Readonly<Record<string, number>> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/**
 * `--since`: an ISO date or time (`2024-05-01`, `2024-05-01T12:00:00Z`), or a duration back from
 * now (`90m`, `12h`, `7d`, `2w`). Returns epoch ms.
 */
export function parseSince(token: string, now = Date.now()): number {
  const t = token.trim();
  const rel = /^(\d{1,9})([smhdw])$/.exec(t);
  if (rel) return now - Number(rel[1]) * SINCE_UNITS[rel[2]!]!;
  if (/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(t)) {
    // A bare date is midnight UTC (Date.parse already reads it so); a time without zone is UTC too.
    const iso = t.replace(' ', 'T');
    const ms = Date.parse(/T/.test(iso) && !/(Z|[+-]\d{2}:?\d{2})$/.test(iso) ? `${iso}Z` : iso);
    if (Number.isFinite(ms)) return ms;
  }
  throw new UsageError('E_USAGE', `--since ${quoteToken(token)}: expected an ISO date or time (2024-05-01, 2024-05-01T12:00Z) or a duration (30m, 12h, 7d, 2w)`, { token });
}

function parseSource(token: string): Source {
  const found = SOURCES.find((s) => s === token);
  if (!found) throw new UsageError('E_USAGE', `--source ${quoteToken(token)}: expected one of ${SOURCES.join(', ')}`, { token });
  return found;
}

function parseState(token: string): PortState {
  const found = STATES.find((s) => s === token);
  if (!found) throw new UsageError('E_USAGE', `--state ${quoteToken(token)}: expected one of ${STATES.join(', ')}`, { token });
  return found;
}

function parseAddress(token: string): string {
  const t = token.trim().toLowerCase();
  if (isIP(t) === 0) throw new UsageError('E_USAGE', `--host ${quoteToken(token)}: expected an IPv4 or IPv6 address`, { token });
  return t;
}

function parseServiceName(token: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.+/-]{0,63}$/.test(token)) throw new UsageError('E_USAGE', `--service ${quoteToken(token)}: expected a service name such as ssh or http`, { token });
  return token.toLowerCase();
}

interface CommonOptions {
  db?: string;
  format?: string;
  json?: boolean;
  csv?: boolean;
  limit?: string;
}

/** Open the store, run `query`, close it whatever happens. */
async function withStore<T>(db: string | undefined, query: (store: Store) => Promise<T>): Promise<T> {
  const store = await openCliStore(db);
  try {
    return await query(store);
  } finally {
    await store.close();
  }
}

function versionText(r: ServiceRow): string {
  return [r.product, r.version, r.extrainfo ? `(${r.extrainfo})` : undefined].filter((x) => x !== undefined && x !== '').join(' ');
}

const SCAN_COLUMNS: readonly Column<ScanRow>[] = [
  { header: 'ID', value: (r) => r.id },
  { header: 'KIND', value: (r) => r.kind },
  { header: 'SOURCE', value: (r) => r.source },
  { header: 'STATUS', value: (r) => r.status },
  { header: 'STARTED', value: (r) => timeText(r.startedAt) },
  { header: 'HOSTS', value: (r) => r.hosts },
  { header: 'PORTS', value: (r) => r.ports },
  { header: 'FILE/ARGS', value: (r) => r.file ?? r.args.join(' ') },
];

const HOST_COLUMNS: readonly Column<HostRow>[] = [
  { header: 'ADDRESS', value: (r) => r.address },
  { header: 'OPEN', value: (r) => r.openPorts },
  { header: 'FIRST SEEN', value: (r) => timeText(r.firstSeen) },
  { header: 'LAST SEEN', value: (r) => timeText(r.lastSeen) },
  { header: 'HOSTNAMES', value: (r) => r.hostnames.join(',') },
  { header: 'OS', value: (r) => r.osHint },
];

const SERVICE_COLUMNS: readonly Column<ServiceRow>[] = [
  { header: 'HOST', value: (r) => r.address },
  { header: 'PORT', value: (r) => `${r.port}/${r.protocol}` },
  { header: 'STATE', value: (r) => r.state },
  { header: 'SERVICE', value: (r) => r.name },
  { header: 'SOURCE', value: (r) => r.source },
  { header: 'CONF', value: (r) => r.confidence },
  { header: 'LAST SEEN', value: (r) => timeText(r.lastSeen) },
  { header: 'VERSION', value: versionText },
];

function print(format: TableFormat, text: string, count: number, noun: string): void {
  tolerateClosedStdout();
  if (format === 'table' && count === 0) {
    process.stdout.write(`no ${noun} in the store\n`);
    return;
  }
  process.stdout.write(text);
}

function limitOf(o: CommonOptions): number | undefined {
  return o.limit === undefined ? undefined : parseCount(o.limit, '--limit', 1, 100_000_000);
}

function common(cmd: Command): Command {
  addStoreOptions(cmd, false);
  addFormatOptions(cmd);
  return cmd.option('--limit <n>', 'show at most n rows');
}

function defineQueries(program: Command, _ctx: CliContext): void {
  common(program.command('scans').description('list stored scans, imports and listener audits, newest first')).action(async (o: CommonOptions) => {
    const format = pickFormat(o);
    const limit = limitOf(o);
    const rows = await withStore(o.db, (s) => s.scans(limit));
    print(format, renderRows(format, SCAN_COLUMNS, rows), rows.length, 'scans');
  });

  common(program.command('hosts').description('list hosts the store knows, from every scan and import'))
    .option('--since <time>', 'only hosts seen since: ISO date/time or a duration back from now (7d, 12h)')
    .option('--host <address>', 'only this address')
    .action(async (o: CommonOptions & { since?: string; host?: string }) => {
      const format = pickFormat(o);
      const query: { address?: string; since?: number; limit?: number } = {};
      if (o.since !== undefined) query.since = parseSince(o.since);
      if (o.host !== undefined) query.address = parseAddress(o.host);
      const limit = limitOf(o);
      if (limit !== undefined) query.limit = limit;
      const rows = await withStore(o.db, (s) => s.hosts(query));
      print(format, renderRows(format, HOST_COLUMNS, rows), rows.length, 'hosts');
    });

  common(program.command('services').description('list services the store knows, merged over every source'))
    .option('-p, --port <n>', 'only this port')
    .option('--service <name>', 'only this service name (ssh, http, …)')
    .option('--source <tool>', `only services this tool reported (${SOURCES.join(', ')})`)
    .option('--state <state>', 'only ports in this state (open, closed, filtered)')
    .option('--since <time>', 'only services seen since: ISO date/time or a duration back from now (7d, 12h)')
    .option('--host <address>', 'only this address')
    .action(async (o: CommonOptions & { port?: string; service?: string; source?: string; state?: string; since?: string; host?: string }) => {
      const format = pickFormat(o);
      const query: ServiceQuery = {};
      if (o.port !== undefined) query.port = parseCount(o.port, '--port', 0, 65535);
      if (o.service !== undefined) query.service = parseServiceName(o.service);
      if (o.source !== undefined) query.source = parseSource(o.source);
      if (o.state !== undefined) query.state = parseState(o.state);
      if (o.since !== undefined) query.since = parseSince(o.since);
      if (o.host !== undefined) query.address = parseAddress(o.host);
      const limit = limitOf(o);
      if (limit !== undefined) query.limit = limit;
      const rows = await withStore(o.db, (s) => s.services(query));
      print(format, renderRows(format, SERVICE_COLUMNS, rows), rows.length, 'services');
    });
}

export const queryCommands: CliCommand = { register: defineQueries };
