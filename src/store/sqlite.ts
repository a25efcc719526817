/**
 * The SQLite store (the default). Writes go straight through better-sqlite3: one `BEGIN
 * IMMEDIATE` transaction per ingest and prepared multi-row statements reused by every batch.
 * kysely runs the migrations (only when some are pending) and the reads, through a second
 * connection: under WAL a reader sees the last commit while an ingest is open, and never waits
 * for the writer. A scan that finds the schema current therefore never loads kysely at all.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import type { Kysely, Selectable } from 'kysely';
import { kysely } from './kysely.js';
import { quoteToken } from '../core/errors.js';
import type { Database, ScansTable } from './schema.js';
import { schemaIsCurrent } from './migrations.js';
import type { CommitEnd, ScanMeta, ScanRow } from './types.js';
import { BaseStore, DEFAULT_WAIT_MS, busyError, type OpenedIngest } from './base.js';
import { ROW_RANGE, serviceKey, type ImportedFindingInput, type HostInput, type IngestBackend, type PackageInput, type RangeInput } from './ingest.js';
import { OBSERVATION_COLUMNS, RANGE_COLUMNS, SERVICE_COLUMNS, SERVICE_CONFLICT } from './merge.js';
import { scanEnd, scanStart, toScanRow, type PortBatch } from './rows.js';

/** Rows per multi-row statement: 500 × 20 services columns stays well under SQLite's 32 766 variables. */
const CHUNK = 500;
const LIMITS = { ports: 5000, hosts: 1000 };

type Stmt = BetterSqlite3.Statement<unknown[], unknown>;

function values(columns: number, rows: number): string {
  const one = `(${new Array<string>(columns).fill('?').join(',')})`;
  return new Array<string>(rows).fill(one).join(',');
}

const HOST_UPSERT = `INSERT INTO hosts (address, family, hostnames, os_hint, first_seen, last_seen) VALUES (?,?,?,?,?,?)
  ON CONFLICT (address) DO UPDATE SET
  family = excluded.family,
  hostnames = CASE WHEN excluded.hostnames = '[]' THEN hosts.hostnames ELSE (SELECT json_group_array(value) FROM (
    SELECT value, min(k) FROM (SELECT value, key AS k FROM json_each(hosts.hostnames)
      UNION ALL SELECT value, 1000000 + key FROM json_each(excluded.hostnames)) GROUP BY value ORDER BY 2 LIMIT 64)) END,
  os_hint = coalesce(excluded.os_hint, hosts.os_hint),
  first_seen = min(hosts.first_seen, excluded.first_seen),
  last_seen = max(hosts.last_seen, excluded.last_seen)
  RETURNING id`;

/** Statements prepared once per connection and reused by every ingest. */
class Statements {
  readonly host: Stmt;
  readonly obsChunk: Stmt;
  readonly obsOne: Stmt;
  readonly svcChunk: Stmt;
  readonly svcOne: Stmt;
  readonly finding: Stmt;
  readonly range: Stmt;
  readonly pkg: Stmt;
  readonly keys: Stmt;
  readonly begin: Stmt;
  readonly commit: Stmt;
  readonly rollback: Stmt;
  readonly scan: Stmt;

  constructor(db: BetterSqlite3.Database) {
    this.begin = db.prepare('BEGIN IMMEDIATE');
    this.commit = db.prepare('COMMIT');
    this.rollback = db.prepare('ROLLBACK');
    const cols = Object.keys(scanStart({ kind: 'scan', source: 'portolan', args: [], startedAt: 0 }));
    this.scan = db.prepare(`INSERT INTO scans (${cols.join(', ')}) VALUES (${cols.map((c) => `@${c}`).join(', ')}) RETURNING id`);
    const obs = `INSERT INTO observations (${OBSERVATION_COLUMNS.join(',')}) VALUES `;
    const svc = `INSERT INTO services (${SERVICE_COLUMNS.join(',')}) VALUES `;
    this.host = db.prepare(HOST_UPSERT);
    this.keys = db.prepare('SELECT protocol, port FROM services WHERE host_id = ?').raw();
    this.obsChunk = db.prepare(obs + values(OBSERVATION_COLUMNS.length, CHUNK));
    this.obsOne = db.prepare(obs + values(OBSERVATION_COLUMNS.length, 1));
    this.svcChunk = db.prepare(`${svc}${values(SERVICE_COLUMNS.length, CHUNK)} ${SERVICE_CONFLICT}`);
    this.svcOne = db.prepare(`${svc}${values(SERVICE_COLUMNS.length, 1)} ${SERVICE_CONFLICT}`);
    this.range = db.prepare(`INSERT INTO observed_ranges (${RANGE_COLUMNS.join(', ')}) VALUES (${RANGE_COLUMNS.map(() => '?').join(', ')})`);
    this.finding = db.prepare(
      'INSERT INTO imported_findings (scan_id, host_id, protocol, port, plugin_id, plugin_name, severity, cves, cvss2, cvss3, synopsis) VALUES (?,?,?,?,?,?,?,?,?,?,?)',
    );
    this.pkg = db.prepare(`INSERT INTO packages (host_id, scan_id, name, version, arch, manager, seen_at) VALUES (?,?,?,?,?,?,?)
      ON CONFLICT (host_id, name, arch) DO UPDATE SET scan_id = excluded.scan_id, version = excluded.version, manager = excluded.manager, seen_at = excluded.seen_at`);
  }
}

class SqliteBackend implements IngestBackend {
  readonly #obs: unknown[] = new Array<unknown>(OBSERVATION_COLUMNS.length * CHUNK);
  readonly #svc: unknown[] = new Array<unknown>(SERVICE_COLUMNS.length * CHUNK);

  #done = false;

  /** `onEnd` runs once the transaction is committed or rolled back: the connection is free again. */
  constructor(
    private readonly db: BetterSqlite3.Database,
    private readonly stmts: Statements,
    private readonly scanId: number,
    private readonly onEnd: () => void,
  ) {}

  upsertHosts(hosts: HostInput[]): Promise<number[]> {
    const ids = hosts.map((h) => {
      const row = this.stmts.host.get(h.address, h.family, JSON.stringify(h.hostnames), h.osHint, h.firstSeen, h.lastSeen) as { id: number };
      return row.id;
    });
    return Promise.resolve(ids);
  }

  serviceKeys(hostIds: number[]): Promise<Set<number>> {
    const keys = new Set<number>();
    for (const id of hostIds) {
      for (const [protocol, port] of this.stmts.keys.all(id) as [string, number][]) keys.add(serviceKey(id, protocol, port));
    }
    return Promise.resolve(keys);
  }

  writePorts(b: PortBatch, hostIds: number[], rows: Uint8Array): Promise<void> {
    const obs = this.#obs;
    const no = OBSERVATION_COLUMNS.length;
    let k = 0;
    for (let i = 0; i < b.length; i++) {
      if (rows[i] === ROW_RANGE) continue;
      let o = k * no;
      obs[o++] = this.scanId;
      obs[o++] = hostIds[b.host[i]!];
      obs[o++] = b.protocol[i];
      obs[o++] = b.port[i];
      obs[o++] = b.state[i];
      obs[o++] = b.reason[i];
      obs[o++] = b.service[i]?.service ?? null;
      obs[o++] = b.listener[i];
      obs[o++] = b.source[i];
      obs[o++] = b.at[i];
      if (++k === CHUNK) {
        this.stmts.obsChunk.run(obs);
        k = 0;
      }
    }
    for (let r = 0; r < k; r++) this.stmts.obsOne.run(obs.slice(r * no, (r + 1) * no));
    this.#writeServices(b, hostIds, rows);
    return Promise.resolve();
  }

  #writeServices(b: PortBatch, hostIds: number[], rows: Uint8Array): void {
    const svc = this.#svc;
    const ns = SERVICE_COLUMNS.length;
    let k = 0;
    for (let i = 0; i < b.length; i++) {
      if (rows[i] === ROW_RANGE) continue;
      const s = b.service[i];
      let v = k * ns;
      svc[v++] = hostIds[b.host[i]!];
      svc[v++] = b.protocol[i];
      svc[v++] = b.port[i];
      svc[v++] = b.state[i];
      svc[v++] = b.reason[i];
      svc[v++] = s?.name ?? null;
      svc[v++] = s?.product ?? null;
      svc[v++] = s?.version ?? null;
      svc[v++] = s?.extrainfo ?? null;
      svc[v++] = s?.cpe ?? null;
      svc[v++] = s?.banner ?? null;
      svc[v++] = s?.tls ?? null;
      svc[v++] = s?.evidence ?? null;
      svc[v++] = b.listener[i];
      svc[v++] = s?.service ?? null;
      svc[v++] = b.source[i];
      svc[v++] = s?.method ?? null;
      svc[v++] = s?.confidence ?? 0;
      svc[v++] = b.at[i];
      svc[v++] = b.at[i];
      if (++k === CHUNK) {
        this.stmts.svcChunk.run(svc);
        k = 0;
      }
    }
    for (let r = 0; r < k; r++) this.stmts.svcOne.run(svc.slice(r * ns, (r + 1) * ns));
  }

  writeRanges(ranges: RangeInput[], hostIds: number[]): Promise<void> {
    for (const r of ranges) this.stmts.range.run(this.scanId, hostIds[r.host], r.protocol, r.state, r.reason, r.source, r.at, r.ports, r.count);
    return Promise.resolve();
  }

  writeImportedFindings(rows: ImportedFindingInput[], hostIds: number[]): Promise<void> {
    for (const f of rows) {
      this.stmts.finding.run(this.scanId, hostIds[f.host], f.protocol, f.port, f.pluginId, f.pluginName, f.severity, f.cves, f.cvss2, f.cvss3, f.synopsis);
    }
    return Promise.resolve();
  }

  writePackages(rows: PackageInput[], hostIds: number[]): Promise<void> {
    for (const p of rows) this.stmts.pkg.run(hostIds[p.host], this.scanId, p.name, p.version, p.arch, p.manager, p.at);
    return Promise.resolve();
  }

  finish(end: CommitEnd, counts: { hosts: number; ports: number }): Promise<ScanRow> {
    try {
      const values = scanEnd(end, counts);
      const cols = Object.keys(values);
      const row = this.db.prepare(`UPDATE scans SET ${cols.map((c) => `${c} = @${c}`).join(', ')} WHERE id = @id RETURNING *`).get({ ...values, id: this.scanId }) as Selectable<ScansTable> | undefined;
      if (row === undefined) throw new Error(`store: scan ${this.scanId} vanished before its commit`);
      this.stmts.commit.run();
      this.#end();
      return Promise.resolve(toScanRow(row));
    } catch (err) {
      this.#rollback();
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }

  abort(): Promise<void> {
    this.#rollback();
    return Promise.resolve();
  }

  #rollback(): void {
    if (this.#done) return;
    try {
      // SQLite may have rolled back already (some errors end the transaction themselves).
      if (this.db.inTransaction) this.stmts.rollback.run();
    } finally {
      this.#end();
    }
  }

  #end(): void {
    if (this.#done) return;
    this.#done = true;
    this.onEnd();
  }
}

/**
 * `mkdir -p` with mode 0700, one level at a time: Node's recursive mkdir spins forever on some
 * paths (under /proc), and a store location is user input.
 */
function makeParents(dir: string): void {
  const missing: string[] = [];
  let at = resolve(dir);
  while (!existsSync(at)) {
    missing.push(at);
    const up = dirname(at);
    if (up === at) break;
    at = up;
  }
  for (const d of missing.reverse()) mkdirSync(d, { mode: 0o700 });
}

function connect(path: string): BetterSqlite3.Database {
  const db = new BetterSqlite3(path, { timeout: DEFAULT_WAIT_MS });
  try {
    // The first statement reads the header: a file that is not a database fails here, not later.
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    db.pragma(`busy_timeout = ${DEFAULT_WAIT_MS}`);
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}

export class SqliteStore extends BaseStore {
  readonly kind = 'sqlite' as const;
  readonly #path: string;
  readonly #raw: BetterSqlite3.Database;
  #read: Kysely<Database> | undefined;
  #stmts: Statements | undefined;
  /** Settles when the connection's current ingest ends; the next waits for it. */
  #writerFree: Promise<void> = Promise.resolve();

  private constructor(path: string, raw: BetterSqlite3.Database) {
    super();
    this.#path = path;
    this.#raw = raw;
  }

  /** Open (creating the file and its folder, 0700) and migrate. Throws the driver's error; index.ts words it. */
  static async open(path: string): Promise<SqliteStore> {
    if (path !== ':memory:') makeParents(dirname(path));
    return BaseStore.ready(new SqliteStore(path, connect(path)));
  }

  async migrate(): Promise<void> {
    let applied: string[] = [];
    try {
      applied = this.#raw.prepare('SELECT name FROM kysely_migration').pluck().all() as string[];
    } catch {
      // No migration table: a fresh database.
    }
    if (schemaIsCurrent(applied)) return;
    const { migrate } = await import('./schema.js');
    await migrate(this.#kyselyOn(this.#raw) as Kysely<unknown>, 'sqlite');
  }

  /** A kysely instance over `db`; it is never destroyed, since that would close `db`. */
  #kyselyOn(db: BetterSqlite3.Database): Kysely<Database> {
    const { Kysely, SqliteDialect } = kysely();
    return new Kysely<Database>({ dialect: new SqliteDialect({ database: db }) });
  }

  /**
   * SQLite has one writer: a second `begin` on this store waits until the first ingest ends, and
   * one on another connection waits up to `waitMs`, then fails with E_STORE.
   */
  protected async openIngest(meta: ScanMeta, waitMs: number): Promise<OpenedIngest> {
    const previous = this.#writerFree;
    let free!: () => void;
    this.#writerFree = new Promise<void>((resolve) => (free = resolve));
    await previous;
    try {
      this.#stmts ??= new Statements(this.#raw);
      const stmts = this.#stmts;
      await this.#beginImmediate(stmts, waitMs);
      try {
        const { id } = stmts.scan.get(scanStart(meta)) as { id: number };
        return { scanId: Number(id), backend: new SqliteBackend(this.#raw, stmts, Number(id), free), limits: LIMITS };
      } catch (err) {
        stmts.rollback.run();
        throw err;
      }
    } catch (err) {
      free();
      if ((err as { code?: unknown }).code === 'SQLITE_BUSY') throw busyError(quoteToken(this.#path));
      throw err;
    }
  }

  /**
   * `BEGIN IMMEDIATE`, retried while another connection writes, until `waitMs` has passed. The
   * wait is asynchronous (SQLite's own busy handler would block the event loop, Ctrl-C included).
   */
  async #beginImmediate(stmts: Statements, waitMs: number): Promise<void> {
    const deadline = Date.now() + waitMs;
    this.#raw.pragma('busy_timeout = 0');
    try {
      for (let pause = 10; ; pause = Math.min(pause * 2, 200)) {
        try {
          stmts.begin.run();
          return;
        } catch (err) {
          const left = deadline - Date.now();
          if ((err as { code?: unknown }).code !== 'SQLITE_BUSY' || left <= 0) throw err;
          await new Promise((r) => setTimeout(r, Math.min(pause, left)));
        }
      }
    } finally {
      this.#raw.pragma(`busy_timeout = ${DEFAULT_WAIT_MS}`);
    }
  }

  /** The reading connection, opened on first use (after migrations, so it never sees a half-made schema). */
  protected reader(): Promise<Kysely<Database>> {
    this.#read ??= this.#kyselyOn(this.#path === ':memory:' ? this.#raw : connect(this.#path));
    return Promise.resolve(this.#read);
  }

  protected async disconnect(): Promise<void> {
    if (this.#read !== undefined && this.#path !== ':memory:') await this.#read.destroy();
    this.#read = undefined;
    this.#raw.close();
  }
}
