import { describe, expect, it } from 'vitest';
import { PLAN_HOSTILE, hostilePlan, redisPlan, sshCvePlan } from '../../test/fixtures/plans/plan-fixtures.js';
import { RAW_CONTROL } from '../../test/fixtures/report/hosts.js';
import type { RemediationPlan } from '../remediate/plan-types.js';
import { PLANS_JSON_FORMAT, PLAN_JSON_FORMAT, planToJson, plansToJson } from './plan-json.js';

const GOLDEN = '../../test/fixtures/plans';

/** The plan a single-plan document decodes to: everything but the marker. */
function decode(text: string): unknown {
  const { format, ...plan } = JSON.parse(text) as Record<string, unknown>;
  expect(format).toBe(PLAN_JSON_FORMAT);
  return plan;
}

/** A deep copy whose objects have their keys inserted in reverse order. */
function reversedKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(reversedKeys);
  if (typeof v !== 'object' || v === null) return v;
  return Object.fromEntries(Object.entries(v).reverse().map(([k, x]) => [k, reversedKeys(x)]));
}

describe('planToJson', () => {
  it('renders the Redis plan as the golden file', async () => {
    await expect(planToJson(redisPlan())).toMatchFileSnapshot(`${GOLDEN}/redis-exposure.json`);
  });

  it('is JSON.stringify(plan, null, 2) plus the format marker, and round-trips', () => {
    for (const plan of [redisPlan(), sshCvePlan()]) {
      const text = planToJson(plan);
      expect(JSON.parse(text)).toStrictEqual({ format: PLAN_JSON_FORMAT, ...plan });
      expect(text).toBe(`${JSON.stringify(JSON.parse(text), null, 2)}\n`);
      expect(decode(text)).toStrictEqual(plan);
    }
  });

  it('writes keys in the model order whatever order the builder used', () => {
    const plan = redisPlan();
    const text = planToJson(reversedKeys(plan) as RemediationPlan);
    expect(text).toBe(planToJson(plan));
    const doc = JSON.parse(text) as { finding: object; options: object[]; sections: { parts: { blocks: object[] }[] }[] };
    expect(Object.keys(doc)).toEqual(['format', 'version', 'title', 'finding', 'recommended', 'options', 'sections', 'generatedAt']);
    expect(Object.keys(doc.finding)).toEqual(['key', 'address', 'protocol', 'port', 'kind', 'title', 'tier', 'score', 'reasons', 'service', 'status']);
    expect(Object.keys(doc.options[0] ?? {})).toEqual(['id', 'title', 'rationale', 'recommended', 'available', 'scripts']);
    expect(Object.keys(doc.sections[2]?.parts[0]?.blocks[0] ?? {})).toEqual(['kind', 'lang', 'title', 'text']);
  });

  it('keeps keys the model does not know, sorted after the known ones, and drops undefined', () => {
    const plan = { ...redisPlan(), zeta: 1, alpha: { b: 2, a: 1 }, gone: undefined } as RemediationPlan;
    const doc = JSON.parse(planToJson(plan)) as Record<string, unknown>;
    expect(Object.keys(doc).slice(-2)).toEqual(['alpha', 'zeta']);
    expect(Object.keys(doc.alpha as object)).toEqual(['a', 'b']);
    expect('gone' in doc).toBe(false);
  });

  it.each(Object.entries(PLAN_HOSTILE))('hostile %s: exact round trip, no raw control or bidi character in the text', (_name, s) => {
    const plan = hostilePlan(s);
    const text = planToJson(plan);
    expect(text).not.toMatch(RAW_CONTROL);
    // A lone surrogate becomes U+FFFD, as a UTF-8 encoder would make it; everything else is exact.
    const expected = JSON.parse(JSON.stringify(plan).replace(/\\ud800/g, '\ufffd')) as unknown;
    expect(decode(text)).toStrictEqual(expected);
  });

  it('writes NUL, ESC, DEL, C1 and bidi characters as \\u escapes', () => {
    const text = planToJson(hostilePlan('a\0b\x1bc\x7fd\x9be\u202ef'));
    expect(text).toContain('"title": "a\\u0000b\\u001bc\\u007fd\\u009be\\u202ef"');
  });

  it('renders 100,000-character values in bounded time, unclipped', () => {
    const huge = '"\\\x1b'.repeat(33_334);
    const start = performance.now();
    const text = planToJson(hostilePlan(huge));
    expect(performance.now() - start).toBeLessThan(3000);
    expect((decode(text) as RemediationPlan).title).toBe(huge);
  });

  it('non-JSON numbers become null as JSON.stringify makes them; cycles cannot hang it', () => {
    const plan = redisPlan({ generatedAt: Number.NaN });
    expect((JSON.parse(planToJson(plan)) as { generatedAt: unknown }).generatedAt).toBeNull();
    const cyclic = redisPlan() as RemediationPlan & { self?: unknown };
    cyclic.self = cyclic;
    expect(() => planToJson(cyclic)).not.toThrow();
  });
});

describe('plansToJson', () => {
  it('wraps several plans as {format, version, plans} of single-plan documents (golden)', async () => {
    const plans = [redisPlan(), sshCvePlan()];
    const text = plansToJson(plans);
    await expect(text).toMatchFileSnapshot(`${GOLDEN}/plans.json`);
    const doc = JSON.parse(text) as { format: string; version: number; plans: unknown[] };
    expect(Object.keys(doc)).toEqual(['format', 'version', 'plans']);
    expect(doc.format).toBe(PLANS_JSON_FORMAT);
    expect(doc.version).toBe(1);
    expect(doc.plans.map((p) => decode(JSON.stringify(p)))).toStrictEqual(plans);
    expect(doc.plans.map((p) => `${JSON.stringify(p, null, 2)}\n`)).toEqual(plans.map(planToJson));
  });

  it('an empty list is an empty array', () => {
    expect(JSON.parse(plansToJson([]))).toEqual({ format: PLANS_JSON_FORMAT, version: 1, plans: [] });
  });
});
