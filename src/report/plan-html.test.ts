import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SaxesParser } from 'saxes';
import { afterAll, describe, expect, it } from 'vitest';
import { BAD_URLS, PLAN_HOSTILE, hostilePlan, redisPlan, sshCvePlan } from '../../test/fixtures/plans/plan-fixtures.js';
import { RAW_CONTROL } from '../../test/fixtures/report/hosts.js';
import { escapeHtml, planToHtml, plansToHtml } from './plan-html.js';

const GOLDEN = '../../test/fixtures/plans';
const dir = mkdtempSync(join(tmpdir(), 'portolan-plan-html-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface El {
  name: string;
  attrs: Record<string, string>;
  /** Decoded text directly and indirectly inside the element. */
  text: string;
  parent: El | undefined;
}

const ELEMENTS = new Set(['html', 'head', 'meta', 'title', 'style', 'body', 'main', 'article', 'header', 'nav', 'section', 'h1', 'h2', 'h3', 'p', 'span', 'dl', 'dt', 'dd', 'ul', 'ol', 'li', 'a', 'table', 'thead', 'tbody', 'tr', 'th', 'td', 'pre', 'code', 'details', 'summary']);
const ATTRIBUTES = new Set(['lang', 'charset', 'http-equiv', 'content', 'name', 'class', 'id', 'href', 'rel', 'open', 'aria-label', 'scope']);

/**
 * Parses the page with a strict XML parser (the renderer writes well-formed markup, so any stray
 * `<`, bad entity or unclosed element fails here) and checks the whole element tree: only expected
 * elements and attributes, no script or external resource, links only to http(s) or to an id on the
 * page, every external link rel="noopener noreferrer", unique ids. Returns every element.
 */
function parsePage(html: string): El[] {
  const all: El[] = [];
  const stack: El[] = [];
  const parser = new SaxesParser();
  parser.on('opentag', (tag) => {
    const attrs = Object.fromEntries(Object.entries(tag.attributes).map(([k, v]) => [k, String(v)]));
    const el: El = { name: tag.name, attrs, text: '', parent: stack.at(-1) };
    all.push(el);
    stack.push(el);
  });
  parser.on('closetag', () => void stack.pop());
  parser.on('text', (t) => {
    for (const el of stack) el.text += t;
  });
  parser.write(html).close();
  expect(stack).toHaveLength(0);
  const ids = all.map((e) => e.attrs.id).filter((x): x is string => x !== undefined);
  expect(new Set(ids).size).toBe(ids.length);
  for (const el of all) {
    expect(ELEMENTS.has(el.name), el.name).toBe(true);
    for (const a of Object.keys(el.attrs)) expect(ATTRIBUTES.has(a), `${el.name}[${a}]`).toBe(true);
    const href = el.attrs.href;
    if (href === undefined) continue;
    expect(el.name).toBe('a');
    if (href.startsWith('#')) expect(ids).toContain(href.slice(1));
    else {
      expect(href).toMatch(/^https?:\/\/[^\s]+$/);
      expect(el.attrs.rel).toBe('noopener noreferrer');
    }
  }
  expect(all.filter((e) => e.name === 'style')).toHaveLength(1);
  const metas = all.filter((e) => e.name === 'meta');
  expect(metas[0]?.attrs).toEqual({ charset: 'utf-8' });
  expect(metas.find((m) => m.attrs['http-equiv'] === 'Content-Security-Policy')?.attrs.content).toMatch(/^default-src 'none'; style-src 'unsafe-inline'(;|$)/);
  return all;
}

/** libxml2's HTML parser: no error except its not knowing HTML5 element names; no script element. */
function xmllintHtml(html: string): void {
  const file = join(dir, 'page.html');
  writeFileSync(file, html);
  const lint = spawnSync('xmllint', ['--html', '--noout', file], { encoding: 'utf8' });
  const errors = lint.stderr.split('\n').filter((l) => / error : /.test(l) && !/Tag (main|nav|article|header|section|details|summary) invalid/.test(l));
  expect(errors).toEqual([]);
  const scripts = spawnSync('xmllint', ['--html', '--xpath', 'count(//script|//iframe|//img|//object|//*[@onerror]|//*[@onload])', file], { encoding: 'utf8' });
  expect(scripts.stdout.trim()).toBe('0');
}

describe('planToHtml', () => {
  it('renders the Redis plan as the golden file', async () => {
    const html = planToHtml(redisPlan());
    expect(planToHtml(structuredClone(redisPlan()))).toBe(html);
    await expect(html).toMatchFileSnapshot(`${GOLDEN}/redis-exposure.html`);
  });

  it('is one self-contained page that both an XML and an HTML parser accept', () => {
    const html = planToHtml(redisPlan());
    expect(html.startsWith('<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8" />\n')).toBe(true);
    const els = parsePage(html);
    xmllintHtml(html);
    expect(html).not.toMatch(/url\(|@import|src=|<link/i);
    const text = (name: string): string[] => els.filter((e) => e.name === name).map((e) => e.text);
    expect(text('h1')).toEqual(['Redis on 198.51.100.7:6379 answers without authentication from the internet']);
    expect(text('h2')).toEqual(['Reasons', 'Contents', 'Options', 'Introduction', 'Technical details', 'Detection', 'Solution', 'Verification', 'Prevention', 'Risks and rollback', 'References']);
    expect(els.filter((e) => e.parent?.name === 'ol' && e.parent.parent?.name === 'nav').map((e) => e.text)).toEqual(['Reasons', 'Options', 'Introduction', 'Technical details', 'Detection', 'Solution', 'Verification', 'Prevention', 'Risks and rollback', 'References']);
    expect(els.find((e) => e.attrs.class?.startsWith('tier '))?.attrs.class).toBe('tier tier-critical');
    const facts = els.filter((e) => e.name === 'dt' || e.name === 'dd').map((e) => e.text);
    expect(facts).toEqual(expect.arrayContaining(['Key', '198.51.100.7/tcp/6379/exposure', 'Address', '198.51.100.7:6379/tcp', 'Generated', '2026-03-04T05:06:07.000Z']));
    expect(els.filter((e) => e.name === 'tr' && e.attrs.class === 'recommended').map((e) => e.text)).toEqual([expect.stringMatching(/^Bind Redis to loopbackbind-loopback✔ recommendedyes/)]);
    expect(els.filter((e) => e.name === 'a' && !e.attrs.href?.startsWith('#')).map((e) => e.attrs.href)).toEqual(['https://redis.io/docs/latest/operate/oss_and_stack/management/security/', 'https://wiki.nftables.org/wiki-nftables/index.php/Main_Page']);
  });

  it('prints every script in full in details blocks after Solution, the recommended ones open', () => {
    const plan = redisPlan();
    const els = parsePage(planToHtml(plan));
    const details = els.filter((e) => e.name === 'details');
    expect(details.map((d) => [d.attrs.open, els.find((e) => e.name === 'summary' && e.parent === d)?.text.slice(0, -1)])).toEqual([
      ['open', 'apply-redis.sh (apply, redis'],
      ['open', 'rollback-redis.sh (rollback, redis'],
      [undefined, 'apply-nftables.sh (apply, nftables'],
      [undefined, 'rollback-nftables.sh (rollback, nftables'],
      [undefined, 'apply-systemd.sh (apply, systemd'],
      [undefined, 'rollback-systemd.sh (rollback, systemd'],
    ]);
    expect(new Set(details.map((d) => d.parent?.attrs.id))).toEqual(new Set(['p1-solution']));
    const codes = els.filter((e) => e.name === 'code' && e.parent?.name === 'pre' && e.parent.parent?.name === 'details').map((e) => e.text);
    expect(codes).toEqual(plan.options.flatMap((o) => o.scripts.flatMap((s) => [s.apply, s.rollback])));
  });

  it('links http(s) URLs only, with rel="noopener noreferrer"; others are escaped text', () => {
    for (const url of BAD_URLS) {
      const html = planToHtml(hostilePlan('x', url));
      const els = parsePage(html);
      const external = els.filter((e) => e.name === 'a' && !e.attrs.href?.startsWith('#'));
      expect(new Set(external.map((e) => e.attrs.href)), url).toEqual(new Set(['https://example.org/ok']));
      if (url.length <= 2048) expect(els.some((e) => e.attrs.class === 'url' && e.text === escapeHtmlVisible(url)), url).toBe(true);
    }
  });

  it.each(Object.entries(PLAN_HOSTILE))('hostile %s: escaped everywhere, parsers agree, the text survives', (_name, s) => {
    const html = planToHtml(hostilePlan(s));
    expect(html).not.toMatch(RAW_CONTROL);
    expect(html).not.toMatch(/<script|<img|<!--|<!\[CDATA/i);
    const els = parsePage(html);
    xmllintHtml(html);
    expect(els.find((e) => e.name === 'h1')?.text).toBe(escapeHtmlVisible(s));
    expect(els.find((e) => e.name === 'title')?.text).toBe(escapeHtmlVisible(s));
    // Code keeps newlines and tabs; other controls become visible escapes.
    expect(els.filter((e) => e.name === 'code' && e.parent?.name === 'pre').map((e) => e.text)).toContain(s.split('\n').map(escapeHtmlVisible).join('\n'));
    expect(els.find((e) => e.attrs.class?.startsWith('tier '))?.attrs.class).toBe('tier tier-unknown');
  });

  it('shows NUL and ESC as visible escapes in text and code', () => {
    const html = planToHtml(hostilePlan('a\0b\x1bc'));
    expect(html).toContain('<h1>a\\x00b\\x1bc</h1>');
    expect(html).toContain('<pre><code class="language-sh">a\\x00b\\x1bc</code></pre>');
  });

  it('renders 100,000-character values in bounded time, clipping everything but code', () => {
    for (const huge of ['x'.repeat(100_000), '<&"'.repeat(33_334), '\0'.repeat(100_000)]) {
      const start = performance.now();
      const html = planToHtml(hostilePlan(huge));
      expect(performance.now() - start).toBeLessThan(3000);
      const els = parsePage(html);
      expect(els.find((e) => e.name === 'h1')?.text).toMatch(/… \(\d+ more characters\)$/);
      expect(Math.max(...els.filter((e) => e.name === 'code').map((e) => e.text.length))).toBeGreaterThanOrEqual(100_000);
    }
  });
  it('never throws on missing or mistyped fields, and never takes an element id from data', () => {
    const broken = { version: 1, title: 42, finding: null, options: 'x', sections: [null, { id: '"><script>', title: 'S', parts: [{ blocks: [null, { kind: 'nope' }, { kind: 'table', head: [], rows: [['a', 'b']] }] }] }, { id: 'solution', title: 'S2', parts: 'x' }, { id: 'solution', title: 'S3', parts: [] }] } as never;
    const html = planToHtml(broken);
    const els = parsePage(html);
    xmllintHtml(html);
    expect(els.filter((e) => e.name === 'section').map((e) => e.attrs.id)).toEqual(['p1-options', 'p1-s1', 'p1-solution', 'p1-s3']);
    expect(els.find((e) => e.name === 'h1')?.text).toBe('42');
    expect(els.find((e) => e.attrs.class?.startsWith('tier '))?.attrs.class).toBe('tier tier-unknown');
    expect(els.filter((e) => e.name === 'td').map((e) => e.text)).toEqual(['a', 'b']);
  });
});

describe('plansToHtml', () => {
  it('puts several plans on one page after a table of contents (golden)', async () => {
    const html = plansToHtml([redisPlan(), sshCvePlan()]);
    await expect(html).toMatchFileSnapshot(`${GOLDEN}/plans.html`);
    const els = parsePage(html);
    xmllintHtml(html);
    const toc = els.find((e) => e.name === 'nav' && e.attrs['aria-label'] === 'Plans');
    expect(els.filter((e) => e.name === 'a' && e.parent?.parent?.parent === toc).map((e) => e.attrs.href)).toEqual(['#p1', '#p2']);
    expect(els.filter((e) => e.name === 'article').map((e) => e.attrs.id)).toEqual(['p1', 'p2']);
    expect(els.filter((e) => e.attrs.class?.startsWith('tier ')).map((e) => e.attrs.class)).toEqual(['tier tier-critical', 'tier tier-high', 'tier tier-critical', 'tier tier-high']);
  });

  it('renders an empty list and hostile plans as valid pages', () => {
    expect(parsePage(plansToHtml([])).find((e) => e.name === 'p')?.text).toBe('0 plans.');
    const html = plansToHtml([hostilePlan(PLAN_HOSTILE.script), hostilePlan(PLAN_HOSTILE.controls)]);
    parsePage(html);
    xmllintHtml(html);
    expect(html).not.toMatch(RAW_CONTROL);
  });
});

describe('escapeHtml', () => {
  it('escapes the five markup characters and makes controls visible', () => {
    expect(escapeHtml(`<a href="x" title='y'>&amp;</a>\0\x1b\n\u202e`)).toBe('&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;amp;&lt;/a&gt;\\x00\\x1b\\n\\u202e');
  });
});

/** What a reader sees for `s` once the page is parsed: the text with controls as visible escapes. */
function escapeHtmlVisible(s: string): string {
  const doc = new SaxesParser();
  let out = '';
  doc.on('text', (t) => (out += t));
  doc.write(`<x>${escapeHtml(s)}</x>`).close();
  return out;
}
