/**
 * Store test helpers: the same suite runs on SQLite (a temp file) and PostgreSQL (127.0.0.1:5432,
 * database `test`, one throw-away schema per store, dropped at the end). PostgreSQL is skipped
 * only when it cannot be reached, and the reason is printed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import type { Observation, PortResult, Service, Source } from '../../src/core/model.js';

export type Backend = 'sqlite' | 'postgres';

export const PG_URL = process.env.PORTOLAN_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';

async function probePg(): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 3000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('select 1');
    return undefined;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Why PostgreSQL tests are skipped, or undefined when they run. */
export const pgUnavailable = await probePg();
if (pgUnavailable !== undefined) console.warn(`store tests: PostgreSQL at ${PG_URL} not reachable, skipping its half (${pgUnavailable})`);

export const BACKENDS: Backend[] = pgUnavailable === undefined ? ['sqlite', 'postgres'] : ['sqlite'];

/** Fresh store locations for one test file; `cleanup` removes every file and schema it handed out. */
export class Locations {
  readonly #dir = mkdtempSync(join(tmpdir(), 'portolan-store-test-'));
  readonly #schemas: string[] = [];
  #n = 0;

  next(kind: Backend): string {
    this.#n++;
    if (kind === 'sqlite') return join(this.#dir, `s${this.#n}`, 'portolan.db');
    const schema = `ptl_${process.pid}_${Math.random().toString(36).slice(2, 8)}_${this.#n}`;
    this.#schemas.push(schema);
    return `${PG_URL}?schema=${schema}`;
  }

  async cleanup(): Promise<void> {
    rmSync(this.#dir, { recursive: true, force: true });
    if (this.#schemas.length === 0) return;
    const client = new pg.Client({ connectionString: PG_URL });
    await client.connect();
    // A test that failed mid-ingest may leave a transaction holding locks: fail loudly, never hang.
    await client.query("SET lock_timeout = '20s'");
    for (const s of this.#schemas) await client.query(`DROP SCHEMA IF EXISTS "${s}" CASCADE`);
    await client.end();
  }
}

/** The rows of `sql` (unqualified table names), over a connection of its own (so it sees only committed data). */
export async function queryRows<T = Record<string, unknown>>(location: string, sql: string): Promise<T[]> {
  if (!location.startsWith('postgres')) {
    const db = new BetterSqlite3(location, { readonly: true });
    try {
      return db.prepare(sql).all() as T[];
    } finally {
      db.close();
    }
  }
  const url = new URL(location);
  const schema = url.searchParams.get('schema') ?? 'public';
  url.searchParams.delete('schema');
  const client = new pg.Client({ connectionString: url.toString(), options: `-c search_path=${schema}` });
  await client.connect();
  try {
    return (await client.query(sql)).rows as T[];
  } finally {
    await client.end();
  }
}

/** Rows in `table`. */
export async function countRows(location: string, table: string): Promise<number> {
  const [row] = await queryRows<{ n: number | string }>(location, `select count(*) as n from ${table}`);
  return Number(row?.n);
}

/** Ports observed over all scans: observation rows plus the ports of range rows. */
export async function countObserved(location: string): Promise<number> {
  const [row] = await queryRows<{ n: number | string }>(location, 'select (select count(*) from observations) + coalesce((select sum(port_count) from observed_ranges), 0) as n');
  return Number(row?.n);
}

/** A port, open with `service` or in `state` without one. */
export function port(n: number, state: PortResult['state'] = 'open', service?: Partial<Service>, extra: Partial<PortResult> = {}): PortResult {
  const reason = state === 'open' ? 'syn-ack' : state === 'closed' ? 'conn-refused' : 'no-response';
  const p: PortResult = { protocol: 'tcp', port: n, state, reason, tries: 1, ...extra };
  if (service !== undefined) p.service = { name: 'unknown', method: 'table', confidence: 3, cpe: [], ...service };
  return p;
}

/** One host as `source` saw it at time `at`. */
export function obs(address: string, ports: PortResult[], at = 1_700_000_000_000, source: Source = 'portolan', extra: Partial<Observation> = {}): Observation {
  return {
    source,
    host: { address, family: address.includes(':') ? 6 : 4, hostnames: [], status: 'up', statusReason: 'syn-ack', ports, startedAt: at - 500, endedAt: at },
    ...extra,
  };
}
