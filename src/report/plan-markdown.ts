/**
 * A remediation plan as Markdown: `#` the plan's headline, a header block (finding, key, tier and
 * score, address, service, generated time, reasons), the options as a table, then `##` per section
 * and `###` per titled part. Option scripts are printed in full at the end of the Solution section
 * (recommended option first), so the reader finds the fix where the plan describes it.
 *
 * Every text value may come from the network (a product string, a banner, an imported title), so
 * each goes through {@link escapeMarkdown} after being clipped: no markup, HTML, table-cell break or
 * line break survives. Code is verbatim inside a fence longer than any backtick run it contains;
 * only its control and bidi characters (tab and newline excepted) are made visible. Links are made
 * only for http(s) URLs; any other URL is printed as escaped text.
 *
 * The helpers exported below (facts, outline, URL check) are shared with the HTML renderer so both
 * formats say the same things in the same order.
 */
import { clipText, escapeMarkdown, escapeTerminal } from '../core/escape.js';
import { TIERS, type Tier } from '../core/finding.js';
import type { PlanBlock, PlanScript, PlanSection, RemediationOption, RemediationPlan } from '../remediate/plan-types.js';

/** Clip limits: one hostile value cannot swamp a plan. Code is never clipped (scripts are shown in full). */
export const PLAN_LIMITS = { title: 300, cell: 500, text: 4000, url: 2048, items: 500 } as const;

const TIER_LABEL: Readonly<Record<Tier, string>> = { critical: 'Critical', high: 'High', medium: 'Medium', low: 'Low', info: 'Info' };

/** Any value as text: strings as they are, finite numbers and booleans printed, anything else empty. */
export function asText(v: unknown): string {
  if (typeof v === 'string') return v;
  if ((typeof v === 'number' && Number.isFinite(v)) || typeof v === 'boolean') return String(v);
  return '';
}

/** `v` if it is an array, else empty: renderers never trust a plan read back from a file. */
export function arr<T>(v: readonly T[] | undefined | null): readonly T[] {
  return Array.isArray(v) ? (v as readonly T[]) : [];
}

/** The tier id when it is a known tier (used as a CSS class), and its label. */
export function tierOf(plan: RemediationPlan): { id: Tier | undefined; label: string } {
  const t = plan.finding?.tier;
  return TIERS.includes(t) ? { id: t, label: TIER_LABEL[t] } : { id: undefined, label: asText(t) || 'unknown' };
}

function iso(ms: unknown): string {
  return typeof ms === 'number' && Number.isFinite(ms) && Math.abs(ms) <= 8.64e15 ? new Date(ms).toISOString() : 'unknown';
}

function signed(n: number): string {
  return n > 0 ? `+${n}` : String(n);
}

/** Whether the plan recommends this option (its own flag or the plan's `recommended` id). */
export function isRecommended(plan: RemediationPlan, o: RemediationOption): boolean {
  return o.recommended === true || o.id === plan.recommended;
}

/** One label/value line of the header block; values are raw text, escaped by the renderer. */
export interface PlanFact {
  label: string;
  value: string;
}

/**
 * The header block as raw text, in display order: finding title, key, tier and score, address
 * (`[v6]:port/proto`), service and version, kind, vulnerability data, status, generated time (ISO,
 * UTC) and the recommended option.
 */
export function planFacts(plan: RemediationPlan): PlanFact[] {
  const f = plan.finding ?? ({} as Partial<RemediationPlan['finding']>);
  const addr = asText(f.address);
  const where = `${addr.includes(':') ? `[${addr}]` : addr}:${asText(f.port)}/${asText(f.protocol)}`;
  const s = f.service;
  const product = asText(s?.product);
  const name = asText(s?.name);
  const head = [product || name, asText(s?.version)].filter((x) => x !== '').join(' ');
  const service = head === '' ? 'unknown' : product !== '' && name !== '' && name !== product ? `${head} (${name})` : head;
  const score = asText(f.score);
  const facts: PlanFact[] = [
    { label: 'Finding', value: asText(f.title) || 'untitled finding' },
    { label: 'Key', value: asText(f.key) },
    { label: 'Tier', value: `${tierOf(plan).label}${score !== '' ? ` (score ${score})` : ''}` },
    { label: 'Address', value: where },
    { label: 'Service', value: service },
    { label: 'Kind', value: [asText(f.kind), asText(f.ref)].filter((x) => x !== '').join(' ') || 'unknown' },
  ];
  const c = f.cve;
  if (c !== undefined && c !== null) {
    const parts = [asText(c.id)];
    if (typeof c.cvss === 'number' && Number.isFinite(c.cvss)) parts.push(`CVSS ${c.cvss}`);
    if (c.kev === true) parts.push('in the CISA KEV catalog (exploited in the wild)');
    if (typeof c.epss === 'number' && Number.isFinite(c.epss)) parts.push(`EPSS ${(c.epss * 100).toFixed(1)}%`);
    parts.push(c.confidence === 'banner-based' ? 'matched on the version banner, possibly backported' : 'confirmed');
    facts.push({ label: 'Vulnerability', value: parts.filter((p) => p !== '').join(' · ') });
    if (asText(c.summary) !== '') facts.push({ label: 'Summary', value: asText(c.summary) });
  }
  if (asText(f.status) !== '') facts.push({ label: 'Status', value: asText(f.status) });
  facts.push({ label: 'Generated', value: iso(plan.generatedAt) });
  const rec = arr(plan.options).find((o) => isRecommended(plan, o));
  facts.push({ label: 'Recommended', value: rec !== undefined ? asText(rec.title) || asText(rec.id) : asText(plan.recommended) || 'none' });
  return facts;
}

/** The finding's reasons as raw text lines (`text (+20)`), at most {@link PLAN_LIMITS}.items plus a count of the rest. */
export function reasonLines(plan: RemediationPlan): string[] {
  const reasons = arr(plan.finding?.reasons).filter((r) => typeof r === 'object' && r !== null);
  const lines = reasons.slice(0, PLAN_LIMITS.items).map((r) => {
    const w = typeof r.weight === 'number' && Number.isFinite(r.weight) ? ` (${signed(r.weight)})` : '';
    return `${asText(r.text) || asText(r.rule) || 'unnamed reason'}${w}`;
  });
  if (reasons.length > PLAN_LIMITS.items) lines.push(`… and ${reasons.length - PLAN_LIMITS.items} more`);
  return lines;
}

/** Options that ship scripts, recommended first, each in plan order otherwise. */
export function scriptOptions(plan: RemediationPlan): RemediationOption[] {
  const withScripts = arr(plan.options).filter((o) => arr(o.scripts).length > 0);
  return [...withScripts.filter((o) => isRecommended(plan, o)), ...withScripts.filter((o) => !isRecommended(plan, o))];
}

/** What the body holds, in order: the options table, the sections (scripts after Solution), and a Scripts section when no Solution section exists. */
export type OutlineEntry = { kind: 'options' } | { kind: 'section'; section: PlanSection; scripts: boolean } | { kind: 'scripts' };

/** The body of a plan in display order; both renderers walk it for the table of contents and the body. */
export function planOutline(plan: RemediationPlan): OutlineEntry[] {
  const sections = arr(plan.sections).filter((s) => typeof s === 'object' && s !== null);
  const hasScripts = scriptOptions(plan).length > 0;
  const solution = sections.findIndex((s) => s.id === 'solution');
  const out: OutlineEntry[] = [{ kind: 'options' }];
  sections.forEach((section, i) => out.push({ kind: 'section', section, scripts: hasScripts && i === solution }));
  if (hasScripts && solution < 0) out.push({ kind: 'scripts' });
  return out;
}

/** The title of a section, or its id, or a placeholder. */
export function sectionTitle(s: PlanSection): string {
  return asText(s.title) || asText(s.id) || 'Untitled section';
}

/** Control, bidi and line-breaking characters in code made visible, keeping tabs and newlines. Linear time. */
export function visibleCode(code: string): string {
  return code
    .split('\n')
    .map((line) => line.split('\t').map(escapeTerminal).join('\t'))
    .join('\n');
}

const HTTP_URL = /^https?:\/\/[^\s]+$/i;

/**
 * The normalised URL when `url` is a plain http(s) URL (no whitespace, control or bidi character,
 * no user:password@ part that could disguise the host), else undefined: the caller prints it as
 * text instead of a link, so `javascript:` and friends never become clickable.
 */
export function httpUrl(url: unknown): string | undefined {
  if (typeof url !== 'string' || url.length > PLAN_LIMITS.url || !HTTP_URL.test(url) || escapeTerminal(url) !== url) return undefined;
  try {
    const u = new URL(url);
    if ((u.protocol !== 'http:' && u.protocol !== 'https:') || u.username !== '' || u.password !== '') return undefined;
    return u.href;
  } catch {
    return undefined;
  }
}

/** The fenced-code language for a script file name. */
export function scriptLang(s: PlanScript): 'sh' | 'powershell' {
  return /\.ps1$/i.test(asText(s.applyName)) ? 'powershell' : 'sh';
}

/** Safe code info string: only a short lowercase word, else none. */
export function codeLang(lang: unknown): string {
  return typeof lang === 'string' && /^[a-z][a-z0-9-]{0,19}$/.test(lang) ? lang : '';
}

// ---------------------------------------------------------------------------------------------
// Markdown

function md(v: unknown, max: number): string {
  return escapeMarkdown(clipText(asText(v), max));
}

/** A fence of backticks longer than any run inside the code (at least three). */
function fence(code: string): string {
  let longest = 0;
  for (const m of code.matchAll(/`+/g)) longest = Math.max(longest, m[0].length);
  return '`'.repeat(Math.max(3, longest + 1));
}

function codeBlock(code: unknown, lang: string): string[] {
  const body = visibleCode(asText(code));
  const f = fence(body);
  return [`${f}${lang}`, ...(body === '' ? [] : [body.endsWith('\n') ? body.slice(0, -1) : body]), f, ''];
}

/** One GFM table from already escaped cells, every row padded or cut to the header's width (or the widest row when there is no header). */
function rawTable(head: readonly string[], rows: readonly (readonly string[])[], total = rows.length): string[] {
  const w = head.length > 0 ? head.length : rows.reduce((m, r) => Math.max(m, r.length), 0);
  if (w === 0) return [];
  const line = (r: readonly string[]): string => `| ${Array.from({ length: w }, (_, i) => r[i] || ' ').join(' | ')} |`;
  const kept = rows.slice(0, PLAN_LIMITS.items).map(line);
  const more = total > kept.length ? [`${total - kept.length} more rows not shown.`, ''] : [];
  return [line(head), `|${' --- |'.repeat(w)}`, ...kept, '', ...more];
}

/** A table of data: every cell clipped and escaped. */
function table(head: readonly unknown[], rows: readonly (readonly unknown[])[]): string[] {
  const cell = (v: unknown): string => md(v, PLAN_LIMITS.cell);
  return rawTable(head.slice(0, PLAN_LIMITS.items).map(cell), rows.slice(0, PLAN_LIMITS.items).map((r) => arr(r).slice(0, PLAN_LIMITS.items).map(cell)), rows.length);
}

function list(items: readonly unknown[], ordered: boolean): string[] {
  const out = items.slice(0, PLAN_LIMITS.items).map((it, i) => `${ordered ? `${i + 1}.` : '-'} ${md(it, PLAN_LIMITS.text) || '—'}`);
  if (items.length > PLAN_LIMITS.items) out.push(`${ordered ? `${PLAN_LIMITS.items + 1}.` : '-'} … and ${items.length - PLAN_LIMITS.items} more`);
  return out.length > 0 ? [...out, ''] : [];
}

/** Backslash-escapes the characters a link destination would read as markup or entities. */
function mdHref(href: string): string {
  return href.replace(/[\\()<>&`*_[\]|$~!'"{}^]/g, '\\$&');
}

function links(items: readonly { title: string; url: string }[]): string[] {
  const lines = items.slice(0, PLAN_LIMITS.items).map((l) => {
    const href = httpUrl(l?.url);
    const title = md(l?.title, PLAN_LIMITS.title);
    const url = md(l?.url, PLAN_LIMITS.url);
    if (href !== undefined) return `- [${title || md(href, PLAN_LIMITS.url)}](${mdHref(href)})`;
    return `- ${title !== '' && url !== '' ? `${title}: ${url}` : title || url || 'empty link'}`;
  });
  return lines.length > 0 ? [...lines, ''] : [];
}

function block(b: PlanBlock): string[] {
  switch (b?.kind) {
    case 'text': {
      const t = md(b.text, PLAN_LIMITS.text);
      return t === '' ? [] : [t, ''];
    }
    case 'list':
      return list(arr(b.items), b.ordered === true);
    case 'code': {
      const title = md(b.title, PLAN_LIMITS.title);
      return [...(title !== '' ? [`**${title}**`, ''] : []), ...codeBlock(b.text, codeLang(b.lang))];
    }
    case 'table':
      return table(arr(b.head), arr(b.rows));
    case 'links':
      return links(arr(b.items));
    default:
      return [];
  }
}

function optionsTable(plan: RemediationPlan): string[] {
  const options = arr(plan.options);
  if (options.length === 0) return ['No remediation options.', ''];
  const rows = options.map((o) => [
    md(o.title, PLAN_LIMITS.cell) || md(o.id, 40),
    md(o.id, 40),
    isRecommended(plan, o) ? '**recommended**' : '',
    o.available === true ? 'yes' : 'no',
    md(o.rationale, PLAN_LIMITS.text),
  ]);
  return rawTable(['Option', 'Id', 'Recommended', 'Scripted', 'Rationale'], rows);
}

function scriptsPart(plan: RemediationPlan, o: RemediationOption): string[] {
  const out = [`### Scripts: ${md(o.title || o.id, PLAN_LIMITS.title)}${isRecommended(plan, o) ? ' (recommended)' : ''}`, ''];
  for (const s of arr(o.scripts)) {
    const backend = md(s.backend, PLAN_LIMITS.title);
    const lang = scriptLang(s);
    out.push(`**${md(s.applyName, PLAN_LIMITS.title) || 'apply script'}** (apply${backend !== '' ? `, ${backend}` : ''})`, '', ...codeBlock(s.apply, lang));
    out.push(`**${md(s.rollbackName, PLAN_LIMITS.title) || 'rollback script'}** (rollback${backend !== '' ? `, ${backend}` : ''})`, '', ...codeBlock(s.rollback, lang));
  }
  return out;
}

function sectionBody(s: PlanSection): string[] {
  const out: string[] = [];
  for (const part of arr(s.parts)) {
    const title = md(part?.title, PLAN_LIMITS.title);
    if (title !== '') out.push(`### ${title}`, '');
    for (const b of arr(part?.blocks)) out.push(...block(b));
  }
  return out;
}

/** The lines of one plan (no trailing newline handling). */
function planLines(plan: RemediationPlan): string[] {
  const out = [`# ${md(plan.title, PLAN_LIMITS.title) || 'Remediation plan'}`, ''];
  for (const f of planFacts(plan)) out.push(`- **${f.label}:** ${md(f.value, f.label === 'Summary' ? PLAN_LIMITS.text : PLAN_LIMITS.cell) || '—'}`);
  out.push('', '**Reasons**', '');
  const reasons = reasonLines(plan).map((r) => `- ${md(r, PLAN_LIMITS.text) || '—'}`);
  out.push(...(reasons.length > 0 ? reasons : ['- no reasons recorded']), '');
  for (const entry of planOutline(plan)) {
    if (entry.kind === 'options') out.push('## Options', '', ...optionsTable(plan));
    else if (entry.kind === 'section') {
      out.push(`## ${md(sectionTitle(entry.section), PLAN_LIMITS.title) || 'Untitled section'}`, '', ...sectionBody(entry.section));
      if (entry.scripts) for (const o of scriptOptions(plan)) out.push(...scriptsPart(plan, o));
    } else {
      out.push('## Scripts', '');
      for (const o of scriptOptions(plan)) out.push(...scriptsPart(plan, o));
    }
  }
  return out;
}

function finish(lines: string[]): string {
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return `${lines.join('\n')}\n`;
}

/** One plan as a Markdown document. Pure: the same plan gives the same text. */
export function planToMarkdown(plan: RemediationPlan): string {
  return finish(planLines(plan));
}

/**
 * Several plans in one Markdown document: a table of contents linking to an explicit anchor before
 * each plan (heading slugs of hostile titles are not predictable), then the plans, separated by rules.
 */
export function plansToMarkdown(plans: readonly RemediationPlan[]): string {
  const out = ['# Remediation plans', ''];
  if (plans.length === 0) return finish([...out, 'No plans.']);
  out.push(`${plans.length} plan${plans.length === 1 ? '' : 's'}.`, '');
  plans.forEach((p, i) => {
    const facts = planFacts(p);
    const where = facts.find((f) => f.label === 'Address')?.value ?? '';
    out.push(`${i + 1}. [${md(p.title, PLAN_LIMITS.title) || 'Remediation plan'}](#plan-${i + 1}) — ${md(tierOf(p).label, 40)}, ${md(where, PLAN_LIMITS.title)}`);
  });
  out.push('');
  plans.forEach((p, i) => out.push('---', '', `<a id="plan-${i + 1}"></a>`, '', ...planLines(p)));
  return finish(out);
}
