/**
 * The PostgreSQL store. kysely runs the migrations, the reads and the controlled transaction; a
 * batch of ports is written by one statement that takes each column as one array parameter
 * (`unnest`), inserting the observations and upserting the services in a single round trip,
 * whatever the batch size (no 65 535-parameter ceiling, one plan).
 */
import pg from 'pg';
import { CompiledQuery, Kysely, PostgresDialect, type ControlledTransaction } from 'kysely';
import { migrate, type Database } from './schema.js';
import type { CommitEnd, HostRow, Ingest, ScanMeta, ScanRow, ServiceQuery, ServiceRow, Store } from './types.js';
import { BufferedIngest, serviceKey, type FindingInput, type HostInput, type IngestBackend, type PackageInput } from './ingest.js';
import { SERVICE_COLUMNS, SERVICE_CONFLICT } from './merge.js';
import { scanEnd, scanStart, toScanRow, type PortBatch } from './rows.js';
import { listHosts, listScans, listServices } from './queries.js';

const LIMITS = { ports: 10_000, hosts: 2000 };

/** A PostgreSQL array literal of numbers (or NULLs). */
export function numArray(values: readonly (number | null)[]): string {
  return `{${values.map((v) => (v === null ? 'NULL' : String(v))).join(',')}}`;
}

const NEEDS_ESCAPE = /["\\]/;

/** A PostgreSQL array literal of text: every element quoted, so commas, braces and spaces are plain data. */
export function textArray(values: readonly (string | null | undefined)[]): string {
  let out = '{';
  for (let i = 0; i < values.length; i++) {
    if (i > 0) out += ',';
    const v = values[i];
    if (v === null || v === undefined) out += 'NULL';
    else out += NEEDS_ESCAPE.test(v) ? `"${v.replace(/["\\]/g, '\\$&')}"` : `"${v}"`;
  }
  return `${out}}`;
}

/**
 * Observations without a service or listener: most of a scan. Array parsing is most of
 * PostgreSQL's cost here, so each row travels as three small integers (its observation, its port,
 * its protocol/state/reason combination) and the repeated values once per observation or
 * combination, joined back by position.
 */
const PLAIN_OBSERVATIONS_SQL = `INSERT INTO observations (scan_id, host_id, protocol, port, state, reason, source, observed_at)
SELECT $1, g.host_id, k.protocol, d.port, k.state, k.reason, g.source, g.at
FROM unnest($2::int[], $3::int[], $4::int[]) AS d(g, port, k)
JOIN unnest($5::int[], $6::int8[], $7::text[]) WITH ORDINALITY AS g(host_id, at, source, n) ON g.n = d.g
JOIN unnest($8::text[], $9::text[], $10::text[]) WITH ORDINALITY AS k(protocol, state, reason, n) ON k.n = d.k`;

/** The parameters of PLAIN_OBSERVATIONS_SQL for rows `rows` of a batch. */
function plainParams(scanId: number, b: PortBatch, hostIds: number[], rows: number[]): unknown[] {
  const g: number[] = [];
  const port: number[] = [];
  const k: number[] = [];
  const gHost: number[] = [];
  const gAt: number[] = [];
  const gSource: string[] = [];
  const kProtocol: string[] = [];
  const kState: string[] = [];
  const kReason: string[] = [];
  const codes = new Map<string, Map<string, number>>();
  let last = -1;
  for (const i of rows) {
    // A batch holds each observation's ports together: a new group starts where host, time or source change.
    const host = hostIds[b.host[i]!]!;
    if (last < 0 || gHost[gHost.length - 1] !== host || b.at[last] !== b.at[i] || b.source[last] !== b.source[i]) {
      gHost.push(host);
      gAt.push(b.at[i]!);
      gSource.push(b.source[i]!);
    }
    last = i;
    const protocol = b.protocol[i]!;
    const state = b.state[i]!;
    const reason = b.reason[i]!;
    const key = `${protocol}/${state}`;
    let byReason = codes.get(key);
    if (byReason === undefined) codes.set(key, (byReason = new Map<string, number>()));
    let code = byReason.get(reason);
    if (code === undefined) {
      kProtocol.push(protocol);
      kState.push(state);
      kReason.push(reason);
      byReason.set(reason, (code = kProtocol.length));
    }
    g.push(gHost.length);
    port.push(b.port[i]!);
    k.push(code);
  }
  return [scanId, numArray(g), numArray(port), numArray(k), numArray(gHost), numArray(gAt), textArray(gSource), textArray(kProtocol), textArray(kState), textArray(kReason)];
}

const RICH_OBSERVATIONS_SQL = `INSERT INTO observations (scan_id, host_id, protocol, port, state, reason, source, observed_at, service, listener)
SELECT $1, h, p, n, s, r, so, t, sv::jsonb, l::jsonb
FROM unnest($2::int[], $3::text[], $4::int[], $5::text[], $6::text[], $7::text[], $8::int8[], $9::text[], $10::text[]) AS d(h, p, n, s, r, so, t, sv, l)`;

const SERVICES_SQL = `INSERT INTO services (${SERVICE_COLUMNS.join(', ')})
SELECT h, p, n, s, r, name, product, version, extrainfo, cpe::jsonb, banner, tls::jsonb, evidence::jsonb, l::jsonb, sv::jsonb, so, method, conf, t, t
FROM unnest($1::int[], $2::text[], $3::int[], $4::text[], $5::text[], $6::text[], $7::int8[], $8::text[], $9::text[],
  $10::text[], $11::text[], $12::text[], $13::text[], $14::text[], $15::text[], $16::text[], $17::text[], $18::text[], $19::int[])
  AS d(h, p, n, s, r, so, t, l, sv, name, product, version, extrainfo, cpe, banner, tls, evidence, method, conf)
${SERVICE_CONFLICT}`;

const HOSTS_SQL = `INSERT INTO hosts (address, family, hostnames, os_hint, first_seen, last_seen)
SELECT a, f, h::jsonb, o, fs, ls FROM unnest($1::text[], $2::int[], $3::text[], $4::text[], $5::int8[], $6::int8[]) AS d(a, f, h, o, fs, ls)
ON CONFLICT (address) DO UPDATE SET
  family = excluded.family,
  hostnames = CASE WHEN excluded.hostnames = '[]'::jsonb THEN hosts.hostnames ELSE (
    SELECT coalesce(jsonb_agg(v ORDER BY n), '[]'::jsonb) FROM (
      SELECT v, min(n) AS n FROM jsonb_array_elements_text(hosts.hostnames || excluded.hostnames) WITH ORDINALITY AS t(v, n)
      GROUP BY v ORDER BY 2 LIMIT 64) u) END,
  os_hint = coalesce(excluded.os_hint, hosts.os_hint),
  first_seen = least(hosts.first_seen, excluded.first_seen),
  last_seen = greatest(hosts.last_seen, excluded.last_seen)
RETURNING id, address`;

const FINDINGS_SQL = `INSERT INTO findings (scan_id, host_id, protocol, port, plugin_id, plugin_name, severity, cves, cvss2, cvss3, synopsis)
SELECT $1, h, p, n, i, pn, s, c::jsonb, c2, c3, sy FROM unnest($2::int[], $3::text[], $4::int[], $5::text[], $6::text[], $7::int[], $8::text[],
  $9::float8[], $10::float8[], $11::text[]) AS d(h, p, n, i, pn, s, c, c2, c3, sy)`;

const PACKAGES_SQL = `INSERT INTO packages (host_id, scan_id, name, version, arch, manager, seen_at)
SELECT h, $1, n, v, a, m, t FROM unnest($2::int[], $3::text[], $4::text[], $5::text[], $6::text[], $7::int8[]) AS d(h, n, v, a, m, t)
ON CONFLICT (host_id, name, arch) DO UPDATE SET scan_id = excluded.scan_id, version = excluded.version, manager = excluded.manager, seen_at = excluded.seen_at`;

class PgBackend implements IngestBackend {
  constructor(
    private readonly trx: ControlledTransaction<Database>,
    private readonly scanId: number,
  ) {}

  async #run<R>(text: string, params: unknown[]): Promise<R[]> {
    return (await this.trx.executeQuery<R>(CompiledQuery.raw(text, params))).rows;
  }

  async upsertHosts(hosts: HostInput[]): Promise<number[]> {
    const rows = await this.#run<{ id: number; address: string }>(HOSTS_SQL, [
      textArray(hosts.map((h) => h.address)),
      numArray(hosts.map((h) => h.family)),
      textArray(hosts.map((h) => JSON.stringify(h.hostnames))),
      textArray(hosts.map((h) => h.osHint)),
      numArray(hosts.map((h) => h.firstSeen)),
      numArray(hosts.map((h) => h.lastSeen)),
    ]);
    // RETURNING promises no order: match ids back by address.
    const byAddress = new Map(rows.map((r) => [r.address, Number(r.id)]));
    return hosts.map((h) => {
      const id = byAddress.get(h.address);
      if (id === undefined) throw new Error(`store: host ${h.address} was not written`);
      return id;
    });
  }

  async serviceKeys(hostIds: number[]): Promise<Set<number>> {
    const rows = await this.#run<{ host_id: number; protocol: string; port: number }>('SELECT host_id, protocol, port FROM services WHERE host_id = ANY($1::int[])', [numArray(hostIds)]);
    return new Set(rows.map((r) => serviceKey(r.host_id, r.protocol, r.port)));
  }

  async writePorts(b: PortBatch, hostIds: number[], toServices: Uint8Array): Promise<void> {
    const plain: number[] = [];
    const rich: number[] = [];
    const svc: number[] = [];
    for (let i = 0; i < b.length; i++) {
      (b.service[i] === null && b.listener[i] === null ? plain : rich).push(i);
      if (toServices[i] === 1) svc.push(i);
    }
    const host = (rows: number[]) => numArray(rows.map((i) => hostIds[b.host[i]!]!));
    const col = <T>(rows: number[], values: T[]) => rows.map((i) => values[i]!);
    const common = (rows: number[]) => [host(rows), textArray(col(rows, b.protocol)), numArray(col(rows, b.port)), textArray(col(rows, b.state)), textArray(col(rows, b.reason)), textArray(col(rows, b.source)), numArray(col(rows, b.at))];
    if (plain.length > 0) await this.#run(PLAIN_OBSERVATIONS_SQL, plainParams(this.scanId, b, hostIds, plain));
    if (rich.length > 0) await this.#run(RICH_OBSERVATIONS_SQL, [this.scanId, ...common(rich), textArray(rich.map((i) => b.service[i]?.service)), textArray(col(rich, b.listener))]);
    if (svc.length === 0) return;
    const s = svc.map((i) => b.service[i]);
    await this.#run(SERVICES_SQL, [
      ...common(svc),
      textArray(col(svc, b.listener)),
      textArray(s.map((x) => x?.service)),
      textArray(s.map((x) => x?.name)),
      textArray(s.map((x) => x?.product)),
      textArray(s.map((x) => x?.version)),
      textArray(s.map((x) => x?.extrainfo)),
      textArray(s.map((x) => x?.cpe)),
      textArray(s.map((x) => x?.banner)),
      textArray(s.map((x) => x?.tls)),
      textArray(s.map((x) => x?.evidence)),
      textArray(s.map((x) => x?.method)),
      numArray(s.map((x) => x?.confidence ?? 0)),
    ]);
  }

  async writeFindings(rows: FindingInput[], hostIds: number[]): Promise<void> {
    await this.#run(FINDINGS_SQL, [
      this.scanId,
      numArray(rows.map((f) => hostIds[f.host]!)),
      textArray(rows.map((f) => f.protocol)),
      numArray(rows.map((f) => f.port)),
      textArray(rows.map((f) => f.pluginId)),
      textArray(rows.map((f) => f.pluginName)),
      numArray(rows.map((f) => f.severity)),
      textArray(rows.map((f) => f.cves)),
      numArray(rows.map((f) => f.cvss2)),
      numArray(rows.map((f) => f.cvss3)),
      textArray(rows.map((f) => f.synopsis)),
    ]);
  }

  async writePackages(rows: PackageInput[], hostIds: number[]): Promise<void> {
    await this.#run(PACKAGES_SQL, [
      this.scanId,
      numArray(rows.map((p) => hostIds[p.host]!)),
      textArray(rows.map((p) => p.name)),
      textArray(rows.map((p) => p.version)),
      textArray(rows.map((p) => p.arch)),
      textArray(rows.map((p) => p.manager)),
      numArray(rows.map((p) => p.at)),
    ]);
  }

  async finish(end: CommitEnd, counts: { hosts: number; ports: number }): Promise<ScanRow> {
    try {
      const row = await this.trx.updateTable('scans').set(scanEnd(end, counts)).where('id', '=', this.scanId).returningAll().executeTakeFirstOrThrow();
      await this.trx.commit().execute();
      return toScanRow(row);
    } catch (err) {
      await this.abort();
      throw err;
    }
  }

  async abort(): Promise<void> {
    if (this.trx.isCommitted || this.trx.isRolledBack) return;
    await this.trx.rollback().execute();
  }
}

/** Where to connect, split from the portolan-only `schema` parameter. */
export interface PgLocation {
  connectionString: string;
  schema?: string;
}

const SCHEMA_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/** Split `?schema=NAME` off a postgres:// URL; a name that is not a plain identifier is refused. */
export function parsePgLocation(location: string): PgLocation {
  const url = new URL(location);
  const schema = url.searchParams.get('schema');
  url.searchParams.delete('schema');
  if (schema === null) return { connectionString: url.toString() };
  if (!SCHEMA_NAME.test(schema)) throw new RangeError('the schema parameter must be a plain identifier (letters, digits, _; at most 63)');
  // Folded as PostgreSQL folds an unquoted name, so CREATE SCHEMA and search_path agree.
  return { connectionString: url.toString(), schema: schema.toLowerCase() };
}

export class PgStore implements Store {
  readonly kind = 'postgres' as const;
  readonly #db: Kysely<Database>;
  readonly #open = new Set<BufferedIngest>();

  private constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  /** Connect, create the schema if one was named, and migrate. Throws the driver's error; index.ts words it. */
  static async open(where: PgLocation): Promise<PgStore> {
    const pool = new pg.Pool({
      connectionString: where.connectionString,
      max: 4,
      connectionTimeoutMillis: 10_000,
      ...(where.schema !== undefined ? { options: `-c search_path=${where.schema}` } : {}),
    });
    // An idle client's network error would otherwise be an unhandled 'error' event that kills the process.
    pool.on('error', () => undefined);
    const store = new PgStore(new Kysely<Database>({ dialect: new PostgresDialect({ pool }) }));
    try {
      // The name was checked against SCHEMA_NAME, so quoting it is enough.
      if (where.schema !== undefined) await pool.query(`CREATE SCHEMA IF NOT EXISTS "${where.schema}"`);
      await store.migrate();
      return store;
    } catch (err) {
      await store.close();
      throw err;
    }
  }

  async migrate(): Promise<void> {
    await migrate(this.#db as Kysely<unknown>, 'postgres');
  }

  async begin(meta: ScanMeta): Promise<Ingest> {
    const trx = await this.#db.startTransaction().execute();
    try {
      const { id } = await trx.insertInto('scans').values(scanStart(meta)).returning('id').executeTakeFirstOrThrow();
      const ingest: BufferedIngest = new BufferedIngest(Number(id), new PgBackend(trx, Number(id)), LIMITS, () => this.#open.delete(ingest));
      this.#open.add(ingest);
      return ingest;
    } catch (err) {
      await trx.rollback().execute();
      throw err;
    }
  }

  scans(limit?: number): Promise<ScanRow[]> {
    return listScans(this.#db, limit);
  }

  hosts(query?: { address?: string; since?: number; limit?: number }): Promise<HostRow[]> {
    return listHosts(this.#db, query);
  }

  services(query?: ServiceQuery): Promise<ServiceRow[]> {
    return listServices(this.#db, query);
  }

  /** Close the pool; an ingest still open is rolled back first (the pool would wait for its client forever). */
  async close(): Promise<void> {
    for (const ingest of [...this.#open]) await ingest.rollback().catch(() => undefined);
    await this.#db.destroy();
  }
}
