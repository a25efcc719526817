/**
 * The CISA Known Exploited Vulnerabilities catalog (`known_exploited_vulnerabilities.json`) → the
 * CVEs exploited in the wild, when CISA added each, the federal remediation due date and whether it
 * is known to be used in ransomware campaigns. A KEV entry raises a finding's tier.
 *
 * Not a catalog at all → {@link VulnDbError}; a malformed entry is skipped and counted. Pure.
 */
import { z } from 'zod';
import { quoteToken } from '../../core/errors.js';
import { CVE_ID_RE, decodeFeed, firstIssue, isoDate, isoTimestamp, oneLine, parseFeedJson, SkipLog, VulnDbError, warningsOf } from './errors.js';

/** Largest catalog read; the real one is under 2 MiB. */
export const MAX_KEV_BYTES = 64 * 1024 * 1024;
/** Most entries read; the real catalog has under 2 000. */
export const MAX_KEV_ENTRIES = 100_000;
/** Name length kept, in characters. */
export const MAX_KEV_NAME_CHARS = 200;

/** One exploited CVE. */
export interface KevEntry {
  cve: string;
  /** When CISA added it, `YYYY-MM-DD`. */
  dateAdded: string;
  /** Remediation due date for US federal agencies, `YYYY-MM-DD`; undefined if the entry has none. */
  dueDate: string | undefined;
  /** True when CISA marks it "Known" to be used in ransomware campaigns. */
  ransomware: boolean;
  /** CISA's name for it ("Apache HTTP Server Path Traversal Vulnerability"), one line, capped. */
  name: string;
}

export interface KevCatalog {
  file: string;
  /** The catalog's version, e.g. `2025.11.20`. */
  catalogVersion: string;
  /** When the catalog was released, ISO 8601 UTC; undefined if absent or unreadable. */
  dateReleased: string | undefined;
  entries: KevEntry[];
  /** Entries skipped because they were malformed. */
  malformed: number;
  /** One-line, terminal-safe warnings. */
  warnings: string[];
}

export interface KevParseOptions {
  maxBytes?: number;
  maxEntries?: number;
}

const envelopeSchema = z.object({
  catalogVersion: z.string().regex(/^[\x21-\x7e]{1,64}$/, 'not a version string'),
  dateReleased: z.string().max(64).optional(),
  count: z.number().int().min(0).optional(),
  vulnerabilities: z.array(z.unknown()),
});

const date = z.string().refine((s) => isoDate(s) !== undefined, 'not a YYYY-MM-DD date');

const entrySchema = z.object({
  cveID: z.string().regex(CVE_ID_RE, 'not a CVE id'),
  dateAdded: date,
  dueDate: date.optional(),
  // "Known" or "Unknown"; anything else is read as not known rather than dropping the entry.
  knownRansomwareCampaignUse: z.string().max(64).optional(),
  vulnerabilityName: z.string().optional(),
});

/** Why a parsed JSON value is not the KEV catalog. */
function notACatalog(doc: unknown, file: string): VulnDbError {
  const what = 'expected the CISA KEV catalog (known_exploited_vulnerabilities.json)';
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return new VulnDbError(file, `is not a JSON object; ${what}`);
  if ((doc as { format?: unknown }).format === 'NVD_CVE') return new VulnDbError(file, `is an NVD CVE page; ${what}`);
  return new VulnDbError(file, `has no "catalogVersion" and "vulnerabilities" fields; ${what}`);
}

/**
 * Parse the CISA KEV catalog JSON. Throws {@link VulnDbError} naming `file` when it is empty, too
 * large, not JSON or not the catalog; skips and counts malformed entries; keeps the first of
 * duplicate CVEs.
 */
export function parseKev(input: string | Uint8Array, file: string, options: KevParseOptions = {}): KevCatalog {
  const maxEntries = options.maxEntries ?? MAX_KEV_ENTRIES;
  const doc = parseFeedJson(decodeFeed(input, file, options.maxBytes ?? MAX_KEV_BYTES, 'CISA KEV'), file, 'CISA KEV');
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc) || !('catalogVersion' in doc) || !('vulnerabilities' in doc)) {
    throw notACatalog(doc, file);
  }
  const env = envelopeSchema.safeParse(doc);
  if (!env.success) throw new VulnDbError(file, `is not a well-formed CISA KEV catalog: ${firstIssue(env.error.issues)}`);
  const list = env.data.vulnerabilities;
  if (list.length > maxEntries) throw new VulnDbError(file, `holds ${list.length} entries, more than the ${maxEntries} allowed`);

  const malformed = new SkipLog(file, 'malformed KEV entries skipped');
  const duplicates = new SkipLog(file, 'duplicate KEV entries skipped (the first is kept)');
  const seen = new Set<string>();
  const entries: KevEntry[] = [];
  for (const [i, raw] of list.entries()) {
    const parsed = entrySchema.safeParse(raw);
    if (!parsed.success) {
      const id = typeof raw === 'object' && raw !== null ? (raw as { cveID?: unknown }).cveID : undefined;
      malformed.add(`vulnerabilities[${i}]${typeof id === 'string' ? ` ${quoteToken(id)}` : ''}: ${firstIssue(parsed.error.issues)}`);
      continue;
    }
    const e = parsed.data;
    if (seen.has(e.cveID)) {
      duplicates.add(e.cveID);
      continue;
    }
    seen.add(e.cveID);
    entries.push({
      cve: e.cveID,
      dateAdded: e.dateAdded,
      dueDate: e.dueDate,
      ransomware: e.knownRansomwareCampaignUse?.trim().toLowerCase() === 'known',
      name: oneLine(e.vulnerabilityName ?? '', MAX_KEV_NAME_CHARS),
    });
  }
  const warnings = warningsOf(malformed, duplicates);
  // A count that disagrees hints at a truncated or hand-edited download; worth a word, not a refusal.
  if (env.data.count !== undefined && env.data.count !== list.length) {
    warnings.push(`${quoteToken(file)}: the catalog says it holds ${env.data.count} entries but lists ${list.length}; the download may be incomplete`);
  }
  const released = env.data.dateReleased;
  return {
    file,
    catalogVersion: env.data.catalogVersion,
    dateReleased: released === undefined ? undefined : isoTimestamp(released),
    entries,
    malformed: malformed.total,
    warnings,
  };
}
