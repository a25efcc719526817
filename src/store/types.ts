/**
 * The store: every scan, import and listener audit lands here, in one model. Two backends behind
 * this interface (SQLite by default, PostgreSQL with a postgres:// URL), one set of migrations.
 */
import type { Finding, FindingDraft, FindingStatus } from '../core/finding.js';
import type { FindingEvent, FindingQuery, FindingSync } from './findings.js';
import type { EpssRecord, KevRecord, VulnCandidate, VulnCounts, VulnRecord } from './vulns.js';
import type { ImportedFinding, InstalledPackage, Observation, Protocol, Service, Source } from '../core/model.js';
import type { PortState } from '../core/status.js';

/** What kind of run produced a scan record. */
export type ScanKind = 'scan' | 'import' | 'listeners';

export type ScanStatus = 'running' | 'done' | 'failed' | 'interrupted';

export interface ScanMeta {
  kind: ScanKind;
  /** The tool whose results these are (portolan for our own scans, nmap/masscan/… for imports). */
  source: Source;
  /** The command line that produced the run (ours, or the foreign tool's when its file says). */
  args: string[];
  /** Epoch ms. */
  startedAt: number;
  toolVersion?: string;
  /** For imports: the file read. */
  file?: string;
}

/**
 * One write transaction: observations are added as they stream in; `commit` makes all of them
 * visible at once, `rollback` (or a crash) leaves no row behind.
 */
export interface Ingest {
  /** The scan record's id; the row exists (inside the open transaction) from `begin` on. */
  readonly scanId: number;
  /** Buffer one host's facts; written in batches. Await each call: it is where back-pressure happens. */
  add(observation: Observation): Promise<void>;
  /**
   * Write what is buffered, close the scan record and commit. `args`, `toolVersion` and
   * `startedAt` replace what `begin` was given, for imports that learn them from the file's header.
   */
  commit(end: CommitEnd): Promise<ScanRow>;
  /** Undo everything, the scan record included. Safe after a failed `add`, and idempotent. */
  rollback(): Promise<void>;
}

/** How a run ended, as `Ingest.commit` records it. */
export interface CommitEnd {
  endedAt: number;
  status: Exclude<ScanStatus, 'running'>;
  args?: string[];
  toolVersion?: string;
  startedAt?: number;
}

export interface ScanRow {
  id: number;
  kind: ScanKind;
  source: Source;
  args: string[];
  startedAt: number;
  endedAt?: number;
  status: ScanStatus;
  toolVersion?: string;
  file?: string;
  hosts: number;
  ports: number;
}

export interface HostRow {
  id: number;
  address: string;
  family: 4 | 6;
  hostnames: string[];
  osHint?: string;
  firstSeen: number;
  lastSeen: number;
  /** Ports currently known open on this host. */
  openPorts: number;
}

/** A service as the store knows it now: merged over every source and scan. */
export interface ServiceRow {
  hostId: number;
  address: string;
  protocol: Protocol;
  port: number;
  state: PortState;
  reason: string;
  name?: string;
  product?: string;
  version?: string;
  extrainfo?: string;
  cpe: string[];
  banner?: string;
  /** TLS facts, evidence, listener scope: JSON as the model has them. */
  tls?: unknown;
  evidence?: unknown;
  listener?: unknown;
  /** The whole service as last accepted by the merge (distro, package revision, detector fields, …). */
  service?: Service;
  source: Source;
  method?: 'table' | 'probed';
  confidence: number;
  firstSeen: number;
  lastSeen: number;
}

export interface ServiceQuery {
  port?: number;
  /** nmap service name. */
  service?: string;
  source?: Source;
  state?: PortState;
  /** Epoch ms: only services seen at or after this. */
  since?: number;
  address?: string;
  limit?: number;
}

export interface BeginOptions {
  /** How long to wait for another run's write transaction to end; 5000 by default. */
  waitMs?: number;
}

export interface HostQuery {
  address?: string;
  /** Epoch ms: only hosts seen at or after this. */
  since?: number;
  limit?: number;
}

/** A finding another scanner reported (Nessus plugin results), as imported. */
export interface ImportedFindingRow extends Omit<ImportedFinding, 'cvss2' | 'cvss3' | 'synopsis'> {
  scanId: number;
  hostId: number;
  address: string;
  cvss2?: number;
  cvss3?: number;
  synopsis?: string;
}

export interface ImportedFindingQuery {
  address?: string;
  port?: number;
  /** Only findings of at least this severity (0 info … 4 critical). */
  minSeverity?: number;
  /** Only findings that name this CVE (exact, case-insensitive). */
  cve?: string;
  scanId?: number;
  limit?: number;
}

/** An installed package as last reported for a host (one row per host, name and architecture). */
export interface PackageRow extends Omit<InstalledPackage, 'arch'> {
  hostId: number;
  address: string;
  arch?: string;
  /** The scan that last reported it, and when. */
  scanId: number;
  seenAt: number;
}

/** One port as one scan saw it: from its observation row, or expanded from a port range. */
export interface ObservedPort {
  hostId: number;
  address: string;
  protocol: Protocol;
  port: number;
  state: PortState;
  reason: string;
  source: Source;
  observedAt: number;
  /** The service as that scan reported it (open ports and probed services only). */
  service?: Service;
  listener?: unknown;
}

export interface PackageQuery {
  address?: string;
  name?: string;
  limit?: number;
}

export interface Store {
  readonly kind: 'sqlite' | 'postgres';
  /** Apply pending migrations (idempotent). */
  migrate(): Promise<void>;
  /**
   * Open a write transaction. One writer at a time per store: a second `begin` waits for the
   * first ingest to end, up to `waitMs` (5 s by default) when it is another connection's, then
   * fails with E_STORE.
   */
  begin(meta: ScanMeta, options?: BeginOptions): Promise<Ingest>;
  scans(limit?: number): Promise<ScanRow[]>;
  hosts(query?: HostQuery): Promise<HostRow[]>;
  services(query?: ServiceQuery): Promise<ServiceRow[]>;
  /** Findings imported from another scanner (Nessus plugin results), most severe first. */
  importedFindings(query?: ImportedFindingQuery): Promise<ImportedFindingRow[]>;
  packages(query?: PackageQuery): Promise<PackageRow[]>;
  /** Every port one scan recorded (closed and filtered ones included), by host, protocol and port. */
  observedPorts(scanId: number, query?: { address?: string }): Promise<ObservedPort[]>;
  /** `address/protocol/port` → newest time a scan saw it filtered, on hosts with an open service. */
  filteredSightings(): Promise<Map<string, number>>;
  /** `address/protocol/port` of every port some scan older than `scanId` saw open. */
  openBefore(scanId: number): Promise<Set<string>>;
  /**
   * Store an assessment: update or open each draft's finding, reopen fixed ones that came back,
   * and fix open ones on `covered` ports (`address/protocol/port`) that no draft names any more.
   */
  syncFindings(drafts: readonly FindingDraft[], covered: ReadonlySet<string>, at: number): Promise<FindingSync>;
  /** Findings, most urgent first. */
  findings(query?: FindingQuery): Promise<Finding[]>;
  /** Accept a risk, mark a false positive or reopen; false for an unknown key. */
  setFindingStatus(key: string, status: Exclude<FindingStatus, 'fixed'>, at: number, reason?: string, expires?: number): Promise<boolean>;
  findingEvents(key: string): Promise<FindingEvent[]>;
  /** Add or replace CVEs. */
  importVulns(records: readonly VulnRecord[]): Promise<number>;
  /** Replace the KEV catalog, or the EPSS scores, with a new snapshot. */
  importKev(records: readonly KevRecord[]): Promise<number>;
  importEpss(rows: AsyncIterable<EpssRecord> | Iterable<EpssRecord>): Promise<number>;
  /** CVEs whose vulnerable CPEs name one of these vendor:product pairs, with KEV and EPSS. */
  vulnCandidates(products: readonly { vendor: string; product: string }[]): Promise<VulnCandidate[]>;
  vulnCounts(): Promise<VulnCounts>;
  close(): Promise<void>;
}
