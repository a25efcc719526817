/** Read queries, the same kysely code on both backends. */
import type { Kysely } from 'kysely';
import type { Database } from './schema.js';
import type { HostRow, ScanRow, ServiceQuery, ServiceRow } from './types.js';
import { toHostRow, toScanRow, toServiceRow } from './rows.js';

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

export async function listHosts(db: Kysely<Database>, query: { address?: string; since?: number; limit?: number } = {}): Promise<HostRow[]> {
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
