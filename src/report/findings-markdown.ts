/**
 * Findings as a Markdown report for tickets, wikis and pull requests: counts per tier, then one
 * section per tier that has findings, each with a table (host, port, service, title) and every
 * finding's reasons as a bullet list; accepted risks and false positives get a section of their
 * own, and fixed findings are only counted.
 *
 * Hosts, service names, titles, reasons and CVE summaries come from the network or from imported
 * files. Each goes through {@link escapeMarkdown} (no markup, HTML, table-cell break or line break
 * survives) after being clipped, so a hostile banner renders as the text it is.
 */
import { clipText, escapeMarkdown } from '../core/escape.js';
import { TIERS, type Finding, type FindingReason, type Tier } from '../core/finding.js';
import type { FindingsFormat } from './findings-registry.js';

/** Options for {@link findingsToMarkdown}. */
export interface MarkdownReportOptions {
  /** The top heading; defaults to `portolan findings`. */
  title?: string;
  /** Epoch ms printed as "Generated …"; omitted when absent, so output stays reproducible. */
  generatedAt?: number;
}

const TIER_LABEL: Readonly<Record<Tier, string>> = { critical: 'Critical', high: 'High', medium: 'Medium', low: 'Low', info: 'Info' };
const MAX_CELL = 200;
const MAX_TEXT = 1000;
const MAX_REASONS = 100;

/** Clipped and escaped inline Markdown for any value from a finding. */
function md(value: unknown, max = MAX_CELL): string {
  const text = typeof value === 'string' ? value : typeof value === 'number' || typeof value === 'boolean' ? String(value) : '';
  return escapeMarkdown(clipText(text, max));
}

function finite(n: unknown): n is number {
  return typeof n === 'number' && Number.isFinite(n);
}

function iso(ms: unknown): string | undefined {
  return finite(ms) && Math.abs(ms) <= 8.64e15 ? new Date(ms).toISOString() : undefined;
}

function isSuppressed(f: Finding): boolean {
  return f.status === 'accepted' || f.status === 'false-positive';
}

function serviceLabel(f: Finding): string {
  const s = f.service;
  if (s === undefined || s === null) return 'unknown';
  const name = typeof s.product === 'string' && s.product !== '' ? s.product : s.name;
  const text = [name, s.version].filter((x) => typeof x === 'string' && x !== '').join(' ');
  return text === '' ? 'unknown' : md(text);
}

function portCell(f: Finding): string {
  return `${md(f.port, 20)}/${md(f.protocol, 10)}`;
}

/** One GFM table; cells are already escaped. */
function table(header: readonly string[], rows: readonly string[][]): string[] {
  const line = (cells: readonly string[]): string => `| ${cells.map((c) => (c === '' ? ' ' : c)).join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)];
}

function reasonsOf(f: Finding): FindingReason[] {
  return Array.isArray(f.reasons) ? f.reasons.filter((r): r is FindingReason => typeof r === 'object' && r !== null) : [];
}

function signed(n: number): string {
  return n > 0 ? `+${n}` : String(n);
}

/** CVSS, KEV, EPSS and match confidence of a vulnerability finding, as one line. */
function vulnLine(f: Finding): string | undefined {
  const c = f.cve;
  if (c === undefined || c === null) return undefined;
  const parts = [md(c.id, 100)];
  if (finite(c.cvss)) parts.push(`CVSS ${c.cvss}`);
  if (c.kev === true) parts.push("in CISA's Known Exploited Vulnerabilities catalog (exploited in the wild)");
  if (finite(c.epss)) parts.push(`EPSS ${(c.epss * 100).toFixed(1)}%`);
  parts.push(c.confidence === 'banner-based' ? 'matched on the version banner, possibly backported' : 'confirmed');
  return parts.filter((p) => p !== '').join(' · ');
}

/** The bold heading line and bullet list of one finding. */
function details(f: Finding): string[] {
  const out = [`**${md(f.address, 300)} ${portCell(f)}** — ${md(f.title, MAX_TEXT) || 'untitled finding'}`, ''];
  const v = vulnLine(f);
  if (v !== undefined) out.push(v, '');
  if (typeof f.cve?.summary === 'string' && f.cve.summary !== '') out.push(`Summary: ${md(f.cve.summary, MAX_TEXT)}`, '');
  const reasons = reasonsOf(f);
  for (const r of reasons.slice(0, MAX_REASONS)) out.push(`- ${md(r.text, MAX_TEXT) || md(r.rule, 100)}${finite(r.weight) ? ` (${signed(r.weight)})` : ''}`);
  if (reasons.length > MAX_REASONS) out.push(`- … and ${reasons.length - MAX_REASONS} more`);
  if (reasons.length === 0) out.push('- no reasons recorded');
  out.push('');
  return out;
}

function suppressedRow(f: Finding): string[] {
  const status = f.status === 'accepted' ? 'accepted risk' : 'false positive';
  const until = f.status === 'accepted' ? iso(f.statusExpires) : undefined;
  const reason = md(f.statusReason, MAX_TEXT) || 'no reason recorded';
  return [md(f.address, 300), portCell(f), serviceLabel(f), md(f.title, MAX_CELL), TIER_LABEL[f.tier] ?? md(f.tier, 20), status, until !== undefined ? `${reason} (until ${until})` : reason];
}

/**
 * A Markdown report of these findings. Within a tier, findings keep the input order (the caller
 * sorts); tiers with no open finding get no section. Pure: the same input gives the same text.
 */
export function findingsToMarkdown(findings: readonly Finding[], opts: MarkdownReportOptions = {}): string {
  const open = new Map<Tier, Finding[]>(TIERS.map((t) => [t, []]));
  const suppressed: Finding[] = [];
  let fixed = 0;
  let other = 0;
  for (const f of findings) {
    if (f.status === 'fixed') fixed++;
    else if (isSuppressed(f)) suppressed.push(f);
    else if (open.has(f.tier)) open.get(f.tier)?.push(f);
    else other++;
  }
  const out = [`# ${md(opts.title ?? 'portolan findings', MAX_CELL) || 'portolan findings'}`, ''];
  const when = iso(opts.generatedAt);
  if (when !== undefined) out.push(`Generated ${when}.`, '');

  const count = (t: Tier): number => suppressed.filter((f) => f.tier === t).length;
  const rows = TIERS.map((t) => [TIER_LABEL[t], String(open.get(t)?.length ?? 0), String(count(t))]);
  const openTotal = [...open.values()].reduce((n, l) => n + l.length, 0);
  rows.push(['**Total**', `**${openTotal}**`, `**${suppressed.length}**`]);
  out.push(...table(['Tier', 'Open', 'Accepted or false positive'], rows), '');
  if (fixed > 0) out.push(`${fixed} fixed finding${fixed === 1 ? ' is' : 's are'} not listed.`, '');
  if (other > 0) out.push(`${other} finding${other === 1 ? ' has' : 's have'} an unknown tier and ${other === 1 ? 'is' : 'are'} not listed.`, '');
  if (openTotal === 0 && suppressed.length === 0) out.push('No findings.', '');

  for (const t of TIERS) {
    const list = open.get(t) ?? [];
    if (list.length === 0) continue;
    out.push(`## ${TIER_LABEL[t]} (${list.length})`, '');
    out.push(...table(['Host', 'Port', 'Service', 'Title'], list.map((f) => [md(f.address, 300), portCell(f), serviceLabel(f), md(f.title, MAX_CELL)])), '');
    for (const f of list) out.push(...details(f));
  }
  if (suppressed.length > 0) {
    out.push(`## Accepted risks and false positives (${suppressed.length})`, '');
    out.push(...table(['Host', 'Port', 'Service', 'Title', 'Tier', 'Status', 'Reason'], suppressed.map(suppressedRow)), '');
  }
  while (out.length > 0 && out[out.length - 1] === '') out.pop();
  return `${out.join('\n')}\n`;
}

/** `--format markdown`. */
export const markdownFindingsFormat: FindingsFormat = {
  id: 'markdown',
  extension: '.md',
  description: 'Markdown report: counts per tier, then a table and the reasons of each finding',
  render: (findings, ctx) => findingsToMarkdown(findings, ctx.generatedAt !== undefined ? { generatedAt: ctx.generatedAt } : {}),
};
