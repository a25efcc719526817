/**
 * Matches a service's CPE names against the configurations of one NVD CVE record.
 *
 * Field matching follows the essentials of the CPE 2.3 Name Matching specification (NISTIR 7696):
 * the criteria is the source, the service's name the target; `*` is ANY, `-` is NA, values compare
 * case-insensitively with backslash escapes removed, and `*`/`?` wildcards may sit at either end of
 * a criteria value (`?` absorbs at most one character each, as in the spec's string comparison).
 * The result is three-valued (yes / maybe / no) so that "we do not know the platform" never turns
 * into a silent drop nor into a certain claim.
 */

import { fromCpe22, splitCpe23 } from '../../core/cpe.js';
import type { Configuration, CpeMatch, CveMatch, ProductCpes, VersionCompare } from './types.js';

/** Longest CPE name or bound accepted; NVD's are far shorter and the data may be hostile. */
const MAX_CHARS = 1024;
const FIELDS = ['part', 'vendor', 'product', 'version', 'update', 'edition', 'language', 'sw_edition', 'target_sw', 'target_hw', 'other'] as const;
const PARTS = new Set(['a', 'o', 'h']);

const NO = 0;
const MAYBE = 1;
const YES = 2;
type State = typeof NO | typeof MAYBE | typeof YES;

/** A field value. For text, `lead`/`trail` say how many characters the wildcards at each end may absorb. */
type Value = { kind: 'any' } | { kind: 'na' } | { kind: 'text'; raw: string; core: string; lead: number; trail: number };
interface Name {
  fields: Value[];
}
type BoundKind = 'versionStartIncluding' | 'versionStartExcluding' | 'versionEndIncluding' | 'versionEndExcluding';
const BOUND_KINDS: readonly BoundKind[] = ['versionStartIncluding', 'versionStartExcluding', 'versionEndIncluding', 'versionEndExcluding'];
const BOUND_TEXT: Record<BoundKind, string> = { versionStartIncluding: '>=', versionStartExcluding: '>', versionEndIncluding: '<=', versionEndExcluding: '<' };

/** A vulnerable cpeMatch entry that matched, and how surely. */
interface Evidence {
  criteria: string;
  state: State;
  reasons: string[];
  detail: string;
}
interface Result {
  state: State;
  /** What is not known, when state is MAYBE. */
  reasons: string[];
  evidence: Evidence[];
}
interface Context {
  cpes: Name[];
  /** The service's own names plus the platform's: what a `vulnerable: false` entry may match. */
  companions: Name[];
  /** Parts (`o`, `h`) whose identity we know, so a platform entry that does not match is a real "no". */
  knownParts: Set<string>;
  compare: VersionCompare;
}

const NO_RESULT: Result = { state: NO, reasons: [], evidence: [] };

/**
 * The first configuration of a CVE that makes the product vulnerable, preferring a certain match
 * over an uncertain one; undefined when none applies.
 *
 * Only `vulnerable: true` entries can make the product vulnerable, and only against `product.cpes`
 * with a known version: we never claim a CVE without a version. `vulnerable: false` entries (the
 * platform of an AND configuration) are looked up in `product.cpes` and `product.platform`; when
 * the platform is unknown the match is kept with `certain: false` and why `platform not known`.
 * `compare` orders versions for range bounds; if it throws or returns NaN the bound fails.
 * Never throws on malformed data: a bad name, node or bound simply does not match.
 */
export function matchConfigurations(configs: Configuration[], product: ProductCpes, compare: VersionCompare): CveMatch | undefined {
  if (!Array.isArray(configs) || !isObject(product)) return undefined;
  const cpes = parseNames(product.cpes);
  if (cpes.length === 0) return undefined;
  const platform = parseNames(product.platform);
  const knownParts = new Set<string>();
  for (const n of [...cpes, ...platform]) {
    const part = n.fields[0]!;
    if (part.kind === 'text' && part.core !== 'a') knownParts.add(part.core);
  }
  const ctx: Context = { cpes, companions: [...cpes, ...platform], knownParts, compare };
  let fallback: CveMatch | undefined;
  for (const config of configs as unknown[]) {
    if (!isObject(config) || !Array.isArray(config.nodes)) continue;
    const op = config.operator ?? 'OR';
    if (op !== 'AND' && op !== 'OR') continue;
    let r = combine(op, (config.nodes as unknown[]).map((n) => evalNode(n, ctx)));
    if (config.negate === true) r = invert(r);
    if (r.state === NO || r.evidence.length === 0) continue;
    const ev = r.evidence.reduce((best, e) => (e.state > best.state ? e : best));
    const certain = r.state === YES && ev.state === YES;
    const why = certain ? ev.detail : [...new Set([...r.reasons, ...ev.reasons])].join('; ');
    const match: CveMatch = { criteria: ev.criteria, certain, why };
    if (certain) return match;
    fallback ??= match;
  }
  return fallback;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null;
}

function parseNames(list: unknown): Name[] {
  if (!Array.isArray(list)) return [];
  const out: Name[] = [];
  for (const raw of list as unknown[]) {
    const name = parseName(raw, false);
    if (name) out.push(name);
  }
  return out;
}

/**
 * A CPE 2.3 formatted string (or a 2.2 URI) split into values; undefined when malformed. Part,
 * vendor and product must be plain text: a criteria of `cpe:2.3:a:*:*:…` would match everything.
 */
function parseName(raw: unknown, allowWild: boolean): Name | undefined {
  if (typeof raw !== 'string' || raw.length > MAX_CHARS) return undefined;
  let s = raw.trim();
  if (/^cpe:\//i.test(s)) s = fromCpe22(s) ?? '';
  if (s.slice(0, 8).toLowerCase() === 'cpe:2.3:') s = `cpe:2.3:${s.slice(8)}`;
  const parts = splitCpe23(s);
  if (!parts) return undefined;
  const fields: Value[] = [];
  for (const p of parts) {
    const v = parseValue(p, allowWild);
    if (!v) return undefined;
    fields.push(v);
  }
  for (let i = 0; i < 3; i++) {
    const v = fields[i]!;
    if (v.kind !== 'text' || v.lead !== 0 || v.trail !== 0) return undefined;
  }
  const part = fields[0]!;
  return part.kind === 'text' && PARTS.has(part.core) ? { fields } : undefined;
}

/** One field: escapes removed, lower-cased; wildcards only as runs at either end (the spec allows no others). */
function parseValue(raw: string, allowWild: boolean): Value | undefined {
  if (raw === '*') return { kind: 'any' };
  if (raw === '-') return { kind: 'na' };
  if (raw === '') return undefined;
  const chars: { c: string; wild: boolean }[] = [];
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (c === '\\') {
      if (i + 1 >= raw.length) return undefined;
      chars.push({ c: raw[++i]!.toLowerCase(), wild: false });
    } else if (c <= ' ' || c === '\x7f') return undefined; // the binding leaves no room for raw blanks or control characters
    else chars.push({ c: c.toLowerCase(), wild: c === '*' || c === '?' });
  }
  let start = 0;
  while (start < chars.length && chars[start]!.wild) start++;
  let end = chars.length;
  while (end > start && chars[end - 1]!.wild) end--;
  const core = chars.slice(start, end);
  if (core.some((x) => x.wild)) return undefined;
  if ((start > 0 || end < chars.length) && !allowWild) return undefined;
  const absorb = (run: { c: string }[]): number => (run.some((x) => x.c === '*') ? Infinity : run.length);
  return { kind: 'text', raw, core: core.map((x) => x.c).join(''), lead: absorb(chars.slice(0, start)), trail: absorb(chars.slice(end)) };
}

/** Does the criteria text value (possibly with end wildcards) cover the target text? */
function covers(c: Extract<Value, { kind: 'text' }>, target: string): boolean {
  if (c.lead === 0 && c.trail === 0) return c.core === target;
  if (c.core === '') return target.length <= c.lead + c.trail;
  // Later occurrences start further right, so the first one past `lead` ends the search.
  for (let at = target.indexOf(c.core); at !== -1 && at <= c.lead; at = target.indexOf(c.core, at + 1)) {
    if (target.length - at - c.core.length <= c.trail) return true;
  }
  return false;
}

/**
 * One field, criteria against target. Criteria NA against an unknown target counts as a match:
 * NVD writes `-` for "the base release" (`windows:-`, `openssh:9.8:-`) and our names rarely know it.
 */
function fieldState(c: Value, t: Value): State {
  if (c.kind === 'any') return YES;
  if (c.kind === 'na') return t.kind === 'text' ? NO : YES;
  if (t.kind === 'any') return MAYBE;
  if (t.kind === 'na') return NO;
  return covers(c, t.core) ? YES : NO;
}

/** Version and update as one string (`7.2` + `p1`), for NVD's split OpenSSH names against banner ones. */
function joined(version: Value, update: Value): string | undefined {
  if (version.kind !== 'text' || version.lead !== 0 || version.trail !== 0) return undefined;
  if (update.kind !== 'text') return version.core;
  return update.lead === 0 && update.trail === 0 ? version.core + update.core : undefined;
}

type Bound = [BoundKind, string];

/** The entry's range bounds; undefined when one is present but unusable (a bound we ignored would widen the range). */
function parseBounds(entry: Record<string, unknown>): Bound[] | undefined {
  const out: Bound[] = [];
  for (const kind of BOUND_KINDS) {
    const v = entry[kind];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'string' || v.trim() === '' || v.length > MAX_CHARS) return undefined;
    out.push([kind, v.trim()]);
  }
  return out;
}

function withinBound(kind: BoundKind, subject: string, bound: string, compare: VersionCompare): boolean {
  let r: number;
  try {
    r = compare(subject, bound);
  } catch {
    return false;
  }
  if (typeof r !== 'number' || Number.isNaN(r)) return false;
  if (kind === 'versionStartIncluding') return r >= 0;
  if (kind === 'versionStartExcluding') return r > 0;
  if (kind === 'versionEndIncluding') return r <= 0;
  return r < 0;
}

interface NameMatch {
  state: State;
  reasons: string[];
  detail: string;
}
const NO_NAME: NameMatch = { state: NO, reasons: [], detail: '' };

/**
 * One criteria name against one of our names. In the `vulnerable` role the target's version must be
 * known; in the `platform` role an unknown platform version makes a versioned criteria a maybe.
 */
function matchName(c: Name, bounds: Bound[], t: Name, role: 'vulnerable' | 'platform', compare: VersionCompare): NameMatch {
  for (let i = 0; i < 3; i++) if (fieldState(c.fields[i]!, t.fields[i]!) !== YES) return NO_NAME;
  const [cv, cu, tv, tu] = [c.fields[3]!, c.fields[4]!, t.fields[3]!, t.fields[4]!];
  const reasons: string[] = [];
  let state: State = YES;
  let detail = '';
  let updateDone = false;
  if (tv.kind !== 'text') {
    if (role === 'vulnerable') return NO_NAME;
    if (bounds.length > 0 || cv.kind === 'text') {
      state = MAYBE;
      reasons.push('platform version not known');
    }
  } else {
    let vs = fieldState(cv, tv);
    let us = fieldState(cu, tu);
    if (vs !== YES || us !== YES) {
      const cj = joined(cv, cu);
      if (cj !== undefined && cj === joined(tv, tu) && (cu.kind === 'text' || tu.kind === 'text')) vs = us = YES;
    }
    if (vs !== YES || us === NO) return NO_NAME;
    updateDone = true;
    if (us === MAYBE) {
      state = MAYBE;
      reasons.push(role === 'platform' ? 'platform update not known' : `update not known (criteria needs ${cu.kind === 'text' ? cu.raw : '?'})`);
    }
    // An update the criteria does not constrain is part of the version the bounds speak of (9.2 + p1).
    const subject = cu.kind === 'any' ? (joined(tv, tu) ?? tv.core) : tv.core;
    for (const [kind, bound] of bounds) if (!withinBound(kind, subject, bound, compare)) return NO_NAME;
    const product = c.fields[2]!;
    const name = `${product.kind === 'text' ? product.core : ''} ${subject}`;
    if (bounds.length > 0) detail = `${name} is in the vulnerable range ${bounds.map(([k, b]) => `${BOUND_TEXT[k]} ${b}`).join(', ')}`;
    else detail = cv.kind === 'any' ? `${name}: all versions are listed as vulnerable` : `${name} is a listed vulnerable version`;
  }
  for (let i = updateDone ? 5 : 4; i < FIELDS.length; i++) {
    const cf = c.fields[i]!;
    const s = fieldState(cf, t.fields[i]!);
    if (s === NO) return NO_NAME;
    if (s === MAYBE) {
      state = MAYBE;
      reasons.push(role === 'platform' ? `platform ${FIELDS[i]} not known` : `${FIELDS[i]} not known (criteria needs ${cf.kind === 'text' ? cf.raw : '?'})`);
    }
  }
  return { state, reasons, detail };
}

/**
 * A generic platform name (`o:microsoft:windows:*`) may be any of the vendor's editions NVD lists
 * as separate products (`windows_10`, `windows_server_2019`): possible, not certain, not excluded.
 */
function familyOf(c: Name, t: Name): boolean {
  const [cp, cv, cn, tp, tv, tn, tver] = [c.fields[0]!, c.fields[1]!, c.fields[2]!, t.fields[0]!, t.fields[1]!, t.fields[2]!, t.fields[3]!];
  if (cp.kind !== 'text' || tp.kind !== 'text' || cv.kind !== 'text' || tv.kind !== 'text' || cn.kind !== 'text' || tn.kind !== 'text') return false;
  return cp.core === tp.core && cv.core === tv.core && tver.kind !== 'text' && cn.core.startsWith(`${tn.core}_`);
}

function best(matches: NameMatch[]): NameMatch {
  return matches.reduce((a, m) => (m.state > a.state ? m : a), NO_NAME);
}

function evalEntry(entry: unknown, ctx: Context): Result {
  if (!isObject(entry)) return NO_RESULT;
  const c = parseName(entry.criteria, true);
  const bounds = parseBounds(entry);
  if (!c || !bounds) return NO_RESULT;
  const criteria = entry.criteria as string;
  if (entry.vulnerable === true) {
    const m = best(ctx.cpes.map((t) => matchName(c, bounds, t, 'vulnerable', ctx.compare)));
    if (m.state === NO) return NO_RESULT;
    return { state: m.state, reasons: m.reasons, evidence: [{ criteria, state: m.state, reasons: m.reasons, detail: m.detail }] };
  }
  const m = best(ctx.companions.map((t) => matchName(c, bounds, t, 'platform', ctx.compare)));
  if (m.state !== NO) return { state: m.state, reasons: m.reasons, evidence: [] };
  if (ctx.companions.some((t) => familyOf(c, t))) return { state: MAYBE, reasons: ['platform version not known'], evidence: [] };
  // Nothing we know matches: a real "no" only when we know that kind of thing (the OS, the hardware).
  const part = c.fields[0]!;
  if (part.kind === 'text' && ctx.knownParts.has(part.core)) return NO_RESULT;
  return { state: MAYBE, reasons: ['platform not known'], evidence: [] };
}

function evalNode(node: unknown, ctx: Context): Result {
  if (!isObject(node) || !Array.isArray(node.cpeMatch)) return NO_RESULT;
  if (node.operator !== 'AND' && node.operator !== 'OR') return NO_RESULT;
  const r = combine(node.operator, (node.cpeMatch as CpeMatch[]).map((e) => evalEntry(e, ctx)));
  return node.negate === true ? invert(r) : r;
}

/** AND is the weakest child, OR the strongest; an empty list matches nothing (it would otherwise match everything). */
function combine(op: 'AND' | 'OR', children: Result[]): Result {
  if (children.length === 0) return NO_RESULT;
  // reduce, not Math.min(...): a hostile node may hold more entries than a call can take arguments.
  const state = children.reduce<State>((s, r) => (op === 'AND' ? (r.state < s ? r.state : s) : r.state > s ? r.state : s), op === 'AND' ? YES : NO);
  if (state === NO) return NO_RESULT;
  const reasons = state === MAYBE ? children.filter((r) => r.state === MAYBE).flatMap((r) => r.reasons) : [];
  return { state, reasons: [...new Set(reasons)], evidence: children.flatMap((r) => (r.state === NO ? [] : r.evidence)) };
}

/** NOT swaps yes and no and keeps a maybe; a negated match is never evidence of vulnerability. */
function invert(r: Result): Result {
  const state = (YES - r.state) as State;
  return { state, reasons: state === MAYBE ? r.reasons : [], evidence: [] };
}
