/**
 * A remediation plan as JSON for other tools: the plan object exactly as built (so `JSON.parse`
 * gives it back), preceded by a `format` marker, pretty-printed with two spaces. Keys come in a
 * fixed order per object type (the order of `plan-types.ts`), whatever order the builder created
 * them in, so two runs over the same finding diff cleanly; keys the model does not know are kept,
 * sorted, after the known ones. Several plans form one document `{format, version, plans}` whose
 * elements are the single-plan documents, so `jq '.plans[0]'` yields a valid single plan.
 *
 * Like JSON Lines, the text carries no raw DEL, C1 or bidi character (JSON.stringify already escapes
 * C0 controls): they are written as `\uXXXX`, which decodes to the same string. Lone surrogates
 * become U+FFFD, as a UTF-8 encoder would make them, because strict parsers reject them.
 */
import type { RemediationPlan } from '../remediate/plan-types.js';

/** The `format` marker of a single-plan document. */
export const PLAN_JSON_FORMAT = 'portolan-remediation-plan';
/** The `format` marker of a several-plan document. */
export const PLANS_JSON_FORMAT = 'portolan-remediation-plans';
/** Version of the several-plan wrapper (each plan carries its own `version`). */
export const PLANS_JSON_VERSION = 1;

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Key order for each object type of the model; `*` matches any other object. */
const ORDER = {
  plan: ['format', 'version', 'title', 'finding', 'recommended', 'options', 'sections', 'generatedAt'],
  finding: ['key', 'address', 'protocol', 'port', 'kind', 'ref', 'title', 'tier', 'score', 'reasons', 'service', 'cve', 'status'],
  reason: ['rule', 'text', 'weight'],
  service: ['name', 'product', 'version', 'cpe'],
  cve: ['id', 'cvss', 'kev', 'epss', 'confidence', 'summary'],
  option: ['id', 'title', 'rationale', 'recommended', 'available', 'scripts'],
  script: ['backend', 'applyName', 'rollbackName', 'apply', 'rollback'],
  section: ['id', 'title', 'parts'],
  part: ['title', 'blocks'],
  block: ['kind', 'ordered', 'lang', 'title', 'head', 'rows', 'items', 'text'],
  link: ['title', 'url'],
  '*': [],
} as const satisfies Record<string, readonly string[]>;

type Shape = keyof typeof ORDER;

/** Which shape the children of a key of a given shape have (arrays: their elements). */
const CHILD: Partial<Record<Shape, Partial<Record<string, Shape>>>> = {
  plan: { finding: 'finding', options: 'option', sections: 'section' },
  finding: { reasons: 'reason', service: 'service', cve: 'cve' },
  option: { scripts: 'script' },
  section: { parts: 'part' },
  part: { blocks: 'block' },
  block: { items: 'link' },
};

const LONE_SURROGATE_RE = /[\ud800-\udfff]/gu;

/** A JSON-ready copy with keys in the model's order, undefined and non-JSON values dropped as JSON.stringify would. */
function canonical(v: unknown, shape: Shape, depth = 0): Json | undefined {
  if (depth > 64) return null;
  if (typeof v === 'string') return v.replace(LONE_SURROGATE_RE, '\ufffd');
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (typeof v === 'boolean' || v === null) return v;
  if (Array.isArray(v)) return v.map((x) => canonical(x, shape, depth + 1) ?? null);
  if (typeof v !== 'object' || v === undefined) return undefined;
  const obj = v as Record<string, unknown>;
  const known: readonly string[] = ORDER[shape];
  const keys = [...known.filter((k) => Object.hasOwn(obj, k)), ...Object.keys(obj).filter((k) => !known.includes(k)).sort()];
  const out: { [key: string]: Json } = {};
  for (const k of keys) {
    // A list block's items are strings; a links block's are {title, url}: the shape only matters for objects.
    const c = canonical(obj[k], CHILD[shape]?.[k] ?? '*', depth + 1);
    if (c !== undefined) out[k] = c;
  }
  return out;
}

/** DEL, C1 controls and bidi characters (JSON.stringify leaves them raw); they only occur inside strings. */
const JSON_EXTRA_RE = /[\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff\ufffe\uffff]/g;

function stringify(value: Json | undefined): string {
  const text = JSON.stringify(value, null, 2).replace(JSON_EXTRA_RE, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return `${text}\n`;
}

function planDocument(plan: RemediationPlan): Json | undefined {
  // The key order puts the marker first; a `format` key inside the plan (the model has none) is overwritten.
  return canonical({ ...plan, format: PLAN_JSON_FORMAT }, 'plan');
}

/** One plan as a JSON document: `{"format": "portolan-remediation-plan", "version": 1, …}`. */
export function planToJson(plan: RemediationPlan): string {
  return stringify(planDocument(plan));
}

/** Several plans: `{"format": "portolan-remediation-plans", "version": 1, "plans": [ …single-plan documents ]}`. */
export function plansToJson(plans: readonly RemediationPlan[]): string {
  return stringify({ format: PLANS_JSON_FORMAT, version: PLANS_JSON_VERSION, plans: plans.map((p) => planDocument(p) ?? null) });
}
