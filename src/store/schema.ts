/**
 * Tables and migrations, one set for both backends. Only two things differ by dialect: how an id
 * column is generated and which type holds JSON (jsonb on PostgreSQL, text on SQLite). Timestamps
 * are epoch milliseconds in bigint columns on both, so rows read back the same everywhere.
 */
import type { ColumnDefinitionBuilder, Generated, Kysely, Migration, MigrationProvider } from 'kysely';
import { kysely } from './kysely.js';

import { schemaIsCurrent } from './migrations.js';

const { Migrator, sql } = kysely();

export type Dialect = 'sqlite' | 'postgres';

/** Row shapes as the database returns them (bigints may arrive as strings from pg; JSON as text from SQLite). */
export interface ScansTable {
  id: Generated<number>;
  kind: string;
  source: string;
  args: unknown;
  started_at: number | string;
  ended_at: number | string | null;
  status: string;
  tool_version: string | null;
  file: string | null;
  hosts: Generated<number>;
  ports: Generated<number>;
}

export interface HostsTable {
  id: Generated<number>;
  address: string;
  family: number;
  hostnames: unknown;
  os_hint: string | null;
  first_seen: number | string;
  last_seen: number | string;
}

export interface ServicesTable {
  id: Generated<number>;
  host_id: number;
  protocol: string;
  port: number;
  state: string;
  reason: string;
  name: string | null;
  product: string | null;
  version: string | null;
  extrainfo: string | null;
  cpe: unknown;
  banner: string | null;
  tls: unknown;
  evidence: unknown;
  listener: unknown;
  service: unknown;
  source: string;
  method: string | null;
  confidence: number;
  first_seen: number | string;
  last_seen: number | string;
}

export interface ObservationsTable {
  scan_id: number;
  host_id: number;
  protocol: string;
  port: number;
  state: string;
  reason: string;
  service: unknown;
  listener: unknown;
  source: string;
  observed_at: number | string;
}

/** A scan's closed or filtered ports of one host, state and reason, as a range list (`1-3,5`). */
export interface ObservedRangesTable {
  scan_id: number;
  host_id: number;
  protocol: string;
  state: string;
  reason: string;
  source: string;
  observed_at: number | string;
  ports: string;
  port_count: number;
}

export interface ImportedFindingsTable {
  scan_id: number;
  host_id: number;
  protocol: string;
  port: number;
  plugin_id: string;
  plugin_name: string;
  severity: number;
  cves: unknown;
  cvss2: number | null;
  cvss3: number | null;
  synopsis: string | null;
}

export interface PackagesTable {
  host_id: number;
  scan_id: number;
  name: string;
  version: string;
  /** '' when the source named no architecture (a NULL would defeat the unique key). */
  arch: string;
  manager: string;
  seen_at: number | string;
}

export interface FindingsTable {
  id: Generated<number>;
  key: string;
  host_id: number;
  protocol: string;
  port: number;
  kind: string;
  ref: string | null;
  title: string;
  tier: string;
  tier_rank: number;
  score: number;
  reasons: unknown;
  details: unknown;
  status: string;
  status_reason: string | null;
  status_expires: number | string | null;
  first_seen: number | string;
  last_seen: number | string;
}

export interface FindingEventsTable {
  id: Generated<number>;
  finding_id: number;
  at: number | string;
  status: string;
  note: string | null;
}

export interface VulnsTable {
  id: string;
  source: string;
  published: number | string | null;
  last_modified: number | string | null;
  cvss: unknown;
  description: string;
  configurations: unknown;
  fixed_in: unknown;
}

export interface VulnProductsTable {
  cve_id: string;
  vendor: string;
  product: string;
}

export interface KevTable {
  cve_id: string;
  date_added: string;
  due_date: string | null;
  ransomware: number;
  name: string;
}

export interface EpssTable {
  cve_id: string;
  score: number;
  percentile: number | null;
}

export interface Database {
  scans: ScansTable;
  hosts: HostsTable;
  services: ServicesTable;
  observations: ObservationsTable;
  observed_ranges: ObservedRangesTable;
  imported_findings: ImportedFindingsTable;
  packages: PackagesTable;
  findings: FindingsTable;
  finding_events: FindingEventsTable;
  vulns: VulnsTable;
  vuln_products: VulnProductsTable;
  kev: KevTable;
  epss: EpssTable;
}

/** The two column types that differ by dialect: JSON, and a generated id. */
function dialectTypes(dialect: Dialect) {
  return {
    json: dialect === 'postgres' ? sql`jsonb` : sql`text`,
    // `integer primary key` is SQLite's rowid alias; PostgreSQL wants an identity column.
    id: (col: ColumnDefinitionBuilder): ColumnDefinitionBuilder => (dialect === 'postgres' ? col.primaryKey().generatedByDefaultAsIdentity() : col.primaryKey()),
  };
}

function initial(dialect: Dialect): Migration {
  const { json, id } = dialectTypes(dialect);
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('scans')
        .addColumn('id', 'integer', id)
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('args', json, (c) => c.notNull())
        .addColumn('started_at', 'bigint', (c) => c.notNull())
        .addColumn('ended_at', 'bigint')
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('tool_version', 'text')
        .addColumn('file', 'text')
        .addColumn('hosts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('ports', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
      await db.schema
        .createTable('hosts')
        .addColumn('id', 'integer', id)
        .addColumn('address', 'text', (c) => c.notNull().unique())
        .addColumn('family', 'integer', (c) => c.notNull())
        .addColumn('hostnames', json, (c) => c.notNull())
        .addColumn('os_hint', 'text')
        .addColumn('first_seen', 'bigint', (c) => c.notNull())
        .addColumn('last_seen', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('services')
        .addColumn('id', 'integer', id)
        .addColumn('host_id', 'integer', (c) => c.notNull().references('hosts.id').onDelete('cascade'))
        .addColumn('protocol', 'text', (c) => c.notNull())
        .addColumn('port', 'integer', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('reason', 'text', (c) => c.notNull())
        .addColumn('name', 'text')
        .addColumn('product', 'text')
        .addColumn('version', 'text')
        .addColumn('extrainfo', 'text')
        .addColumn('cpe', json)
        .addColumn('banner', 'text')
        .addColumn('tls', json)
        .addColumn('evidence', json)
        .addColumn('listener', json)
        .addColumn('service', json)
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('method', 'text')
        .addColumn('confidence', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('first_seen', 'bigint', (c) => c.notNull())
        .addColumn('last_seen', 'bigint', (c) => c.notNull())
        .addUniqueConstraint('services_host_proto_port', ['host_id', 'protocol', 'port'])
        .execute();
      // No foreign keys on the history table: a million-port scan would pay two key checks per
      // row (row-locking triggers on PostgreSQL, a third of the ingest time). Its ids are the
      // scan and hosts written in the same transaction; deleting a scan deletes its rows here.
      await db.schema
        .createTable('observations')
        .addColumn('scan_id', 'integer', (c) => c.notNull())
        .addColumn('host_id', 'integer', (c) => c.notNull())
        .addColumn('protocol', 'text', (c) => c.notNull())
        .addColumn('port', 'integer', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('reason', 'text', (c) => c.notNull())
        .addColumn('service', json)
        .addColumn('listener', json)
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('observed_at', 'bigint', (c) => c.notNull())
        .execute();
      // The rest of a scan's ports (not open, no service, never in `services`): one row per host,
      // state and reason with the port numbers as ranges, since a million of them say little
      // each and would otherwise be most of the database and of the import time.
      await db.schema
        .createTable('observed_ranges')
        .addColumn('scan_id', 'integer', (c) => c.notNull())
        .addColumn('host_id', 'integer', (c) => c.notNull())
        .addColumn('protocol', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('reason', 'text', (c) => c.notNull())
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('observed_at', 'bigint', (c) => c.notNull())
        .addColumn('ports', 'text', (c) => c.notNull())
        .addColumn('port_count', 'integer', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('imported_findings')
        .addColumn('scan_id', 'integer', (c) => c.notNull().references('scans.id').onDelete('cascade'))
        .addColumn('host_id', 'integer', (c) => c.notNull().references('hosts.id').onDelete('cascade'))
        .addColumn('protocol', 'text', (c) => c.notNull())
        .addColumn('port', 'integer', (c) => c.notNull())
        .addColumn('plugin_id', 'text', (c) => c.notNull())
        .addColumn('plugin_name', 'text', (c) => c.notNull())
        .addColumn('severity', 'integer', (c) => c.notNull())
        .addColumn('cves', json, (c) => c.notNull())
        .addColumn('cvss2', 'double precision')
        .addColumn('cvss3', 'double precision')
        .addColumn('synopsis', 'text')
        .execute();
      await db.schema
        .createTable('packages')
        .addColumn('host_id', 'integer', (c) => c.notNull().references('hosts.id').onDelete('cascade'))
        .addColumn('scan_id', 'integer', (c) => c.notNull().references('scans.id').onDelete('cascade'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('version', 'text', (c) => c.notNull())
        .addColumn('arch', 'text', (c) => c.notNull().defaultTo(''))
        .addColumn('manager', 'text', (c) => c.notNull())
        .addColumn('seen_at', 'bigint', (c) => c.notNull())
        .addUniqueConstraint('packages_host_name_arch', ['host_id', 'name', 'arch'])
        .execute();
      // The selective service filters (a port, a service name); source, state and last_seen pick
      // large fractions of the table, where a scan beats an index that every upsert must update.
      // History is read per port and per scan.
      for (const column of ['port', 'name'] as const) {
        await db.schema.createIndex(`services_${column}`).on('services').column(column).execute();
      }
      await db.schema.createIndex('observations_host_port').on('observations').columns(['host_id', 'port']).execute();
      // Observations arrive in scan order, so on PostgreSQL a BRIN index finds a scan's rows at a
      // fraction of a b-tree's insert cost; SQLite has only b-trees.
      const scanIndex = db.schema.createIndex('observations_scan').on('observations').column('scan_id');
      await (dialect === 'postgres' ? scanIndex.using('brin') : scanIndex).execute();
      await db.schema.createIndex('observed_ranges_host').on('observed_ranges').column('host_id').execute();
      await db.schema.createIndex('observed_ranges_scan').on('observed_ranges').column('scan_id').execute();
      await db.schema.createIndex('imported_findings_host').on('imported_findings').column('host_id').execute();
      await db.schema.createIndex('imported_findings_scan').on('imported_findings').column('scan_id').execute();
      await db.schema.createIndex('packages_scan').on('packages').column('scan_id').execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      for (const table of ['packages', 'imported_findings', 'observed_ranges', 'observations', 'services', 'hosts', 'scans']) {
        await db.schema.dropTable(table).ifExists().execute();
      }
    },
  };
}

/** The assessment: findings (one row per stable key, with the history of each one's status) and vulnerability data. */
function assessment(dialect: Dialect): Migration {
  const { json, id } = dialectTypes(dialect);
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('findings')
        .addColumn('id', 'integer', id)
        .addColumn('key', 'text', (c) => c.notNull().unique())
        .addColumn('host_id', 'integer', (c) => c.notNull().references('hosts.id').onDelete('cascade'))
        .addColumn('protocol', 'text', (c) => c.notNull())
        .addColumn('port', 'integer', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('ref', 'text')
        .addColumn('title', 'text', (c) => c.notNull())
        .addColumn('tier', 'text', (c) => c.notNull())
        .addColumn('tier_rank', 'integer', (c) => c.notNull())
        .addColumn('score', 'integer', (c) => c.notNull())
        .addColumn('reasons', json, (c) => c.notNull())
        .addColumn('details', json, (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('status_reason', 'text')
        .addColumn('status_expires', 'bigint')
        .addColumn('first_seen', 'bigint', (c) => c.notNull())
        .addColumn('last_seen', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('finding_events')
        .addColumn('id', 'integer', id)
        .addColumn('finding_id', 'integer', (c) => c.notNull().references('findings.id').onDelete('cascade'))
        .addColumn('at', 'bigint', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('note', 'text')
        .execute();
      // Vulnerability data (`portolan vulndb update`): CVEs with their NVD configurations, the
      // vendor:product pairs their vulnerable CPEs name (to find candidates fast), KEV and EPSS.
      await db.schema
        .createTable('vulns')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('published', 'bigint')
        .addColumn('last_modified', 'bigint')
        .addColumn('cvss', json)
        .addColumn('description', 'text', (c) => c.notNull())
        .addColumn('configurations', json, (c) => c.notNull())
        .addColumn('fixed_in', json)
        .execute();
      await db.schema
        .createTable('vuln_products')
        .addColumn('cve_id', 'text', (c) => c.notNull().references('vulns.id').onDelete('cascade'))
        .addColumn('vendor', 'text', (c) => c.notNull())
        .addColumn('product', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createTable('kev').addColumn('cve_id', 'text', (c) => c.primaryKey()).addColumn('date_added', 'text', (c) => c.notNull()).addColumn('due_date', 'text').addColumn('ransomware', 'integer', (c) => c.notNull()).addColumn('name', 'text', (c) => c.notNull()).execute();
      await db.schema.createTable('epss').addColumn('cve_id', 'text', (c) => c.primaryKey()).addColumn('score', 'double precision', (c) => c.notNull()).addColumn('percentile', 'double precision').execute();
      await db.schema.createIndex('vuln_products_name').on('vuln_products').columns(['product', 'vendor']).execute();
      await db.schema.createIndex('vuln_products_cve').on('vuln_products').column('cve_id').execute();
      await db.schema.createIndex('findings_host').on('findings').column('host_id').execute();
      await db.schema.createIndex('finding_events_finding').on('finding_events').column('finding_id').execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      for (const table of ['epss', 'kev', 'vuln_products', 'vulns', 'finding_events', 'findings']) await db.schema.dropTable(table).ifExists().execute();
    },
  };
}

/** Names of migrations already applied; empty for a fresh database. */
async function appliedMigrations(db: Kysely<unknown>): Promise<string[]> {
  try {
    const { rows } = await sql<{ name: string }>`select name from kysely_migration`.execute(db);
    return rows.map((r) => r.name);
  } catch {
    // No migration table yet: a fresh database (a real failure shows again when migrating).
    return [];
  }
}

/** Apply every pending migration; throws NewerSchemaError for a database from a newer portolan. */
export async function migrate(db: Kysely<unknown>, dialect: Dialect): Promise<void> {
  if (schemaIsCurrent(await appliedMigrations(db))) return;
  const provider: MigrationProvider = {
    getMigrations: () => Promise.resolve({ '0001_initial': initial(dialect), '0002_assessment': assessment(dialect) }),
  };
  // kysely looks for its own tables in every schema; name ours, or a kysely_migration elsewhere
  // on the server (another store's schema, public) would be taken for this store's.
  let migrationTableSchema: string | undefined;
  if (dialect === 'postgres') {
    const { rows } = await sql<{ schema: string | null }>`select current_schema() as schema`.execute(db);
    migrationTableSchema = rows[0]?.schema ?? undefined;
    if (migrationTableSchema === undefined) throw new Error('no schema to create tables in (check search_path)');
  }
  const { error } = await new Migrator({ db, provider, ...(migrationTableSchema !== undefined ? { migrationTableSchema } : {}) }).migrateToLatest();
  if (error !== undefined) throw error instanceof Error ? error : new Error(`migration failed: ${JSON.stringify(error)}`);
}
