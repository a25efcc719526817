/**
 * The PostgreSQL store. kysely runs the migrations and the reads. An ingest owns one pooled
 * connection for its whole transaction: ports go in by COPY (PostgreSQL's bulk path, several times
 * cheaper than an INSERT per row or array parameters), observations and port ranges straight into
 * their tables, service rows into a temporary table from which one statement merges them into
 * `services`.
 * Hosts, imported findings and packages are few and travel as array parameters (`unnest`).
 */
import { finished } from 'node:stream/promises';
import pg from 'pg';
import copyStreams from 'pg-copy-streams';
import type { Kysely, Selectable } from 'kysely';
import { kysely } from './kysely.js';
import { quoteToken } from '../core/errors.js';
import { migrate, type Database } from './schema.js';
import type { CommitEnd, ScanMeta, ScanRow } from './types.js';
import { BaseStore, busyError, type OpenedIngest } from './base.js';
import { ROW_NEW, ROW_RANGE, serviceKey, type ImportedFindingInput, type HostInput, type IngestBackend, type PackageInput, type RangeInput } from './ingest.js';
import { OBSERVATION_COLUMNS, RANGE_COLUMNS, SERVICE_COLUMNS, SERVICE_CONFLICT } from './merge.js';
import { scanEnd, scanStart, toScanRow, type PortBatch } from './rows.js';
import type { ScansTable } from './schema.js';

const LIMITS = { ports: 20_000, hosts: 2000 };

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

const COPY_SPECIAL = /[\\\t\n\r]/;
const COPY_SPECIAL_ALL = /[\\\t\n\r]/g;
const COPY_ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

/** One field of COPY's text format: `\N` for NULL, backslash, tab and line ends escaped. */
export function copyField(value: string | number | null | undefined): string {
  if (value === null || value === undefined) return '\\N';
  if (typeof value === 'number') return String(value);
  return COPY_SPECIAL.test(value) ? value.replace(COPY_SPECIAL_ALL, (c) => COPY_ESCAPES[c]!) : value;
}

/** The staging table service rows are copied into before the merge; dropped at commit. */
const SERVICES_IN = 'portolan_services_in';
const SERVICE_TYPES: Record<(typeof SERVICE_COLUMNS)[number], string> = {
  host_id: 'integer',
  protocol: 'text',
  port: 'integer',
  state: 'text',
  reason: 'text',
  name: 'text',
  product: 'text',
  version: 'text',
  extrainfo: 'text',
  cpe: 'jsonb',
  banner: 'text',
  tls: 'jsonb',
  evidence: 'jsonb',
  listener: 'jsonb',
  service: 'jsonb',
  source: 'text',
  method: 'text',
  confidence: 'integer',
  first_seen: 'bigint',
  last_seen: 'bigint',
};
const CREATE_SERVICES_IN = `CREATE TEMP TABLE ${SERVICES_IN} (${SERVICE_COLUMNS.map((c) => `${c} ${SERVICE_TYPES[c]}`).join(', ')}) ON COMMIT DROP`;
// Merged in key order, and the staging table emptied by the same statement.
const MERGE_SERVICES = `WITH d AS (DELETE FROM ${SERVICES_IN} RETURNING *)
INSERT INTO services (${SERVICE_COLUMNS.join(', ')})
SELECT ${SERVICE_COLUMNS.join(', ')} FROM d ORDER BY host_id, protocol, port
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

const FINDINGS_SQL = `INSERT INTO imported_findings (scan_id, host_id, protocol, port, plugin_id, plugin_name, severity, cves, cvss2, cvss3, synopsis)
SELECT $1, h, p, n, i, pn, s, c::jsonb, c2, c3, sy FROM unnest($2::int[], $3::text[], $4::int[], $5::text[], $6::text[], $7::int[], $8::text[],
  $9::float8[], $10::float8[], $11::text[]) AS d(h, p, n, i, pn, s, c, c2, c3, sy)`;

const PACKAGES_SQL = `INSERT INTO packages (host_id, scan_id, name, version, arch, manager, seen_at)
SELECT h, $1, n, v, a, m, t FROM unnest($2::int[], $3::text[], $4::text[], $5::text[], $6::text[], $7::int8[]) AS d(h, n, v, a, m, t)
ON CONFLICT (host_id, name, arch) DO UPDATE SET scan_id = excluded.scan_id, version = excluded.version, manager = excluded.manager, seen_at = excluded.seen_at`;

/** `INSERT … RETURNING *` / `UPDATE … RETURNING *` of one scans row from a column object. */
function scanInsert(values: Record<string, unknown>): [string, unknown[]] {
  const cols = Object.keys(values);
  return [`INSERT INTO scans (${cols.join(', ')}) VALUES (${cols.map((_, i) => `$${i + 1}`).join(', ')}) RETURNING id`, Object.values(values)];
}

function scanUpdate(id: number, values: Record<string, unknown>): [string, unknown[]] {
  const cols = Object.keys(values);
  return [`UPDATE scans SET ${cols.map((c, i) => `${c} = $${i + 1}`).join(', ')} WHERE id = $${cols.length + 1} RETURNING *`, [...Object.values(values), id]];
}

class PgBackend implements IngestBackend {
  #servicesIn = false;
  #done = false;

  constructor(
    private readonly client: pg.PoolClient,
    private readonly scanId: number,
  ) {}

  async #run<R extends pg.QueryResultRow>(text: string, params: unknown[] = []): Promise<R[]> {
    return (await this.client.query<R>(text, params)).rows;
  }

  /** Stream `text` (rows in COPY text format) into `COPY … FROM STDIN`. */
  async #copy(sql: string, text: string): Promise<void> {
    const stream = this.client.query(copyStreams.from(sql));
    stream.end(text);
    await finished(stream);
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

  async writePorts(b: PortBatch, hostIds: number[], rows: Uint8Array): Promise<void> {
    let obs = '';
    let fresh = '';
    let known = '';
    for (let i = 0; i < b.length; i++) {
      if (rows[i] === ROW_RANGE) continue;
      const host = hostIds[b.host[i]!]!;
      const protocol = copyField(b.protocol[i]);
      const state = copyField(b.state[i]);
      const reason = copyField(b.reason[i]);
      const listener = copyField(b.listener[i]);
      const source = copyField(b.source[i]);
      const at = b.at[i]!;
      const s = b.service[i];
      // Same order as OBSERVATION_COLUMNS.
      obs += `${this.scanId}\t${host}\t${protocol}\t${b.port[i]}\t${state}\t${reason}\t${copyField(s?.service)}\t${listener}\t${source}\t${at}\n`;
      // Same order as SERVICE_COLUMNS.
      const svc = `${host}\t${protocol}\t${b.port[i]}\t${state}\t${reason}\t${copyField(s?.name)}\t${copyField(s?.product)}\t${copyField(s?.version)}\t${copyField(s?.extrainfo)}\t${copyField(s?.cpe)}\t${copyField(s?.banner)}\t${copyField(s?.tls)}\t${copyField(s?.evidence)}\t${listener}\t${copyField(s?.service)}\t${source}\t${copyField(s?.method)}\t${s?.confidence ?? 0}\t${at}\t${at}\n`;
      if (rows[i] === ROW_NEW) fresh += svc;
      else known += svc;
    }
    if (obs !== '') await this.#copy(`COPY observations (${OBSERVATION_COLUMNS.join(', ')}) FROM STDIN`, obs);
    // Ports new to `services` go straight in; known ones through the staging table and the merge.
    if (fresh !== '') await this.#copy(`COPY services (${SERVICE_COLUMNS.join(', ')}) FROM STDIN`, fresh);
    if (known === '') return;
    if (!this.#servicesIn) {
      await this.#run(CREATE_SERVICES_IN);
      this.#servicesIn = true;
    }
    await this.#copy(`COPY ${SERVICES_IN} (${SERVICE_COLUMNS.join(', ')}) FROM STDIN`, known);
    await this.#run(MERGE_SERVICES);
  }

  async writeRanges(ranges: RangeInput[], hostIds: number[]): Promise<void> {
    let text = '';
    // Same order as RANGE_COLUMNS.
    for (const r of ranges) {
      text += `${this.scanId}\t${hostIds[r.host]}\t${copyField(r.protocol)}\t${copyField(r.state)}\t${copyField(r.reason)}\t${copyField(r.source)}\t${r.at}\t${r.ports}\t${r.count}\n`;
    }
    await this.#copy(`COPY observed_ranges (${RANGE_COLUMNS.join(', ')}) FROM STDIN`, text);
  }

  async writeImportedFindings(rows: ImportedFindingInput[], hostIds: number[]): Promise<void> {
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
      const [row] = await this.#run<Selectable<ScansTable>>(...scanUpdate(this.scanId, scanEnd(end, counts)));
      if (row === undefined) throw new Error(`store: scan ${this.scanId} vanished before its commit`);
      await this.#run('COMMIT');
      this.#release();
      return toScanRow(row);
    } catch (err) {
      await this.abort();
      throw err;
    }
  }

  async abort(): Promise<void> {
    if (this.#done) return;
    try {
      await this.#run('ROLLBACK');
      this.#release();
    } catch (err) {
      // A connection that cannot even roll back is not given back to the pool: it is destroyed.
      this.#release(err instanceof Error ? err : new Error(String(err)));
    }
  }

  #release(err?: Error): void {
    if (this.#done) return;
    this.#done = true;
    this.client.release(err);
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

/** Transaction-scoped advisory lock key: one writer per schema (see Store.begin). */
const WRITER_LOCK = "SELECT pg_advisory_xact_lock(hashtext('portolan writer ' || current_schema()))";

export class PgStore extends BaseStore {
  readonly kind = 'postgres' as const;
  readonly #pool: pg.Pool;
  readonly #db: Kysely<Database>;
  readonly #where: string;

  private constructor(pool: pg.Pool, where: PgLocation) {
    super();
    this.#pool = pool;
    const { Kysely, PostgresDialect } = kysely();
    this.#db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    const url = new URL(where.connectionString);
    this.#where = `${url.host}${url.pathname}${where.schema !== undefined ? ` (schema ${where.schema})` : ''}`;
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
    const store = new PgStore(pool, where);
    try {
      // The name was checked against SCHEMA_NAME, so quoting it is enough.
      if (where.schema !== undefined) await pool.query(`CREATE SCHEMA IF NOT EXISTS "${where.schema}"`);
    } catch (err) {
      await store.close();
      throw err;
    }
    return BaseStore.ready(store);
  }

  async migrate(): Promise<void> {
    await migrate(this.#db as Kysely<unknown>, 'postgres');
  }

  /**
   * Concurrent ingests would lock host and service rows in whatever order their files list them,
   * and two of them could deadlock; so, as on SQLite, one writes at a time: the next waits up to
   * `waitMs` for the writer lock, then fails with E_STORE.
   */
  protected async openIngest(meta: ScanMeta, waitMs: number): Promise<OpenedIngest> {
    const client = await this.#pool.connect();
    try {
      await client.query('BEGIN');
      // 0 would mean no limit to PostgreSQL; the smallest limit it takes is 1 ms.
      await client.query(`SET LOCAL lock_timeout = ${Math.max(1, waitMs)}`);
      try {
        await client.query(WRITER_LOCK);
      } catch (err) {
        if ((err as { code?: unknown }).code === '55P03') throw busyError(quoteToken(this.#where));
        throw err;
      }
      await client.query('SET LOCAL lock_timeout = 0');
      const { rows } = await client.query<{ id: number }>(...scanInsert(scanStart(meta)));
      const scanId = Number(rows[0]!.id);
      return { scanId, backend: new PgBackend(client, scanId), limits: LIMITS };
    } catch (err) {
      await client.query('ROLLBACK').then(
        () => client.release(),
        (e: unknown) => client.release(e instanceof Error ? e : new Error(String(e))),
      );
      throw err;
    }
  }

  protected reader(): Promise<Kysely<Database>> {
    return Promise.resolve(this.#db);
  }

  /** Ends the pool (kysely's destroy does). */
  protected async disconnect(): Promise<void> {
    await this.#db.destroy();
  }
}
