/**
 * Findings in the store, the same kysely code on both backends. `syncFindings` takes a whole
 * assessment: each draft updates the finding with its key (or opens a new one), a fixed finding
 * that comes back is reopened, and an open finding whose port the assessment covered but no draft
 * names any more is fixed. Status changes go to `finding_events`, so each finding has a history.
 */
import type { Kysely, Selectable, Transaction } from 'kysely';
import { TIERS, portKey, tierRank, type Finding, type FindingDraft, type FindingStatus, type Tier } from '../core/finding.js';
import type { Database, FindingsTable } from './schema.js';
import { chunks, cleanText, jsonText, num, parseJson } from './rows.js';

export interface FindingQuery {
  /** Only the findings with these keys. */
  keys?: readonly string[];
  address?: string;
  /** Only findings of this tier or more urgent. */
  minTier?: Tier;
  status?: FindingStatus[];
  limit?: number;
}

export interface FindingSync {
  opened: number;
  /** Findings whose tier, score, title, reasons or details changed (last seen moves only then). */
  updated: number;
  unchanged: number;
  reopened: number;
  fixed: number;
}

export interface FindingEvent {
  at: number;
  status: FindingStatus;
  note?: string;
}

const STATUSES: readonly FindingStatus[] = ['open', 'fixed', 'accepted', 'false-positive'];

type Db = Kysely<Database> | Transaction<Database>;

function toFinding(r: Selectable<FindingsTable> & { address: string }): Finding {
  const details = (parseJson(r.details) ?? {}) as Pick<Finding, 'service' | 'cve'>;
  const reasons = parseJson(r.reasons);
  const f: Finding = {
    key: r.key,
    address: r.address,
    protocol: r.protocol === 'udp' ? 'udp' : 'tcp',
    port: num(r.port),
    kind: r.kind as Finding['kind'],
    title: r.title,
    tier: TIERS.includes(r.tier as Tier) ? (r.tier as Tier) : 'info',
    score: num(r.score),
    reasons: Array.isArray(reasons) ? (reasons as Finding['reasons']) : [],
    status: STATUSES.includes(r.status as FindingStatus) ? (r.status as FindingStatus) : 'open',
    firstSeen: num(r.first_seen),
    lastSeen: num(r.last_seen),
  };
  if (r.ref !== null) f.ref = r.ref;
  if (details.service !== undefined) f.service = details.service;
  if (details.cve !== undefined) f.cve = details.cve;
  if (r.status_reason !== null) f.statusReason = r.status_reason;
  if (r.status_expires !== null) f.statusExpires = num(r.status_expires);
  return f;
}

async function event(db: Db, findingId: number, at: number, status: FindingStatus, note?: string): Promise<void> {
  await db.insertInto('finding_events').values({ finding_id: findingId, at, status, note: note === undefined ? null : cleanText(note, 1024) }).execute();
}

/** Deep equality of two JSON values, whatever their key order. */
function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a).filter((k) => (a as Record<string, unknown>)[k] !== undefined);
  const kb = Object.keys(b).filter((k) => (b as Record<string, unknown>)[k] !== undefined);
  return ka.length === kb.length && ka.every((k) => sameJson((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

/**
 * Store one assessment. `covered` names every port (`address/protocol/port`) the assessment
 * looked at: only there may an open finding be closed as fixed. An accepted risk whose expiry has
 * passed is open again.
 */
export async function syncFindings(db: Kysely<Database>, drafts: readonly FindingDraft[], covered: ReadonlySet<string>, at: number): Promise<FindingSync> {
  const counts: FindingSync = { opened: 0, updated: 0, unchanged: 0, reopened: 0, fixed: 0 };
  await db.transaction().execute(async (trx) => {
    const hostIds = new Map<string, number>();
    for (const part of chunks([...new Set(drafts.map((d) => d.address))])) {
      for (const row of await trx.selectFrom('hosts').select(['id', 'address']).where('address', 'in', part).execute()) hostIds.set(row.address, num(row.id));
    }
    const existing = new Map<string, Selectable<FindingsTable>>();
    const keys = [...new Set(drafts.map((d) => d.key))];
    for (const part of chunks(keys)) {
      for (const r of await trx.selectFrom('findings').selectAll().where('key', 'in', part).execute()) existing.set(r.key, r);
    }
    const drafted = new Set<string>();
    for (const d of drafts) {
      if (drafted.has(d.key)) continue;
      drafted.add(d.key);
      const hostId = hostIds.get(d.address);
      if (hostId === undefined) continue;
      const columns = {
        title: cleanText(d.title, 512),
        tier: d.tier,
        tier_rank: tierRank(d.tier),
        score: Math.round(d.score),
        reasons: jsonText(d.reasons) ?? '[]',
        details: jsonText({ service: d.service, cve: d.cve }) ?? '{}',
        last_seen: at,
      };
      const old = existing.get(d.key);
      if (old === undefined) {
        const row = await trx
          .insertInto('findings')
          .values({ key: cleanText(d.key, 512), host_id: hostId, protocol: d.protocol, port: d.port, kind: d.kind, ref: d.ref ?? null, status: 'open', status_reason: null, status_expires: null, first_seen: at, ...columns })
          .returning('id')
          .executeTakeFirstOrThrow();
        await event(trx, num(row.id), at, 'open', 'found');
        counts.opened++;
        continue;
      }
      const expired = old.status === 'accepted' && old.status_expires !== null && num(old.status_expires) <= at;
      const reopen = old.status === 'fixed' || expired;
      // The same assessment again changes nothing, last seen included (JSON compared as parsed:
      // PostgreSQL's jsonb reorders keys).
      const same =
        old.title === columns.title &&
        old.tier === columns.tier &&
        num(old.score) === columns.score &&
        sameJson(parseJson(old.reasons), parseJson(columns.reasons)) &&
        sameJson(parseJson(old.details), parseJson(columns.details));
      if (!reopen && same) {
        counts.unchanged++;
        continue;
      }
      await trx
        .updateTable('findings')
        .set(reopen ? { ...columns, status: 'open', status_reason: null, status_expires: null } : columns)
        .where('id', '=', old.id)
        .execute();
      if (reopen) {
        await event(trx, num(old.id), at, 'open', expired ? 'risk acceptance expired' : 'seen again after it was fixed');
        counts.reopened++;
      } else counts.updated++;
    }
    // Open (or accepted) findings on covered ports that this assessment no longer makes: fixed.
    const stale = await trx
      .selectFrom('findings as f')
      .innerJoin('hosts as h', 'h.id', 'f.host_id')
      .select(['f.id', 'f.key', 'f.protocol', 'f.port', 'h.address'])
      .where('f.status', 'in', ['open', 'accepted'])
      .execute();
    for (const f of stale) {
      if (drafted.has(f.key) || !covered.has(portKey({ address: f.address, protocol: f.protocol, port: num(f.port) }))) continue;
      await trx.updateTable('findings').set({ status: 'fixed', status_reason: null, status_expires: null, last_seen: at }).where('id', '=', f.id).execute();
      await event(trx, num(f.id), at, 'fixed', 'no longer found');
      counts.fixed++;
    }
  });
  return counts;
}

/** Findings, most urgent first. */
export async function listFindings(db: Kysely<Database>, query: FindingQuery = {}): Promise<Finding[]> {
  let q = db.selectFrom('findings as f').innerJoin('hosts as h', 'h.id', 'f.host_id').selectAll('f').select('h.address').orderBy('f.tier_rank').orderBy('f.score', 'desc').orderBy('f.host_id').orderBy('f.port').orderBy('f.key');
  if (query.keys !== undefined) q = q.where('f.key', 'in', query.keys.length > 0 ? [...query.keys] : ['']);
  if (query.address !== undefined) q = q.where('h.address', '=', query.address);
  if (query.minTier !== undefined) q = q.where('f.tier_rank', '<=', tierRank(query.minTier));
  if (query.status !== undefined && query.status.length > 0) q = q.where('f.status', 'in', query.status);
  if (query.limit !== undefined && Number.isInteger(query.limit) && query.limit > 0) q = q.limit(query.limit);
  return (await q.execute()).map(toFinding);
}

/**
 * Set a finding's status by hand: accept a risk (with a reason and optionally an expiry), mark it
 * a false positive, or open it again. False when no finding has that key.
 */
export async function setFindingStatus(db: Kysely<Database>, key: string, status: 'open' | 'accepted' | 'false-positive', at: number, reason?: string, expires?: number): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    const row = await trx.selectFrom('findings').select('id').where('key', '=', key).executeTakeFirst();
    if (row === undefined) return false;
    const text = reason === undefined ? null : cleanText(reason, 1024);
    await trx
      .updateTable('findings')
      .set({ status, status_reason: status === 'open' ? null : text, status_expires: status === 'accepted' && expires !== undefined ? Math.trunc(expires) : null })
      .where('id', '=', row.id)
      .execute();
    await event(trx, num(row.id), at, status, text ?? undefined);
    return true;
  });
}

/** A finding's status history, in the order it happened. */
export async function listFindingEvents(db: Kysely<Database>, key: string): Promise<FindingEvent[]> {
  const rows = await db.selectFrom('finding_events as e').innerJoin('findings as f', 'f.id', 'e.finding_id').select(['e.at', 'e.status', 'e.note']).where('f.key', '=', key).orderBy('e.id').execute();
  return rows.map((r) => ({ at: num(r.at), status: r.status as FindingStatus, ...(r.note !== null && { note: r.note }) }));
}
