/**
 * Vulnerability data in the store: CVEs with their NVD configurations (kept as JSON; the matcher
 * reads them), the vendor:product pairs their vulnerable CPEs name, so that a service's candidates
 * are one indexed lookup, and the KEV and EPSS snapshots. Same kysely code on both backends.
 */
import type { Kysely, Transaction } from 'kysely';
import type { Database } from './schema.js';
import { chunks, cleanText, jsonText, parseJson } from './rows.js';

/** A CVE as the store keeps it. */
export interface VulnRecord {
  id: string;
  source: 'nvd' | 'builtin';
  /** Epoch ms. */
  published?: number;
  lastModified?: number;
  cvss?: { version: string; score: number; severity: string; vector: string };
  description: string;
  /** NVD configurations (the matcher's `Configuration[]`), as JSON data. */
  configurations: unknown;
  /** vendor:product pairs named by the CVE's vulnerable CPEs (lower case). */
  products: { vendor: string; product: string }[];
  /** Distribution fixes (`{ distro, package, version }`), where known (the built-in data). */
  fixedIn?: { distro: string; package: string; version: string }[];
}

export interface KevRecord {
  cve: string;
  dateAdded: string;
  dueDate?: string;
  ransomware: boolean;
  name: string;
}

export interface EpssRecord {
  cve: string;
  epss: number;
  percentile?: number;
}

/** A candidate for a service: the CVE with its KEV entry and EPSS score, when known. */
export interface VulnCandidate extends Omit<VulnRecord, 'products'> {
  kev?: KevRecord;
  epss?: EpssRecord;
}

export interface VulnCounts {
  cves: number;
  kev: number;
  epss: number;
}

const CHUNK = 500;

/** Add or replace CVEs (a newer NVD page wins whole: configurations and products). */
export async function importVulns(db: Kysely<Database>, records: readonly VulnRecord[]): Promise<number> {
  await db.transaction().execute(async (trx) => {
    for (const part of chunks(records)) {
      const ids = part.map((r) => cleanText(r.id, 64));
      await trx.deleteFrom('vuln_products').where('cve_id', 'in', ids).execute();
      await trx.deleteFrom('vulns').where('id', 'in', ids).execute();
      await trx
        .insertInto('vulns')
        .values(
          part.map((r, i) => ({
            id: ids[i]!,
            source: r.source,
            published: r.published ?? null,
            last_modified: r.lastModified ?? null,
            cvss: r.cvss === undefined ? null : jsonText(r.cvss),
            description: cleanText(r.description, 4096),
            configurations: jsonText(r.configurations) ?? '[]',
            fixed_in: r.fixedIn === undefined ? null : jsonText(r.fixedIn),
          })),
        )
        .execute();
      const products = part.flatMap((r, i) => dedupe(r.products).map((p) => ({ cve_id: ids[i]!, vendor: cleanText(p.vendor, 128), product: cleanText(p.product, 128) })));
      for (const rows of chunks(products)) await trx.insertInto('vuln_products').values(rows).execute();
    }
  });
  return records.length;
}

function dedupe(products: readonly { vendor: string; product: string }[]): { vendor: string; product: string }[] {
  const seen = new Map<string, { vendor: string; product: string }>();
  for (const p of products) seen.set(`${p.vendor}\0${p.product}`, { vendor: p.vendor.toLowerCase(), product: p.product.toLowerCase() });
  return [...seen.values()];
}

/** Replace the KEV catalog with this snapshot. */
export async function importKev(db: Kysely<Database>, records: readonly KevRecord[]): Promise<number> {
  await db.transaction().execute(async (trx) => {
    await trx.deleteFrom('kev').execute();
    const unique = new Map(records.map((r) => [r.cve, r]));
    for (const part of chunks([...unique.values()])) {
      await trx
        .insertInto('kev')
        .values(part.map((r) => ({ cve_id: cleanText(r.cve, 64), date_added: cleanText(r.dateAdded, 32), due_date: r.dueDate === undefined ? null : cleanText(r.dueDate, 32), ransomware: r.ransomware ? 1 : 0, name: cleanText(r.name, 512) })))
        .execute();
    }
  });
  return records.length;
}

/** Replace the EPSS scores with this snapshot (rows may come in any number of calls of `add`). */
export async function importEpss(db: Kysely<Database>, rows: AsyncIterable<EpssRecord> | Iterable<EpssRecord>): Promise<number> {
  let n = 0;
  await db.transaction().execute(async (trx: Transaction<Database>) => {
    await trx.deleteFrom('epss').execute();
    let batch = new Map<string, EpssRecord>();
    const flush = async (): Promise<void> => {
      if (batch.size === 0) return;
      await trx
        .insertInto('epss')
        .values([...batch.values()].map((r) => ({ cve_id: cleanText(r.cve, 64), score: r.epss, percentile: r.percentile ?? null })))
        .onConflict((oc) => oc.column('cve_id').doUpdateSet((eb) => ({ score: eb.ref('excluded.score'), percentile: eb.ref('excluded.percentile') })))
        .execute();
      batch = new Map();
    };
    for await (const r of rows as AsyncIterable<EpssRecord>) {
      batch.set(r.cve, r);
      n++;
      if (batch.size >= CHUNK) await flush();
    }
    await flush();
  });
  return n;
}

/** CVEs naming any of these vendor:product pairs, with KEV and EPSS. */
export async function vulnCandidates(db: Kysely<Database>, products: readonly { vendor: string; product: string }[]): Promise<VulnCandidate[]> {
  const wanted = dedupe(products);
  if (wanted.length === 0) return [];
  const ids = new Set<string>();
  for (const part of chunks(wanted, 100)) {
    const rows = await db
      .selectFrom('vuln_products')
      .select('cve_id')
      .distinct()
      .where((eb) => eb.or(part.map((p) => eb.and([eb('product', '=', p.product), eb('vendor', '=', p.vendor)]))))
      .execute();
    for (const r of rows) ids.add(r.cve_id);
  }
  const out: VulnCandidate[] = [];
  for (const part of chunks([...ids])) {
    const rows = await db
      .selectFrom('vulns as v')
      .leftJoin('kev as k', 'k.cve_id', 'v.id')
      .leftJoin('epss as e', 'e.cve_id', 'v.id')
      .select(['v.id', 'v.source', 'v.published', 'v.last_modified', 'v.cvss', 'v.description', 'v.configurations', 'v.fixed_in', 'k.date_added', 'k.due_date', 'k.ransomware', 'k.name', 'e.score', 'e.percentile'])
      .where('v.id', 'in', part)
      .execute();
    for (const r of rows) {
      const c: VulnCandidate = { id: r.id, source: r.source === 'builtin' ? 'builtin' : 'nvd', description: r.description, configurations: parseJson(r.configurations) ?? [] };
      if (r.published !== null) c.published = Number(r.published);
      if (r.last_modified !== null) c.lastModified = Number(r.last_modified);
      const fixedIn = parseJson(r.fixed_in);
      if (Array.isArray(fixedIn)) c.fixedIn = fixedIn as NonNullable<VulnCandidate['fixedIn']>;
      const cvss = parseJson(r.cvss);
      if (cvss !== undefined && cvss !== null && typeof cvss === 'object') c.cvss = cvss as NonNullable<VulnCandidate['cvss']>;
      if (r.date_added !== null) c.kev = { cve: r.id, dateAdded: r.date_added, ransomware: Number(r.ransomware) === 1, name: r.name ?? '', ...(r.due_date !== null && { dueDate: r.due_date }) };
      if (r.score !== null) c.epss = { cve: r.id, epss: Number(r.score), ...(r.percentile !== null && { percentile: Number(r.percentile) }) };
      out.push(c);
    }
  }
  return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

export async function vulnCounts(db: Kysely<Database>): Promise<VulnCounts> {
  const count = async (table: 'vulns' | 'kev' | 'epss'): Promise<number> => Number((await db.selectFrom(table).select((eb) => eb.fn.countAll<number | string>().as('n')).executeTakeFirst())?.n ?? 0);
  return { cves: await count('vulns'), kev: await count('kev'), epss: await count('epss') };
}
