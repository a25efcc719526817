import { describe, expect, it } from 'vitest';
import { PLAN_HOSTILE, hostilePlan, redisPlan, sshCvePlan } from '../../test/fixtures/plans/plan-fixtures.js';
import { RAW_CONTROL } from '../../test/fixtures/report/hosts.js';
import { UsageError } from '../core/errors.js';
import { planToHtml, plansToHtml } from './plan-html.js';
import { planToJson, plansToJson } from './plan-json.js';
import { planToMarkdown, plansToMarkdown } from './plan-markdown.js';
import { PLAN_FORMATS, findPlanFormat, planFormat, renderPlans } from './plan-registry.js';

describe('plan formats registry', () => {
  it('lists Markdown, HTML and JSON with unique ids and extensions and a description each', () => {
    expect(PLAN_FORMATS.map((f) => [f.id, f.extension])).toEqual([
      ['md', '.md'],
      ['html', '.html'],
      ['json', '.json'],
    ]);
    for (const key of ['id', 'extension', 'describe'] as const) expect(new Set(PLAN_FORMATS.map((f) => f[key])).size).toBe(PLAN_FORMATS.length);
    for (const f of PLAN_FORMATS) expect(f.describe).toMatch(/^\S.{10,100}$/);
    expect(findPlanFormat('html')?.extension).toBe('.html');
    expect(findPlanFormat('markdown')).toBeUndefined();
  });

  it('each format renders with its own renderer, one plan and several', () => {
    const plan = redisPlan();
    const plans = [redisPlan(), sshCvePlan()];
    const expected = { md: [planToMarkdown, plansToMarkdown], html: [planToHtml, plansToHtml], json: [planToJson, plansToJson] } as const;
    for (const f of PLAN_FORMATS) {
      const [one, many] = expected[f.id];
      expect(f.render(plan)).toBe(one(plan));
      expect(renderPlans(plans, f.id)).toBe(many(plans));
      expect(renderPlans(plans, f)).toBe(many(plans));
    }
  });

  it('refuses an unknown format id with a UsageError naming the valid ones', () => {
    for (const bad of ['markdown', 'MD', '', 'json;rm', 'x'.repeat(1000)]) {
      expect(() => renderPlans([redisPlan()], bad as never)).toThrow(UsageError);
      expect(() => planFormat(bad)).toThrow(/use md, html, json$/);
    }
  });

  it('every format renders empty, full and hostile inputs as one inert document ending in a newline', () => {
    const inputs = [[], [redisPlan()], [redisPlan(), sshCvePlan()], Object.values(PLAN_HOSTILE).map((s) => hostilePlan(s))];
    for (const f of PLAN_FORMATS) {
      for (const input of inputs) {
        const text = renderPlans(input, f.id);
        expect(text.endsWith('\n')).toBe(true);
        expect(text).not.toMatch(RAW_CONTROL);
        // Markdown code blocks and JSON strings hold `<script>` as data; in HTML it must be an entity.
        if (f.id === 'html') expect(text).not.toMatch(/<script/i);
      }
      for (const p of inputs.flat()) expect(f.render(p).endsWith('\n')).toBe(true);
    }
  });
});
