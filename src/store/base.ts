/**
 * What both stores share: the ingests still open (rolled back when the store closes), turning a
 * begun transaction into an `Ingest`, and the read queries over a kysely connection. A backend
 * says how it opens a write transaction, where it reads, and how it closes.
 */
import type { Kysely } from 'kysely';
import type { Finding, FindingDraft, FindingStatus } from '../core/finding.js';
import type { FindingEvent, FindingQuery, FindingSync } from './findings.js';
import type { EpssRecord, KevRecord, VulnCandidate, VulnCounts, VulnRecord } from './vulns.js';
import { UsageError } from '../core/errors.js';
import type { Database } from './schema.js';
import type { BeginOptions, ObservedPort, ImportedFindingQuery, ImportedFindingRow, HostQuery, HostRow, Ingest, PackageQuery, PackageRow, ScanMeta, ScanRow, ServiceQuery, ServiceRow, Store } from './types.js';
import { BufferedIngest, type BatchLimits, type IngestBackend } from './ingest.js';

/** The read queries, loaded with kysely on first use: a scan that only writes never loads either. */
const queries = () => import('./queries.js');
const findingQueries = () => import('./findings.js');
const vulnQueries = () => import('./vulns.js');

/** A write transaction just begun, its scan row inserted. */
export interface OpenedIngest {
  scanId: number;
  backend: IngestBackend;
  limits: BatchLimits;
}

/** The one message both backends give when another run holds the store's writer for too long. */
export function busyError(where: string): UsageError {
  return new UsageError('E_STORE', `the store ${where} is busy: another portolan run is writing to it; wait for it to finish or use another --db`);
}

/** How long `begin` waits for another connection's write to end, unless told otherwise. */
export const DEFAULT_WAIT_MS = 5000;

export abstract class BaseStore implements Store {
  abstract readonly kind: 'sqlite' | 'postgres';
  readonly #open = new Set<BufferedIngest>();

  abstract migrate(): Promise<void>;
  /** Begin a transaction and insert the scan row; on failure, leave nothing open and throw. */
  protected abstract openIngest(meta: ScanMeta, waitMs: number): Promise<OpenedIngest>;
  /** The connection reads go through (kysely, loaded only once something is read). */
  protected abstract reader(): Promise<Kysely<Database>>;
  /** Close every connection (no ingest is open any more). */
  protected abstract disconnect(): Promise<void>;

  /** Migrate a store just connected; close it again if that fails. */
  protected static async ready<S extends BaseStore>(store: S): Promise<S> {
    try {
      await store.migrate();
      return store;
    } catch (err) {
      await store.close();
      throw err;
    }
  }

  async begin(meta: ScanMeta, options: BeginOptions = {}): Promise<Ingest> {
    const wait = options.waitMs;
    const { scanId, backend, limits } = await this.openIngest(meta, wait !== undefined && Number.isFinite(wait) && wait >= 0 ? Math.trunc(wait) : DEFAULT_WAIT_MS);
    const ingest: BufferedIngest = new BufferedIngest(scanId, backend, limits, () => this.#open.delete(ingest));
    this.#open.add(ingest);
    return ingest;
  }

  async scans(limit?: number): Promise<ScanRow[]> {
    return (await queries()).listScans(await this.reader(), limit);
  }

  async hosts(query?: HostQuery): Promise<HostRow[]> {
    return (await queries()).listHosts(await this.reader(), query);
  }

  async services(query?: ServiceQuery): Promise<ServiceRow[]> {
    return (await queries()).listServices(await this.reader(), query);
  }

  async importedFindings(query?: ImportedFindingQuery): Promise<ImportedFindingRow[]> {
    return (await queries()).listImportedFindings(await this.reader(), query);
  }

  async packages(query?: PackageQuery): Promise<PackageRow[]> {
    return (await queries()).listPackages(await this.reader(), query);
  }

  async observedPorts(scanId: number, query?: { address?: string }): Promise<ObservedPort[]> {
    return (await queries()).listObservedPorts(await this.reader(), scanId, query);
  }

  async filteredSightings(): Promise<Map<string, number>> {
    return (await queries()).listFilteredSightings(await this.reader());
  }

  async openBefore(scanId: number): Promise<Set<string>> {
    return (await queries()).listOpenBefore(await this.reader(), scanId);
  }

  async syncFindings(drafts: readonly FindingDraft[], covered: ReadonlySet<string>, at: number): Promise<FindingSync> {
    return (await findingQueries()).syncFindings(await this.reader(), drafts, covered, at);
  }

  async findings(query?: FindingQuery): Promise<Finding[]> {
    return (await findingQueries()).listFindings(await this.reader(), query);
  }

  async setFindingStatus(key: string, status: Exclude<FindingStatus, 'fixed'>, at: number, reason?: string, expires?: number): Promise<boolean> {
    return (await findingQueries()).setFindingStatus(await this.reader(), key, status, at, reason, expires);
  }

  async findingEvents(key: string): Promise<FindingEvent[]> {
    return (await findingQueries()).listFindingEvents(await this.reader(), key);
  }

  async importVulns(records: readonly VulnRecord[]): Promise<number> {
    return (await vulnQueries()).importVulns(await this.reader(), records);
  }

  async importKev(records: readonly KevRecord[]): Promise<number> {
    return (await vulnQueries()).importKev(await this.reader(), records);
  }

  async importEpss(rows: AsyncIterable<EpssRecord> | Iterable<EpssRecord>): Promise<number> {
    return (await vulnQueries()).importEpss(await this.reader(), rows);
  }

  async vulnCandidates(products: readonly { vendor: string; product: string }[]): Promise<VulnCandidate[]> {
    return (await vulnQueries()).vulnCandidates(await this.reader(), products);
  }

  async vulnCounts(): Promise<VulnCounts> {
    return (await vulnQueries()).vulnCounts(await this.reader());
  }

  /** Roll back any ingest still open, then close the connections. */
  async close(): Promise<void> {
    for (const ingest of [...this.#open]) await ingest.rollback().catch(() => undefined);
    await this.disconnect();
  }
}
