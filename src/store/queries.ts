/** Read queries, the same kysely code on both backends. */
import type { Kysely } from 'kysely';
import { kysely } from './kysely.js';
import type { Database } from './schema.js';
import type { ImportedFindingQuery, ImportedFindingRow, HostQuery, HostRow, ObservedPort, PackageQuery, PackageRow, ScanRow, ServiceQuery, ServiceRow } from './types.js';
import { parseJson, toImportedFindingRow, toHostRow, toPackageRow, toScanRow, toServiceRow } from './rows.js';
import { portKey } from '../core/finding.js';
import { parsePortRanges } from '../core/port-ranges.js';
import type { Service } from '../core/model.js';

/** A limit as SQL will take it: absent or invalid means none. */
function limitOf(limit: number | undefined): number | undefined {
  return limit !== undefined && Number.isInteger(limit) && limit > 0 ? limit : undefined;
}

/** Newest scans first. */
export async function listScans(db: Kysely<Database>, limit?: number): Promise<ScanRow[]> {
  let q = db.selectFrom('scans').selectAll().orderBy('id', 'desc');
  const n = limitOf(limit);
  if (n !== undefined) q = q.limit(n);
  return (await q.execute()).map(toScanRow);
}

export async function listHosts(db: Kysely<Database>, query: HostQuery = {}): Promise<HostRow[]> {
  let q = db
    .selectFrom('hosts as h')
    .selectAll('h')
    .select((eb) =>
      eb
        .selectFrom('services as s')
        .whereRef('s.host_id', '=', 'h.id')
        .where('s.state', '=', 'open')
        .select((e) => e.fn.countAll<number | string>().as('n'))
        .as('open_ports'),
    )
    .orderBy('h.id');
  if (query.address !== undefined) q = q.where('h.address', '=', query.address);
  if (query.since !== undefined) q = q.where('h.last_seen', '>=', query.since);
  const n = limitOf(query.limit);
  if (n !== undefined) q = q.limit(n);
  return (await q.execute()).map(toHostRow);
}

/** Services as the store knows them now, by host then port. */
export async function listServices(db: Kysely<Database>, query: ServiceQuery = {}): Promise<ServiceRow[]> {
  let q = db.selectFrom('services as s').innerJoin('hosts as h', 'h.id', 's.host_id').selectAll('s').select('h.address').orderBy('s.host_id').orderBy('s.port').orderBy('s.protocol');
  if (query.port !== undefined) q = q.where('s.port', '=', query.port);
  if (query.service !== undefined) q = q.where('s.name', '=', query.service);
  if (query.source !== undefined) q = q.where('s.source', '=', query.source);
  if (query.state !== undefined) q = q.where('s.state', '=', query.state);
  if (query.since !== undefined) q = q.where('s.last_seen', '>=', query.since);
  if (query.address !== undefined) q = q.where('h.address', '=', query.address);
  const n = limitOf(query.limit);
  if (n !== undefined) q = q.limit(n);
  return (await q.execute()).map(toServiceRow);
}

const CVE = /^CVE-\d{4}-\d{4,}$/i;

/** Imported findings, most severe first, then by host and port. */
export async function listImportedFindings(db: Kysely<Database>, query: ImportedFindingQuery = {}): Promise<ImportedFindingRow[]> {
  let q = db
    .selectFrom('imported_findings as f')
    .innerJoin('hosts as h', 'h.id', 'f.host_id')
    .selectAll('f')
    .select('h.address')
    .orderBy('f.severity', 'desc')
    .orderBy('f.host_id')
    .orderBy('f.port')
    .orderBy('f.plugin_id');
  if (query.address !== undefined) q = q.where('h.address', '=', query.address);
  if (query.port !== undefined) q = q.where('f.port', '=', query.port);
  if (query.minSeverity !== undefined) q = q.where('f.severity', '>=', query.minSeverity);
  if (query.scanId !== undefined) q = q.where('f.scan_id', '=', query.scanId);
  const cve = query.cve?.trim().toUpperCase();
  if (cve !== undefined) {
    // The list is JSON on both backends; a CVE id has no characters LIKE or JSON would treat specially.
    if (!CVE.test(cve)) return [];
    q = q.where(kysely().sql<string>`upper(cast(f.cves as text))`, 'like', `%"${cve}"%`);
  }
  const n = limitOf(query.limit);
  if (n !== undefined) q = q.limit(n);
  return (await q.execute()).map(toImportedFindingRow);
}

/** Installed packages by host, then name. */
export async function listPackages(db: Kysely<Database>, query: PackageQuery = {}): Promise<PackageRow[]> {
  let q = db.selectFrom('packages as p').innerJoin('hosts as h', 'h.id', 'p.host_id').selectAll('p').select('h.address').orderBy('p.host_id').orderBy('p.name').orderBy('p.arch');
  if (query.address !== undefined) q = q.where('h.address', '=', query.address);
  if (query.name !== undefined) q = q.where('p.name', '=', query.name);
  const n = limitOf(query.limit);
  if (n !== undefined) q = q.limit(n);
  return (await q.execute()).map(toPackageRow);
}

/** A scan's ports: observation rows and expanded ranges, by host, protocol and port. */
export async function listObservedPorts(db: Kysely<Database>, scanId: number, query: { address?: string } = {}): Promise<ObservedPort[]> {
  let rows = db.selectFrom('observations as o').innerJoin('hosts as h', 'h.id', 'o.host_id').selectAll('o').select('h.address').where('o.scan_id', '=', scanId);
  let ranges = db.selectFrom('observed_ranges as r').innerJoin('hosts as h', 'h.id', 'r.host_id').selectAll('r').select('h.address').where('r.scan_id', '=', scanId);
  if (query.address !== undefined) {
    rows = rows.where('h.address', '=', query.address);
    ranges = ranges.where('h.address', '=', query.address);
  }
  const out: ObservedPort[] = [];
  for (const r of await rows.execute()) {
    const p: ObservedPort = {
      hostId: Number(r.host_id),
      address: r.address,
      protocol: r.protocol === 'udp' ? 'udp' : 'tcp',
      port: Number(r.port),
      state: r.state as ObservedPort['state'],
      reason: r.reason,
      source: r.source as ObservedPort['source'],
      observedAt: Number(r.observed_at),
    };
    const service = parseJson(r.service);
    if (service !== undefined && service !== null && typeof service === 'object') p.service = service as Service;
    const listener = parseJson(r.listener);
    if (listener !== undefined && listener !== null) p.listener = listener;
    out.push(p);
  }
  for (const r of await ranges.execute()) {
    let ports: number[];
    try {
      ports = parsePortRanges(r.ports);
    } catch {
      // Written by this code, so never bad; a damaged row is skipped rather than failing the read.
      continue;
    }
    for (const port of ports) {
      out.push({
        hostId: Number(r.host_id),
        address: r.address,
        protocol: r.protocol === 'udp' ? 'udp' : 'tcp',
        port,
        state: r.state as ObservedPort['state'],
        reason: r.reason,
        source: r.source as ObservedPort['source'],
        observedAt: Number(r.observed_at),
      });
    }
  }
  return out.sort((a, b) => a.hostId - b.hostId || (a.protocol < b.protocol ? -1 : a.protocol > b.protocol ? 1 : 0) || a.port - b.port);
}

/** Ports some scan older than `scanId` saw open; open ports always have an observation row. */
export async function listOpenBefore(db: Kysely<Database>, scanId: number): Promise<Set<string>> {
  const rows = await db
    .selectFrom('observations as o')
    .innerJoin('hosts as h', 'h.id', 'o.host_id')
    .select(['h.address', 'o.protocol', 'o.port'])
    .distinct()
    .where('o.scan_id', '<', scanId)
    .where('o.state', '=', 'open')
    .execute();
  return new Set(rows.map(portKey));
}

/**
 * Ports some scan saw filtered, with the newest time it did, on hosts that have an open service:
 * with the merged view saying open, they are reachable from some vantage points and not others.
 */
export async function listFilteredSightings(db: Kysely<Database>): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const note = (key: string, at: number): void => {
    if (at > (out.get(key) ?? -Infinity)) out.set(key, at);
  };
  const openHosts = db.selectFrom('services').select('host_id').where('state', '=', 'open');
  const rows = await db
    .selectFrom('observations as o')
    .innerJoin('hosts as h', 'h.id', 'o.host_id')
    .select(['h.address', 'o.protocol', 'o.port', 'o.observed_at'])
    .where('o.state', '=', 'filtered')
    .where('o.host_id', 'in', openHosts)
    .execute();
  for (const r of rows) note(portKey(r), Number(r.observed_at));
  const ranges = await db
    .selectFrom('observed_ranges as r')
    .innerJoin('hosts as h', 'h.id', 'r.host_id')
    .select(['h.address', 'r.protocol', 'r.ports', 'r.observed_at'])
    .where('r.state', '=', 'filtered')
    .where('r.host_id', 'in', openHosts)
    .execute();
  for (const r of ranges) {
    let ports: number[];
    try {
      ports = parsePortRanges(r.ports);
    } catch {
      continue;
    }
    for (const port of ports) note(portKey({ address: r.address, protocol: r.protocol, port }), Number(r.observed_at));
  }
  return out;
}
