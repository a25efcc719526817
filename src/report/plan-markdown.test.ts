import { describe, expect, it } from 'vitest';
import { BAD_URLS, PLAN_HOSTILE, hostilePlan, redisPlan, sshCvePlan } from '../../test/fixtures/plans/plan-fixtures.js';
import { RAW_CONTROL } from '../../test/fixtures/report/hosts.js';
import { httpUrl, planOutline, planToMarkdown, plansToMarkdown } from './plan-markdown.js';

const GOLDEN = '../../test/fixtures/plans';

/** The document split into prose lines and fenced code blocks (opening fence, info string, body). */
function split(md: string): { prose: string[]; code: { fence: string; lang: string; body: string }[] } {
  const prose: string[] = [];
  const code: { fence: string; lang: string; body: string }[] = [];
  const lines = md.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^(`{3,})([a-z]*)$/.exec(lines[i] ?? '');
    if (open === null) {
      prose.push(lines[i] ?? '');
      continue;
    }
    const fence = open[1] ?? '';
    const end = lines.indexOf(fence, i + 1);
    expect(end, `unclosed fence at line ${i + 1}`).toBeGreaterThan(i);
    code.push({ fence, lang: open[2] ?? '', body: lines.slice(i + 1, end).join('\n') });
    i = end;
  }
  return { prose, code };
}

/** Pipes that split table cells: not preceded by an odd number of backslashes. */
function cellSeparators(line: string): number {
  return (line.match(/(?<!\\)(?:\\\\)*\|/g) ?? []).length;
}

/** What each prose line is, with all text blanked: equal shapes mean no text made or ended a block. */
function shape(prose: string[]): string[] {
  return prose.map((l) => {
    if (l === '') return 'blank';
    if (l.startsWith('|')) return `row${cellSeparators(l)}`;
    const head = /^(#{1,3} |- \*\*[A-Za-z]+:\*\* |- |\d+\. |\*\*|---$|<a id="plan-\d+"><\/a>$)/.exec(l);
    return head?.[1] ?? 'paragraph';
  });
}

/** Every Markdown link destination in prose. */
function destinations(prose: string[]): string[] {
  return prose.flatMap((l) => [...l.matchAll(/(?<!\\)\]\(([^)\s]*(?:\\\)[^)\s]*)*)\)/g)].map((m) => m[1] ?? ''));
}

describe('planToMarkdown', () => {
  it('renders the Redis plan as the golden file', async () => {
    const md = planToMarkdown(redisPlan());
    expect(planToMarkdown(structuredClone(redisPlan()))).toBe(md);
    await expect(md).toMatchFileSnapshot(`${GOLDEN}/redis-exposure.md`);
  });

  it('has one title, the header block, the options table, eight sections and scripts after Solution', () => {
    const { prose, code } = split(planToMarkdown(redisPlan()));
    expect(prose.filter((l) => l.startsWith('# '))).toEqual(['# Redis on 198.51.100.7:6379 answers without authentication from the internet']);
    expect(prose.filter((l) => l.startsWith('## '))).toEqual(['## Options', '## Introduction', '## Technical details', '## Detection', '## Solution', '## Verification', '## Prevention', '## Risks and rollback', '## References']);
    for (const fact of ['- **Key:** 198.51.100.7/tcp/6379/exposure', '- **Tier:** Critical (score 95)', '- **Address:** 198.51.100.7:6379/tcp', '- **Service:** Redis key-value store 7.0.15 (redis)', '- **Generated:** 2026-03-04T05:06:07.000Z']) {
      expect(prose).toContain(fact);
    }
    expect(prose).toContain('- answers without authentication (PING returned PONG) (+40)');
    expect(prose).toContain('| Bind Redis to loopback | bind-loopback | **recommended** | yes | Redis answers without a password and nothing remote needs it: listening on 127.0.0.1 and ::1 only closes it for everyone. |');
    const h3 = prose.filter((l) => l.startsWith('### '));
    const solution = prose.indexOf('## Solution');
    const scripts = prose.indexOf('### Scripts: Bind Redis to loopback (recommended)');
    expect(scripts).toBeGreaterThan(solution);
    expect(scripts).toBeLessThan(prose.indexOf('## Verification'));
    expect(h3.filter((l) => l.startsWith('### Scripts'))).toEqual(['### Scripts: Bind Redis to loopback (recommended)', '### Scripts: Restrict port 6379 to 10.20.0.0/16', '### Scripts: Stop and disable redis-server']);
    // Scripts in full, verbatim: three options × apply and rollback.
    const plan = redisPlan();
    const scriptTexts = plan.options.flatMap((o) => o.scripts.flatMap((s) => [s.apply, s.rollback]));
    for (const s of scriptTexts) expect(code.map((c) => `${c.body}\n`)).toContain(s);
    expect(code.filter((c) => c.lang === 'sh')).toHaveLength(3 + scriptTexts.length);
  });

  it('prints a Scripts section at the end when the plan has no Solution section', () => {
    const plan = redisPlan();
    plan.sections = plan.sections.filter((s) => s.id !== 'solution');
    expect(planOutline(plan).at(-1)).toEqual({ kind: 'scripts' });
    const { prose } = split(planToMarkdown(plan));
    expect(prose.filter((l) => l.startsWith('## ')).at(-1)).toBe('## Scripts');
    expect(prose.indexOf('### Scripts: Bind Redis to loopback (recommended)')).toBeGreaterThan(prose.indexOf('## Scripts'));
  });

  it('fences code with more backticks than any run inside and keeps it verbatim', () => {
    const text = 'echo ```\nprintf "````"\n`x`\n';
    const plan = redisPlan({ sections: [{ id: 'solution', title: 'Solution', parts: [{ blocks: [{ kind: 'code', lang: 'sh', text }] }] }] });
    const md = planToMarkdown(plan);
    expect(md).toContain(`\`\`\`\`\`sh\n${text}\`\`\`\`\`\n`);
    expect(split(md).code.find((c) => c.fence === '`````')?.body).toBe(text.slice(0, -1));
  });

  it('links http(s) URLs only; anything else is escaped text', () => {
    expect(httpUrl('https://redis.io/docs/')).toBe('https://redis.io/docs/');
    expect(httpUrl('HTTP://Example.ORG/a b')).toBeUndefined();
    for (const url of BAD_URLS) expect(httpUrl(url), url).toBeUndefined();
    const md = planToMarkdown(redisPlan());
    expect(md).toContain('- [Redis security](https://redis.io/docs/latest/operate/oss\\_and\\_stack/management/security/)');
    expect(md).toContain('- Local documentation: file:///usr/share/doc/redis-server/README.Debian.gz');
    for (const url of BAD_URLS) {
      const { prose } = split(planToMarkdown(hostilePlan('x', url)));
      expect(destinations(prose).every((d) => /^https:\/\/example\.org\/ok$/.test(d)), url).toBe(true);
      expect(prose.join('\n')).not.toMatch(/\]\((?:javascript|data|vbscript|file)/i);
    }
  });

  it.each(Object.entries(PLAN_HOSTILE))('hostile %s: same block structure as a benign plan, no live markup', (_name, s) => {
    const md = planToMarkdown(hostilePlan(s));
    expect(md).not.toMatch(RAW_CONTROL);
    const { prose, code } = split(md);
    expect(shape(prose)).toEqual(shape(split(planToMarkdown(hostilePlan('benign'))).prose));
    const text = prose.join('\n');
    expect(text).not.toMatch(/<(?!a id="plan-)[a-z!/]/i);
    expect(text).not.toMatch(/(?<!\\)!\[/);
    // Code blocks carry the value verbatim except controls, which are made visible.
    for (const c of code) expect(c.body).not.toMatch(RAW_CONTROL);
    if (!RAW_CONTROL.test(s) && !s.includes('\r')) expect(code.some((c) => c.body === s.replace(/\n$/, ''))).toBe(true);
  });

  it('shows NUL, ESC and bidi characters as visible escapes, in text and in code', () => {
    const md = planToMarkdown(hostilePlan('a\0b\x1bc\u202ed\te'));
    expect(md).toContain('# a\\x00b\\x1bc\\u202ed\\te');
    expect(md).toContain('```sh\na\\x00b\\x1bc\\u202ed\te\n```');
  });

  it('markdown injection in a table cell stays inside its cell', () => {
    const md = planToMarkdown(hostilePlan(PLAN_HOSTILE.markdown));
    expect(md).toContain('| \\| x \\| !\\[\\](http://evil) | \\| x \\| !\\[\\](http://evil) |');
    const { prose } = split(md);
    for (let i = 0; i < prose.length; i++) {
      if (!prose[i]?.startsWith('| ') || prose[i - 1]?.startsWith('|')) continue;
      const width = cellSeparators(prose[i] ?? '');
      for (let j = i; prose[j]?.startsWith('|'); j++) expect(cellSeparators(prose[j] ?? '')).toBe(width);
    }
  });

  it('renders 100,000-character values in bounded time and clips everything but code', () => {
    for (const huge of ['x'.repeat(100_000), '|`<'.repeat(33_334), '\x1b'.repeat(100_000)]) {
      const start = performance.now();
      const md = planToMarkdown(hostilePlan(huge));
      expect(performance.now() - start).toBeLessThan(3000);
      const { prose, code } = split(md);
      expect(prose.join('\n').length).toBeLessThan(400_000);
      expect(prose.some((l) => /… \(\d+ more characters\)/.test(l))).toBe(true);
      expect(Math.max(...code.map((c) => c.body.length))).toBeGreaterThanOrEqual(100_000);
    }
  });

  it('never throws on missing or mistyped fields', () => {
    const broken = { version: 1, title: 42, finding: null, options: 'x', sections: [null, { id: 'solution', title: 'S', parts: [{ blocks: [null, { kind: 'nope' }, { kind: 'table', head: [], rows: [['a', 'b']] }] }] }] } as never;
    const md = planToMarkdown(broken);
    expect(md).toContain('# 42');
    expect(md).toContain('| a | b |');
    expect(md).toContain('- **Generated:** unknown');
  });
});

describe('plansToMarkdown', () => {
  it('concatenates plans after a table of contents (golden)', async () => {
    const md = plansToMarkdown([redisPlan(), sshCvePlan()]);
    await expect(md).toMatchFileSnapshot(`${GOLDEN}/plans.md`);
    expect(md).toContain('1. [Redis on 198.51.100.7:6379 answers without authentication from the internet](#plan-1) — Critical, 198.51.100.7:6379/tcp');
    expect(md).toContain('<a id="plan-2"></a>\n\n# OpenSSH on 198.51.100.7:22 is affected by CVE-2024-6387');
    expect(md.indexOf(planToMarkdown(sshCvePlan()))).toBeGreaterThan(0);
  });

  it('says so when there are no plans, and keeps hostile titles inert in the contents', () => {
    expect(plansToMarkdown([])).toBe('# Remediation plans\n\nNo plans.\n');
    const md = plansToMarkdown([hostilePlan(PLAN_HOSTILE.heading), hostilePlan(PLAN_HOSTILE.script)]);
    expect(md).not.toMatch(RAW_CONTROL);
    expect(destinations(split(md).prose).filter((d) => d.startsWith('#'))).toEqual(['#plan-1', '#plan-2']);
  });
});
