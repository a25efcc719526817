/**
 * The backend-independent half of an ingest: observations are checked, flattened into a column
 * batch and handed to the backend in large batches, so a million closed ports cost a few hundred
 * statements rather than a million round trips. The backend owns the one open transaction.
 */
import type { Observation } from '../core/model.js';
import type { CommitEnd, Ingest, ScanRow } from './types.js';
import { formatPortRanges } from '../core/port-ranges.js';
import { entersServices, keepsService } from './merge.js';
import { MAX_HOSTNAMES, PortBatch, cleanText, jsonText, optText, serviceCols } from './rows.js';

/** One host of a batch, merged over every observation of it in that batch. */
export interface HostInput {
  address: string;
  family: 4 | 6;
  hostnames: string[];
  osHint: string | null;
  firstSeen: number;
  lastSeen: number;
}

export interface ImportedFindingInput {
  host: number;
  protocol: string;
  port: number;
  pluginId: string;
  pluginName: string;
  severity: number;
  cves: string;
  cvss2: number | null;
  cvss3: number | null;
  synopsis: string | null;
}

/** Ports of one host that share protocol, state, reason, source and time, as a range list. */
export interface RangeInput {
  host: number;
  protocol: string;
  state: string;
  reason: string;
  source: string;
  at: number;
  ports: string;
  count: number;
}

export interface PackageInput {
  host: number;
  name: string;
  version: string;
  arch: string;
  manager: string;
  at: number;
}

/** What a backend does inside its transaction. `host` fields index the `hosts` list of the same flush. */
export interface IngestBackend {
  /** Upsert the hosts; returns their ids in the same order. */
  upsertHosts(hosts: HostInput[]): Promise<number[]>;
  /** Ports already in `services` for these hosts (this transaction's writes included), as `serviceKey` numbers. */
  serviceKeys(hostIds: number[]): Promise<Set<number>>;
  /**
   * Insert the rows `rows` marks ROW_NEW or ROW_KNOWN into observations, and into services: a NEW
   * row is not there yet (a plain insert will do), a KNOWN one is merged.
   */
  writePorts(batch: PortBatch, hostIds: number[], rows: Uint8Array): Promise<void>;
  /** Insert the other ports of the batch, as range rows. */
  writeRanges(ranges: RangeInput[], hostIds: number[]): Promise<void>;
  writeImportedFindings(rows: ImportedFindingInput[], hostIds: number[]): Promise<void>;
  writePackages(rows: PackageInput[], hostIds: number[]): Promise<void>;
  /** Close the scan record with its counts and commit. */
  finish(end: CommitEnd, counts: { hosts: number; ports: number }): Promise<ScanRow>;
  abort(): Promise<void>;
}

/** What an ingest does with one port row (see BufferedIngest's classify). */
export const ROW_RANGE = 0;
export const ROW_NEW = 1;
export const ROW_KNOWN = 2;

/** One number per (host, protocol, port): host ids stay far below 2^35, so this is exact. */
export function serviceKey(hostId: number, protocol: string, port: number): number {
  return hostId * 131072 + (protocol === 'udp' ? 65536 : 0) + port;
}

export interface BatchLimits {
  ports: number;
  hosts: number;
}

const STATES = new Set(['open', 'closed', 'filtered', 'open|filtered', 'closed|filtered', 'unfiltered']);

/** Epoch ms from a possibly missing or hostile number. */
function epoch(...candidates: (number | undefined)[]): number {
  for (const c of candidates) if (typeof c === 'number' && Number.isFinite(c) && c > 0) return Math.trunc(c);
  return Date.now();
}

function checkPort(port: unknown, what: string): number {
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`store: ${what}: port ${String(port)} is not 0-65535`);
  return port;
}

/** A set of non-negative integers (host ids) as a growable bitmap: 16 M hosts cost 2 MB, not a 500 MB Set. */
class IdBits {
  #bits = new Uint8Array(1024);
  count = 0;
  add(id: number): void {
    const byte = id >>> 3;
    if (byte >= this.#bits.length) {
      const grown = new Uint8Array(Math.max(byte + 1, this.#bits.length * 2));
      grown.set(this.#bits);
      this.#bits = grown;
    }
    const mask = 1 << (id & 7);
    if ((this.#bits[byte]! & mask) === 0) {
      this.#bits[byte]! |= mask;
      this.count++;
    }
  }
}

interface BatchHost {
  index: number;
  /** Port keys (protocol, port) of this host already in the batch; built when the host repeats. */
  keys?: Set<number>;
}

/** Everything waiting for the next write. */
class Batch {
  hosts: HostInput[] = [];
  byAddress = new Map<string, BatchHost>();
  ports = new PortBatch();
  findings: ImportedFindingInput[] = [];
  packages = new Map<string, PackageInput>();
}

/**
 * Buffers observations and writes them in batches through a backend. One batch may be in flight
 * while the next fills, so building rows in JS overlaps with the database's work; a write error
 * surfaces at the next `add` or at `commit`.
 */
export class BufferedIngest implements Ingest {
  readonly scanId: number;
  #backend: IngestBackend;
  #limits: BatchLimits;
  #batch = new Batch();
  #seenHosts = new IdBits();
  #portCount = 0;
  #state: 'open' | 'failed' | 'closed' = 'open';
  #error: unknown;
  #inflight: Promise<void> | undefined;

  #onEnd: (() => void) | undefined;

  /** `onEnd` runs once the transaction is over, committed or not (stores track open ingests with it). */
  constructor(scanId: number, backend: IngestBackend, limits: BatchLimits, onEnd?: () => void) {
    this.scanId = scanId;
    this.#backend = backend;
    this.#limits = limits;
    this.#onEnd = onEnd;
  }

  async add(o: Observation): Promise<void> {
    this.#check();
    const h = o.host;
    // A down host with nothing to say is not a host the store knows.
    if (h.status === 'down' && h.ports.length === 0 && !o.findings?.length && !o.packages?.length) return;
    const address = cleanText(String(h.address), 64);
    if (address === '') throw new Error('store: observation without an address');
    // Checked before anything is buffered, so a bad port leaves the batch as it was.
    for (const p of h.ports) checkPort(p.port, address);
    for (const f of o.findings ?? []) checkPort(f.port, address);
    const at = epoch(h.endedAt, h.startedAt);
    let entry = this.#batch.byAddress.get(address);
    if (entry !== undefined && this.#repeats(entry, o)) {
      // The same port twice in one multi-row upsert is an error on PostgreSQL: write what we have first.
      await this.#flush();
      entry = undefined;
    }
    const batch = this.#batch;
    entry = this.#mergeHost(batch, entry, address, o, at);
    const source = cleanText(String(o.source), 16);
    const ports = batch.ports;
    for (const p of h.ports) {
      const protocol = p.protocol === 'udp' ? 'udp' : 'tcp';
      const state = STATES.has(p.state) ? p.state : cleanText(String(p.state), 32);
      const reason = typeof p.reason === 'string' ? cleanText(p.reason, 32) : '';
      const listener = p.listener === undefined ? null : jsonText(p.listener);
      const service = p.service === undefined || !keepsService(state, p.service.method) ? null : serviceCols(p.service);
      ports.push(entry.index, protocol, p.port, state, reason, source, at, listener, service);
      entry.keys?.add(protocol === 'udp' ? 65536 + p.port : p.port);
    }
    this.#portCount += h.ports.length;
    for (const f of o.findings ?? []) {
      batch.findings.push({
        host: entry.index,
        protocol: f.protocol === 'udp' ? 'udp' : 'tcp',
        port: f.port,
        pluginId: cleanText(String(f.pluginId), 64),
        pluginName: cleanText(String(f.pluginName), 512),
        severity: Number.isInteger(f.severity) ? Math.max(0, Math.min(4, f.severity)) : 0,
        cves: jsonText(Array.isArray(f.cves) ? f.cves : []) ?? '[]',
        cvss2: Number.isFinite(f.cvss2) ? (f.cvss2 ?? null) : null,
        cvss3: Number.isFinite(f.cvss3) ? (f.cvss3 ?? null) : null,
        synopsis: optText(f.synopsis),
      });
    }
    for (const p of o.packages ?? []) {
      const pkg: PackageInput = {
        host: entry.index,
        name: cleanText(String(p.name), 256),
        version: cleanText(String(p.version), 256),
        arch: optText(p.arch, 64) ?? '',
        manager: p.manager === 'rpm' ? 'rpm' : 'dpkg',
        at,
      };
      // Keyed so one batch never upserts the same package twice (PostgreSQL refuses that).
      batch.packages.set(`${pkg.host}\0${pkg.name}\0${pkg.arch}`, pkg);
    }
    const limit = this.#limits.ports;
    if (ports.length >= limit || batch.hosts.length >= this.#limits.hosts || batch.findings.length >= limit || batch.packages.size >= limit) {
      await this.#flush();
    }
  }

  async commit(end: CommitEnd): Promise<ScanRow> {
    try {
      this.#check();
      await this.#flush();
      await this.#inflight;
    } catch (err) {
      // Nothing can be committed any more: give the locks back now rather than when the caller remembers.
      await this.rollback().catch(() => undefined);
      throw err;
    }
    this.#state = 'closed';
    try {
      return await this.#backend.finish(end, { hosts: this.#seenHosts.count, ports: this.#portCount });
    } finally {
      this.#onEnd?.();
    }
  }

  async rollback(): Promise<void> {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    // The database is mid-statement while a batch is in flight: let it finish (or fail) first.
    await this.#inflight?.catch(() => undefined);
    try {
      await this.#backend.abort();
    } finally {
      this.#onEnd?.();
    }
  }

  #check(): void {
    if (this.#state === 'failed') throw new Error(`store: this ingest failed (${this.#error instanceof Error ? this.#error.message : String(this.#error)}); roll it back`);
    if (this.#state === 'closed') throw new Error('store: this ingest is already committed or rolled back');
  }

  /** True when `o` names a port this host already has in the batch. */
  #repeats(entry: BatchHost, o: Observation): boolean {
    if (entry.keys === undefined) {
      entry.keys = new Set();
      const b = this.#batch.ports;
      for (let i = 0; i < b.length; i++) if (b.host[i] === entry.index) entry.keys.add((b.protocol[i] === 'udp' ? 65536 : 0) + b.port[i]!);
    }
    for (const p of o.host.ports) if (entry.keys.has((p.protocol === 'udp' ? 65536 : 0) + p.port)) return true;
    return false;
  }

  #mergeHost(batch: Batch, entry: BatchHost | undefined, address: string, o: Observation, at: number): BatchHost {
    const names: string[] = [];
    for (const n of o.host.hostnames ?? []) {
      if (names.length >= MAX_HOSTNAMES) break;
      const name = optText(n?.name, 255);
      if (name !== null && !names.includes(name)) names.push(name);
    }
    const osHint = optText(o.osHint, 512);
    const first = epoch(o.host.startedAt, at);
    if (entry === undefined) {
      entry = { index: batch.hosts.length };
      batch.byAddress.set(address, entry);
      batch.hosts.push({ address, family: o.host.family === 6 ? 6 : 4, hostnames: names, osHint, firstSeen: Math.min(first, at), lastSeen: at });
      return entry;
    }
    const h = batch.hosts[entry.index]!;
    for (const n of names) if (h.hostnames.length < MAX_HOSTNAMES && !h.hostnames.includes(n)) h.hostnames.push(n);
    if (osHint !== null) h.osHint = osHint;
    h.firstSeen = Math.min(h.firstSeen, first, at);
    h.lastSeen = Math.max(h.lastSeen, at);
    return entry;
  }

  /** Hand the current batch to the backend once the previous write is done; does not wait for this one. */
  async #flush(): Promise<void> {
    // Callers that did not await add() may flush at once: wait until no write is in flight.
    for (let prev = this.#inflight; ; prev = this.#inflight) {
      await prev;
      if (this.#inflight === prev) break;
    }
    this.#check();
    const batch = this.#batch;
    if (batch.hosts.length === 0) return;
    this.#batch = new Batch();
    const write = this.#write(batch);
    this.#inflight = write;
    // Handled at once (an unhandled rejection would end the process); the caller sees it on its next call.
    write.catch((err: unknown) => {
      if (this.#state === 'open') this.#state = 'failed';
      this.#error = err;
    });
  }

  async #write(batch: Batch): Promise<void> {
    const ids = await this.#backend.upsertHosts(batch.hosts);
    for (const id of ids) this.#seenHosts.add(id);
    if (batch.ports.length > 0) {
      const rows = await this.#classify(batch.ports, ids);
      const ranges = rangesOf(batch.ports, rows);
      if (rows.some((r) => r !== ROW_RANGE)) await this.#backend.writePorts(batch.ports, ids, rows);
      if (ranges.length > 0) await this.#backend.writeRanges(ranges, ids);
    }
    if (batch.findings.length > 0) await this.#backend.writeImportedFindings(batch.findings, ids);
    if (batch.packages.size > 0) await this.#backend.writePackages([...batch.packages.values()], ids);
  }

  /**
   * What becomes of each row: a port `services` already has (KNOWN: merged there, whatever its
   * state now), one that enters it (NEW: open or named), or the rest (RANGE: kept as a port range).
   */
  async #classify(b: PortBatch, ids: number[]): Promise<Uint8Array> {
    const marks = new Uint8Array(b.length);
    const known = await this.#backend.serviceKeys([...new Set(ids)]);
    for (let i = 0; i < b.length; i++) {
      if (known.size > 0 && known.has(serviceKey(ids[b.host[i]!]!, b.protocol[i]!, b.port[i]!))) marks[i] = ROW_KNOWN;
      else if (entersServices(b.state[i]!, b.service[i] !== null)) marks[i] = ROW_NEW;
    }
    return marks;
  }
}

/**
 * The RANGE rows of a batch as range rows. A batch holds each observation's ports together; two
 * observations of one host in a batch give two rows, which is as true as one. A port appears once
 * per host in a batch (`add` flushes before a repeat), so a group's count is its length.
 */
function rangesOf(b: PortBatch, marked: Uint8Array): RangeInput[] {
  type Group = { input: RangeInput; ports: number[] };
  const out: Group[] = [];
  // Groups of the host being read. A host has few (a state and reason or two), found by comparing
  // fields; a hostile file with a reason per port is looked up by key instead.
  let host = -1;
  let groups: Group[] = [];
  let byKey: Map<string, Group> | undefined;
  for (let i = 0; i < b.length; i++) {
    if (marked[i] !== ROW_RANGE) continue;
    if (b.host[i] !== host) {
      host = b.host[i]!;
      groups = [];
      byKey = undefined;
    }
    const protocol = b.protocol[i]!;
    const state = b.state[i]!;
    const reason = b.reason[i]!;
    const source = b.source[i]!;
    const at = b.at[i]!;
    const key = byKey === undefined ? '' : `${protocol}\0${state}\0${reason}\0${source}\0${at}`;
    let g = byKey === undefined ? groups.find((x) => x.input.state === state && x.input.reason === reason && x.input.protocol === protocol && x.input.at === at && x.input.source === source) : byKey.get(key);
    if (g === undefined) {
      g = { input: { host, protocol, state, reason, source, at, ports: '', count: 0 }, ports: [] };
      groups.push(g);
      out.push(g);
      if (byKey !== undefined) byKey.set(key, g);
      else if (groups.length > 8) byKey = new Map(groups.map((x) => [`${x.input.protocol}\0${x.input.state}\0${x.input.reason}\0${x.input.source}\0${x.input.at}`, x]));
    }
    g.ports.push(b.port[i]!);
  }
  return out.map(({ input, ports }) => ({ ...input, ports: formatPortRanges(ports), count: ports.length }));
}
