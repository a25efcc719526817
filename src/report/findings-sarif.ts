/**
 * Findings as a SARIF 2.1.0 log (OASIS Static Analysis Results Interchange Format), the format
 * code-scanning dashboards and SARIF viewers read. One run; one rule per kind of finding (an
 * exposure's leading reason, a CVE, a safe check); one result per finding that is not fixed.
 *
 * SARIF was made for source files, and a finding lives on a network service, so each result has a
 * logical location (`10.0.0.5:22/tcp`, kind `resource`) instead of a file (SARIF §3.33). Dashboards
 * that insist on a physical file location (GitHub code scanning does) will not accept such results.
 *
 * Every string from the network or the store is made safe for the places SARIF text ends up:
 * control and bidi characters become visible escapes (viewers print messages raw), long texts are
 * clipped, and in message strings `\`, `[`, `]` are backslash-escaped (a viewer would otherwise
 * render `[x](https://…)` from a banner as an embedded link, SARIF §3.11.6) and `{`, `}` doubled
 * (they would otherwise be read as argument placeholders, SARIF §3.11.5).
 */
import { clipText, escapeTerminal } from '../core/escape.js';
import type { Finding, FindingReason, Tier } from '../core/finding.js';
import type { FindingsFormat } from './findings-registry.js';

/** The published schema of the version written here. */
export const SARIF_SCHEMA_URI = 'https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json';

/** Name of the partial fingerprint that carries the finding's stable key; `/v1` versions the recipe. */
export const SARIF_FINGERPRINT = 'portolanFindingKey/v1';

/** The tool that wrote the log. */
export interface SarifToolInfo {
  name: 'portolan';
  version: string;
  /** Absolute URI of the project; omitted from the log when it is not a valid URI. */
  informationUri?: string;
}

export type SarifLevel = 'error' | 'warning' | 'note';

export interface SarifText {
  text: string;
}

export interface SarifRule {
  id: string;
  shortDescription: SarifText;
  fullDescription?: SarifText;
  helpUri?: string;
  properties?: Record<string, unknown>;
}

export interface SarifResult {
  ruleId: string;
  ruleIndex: number;
  level: SarifLevel;
  message: SarifText;
  locations: { logicalLocations: { fullyQualifiedName: string; kind: 'resource' }[] }[];
  partialFingerprints: Record<string, string>;
  properties: Record<string, unknown>;
  suppressions?: { kind: 'external'; status: 'accepted'; justification: string }[];
}

export interface SarifLog {
  $schema: string;
  version: '2.1.0';
  runs: [{ tool: { driver: { name: string; version: string; informationUri?: string; rules: SarifRule[] } }; results: SarifResult[] }];
}

/** critical/high fail a build, medium warns, low and info are notes. */
export const SARIF_LEVELS: Readonly<Record<Tier, SarifLevel>> = { critical: 'error', high: 'error', medium: 'warning', low: 'note', info: 'note' };

/**
 * GitHub code scanning ranks alerts by a rule's `security-severity` (a CVSS-like score as a string):
 * 9.0+ critical, 7.0+ high, 4.0+ medium, above 0 low. Info has none, so it stays unranked.
 */
const TIER_SEVERITY: Readonly<Record<Tier, number | undefined>> = { critical: 9.5, high: 8, medium: 5.5, low: 2, info: undefined };

const CVE_RE = /^CVE-\d{4}-\d{4,19}$/i;
const MAX_TEXT = 2000;
const MAX_SHORT = 300;
const MAX_REASONS = 100;

/** Plain text for a JSON string read by humans and terminals: visible escapes, clipped. */
function plain(value: unknown, max = MAX_SHORT): string {
  const text = typeof value === 'string' ? value : typeof value === 'number' || typeof value === 'boolean' ? String(value) : '';
  return escapeTerminal(clipText(text, max));
}

/** Hostile text inside a SARIF message string (see the file comment for why each escape). */
function msg(value: unknown, max = MAX_TEXT): string {
  return plain(value, max).replace(/[\\[\]]/g, '\\$&').replace(/[{}]/g, '$&$&');
}

/** A rule id part: a short token of safe characters, so ids stay opaque, stable and printable. */
function token(value: unknown): string {
  return clipText(typeof value === 'string' ? value : '', 100).replace(/[^A-Za-z0-9._-]/g, '_');
}

function finite(n: unknown): n is number {
  return typeof n === 'number' && Number.isFinite(n);
}

/** ISO 8601 for epoch ms, or undefined for values a Date cannot hold. */
function iso(ms: unknown): string | undefined {
  return finite(ms) && Math.abs(ms) <= 8.64e15 ? new Date(ms).toISOString() : undefined;
}

function reasonsOf(f: Finding): FindingReason[] {
  return Array.isArray(f.reasons) ? f.reasons.filter((r): r is FindingReason => typeof r === 'object' && r !== null) : [];
}

/** The reason with the largest positive weight (the first of equals): what the exposure is mostly about. */
function topReason(f: Finding): FindingReason | undefined {
  let best: FindingReason | undefined;
  for (const r of reasonsOf(f)) if (finite(r.weight) && r.weight > 0 && (best === undefined || r.weight > best.weight)) best = r;
  return best;
}

interface RuleDraft {
  rule: SarifRule;
  index: number;
  severity: number | undefined;
}

/** The rule a finding belongs to: its id and, the first time it is seen, its descriptor. */
function ruleOf(f: Finding): SarifRule {
  if (f.kind === 'vulnerability') {
    const raw = typeof f.cve?.id === 'string' ? f.cve.id : f.ref;
    const summary = typeof f.cve?.summary === 'string' && f.cve.summary !== '' ? f.cve.summary : undefined;
    if (typeof raw === 'string' && CVE_RE.test(raw)) {
      const id = raw.toUpperCase();
      const rule: SarifRule = { id, shortDescription: { text: summary !== undefined ? `${id}: ${plain(summary, 200)}` : id }, helpUri: `https://nvd.nist.gov/vuln/detail/${id}` };
      if (summary !== undefined) rule.fullDescription = { text: plain(summary, MAX_TEXT) };
      return rule;
    }
    const id = `vulnerability/${token(raw) || 'unknown'}`;
    return { id, shortDescription: { text: `Vulnerability ${plain(raw, 100) || 'without an id'}` } };
  }
  if (f.kind === 'check') {
    const ref = token(f.ref) || 'unknown';
    return { id: `check/${ref}`, shortDescription: { text: `A safe check found a problem (${ref})` } };
  }
  const rule = token(topReason(f)?.rule) || 'open-service';
  return {
    id: `exposure/${rule}`,
    shortDescription: { text: `Exposed network service (${rule})` },
    fullDescription: { text: `An open network service whose heaviest priority reason is the rule '${rule}'. Each result's message lists all its reasons.` },
  };
}

/** `10.0.0.5:22/tcp`, `[2001:db8::1]:443/tcp`. */
function where(f: Finding): string {
  const host = plain(f.address, 300);
  return `${host.includes(':') ? `[${host}]` : host}:${plain(f.port, 20)}/${plain(f.protocol, 10)}`;
}

function signed(n: number): string {
  return n > 0 ? `+${n}` : String(n);
}

function vulnLine(f: Finding): string | undefined {
  const c = f.cve;
  if (c === undefined || c === null) return undefined;
  const parts: string[] = [];
  if (finite(c.cvss)) parts.push(`CVSS ${c.cvss}`);
  if (c.kev === true) parts.push("in CISA's Known Exploited Vulnerabilities catalog");
  if (finite(c.epss)) parts.push(`EPSS ${(c.epss * 100).toFixed(1)}%`);
  parts.push(c.confidence === 'banner-based' ? 'matched on the version banner, possibly backported' : 'confirmed');
  return `${parts.join(', ')}.`;
}

function messageOf(f: Finding): string {
  const title = msg(f.title, MAX_SHORT) || `${f.kind} finding`;
  const lines = [`${msg(where(f))}: ${title}${/[.!?]$/.test(title) ? '' : '.'}`];
  const v = vulnLine(f);
  if (v !== undefined) lines.push(msg(v));
  const reasons = reasonsOf(f);
  if (reasons.length > 0) lines.push('Reasons:');
  for (const r of reasons.slice(0, MAX_REASONS)) lines.push(`- ${msg(r.text)}${finite(r.weight) ? ` (${signed(r.weight)})` : ''}`);
  if (reasons.length > MAX_REASONS) lines.push(`- … and ${reasons.length - MAX_REASONS} more`);
  return lines.join('\n');
}

function propertiesOf(f: Finding): Record<string, unknown> {
  const p: Record<string, unknown> = { tier: plain(f.tier, 20), kind: plain(f.kind, 20), status: plain(f.status, 20), address: plain(f.address, 300), port: f.port, protocol: plain(f.protocol, 10) };
  if (finite(f.score)) p.score = f.score;
  const c = f.cve;
  if (c !== undefined && c !== null) {
    if (finite(c.cvss)) p.cvss = c.cvss;
    p.kev = c.kev === true;
    if (finite(c.epss)) p.epss = c.epss;
    p.confidence = plain(c.confidence, 20);
  }
  const svc = f.service;
  if (svc !== undefined && svc !== null) p.service = plain([svc.product ?? svc.name, svc.version].filter((x) => typeof x === 'string' && x !== '').join(' '));
  const until = iso(f.statusExpires);
  if (until !== undefined) p.statusExpires = until;
  p.tags = ['security', plain(f.kind, 20)];
  return p;
}

function suppressionOf(f: Finding): SarifResult['suppressions'] {
  if (f.status !== 'accepted' && f.status !== 'false-positive') return undefined;
  const reason = typeof f.statusReason === 'string' && f.statusReason.trim() !== '' ? plain(f.statusReason, MAX_TEXT) : 'no reason recorded';
  const until = f.status === 'accepted' ? iso(f.statusExpires) : undefined;
  const justification = f.status === 'accepted' ? `accepted risk: ${reason}${until !== undefined ? ` (until ${until})` : ''}` : `false positive: ${reason}`;
  // `external`: the decision lives in portolan's store, not in the scanned artefact.
  return [{ kind: 'external', status: 'accepted', justification }];
}

/**
 * A SARIF 2.1.0 log of these findings. Fixed findings are left out; accepted risks and false
 * positives are results with a `suppressions` entry carrying the reason (and the acceptance's
 * expiry). Results keep the input order; rules are listed in order of first use. Pure: the same
 * findings always give the same log.
 */
export function findingsToSarif(findings: readonly Finding[], tool: SarifToolInfo): SarifLog {
  const rules = new Map<string, RuleDraft>();
  const results: SarifResult[] = [];
  for (const f of findings) {
    if (f.status === 'fixed') continue;
    const candidate = ruleOf(f);
    let draft = rules.get(candidate.id);
    if (draft === undefined) {
      draft = { rule: candidate, index: rules.size, severity: undefined };
      rules.set(candidate.id, draft);
    }
    const severity = f.kind === 'vulnerability' && finite(f.cve?.cvss) ? f.cve.cvss : TIER_SEVERITY[f.tier];
    if (finite(severity) && severity > 0 && (draft.severity === undefined || severity > draft.severity)) draft.severity = Math.min(10, severity);
    const result: SarifResult = {
      ruleId: candidate.id,
      ruleIndex: draft.index,
      level: SARIF_LEVELS[f.tier] ?? 'warning',
      message: { text: messageOf(f) },
      locations: [{ logicalLocations: [{ fullyQualifiedName: where(f), kind: 'resource' }] }],
      partialFingerprints: { [SARIF_FINGERPRINT]: plain(f.key, MAX_TEXT) },
      properties: propertiesOf(f),
    };
    const suppressions = suppressionOf(f);
    if (suppressions !== undefined) result.suppressions = suppressions;
    results.push(result);
  }
  const ruleList = [...rules.values()].map(({ rule, severity }) => (severity === undefined ? rule : { ...rule, properties: { 'security-severity': severity.toFixed(1), tags: ['security'] } }));
  const driver: SarifLog['runs'][0]['tool']['driver'] = { name: tool.name, version: tool.version, rules: ruleList };
  if (tool.informationUri !== undefined && URL.canParse(tool.informationUri)) driver.informationUri = tool.informationUri;
  return { $schema: SARIF_SCHEMA_URI, version: '2.1.0', runs: [{ tool: { driver }, results }] };
}

/** The log as pretty-printed JSON with a final newline (all text in it is already escaped). */
export function renderSarif(findings: readonly Finding[], tool: SarifToolInfo): string {
  return `${JSON.stringify(findingsToSarif(findings, tool), null, 2)}\n`;
}

/** `--format sarif`. */
export const sarifFindingsFormat: FindingsFormat = {
  id: 'sarif',
  extension: '.sarif',
  description: 'SARIF 2.1.0 log for code-scanning tools (fixed findings left out, accepted ones suppressed)',
  render: (findings, ctx) => renderSarif(findings, { name: 'portolan', version: ctx.toolVersion, ...(ctx.informationUri !== undefined && { informationUri: ctx.informationUri }) }),
};
