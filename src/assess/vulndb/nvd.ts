/**
 * NVD CVE API 2.0 JSON pages (`/rest/json/cves/2.0` responses, and the yearly "JSON 2.0" data feeds,
 * which share the envelope) → one compact record per CVE: dates, English description, the preferred
 * CVSS score and the applicability configurations that CPE matching needs. References, weaknesses
 * and the other languages are dropped.
 *
 * A file that is not such a page is a {@link VulnDbError}; a single bad CVE entry is skipped and
 * counted in a warning, so one odd record in 2 000 does not lose the page. Rejected CVEs are left
 * out. Pure: the caller reads the file.
 */
import { z } from 'zod';
import { splitCpe23 } from '../../core/cpe.js';
import { quoteToken } from '../../core/errors.js';
import type { Configuration, CpeMatch } from './types.js';
import { CVE_ID_RE, decodeFeed, firstIssue, isoTimestamp, oneLine, parseFeedJson, SkipLog, VulnDbError, warningsOf } from './errors.js';

/** Largest page read. API pages are a few MiB; the yearly 2.0 feeds run to a few hundred. */
export const MAX_NVD_BYTES = 512 * 1024 * 1024;
/** Most CVE entries in one file; the largest yearly feed holds about 40 000. */
export const MAX_NVD_ENTRIES = 200_000;
/** Description length kept, in characters. */
export const MAX_DESCRIPTION_CHARS = 2000;

export type CvssVersion = '3.1' | '3.0' | '2.0';
export type CvssSeverity = 'none' | 'low' | 'medium' | 'high' | 'critical';

/** The one CVSS base score chosen for a CVE. */
export interface CvssScore {
  version: CvssVersion;
  /** Base score, 0.0–10.0. */
  score: number;
  severity: CvssSeverity;
  /** The vector string as NVD gives it (`CVSS:3.1/AV:N/…`, or `AV:N/AC:L/…` for 2.0). */
  vector: string;
  /** Who scored it: `nvd@nist.gov` for NVD's own analysis, else the CNA (e.g. `secalert@redhat.com`). */
  source: string;
}

/** A CVE as the assessor needs it. */
export interface NvdCve {
  id: string;
  /** ISO 8601, UTC (`2023-07-20T03:15:10.170Z`). */
  published: string;
  lastModified: string;
  /** English description on one line, control characters escaped, at most {@link MAX_DESCRIPTION_CHARS}. */
  description: string;
  cvss: CvssScore | undefined;
  /**
   * Applicability statements in the shape `cpe-match.ts` takes (`types.ts`); `operator` and
   * `negate` are always filled in (NVD's defaults: OR, false). Empty when NVD has not analysed the
   * CVE yet ("Awaiting Analysis").
   */
  configurations: Configuration[];
}

/** A parsed page. */
export interface NvdPage {
  file: string;
  /** When NVD produced the page, ISO 8601 UTC. */
  timestamp: string;
  startIndex: number;
  resultsPerPage: number;
  /** Results in the whole query; with startIndex, tells the caller whether pages are missing. */
  totalResults: number;
  cves: NvdCve[];
  /** CVEs left out because NVD rejected them. */
  rejected: number;
  /** CVE entries skipped because they were malformed. */
  malformed: number;
  /** One-line, terminal-safe warnings (skipped entries, ignored metrics, duplicates). */
  warnings: string[];
}

export interface NvdParseOptions {
  maxBytes?: number;
  maxEntries?: number;
}

// --- schemas: only what we keep is validated; unknown keys are dropped (z.object strips them) ---

const timestamp = z.string().max(40).refine((s) => isoTimestamp(s) !== undefined, 'not an ISO 8601 timestamp');
/** Versions in bounds: printable ASCII without spaces (`9.3p2`, `2.4.49`, `1.0.2zh`, `11.0.0-1`). */
const bound = z.string().regex(/^[\x21-\x7e]{1,128}$/, 'not a version string').optional();
const criteria = z
  .string()
  .regex(/^cpe:2\.3:[aoh*]:[\x21-\x7e]{1,1000}$/, 'not a CPE 2.3 name')
  .refine((s) => splitCpe23(s) !== undefined, 'not a CPE 2.3 name with 11 fields');
const operator = z.enum(['AND', 'OR']);

const cpeMatchSchema = z.object({
  vulnerable: z.boolean(),
  criteria,
  versionStartIncluding: bound,
  versionStartExcluding: bound,
  versionEndIncluding: bound,
  versionEndExcluding: bound,
});

const nodeSchema = z.object({
  operator: operator.optional(),
  negate: z.boolean().optional(),
  // Big vendors' CVEs list thousands of matches (firmware builds); the caps only refuse absurdity.
  cpeMatch: z.array(cpeMatchSchema).max(50_000),
});

const configurationSchema = z.object({
  operator: operator.optional(),
  negate: z.boolean().optional(),
  nodes: z.array(nodeSchema).min(1).max(1000),
});

const cveSchema = z.object({
  id: z.string().regex(CVE_ID_RE, 'not a CVE id'),
  published: timestamp,
  lastModified: timestamp,
  descriptions: z.array(z.object({ lang: z.string().max(16), value: z.string() })).max(64),
  // Metric entries are checked one by one in pickCvss: a bad score drops the score, not the CVE.
  metrics: z
    .object({
      cvssMetricV31: z.array(z.unknown()).max(256).optional(),
      cvssMetricV30: z.array(z.unknown()).max(256).optional(),
      cvssMetricV2: z.array(z.unknown()).max(256).optional(),
    })
    .optional(),
  configurations: z.array(configurationSchema).max(1000).optional(),
});

const score = z.number().min(0).max(10);
const severity = z.string().regex(/^(none|low|medium|high|critical)$/i).optional();
const vector = z.string().regex(/^[A-Za-z0-9:/.]{1,200}$/);
const source = z.string().max(128).optional();
const type = z.string().max(32).optional();

const v3MetricSchema = z.object({
  source,
  type,
  cvssData: z.object({ version: z.string(), vectorString: vector, baseScore: score, baseSeverity: severity }),
});
// In 2.0 metrics the severity sits beside cvssData, not in it.
const v2MetricSchema = z.object({
  source,
  type,
  cvssData: z.object({ version: z.string(), vectorString: vector, baseScore: score }),
  baseSeverity: severity,
});

const envelopeSchema = z.object({
  resultsPerPage: z.number().int().min(0),
  startIndex: z.number().int().min(0),
  totalResults: z.number().int().min(0),
  timestamp,
  vulnerabilities: z.array(z.unknown()),
});

/** Severity from the score where the metric lacks one, by each version's published ranges. */
function severityOf(version: CvssVersion, value: number): CvssSeverity {
  if (version === '2.0') return value >= 7 ? 'high' : value >= 4 ? 'medium' : 'low';
  if (value === 0) return 'none';
  return value >= 9 ? 'critical' : value >= 7 ? 'high' : value >= 4 ? 'medium' : 'low';
}

const METRIC_KEYS: readonly [CvssVersion, 'cvssMetricV31' | 'cvssMetricV30' | 'cvssMetricV2'][] = [
  ['3.1', 'cvssMetricV31'],
  ['3.0', 'cvssMetricV30'],
  ['2.0', 'cvssMetricV2'],
];

/**
 * The score to show: newest CVSS version first (3.1, 3.0, 2.0), and within a version NVD's own
 * "Primary" score before a CNA's "Secondary" one. Newer CVEs often carry only the CNA's score, and
 * a CNA 3.1 score says more about today's impact than NVD's legacy 2.0 one. Invalid metric entries
 * are counted in `ignored` and passed over.
 */
function pickCvss(metrics: z.infer<typeof cveSchema>['metrics'], ignored: SkipLog, id: string): CvssScore | undefined {
  if (metrics === undefined) return undefined;
  for (const [version, key] of METRIC_KEYS) {
    let fallback: CvssScore | undefined;
    for (const [i, raw] of (metrics[key] ?? []).entries()) {
      const parsed = version === '2.0' ? v2MetricSchema.safeParse(raw) : v3MetricSchema.safeParse(raw);
      if (!parsed.success || parsed.data.cvssData.version !== version) {
        ignored.add(`${id} ${key}[${i}]: ${parsed.success ? 'version does not match' : firstIssue(parsed.error.issues)}`);
        continue;
      }
      const m = parsed.data;
      const sev = ('baseSeverity' in m ? m.baseSeverity : undefined) ?? ('baseSeverity' in m.cvssData ? m.cvssData.baseSeverity : undefined);
      const s: CvssScore = {
        version,
        score: m.cvssData.baseScore,
        severity: sev !== undefined ? (sev.toLowerCase() as CvssSeverity) : severityOf(version, m.cvssData.baseScore),
        vector: m.cvssData.vectorString,
        source: oneLine(m.source ?? '', 128),
      };
      if (m.type === 'Primary') return s;
      fallback ??= s;
    }
    if (fallback !== undefined) return fallback;
  }
  return undefined;
}

/** The English description: `en` first, then a regional English, else empty. */
function english(descriptions: readonly { lang: string; value: string }[]): string {
  const d = descriptions.find((x) => x.lang === 'en') ?? descriptions.find((x) => /^en[-_]/i.test(x.lang));
  return d === undefined ? '' : oneLine(d.value, MAX_DESCRIPTION_CHARS);
}

/** Copy a validated match without its absent bounds (so records compare and serialise cleanly). */
function toMatch(m: z.infer<typeof cpeMatchSchema>): CpeMatch {
  const out: CpeMatch = { vulnerable: m.vulnerable, criteria: m.criteria };
  if (m.versionStartIncluding !== undefined) out.versionStartIncluding = m.versionStartIncluding;
  if (m.versionStartExcluding !== undefined) out.versionStartExcluding = m.versionStartExcluding;
  if (m.versionEndIncluding !== undefined) out.versionEndIncluding = m.versionEndIncluding;
  if (m.versionEndExcluding !== undefined) out.versionEndExcluding = m.versionEndExcluding;
  return out;
}

function toConfiguration(c: z.infer<typeof configurationSchema>): Configuration {
  return {
    operator: c.operator ?? 'OR',
    negate: c.negate ?? false,
    nodes: c.nodes.map((n) => ({ operator: n.operator ?? 'OR', negate: n.negate ?? false, cpeMatch: n.cpeMatch.map(toMatch) })),
  };
}

/** Why a parsed JSON value is not an NVD 2.0 page, in words that point at the right download. */
function notAPage(doc: unknown, file: string): VulnDbError {
  const what = 'expected an NVD CVE API 2.0 JSON page (format "NVD_CVE", version "2.0")';
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return new VulnDbError(file, `is not a JSON object; ${what}`);
  const o = doc as Record<string, unknown>;
  if ('CVE_data_type' in o || 'CVE_Items' in o) {
    return new VulnDbError(file, 'is a legacy NVD 1.1 JSON feed, which NVD retired; download CVE API 2.0 pages or the JSON 2.0 feeds');
  }
  if (o.format === undefined) return new VulnDbError(file, `has no "format" field; ${what}`);
  const shown = typeof o.format === 'string' ? quoteToken(o.format) : typeof o.format;
  return new VulnDbError(file, `has format ${shown}; ${what}`);
}

/**
 * Parse one NVD CVE API 2.0 page. Throws {@link VulnDbError} (naming `file`) when the input is
 * empty, too large, not JSON, or not an NVD 2.0 page; skips and counts malformed or rejected CVEs.
 */
export function parseNvdPage(input: string | Uint8Array, file: string, options: NvdParseOptions = {}): NvdPage {
  const maxEntries = options.maxEntries ?? MAX_NVD_ENTRIES;
  const doc = parseFeedJson(decodeFeed(input, file, options.maxBytes ?? MAX_NVD_BYTES, 'NVD CVE API 2.0'), file, 'NVD CVE API 2.0');
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc) || (doc as Record<string, unknown>).format !== 'NVD_CVE') throw notAPage(doc, file);
  const version = (doc as Record<string, unknown>).version;
  if (typeof version !== 'string' || !/^2\.\d{1,3}$/.test(version)) {
    throw new VulnDbError(file, `is an NVD page of version ${typeof version === 'string' ? quoteToken(version) : typeof version}; only CVE API 2.x is supported`);
  }
  const env = envelopeSchema.safeParse(doc);
  if (!env.success) throw new VulnDbError(file, `is not a well-formed NVD 2.0 page: ${firstIssue(env.error.issues)}`);
  const entries = env.data.vulnerabilities;
  if (entries.length > maxEntries) throw new VulnDbError(file, `holds ${entries.length} CVEs, more than the ${maxEntries} allowed in one file`);

  const malformed = new SkipLog(file, 'malformed CVE entries skipped');
  const ignored = new SkipLog(file, 'malformed CVSS metrics ignored');
  const duplicates = new SkipLog(file, 'duplicate CVE entries skipped (the first is kept)');
  const seen = new Set<string>();
  const cves: NvdCve[] = [];
  let rejected = 0;
  for (const [i, entry] of entries.entries()) {
    const cve = typeof entry === 'object' && entry !== null ? (entry as { cve?: unknown }).cve : undefined;
    // Rejected CVEs are checked before validation: NVD strips them to an id and a notice.
    if (typeof cve === 'object' && cve !== null && (cve as { vulnStatus?: unknown }).vulnStatus === 'Rejected') {
      rejected++;
      continue;
    }
    const parsed = cveSchema.safeParse(cve);
    if (!parsed.success) {
      const id = typeof cve === 'object' && cve !== null ? (cve as { id?: unknown }).id : undefined;
      const label = typeof id === 'string' ? ` ${quoteToken(id)}` : '';
      malformed.add(`vulnerabilities[${i}]${label}: ${cve === undefined ? 'no "cve" object' : firstIssue(parsed.error.issues)}`);
      continue;
    }
    const c = parsed.data;
    if (seen.has(c.id)) {
      duplicates.add(c.id);
      continue;
    }
    seen.add(c.id);
    cves.push({
      id: c.id,
      published: isoTimestamp(c.published)!,
      lastModified: isoTimestamp(c.lastModified)!,
      description: english(c.descriptions),
      cvss: pickCvss(c.metrics, ignored, c.id),
      configurations: (c.configurations ?? []).map(toConfiguration),
    });
  }
  return {
    file,
    timestamp: isoTimestamp(env.data.timestamp)!,
    startIndex: env.data.startIndex,
    resultsPerPage: env.data.resultsPerPage,
    totalResults: env.data.totalResults,
    cves,
    rejected,
    malformed: malformed.total,
    warnings: warningsOf(malformed, duplicates, ignored),
  };
}
