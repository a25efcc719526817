/**
 * Turning observations into column values and database rows back into the row types. Everything
 * here treats its input as hostile: strings are capped and made storable on both backends
 * (PostgreSQL rejects NUL and lone surrogates), JSON is bounded, ports are checked.
 */
import type { Service } from '../core/model.js';
import type { CommitEnd, ImportedFindingRow, HostRow, PackageRow, ScanKind, ScanMeta, ScanRow, ScanStatus, ServiceRow } from './types.js';
import type { Selectable } from 'kysely';
import type { ImportedFindingsTable, HostsTable, PackagesTable, ScansTable, ServicesTable } from './schema.js';

/** Longest text column value kept (banners are already truncated by their producers; files are not trusted). */
export const MAX_TEXT = 4096;
/** Longest string kept inside a JSON value, and most elements kept of one array. */
const MAX_JSON_STRING = 4096;
const MAX_JSON_ARRAY = 256;
/** Most host names merged onto one host. */
export const MAX_HOSTNAMES = 64;

const UNSTORABLE = /[\0\uD800-\uDFFF]/;
const UNSTORABLE_ALL = /\0|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** A string both backends can store: capped, NUL and lone surrogates replaced. */
export function cleanText(value: string, max = MAX_TEXT): string {
  const s = value.length > max ? value.slice(0, max) : value;
  return UNSTORABLE.test(s) ? s.replace(UNSTORABLE_ALL, '\uFFFD') : s;
}

/** `cleanText` for optional values: anything but a non-empty string becomes null. */
export function optText(value: unknown, max = MAX_TEXT): string | null {
  return typeof value === 'string' && value !== '' ? cleanText(value, max) : null;
}

function jsonReplacer(_key: string, value: unknown): unknown {
  if (typeof value === 'string') return cleanText(value, MAX_JSON_STRING);
  if (Array.isArray(value)) return value.length > MAX_JSON_ARRAY ? value.slice(0, MAX_JSON_ARRAY) : value;
  if (value !== null && typeof value === 'object' && !(value instanceof Date)) {
    // Keys come from files too (detector fields): they need the same cleaning, and a bound.
    const entries = Object.entries(value);
    if (entries.length <= MAX_JSON_ARRAY && entries.every(([k]) => !UNSTORABLE.test(k) && k.length <= 256)) return value;
    return Object.fromEntries(entries.slice(0, MAX_JSON_ARRAY).map(([k, v]) => [cleanText(k, 256), v]));
  }
  return value;
}

/** Escapes JSON.stringify writes for what neither backend stores: NUL and (lone) surrogates. */
const UNSTORABLE_ESCAPE = /\\u(?:0000|d[89a-f])/i;
/** Output this short cannot hold a string or key over 256 characters, nor an array over 128 elements. */
const SHORT_JSON = 256;

/** JSON text with every string and array bounded; null for undefined. */
export function jsonText(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  // Most values (a service, a CPE list) are short and clean: one plain stringify shows it, and
  // the walk with the replacer, several times slower, is kept for the rest.
  const plain = JSON.stringify(value) as string | undefined;
  if (plain === undefined) return null;
  if (plain.length <= SHORT_JSON && !UNSTORABLE_ESCAPE.test(plain)) return plain;
  return JSON.stringify(value, jsonReplacer) ?? null;
}

/** A JSON column as stored: jsonb arrives parsed from pg, text from SQLite. Unparsable text reads as undefined. */
export function parseJson(value: unknown): unknown {
  if (typeof value !== 'string') return value ?? undefined;
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return undefined;
  }
}

/** The service columns of one port; only ports with a service carry them. */
export interface ServiceCols {
  name: string;
  product: string | null;
  version: string | null;
  extrainfo: string | null;
  cpe: string;
  banner: string | null;
  tls: string | null;
  evidence: string | null;
  /** The whole Service, for what has no column (distro, package revision, fields, …). */
  service: string;
  method: string;
  confidence: number;
}

/** Columns of a service as the store writes them. */
export function serviceCols(s: Service): ServiceCols {
  const confidence = Number.isFinite(s.confidence) ? Math.max(0, Math.min(10, Math.round(s.confidence))) : 0;
  return {
    name: cleanText(typeof s.name === 'string' ? s.name : '', 128) || 'unknown',
    product: optText(s.product, 512),
    version: optText(s.version, 512),
    extrainfo: optText(s.extrainfo, 1024),
    cpe: jsonText(Array.isArray(s.cpe) ? s.cpe : []) ?? '[]',
    banner: optText(s.banner),
    tls: jsonText(s.tls),
    evidence: jsonText(s.evidence),
    service: jsonText(s) ?? '{}',
    method: s.method === 'probed' ? 'probed' : 'table',
    confidence,
  };
}

/**
 * Port rows waiting to be written, column by column so a batch costs a handful of arrays rather
 * than an object per closed port. `host` indexes the batch's host list.
 */
export class PortBatch {
  host: number[] = [];
  protocol: string[] = [];
  port: number[] = [];
  state: string[] = [];
  reason: string[] = [];
  source: string[] = [];
  at: number[] = [];
  listener: (string | null)[] = [];
  service: (ServiceCols | null)[] = [];

  get length(): number {
    return this.port.length;
  }

  push(host: number, protocol: string, port: number, state: string, reason: string, source: string, at: number, listener: string | null, service: ServiceCols | null): void {
    this.host.push(host);
    this.protocol.push(protocol);
    this.port.push(port);
    this.state.push(state);
    this.reason.push(reason);
    this.source.push(source);
    this.at.push(at);
    this.listener.push(listener);
    this.service.push(service);
  }

  clear(): void {
    for (const a of [this.host, this.protocol, this.port, this.state, this.reason, this.source, this.at, this.listener, this.service]) a.length = 0;
  }
}

/** The scan row's closing columns. */
export function scanEnd(end: CommitEnd, counts: { hosts: number; ports: number }) {
  return {
    ended_at: Math.trunc(end.endedAt),
    status: end.status,
    hosts: counts.hosts,
    ports: counts.ports,
    ...(end.args !== undefined ? { args: jsonText(end.args.map((a) => cleanText(String(a)))) ?? '[]' } : {}),
    ...(end.toolVersion !== undefined ? { tool_version: cleanText(end.toolVersion, 128) } : {}),
    ...(end.startedAt !== undefined ? { started_at: Math.trunc(end.startedAt) } : {}),
  };
}

/** The scan row's opening columns. */
export function scanStart(meta: ScanMeta) {
  return {
    kind: meta.kind,
    source: meta.source,
    args: jsonText(meta.args.map((a) => cleanText(String(a)))) ?? '[]',
    started_at: Math.trunc(meta.startedAt),
    status: 'running',
    tool_version: meta.toolVersion === undefined ? null : cleanText(meta.toolVersion, 128),
    file: meta.file === undefined ? null : cleanText(meta.file),
  };
}

/** A numeric column as a number (drivers hand bigint columns over as strings; null is 0). */
export const num = (v: number | string | null | undefined): number => Number(v ?? 0);

/** Rows cut into batches for `in (…)` lists and multi-row inserts. */
export function chunks<T>(items: readonly T[], size = 500): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
const opt = <T>(v: T | null | undefined): T | undefined => (v === null || v === undefined ? undefined : v);

export function toScanRow(r: Selectable<ScansTable>): ScanRow {
  const args = parseJson(r.args);
  return {
    id: num(r.id),
    kind: r.kind as ScanKind,
    source: r.source as ScanRow['source'],
    args: Array.isArray(args) ? args.map(String) : [],
    startedAt: num(r.started_at),
    endedAt: r.ended_at === null ? undefined : num(r.ended_at),
    status: r.status as ScanStatus,
    toolVersion: opt(r.tool_version),
    file: opt(r.file),
    hosts: num(r.hosts),
    ports: num(r.ports),
  };
}

export function toHostRow(r: Selectable<HostsTable> & { open_ports: number | string | null }): HostRow {
  const names = parseJson(r.hostnames);
  return {
    id: num(r.id),
    address: r.address,
    family: num(r.family) === 6 ? 6 : 4,
    hostnames: Array.isArray(names) ? names.map(String) : [],
    osHint: opt(r.os_hint),
    firstSeen: num(r.first_seen),
    lastSeen: num(r.last_seen),
    openPorts: num(r.open_ports),
  };
}

export function toServiceRow(r: Selectable<ServicesTable> & { address: string }): ServiceRow {
  const cpe = parseJson(r.cpe);
  const row: ServiceRow = {
    hostId: num(r.host_id),
    address: r.address,
    protocol: r.protocol as ServiceRow['protocol'],
    port: num(r.port),
    state: r.state as ServiceRow['state'],
    reason: r.reason,
    cpe: Array.isArray(cpe) ? cpe.map(String) : [],
    source: r.source as ServiceRow['source'],
    confidence: num(r.confidence),
    firstSeen: num(r.first_seen),
    lastSeen: num(r.last_seen),
  };
  // Only set what is there, so rows compare cleanly and print without empty keys.
  if (r.name !== null) row.name = r.name;
  if (r.product !== null) row.product = r.product;
  if (r.version !== null) row.version = r.version;
  if (r.extrainfo !== null) row.extrainfo = r.extrainfo;
  if (r.banner !== null) row.banner = r.banner;
  if (r.method === 'table' || r.method === 'probed') row.method = r.method;
  const tls = parseJson(r.tls);
  if (tls !== undefined) row.tls = tls;
  const evidence = parseJson(r.evidence);
  if (evidence !== undefined) row.evidence = evidence;
  const listener = parseJson(r.listener);
  if (listener !== undefined) row.listener = listener;
  const service = parseJson(r.service);
  if (service !== undefined && typeof service === 'object') row.service = service as Service;
  return row;
}

const finite = (v: number | string | null): number | undefined => (v === null || !Number.isFinite(Number(v)) ? undefined : Number(v));

export function toImportedFindingRow(r: Selectable<ImportedFindingsTable> & { address: string }): ImportedFindingRow {
  const cves = parseJson(r.cves);
  const row: ImportedFindingRow = {
    scanId: num(r.scan_id),
    hostId: num(r.host_id),
    address: r.address,
    protocol: r.protocol === 'udp' ? 'udp' : 'tcp',
    port: num(r.port),
    pluginId: r.plugin_id,
    pluginName: r.plugin_name,
    severity: num(r.severity),
    cves: Array.isArray(cves) ? cves.map(String) : [],
  };
  const cvss2 = finite(r.cvss2);
  if (cvss2 !== undefined) row.cvss2 = cvss2;
  const cvss3 = finite(r.cvss3);
  if (cvss3 !== undefined) row.cvss3 = cvss3;
  if (r.synopsis !== null) row.synopsis = r.synopsis;
  return row;
}

export function toPackageRow(r: Selectable<PackagesTable> & { address: string }): PackageRow {
  const row: PackageRow = {
    hostId: num(r.host_id),
    address: r.address,
    name: r.name,
    version: r.version,
    manager: r.manager === 'rpm' ? 'rpm' : 'dpkg',
    scanId: num(r.scan_id),
    seenAt: num(r.seen_at),
  };
  if (r.arch !== '') row.arch = r.arch;
  return row;
}
