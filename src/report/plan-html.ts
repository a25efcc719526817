/**
 * A remediation plan as one self-contained HTML page: inline CSS, no script, no external resource,
 * and a Content-Security-Policy that forbids everything but the inline style, so even a rendering
 * bug could not load or run anything. The page has a tier badge, the header facts, the reasons, a
 * table of contents, the options table and the sections; scripts are printed in full in `<details>`
 * blocks after the Solution section (the recommended option's open), and print CSS expands them.
 *
 * Every text goes through {@link escapeHtml} (`& < > " '` as entities, control and bidi characters
 * as visible `\x1b`-style escapes); code keeps its tabs and newlines and nothing else raw. Element
 * ids are made from indices, never from data. Links are made only for http(s) URLs, with
 * `rel="noopener noreferrer"`. The markup is also well-formed XML (void elements closed, attribute
 * values quoted, only XML's predefined entities plus `&#39;`), so tests can check it with an XML parser.
 */
import { clipText, escapeXmlAttr } from '../core/escape.js';
import { PLAN_SECTION_IDS, type PlanBlock, type PlanSection, type RemediationOption, type RemediationPlan } from '../remediate/plan-types.js';
import { PLAN_LIMITS, arr, asText, codeLang, httpUrl, isRecommended, planFacts, planOutline, reasonLines, scriptLang, scriptOptions, sectionTitle, tierOf, type OutlineEntry } from './plan-markdown.js';

/**
 * `& < > " '` as entities (the apostrophe as `&#39;`, which every HTML and XML parser knows) and
 * every control, line-break and bidi character as a visible escape, so text cannot leave its element
 * or attribute, and the page reads the same in a browser, a terminal or a parser.
 */
export function escapeHtml(s: string): string {
  return escapeXmlAttr(s).replace(/&apos;/g, '&#39;');
}

function h(v: unknown, max: number): string {
  return escapeHtml(clipText(asText(v), max));
}

/** Code: escaped like text, but tabs and newlines stay as they are. */
function codeHtml(code: unknown): string {
  return asText(code)
    .split('\n')
    .map((line) => line.split('\t').map(escapeHtml).join('\t'))
    .join('\n');
}

/** No `<` or `&` anywhere, so the style element is also valid XML character data. */
const CSS = `
:root { color-scheme: light; }
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1f2328; background: #fff; margin: 0; }
main { max-width: 62rem; margin: 0 auto; padding: 1.5rem; }
h1 { font-size: 1.6rem; line-height: 1.25; margin: 0 0 .5rem; }
h2 { font-size: 1.25rem; border-bottom: 1px solid #d0d7de; padding-bottom: .2rem; margin-top: 2rem; }
h3 { font-size: 1.05rem; margin-top: 1.5rem; }
p, dd, td, th, li, summary { overflow-wrap: anywhere; }
.tier { display: inline-block; padding: .1rem .6rem; border-radius: .3rem; font-weight: 600; color: #fff; border: 1px solid #0003; }
.tier-critical { background: #8b0000; }
.tier-high { background: #c2410c; }
.tier-medium { background: #a16207; }
.tier-low { background: #1d4ed8; }
.tier-info, .tier-unknown { background: #57606a; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; margin: 1rem 0; }
dl.facts dt { font-weight: 600; }
dl.facts dd { margin: 0; }
nav.toc { background: #f6f8fa; border: 1px solid #d0d7de; border-radius: .4rem; padding: .5rem 1rem; margin: 1rem 0; }
nav.toc h2 { border: 0; margin: .3rem 0; font-size: 1rem; }
table { border-collapse: collapse; margin: .8rem 0; width: 100%; }
th, td { border: 1px solid #d0d7de; padding: .3rem .5rem; text-align: left; vertical-align: top; }
th { background: #f6f8fa; }
tr.recommended td { background: #dafbe1; }
.mark { font-weight: 700; color: #116329; }
pre { background: #f6f8fa; border: 1px solid #d0d7de; border-radius: .4rem; padding: .7rem; overflow-x: auto; tab-size: 4; }
code { font: 13px/1.45 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
.code-title { font-weight: 600; margin-bottom: .2rem; }
details { margin: .6rem 0; }
summary { cursor: pointer; font-weight: 600; }
.url { font-family: ui-monospace, monospace; overflow-wrap: anywhere; }
@media print {
  body { font-size: 11pt; }
  main { max-width: none; padding: 0; }
  nav.toc { display: none; }
  .tier, tr.recommended td { print-color-adjust: exact; -webkit-print-color-adjust: exact; }
  h1, h2, h3, .code-title, summary { break-after: avoid; }
  pre { white-space: pre-wrap; overflow-wrap: anywhere; overflow: visible; background: none; }
  details::details-content { display: block; content-visibility: visible; }
  a[href^="http"]::after { content: " (" attr(href) ")"; font-size: 90%; overflow-wrap: anywhere; }
}
`;

const CSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'";

function page(title: string, body: string[]): string {
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8" />',
    `<meta http-equiv="Content-Security-Policy" content="${CSP}" />`,
    '<meta name="referrer" content="no-referrer" />',
    '<meta name="viewport" content="width=device-width, initial-scale=1" />',
    `<title>${title}</title>`,
    `<style>${CSS}</style>`,
    '</head>',
    '<body>',
    '<main>',
    ...body,
    '</main>',
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

function table(head: readonly unknown[], rows: readonly (readonly unknown[])[]): string[] {
  const w = head.length > 0 ? Math.min(head.length, PLAN_LIMITS.items) : rows.reduce((m, r) => Math.max(m, arr(r).length), 0);
  if (w === 0) return [];
  const cells = (r: readonly unknown[], tag: 'th' | 'td'): string => Array.from({ length: w }, (_, i) => `<${tag}${tag === 'th' ? ' scope="col"' : ''}>${h(r[i], PLAN_LIMITS.cell)}</${tag}>`).join('');
  const out = ['<table>', `<thead><tr>${cells(head, 'th')}</tr></thead>`, '<tbody>'];
  for (const r of rows.slice(0, PLAN_LIMITS.items)) out.push(`<tr>${cells(arr(r), 'td')}</tr>`);
  out.push('</tbody>', '</table>');
  if (rows.length > PLAN_LIMITS.items) out.push(`<p>${rows.length - PLAN_LIMITS.items} more rows not shown.</p>`);
  return out;
}

function list(items: readonly unknown[], ordered: boolean): string[] {
  if (items.length === 0) return [];
  const tag = ordered ? 'ol' : 'ul';
  const out = [`<${tag}>`, ...items.slice(0, PLAN_LIMITS.items).map((it) => `<li>${h(it, PLAN_LIMITS.text) || '—'}</li>`)];
  if (items.length > PLAN_LIMITS.items) out.push(`<li>… and ${items.length - PLAN_LIMITS.items} more</li>`);
  out.push(`</${tag}>`);
  return out;
}

function links(items: readonly { title: string; url: string }[]): string[] {
  if (items.length === 0) return [];
  const out = ['<ul class="links">'];
  for (const l of items.slice(0, PLAN_LIMITS.items)) {
    const href = httpUrl(l?.url);
    const title = h(l?.title, PLAN_LIMITS.title);
    const url = h(l?.url, PLAN_LIMITS.url);
    if (href !== undefined) out.push(`<li><a href="${escapeHtml(href)}" rel="noopener noreferrer">${title || escapeHtml(href)}</a></li>`);
    else out.push(`<li>${title !== '' ? `${title}: ` : ''}<span class="url">${url || 'empty link'}</span></li>`);
  }
  if (items.length > PLAN_LIMITS.items) out.push(`<li>… and ${items.length - PLAN_LIMITS.items} more</li>`);
  out.push('</ul>');
  return out;
}

function pre(code: unknown, lang: string): string {
  return `<pre><code${lang !== '' ? ` class="language-${lang}"` : ''}>${codeHtml(code)}</code></pre>`;
}

function block(b: PlanBlock): string[] {
  switch (b?.kind) {
    case 'text': {
      const t = h(b.text, PLAN_LIMITS.text);
      return t === '' ? [] : [`<p>${t}</p>`];
    }
    case 'list':
      return list(arr(b.items), b.ordered === true);
    case 'code': {
      const title = h(b.title, PLAN_LIMITS.title);
      return [...(title !== '' ? [`<p class="code-title">${title}</p>`] : []), pre(b.text, codeLang(b.lang))];
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
  if (options.length === 0) return ['<p>No remediation options.</p>'];
  const out = ['<table class="options">', '<thead><tr><th scope="col">Option</th><th scope="col">Id</th><th scope="col">Recommended</th><th scope="col">Scripted</th><th scope="col">Rationale</th></tr></thead>', '<tbody>'];
  for (const o of options) {
    const rec = isRecommended(plan, o);
    out.push(
      `<tr${rec ? ' class="recommended"' : ''}><td>${h(o.title, PLAN_LIMITS.cell) || h(o.id, 40)}</td><td>${h(o.id, 40)}</td>` +
        `<td>${rec ? '<span class="mark">✔ recommended</span>' : ''}</td><td>${o.available === true ? 'yes' : 'no'}</td><td>${h(o.rationale, PLAN_LIMITS.text)}</td></tr>`,
    );
  }
  out.push('</tbody>', '</table>');
  return out;
}

function scriptsPart(plan: RemediationPlan, o: RemediationOption): string[] {
  const rec = isRecommended(plan, o);
  const out = [`<h3>Scripts: ${h(o.title, PLAN_LIMITS.title) || h(o.id, 40)}${rec ? ' (recommended)' : ''}</h3>`];
  for (const s of arr(o.scripts)) {
    const backend = h(s.backend, PLAN_LIMITS.title);
    const lang = scriptLang(s);
    for (const [role, name, code] of [['apply', s.applyName, s.apply], ['rollback', s.rollbackName, s.rollback]] as const) {
      out.push(
        `<details${rec ? ' open="open"' : ''}>`,
        `<summary><code>${h(name, PLAN_LIMITS.title) || `${role} script`}</code> (${role}${backend !== '' ? `, ${backend}` : ''})</summary>`,
        pre(code, lang),
        '</details>',
      );
    }
  }
  return out;
}

function sectionBody(s: PlanSection): string[] {
  const out: string[] = [];
  for (const part of arr(s.parts)) {
    const title = h(part?.title, PLAN_LIMITS.title);
    if (title !== '') out.push(`<h3>${title}</h3>`);
    for (const b of arr(part?.blocks)) out.push(...block(b));
  }
  return out;
}

/**
 * Element ids for the outline: `p1-options`, `p1-solution`, `p1-scripts` when the section id is one
 * of the model's (and not repeated), else `p1-s3` by position, so no id ever comes from free text.
 */
function entryIds(outline: readonly OutlineEntry[], p: string): string[] {
  const used = new Set<string>();
  return outline.map((e, i) => {
    const name: string = e.kind === 'section' ? e.section.id : e.kind;
    const id = e.kind !== 'section' || (PLAN_SECTION_IDS as readonly string[]).includes(name) ? `${p}-${name}` : '';
    const unique = id !== '' && !used.has(id) ? id : `${p}-s${i}`;
    used.add(unique);
    return unique;
  });
}

function entryTitle(e: OutlineEntry): string {
  if (e.kind === 'options') return 'Options';
  if (e.kind === 'scripts') return 'Scripts';
  return h(sectionTitle(e.section), PLAN_LIMITS.title) || 'Untitled section';
}

/** The `<article>` of one plan; `p` is the id prefix (`p1`), unique per page. */
function article(plan: RemediationPlan, p: string): string[] {
  const tier = tierOf(plan);
  const outline = planOutline(plan);
  const ids = entryIds(outline, p);
  const facts = planFacts(plan);
  const out = [`<article class="plan" id="${p}">`, '<header>', `<h1>${h(plan.title, PLAN_LIMITS.title) || 'Remediation plan'}</h1>`];
  const score = asText(plan.finding?.score);
  out.push(`<p><span class="tier tier-${tier.id ?? 'unknown'}">${h(tier.label, 40)}${score !== '' ? ` · score ${h(score, 20)}` : ''}</span></p>`);
  out.push('<dl class="facts">');
  for (const f of facts) out.push(`<dt>${f.label}</dt><dd>${h(f.value, f.label === 'Summary' ? PLAN_LIMITS.text : PLAN_LIMITS.cell) || '—'}</dd>`);
  out.push('</dl>', '</header>');
  const reasons = reasonLines(plan);
  out.push(`<h2 id="${p}-reasons">Reasons</h2>`, ...(reasons.length > 0 ? list(reasons, false) : ['<p>No reasons recorded.</p>']));
  out.push('<nav class="toc" aria-label="Contents">', '<h2>Contents</h2>', '<ol>', `<li><a href="#${p}-reasons">Reasons</a></li>`);
  outline.forEach((e, i) => out.push(`<li><a href="#${ids[i] ?? ''}">${entryTitle(e)}</a></li>`));
  out.push('</ol>', '</nav>');
  outline.forEach((e, i) => {
    out.push(`<section id="${ids[i] ?? ''}">`, `<h2>${entryTitle(e)}</h2>`);
    if (e.kind === 'options') out.push(...optionsTable(plan));
    else if (e.kind === 'section') out.push(...sectionBody(e.section));
    if (e.kind === 'scripts' || (e.kind === 'section' && e.scripts)) for (const o of scriptOptions(plan)) out.push(...scriptsPart(plan, o));
    out.push('</section>');
  });
  out.push('</article>');
  return out;
}

/** One plan as a standalone HTML page. Pure: the same plan gives the same text. */
export function planToHtml(plan: RemediationPlan): string {
  return page(h(plan.title, PLAN_LIMITS.title) || 'Remediation plan', article(plan, 'p1'));
}

/** Several plans on one page, after a table of contents listing each plan with its tier and address. */
export function plansToHtml(plans: readonly RemediationPlan[]): string {
  const body = ['<header>', '<h1>Remediation plans</h1>', `<p>${plans.length} plan${plans.length === 1 ? '' : 's'}.</p>`, '</header>'];
  if (plans.length > 0) {
    body.push('<nav class="toc" aria-label="Plans">', '<h2>Plans</h2>', '<ol>');
    plans.forEach((plan, i) => {
      const tier = tierOf(plan);
      const where = planFacts(plan).find((f) => f.label === 'Address')?.value ?? '';
      body.push(`<li><a href="#p${i + 1}">${h(plan.title, PLAN_LIMITS.title) || 'Remediation plan'}</a> <span class="tier tier-${tier.id ?? 'unknown'}">${h(tier.label, 40)}</span> <span class="url">${h(where, PLAN_LIMITS.title)}</span></li>`);
    });
    body.push('</ol>', '</nav>');
  }
  plans.forEach((plan, i) => body.push(...article(plan, `p${i + 1}`)));
  return page('Remediation plans', body);
}
