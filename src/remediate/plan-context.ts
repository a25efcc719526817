/**
 * The validated facts a plan is written from. Everything that may go into a command or a script is
 * decided here, once: the address (an IP literal in canonical form, or a `$TARGET` placeholder), the
 * port and protocol, the finding key for rule comments, the firewall and service backends, the
 * allowed sources. Text from the store (product, version, reason texts) stays in `finding` and is
 * used as plain text only.
 */
import { TIERS, type Finding, type Tier } from '../core/finding.js';
import { UsageError } from '../core/errors.js';
import { formatIpLiteral, parseIpLiteral } from '../core/targets-addr.js';
import type { ServiceClassId, ServiceKind } from '../assess/service-classes.js';
import { firewallBackend, FIREWALL_BACKENDS } from './firewall/registry.js';
import { knowledgeFor, type ServiceKnowledge, type TemplateValues, fillTemplate } from './knowledge.js';
import type { HostService, PlanChoices, PlanInput } from './plan-types.js';
import { SERVICE_MANAGERS, serviceBackend } from './service/registry.js';
import type { FirewallBackend } from './types.js';
import { E_REMEDIATE, refuse, sanitizeCommentKey, validateCidr, validateFindingKey, validatePort, validateProtocol, type Cidr } from './validate.js';

/** Who can reach the service, read from the finding's reasons. */
export type PlanReach = 'internet' | 'dmz' | 'internal' | 'local' | 'unknown';

/** Everything the section writers read. */
export interface PlanContext {
  input: PlanInput;
  choices: PlanChoices;
  finding: Finding;
  /** Canonical IP literal, or undefined when the finding's address is not one. */
  ip: string | undefined;
  /** Address family of `ip` (IPv4-mapped IPv6 counts as 4); 'both' without an IP literal. */
  family: 4 | 6 | 'both';
  port: number;
  protocol: 'tcp' | 'udp';
  /** Validated finding key for commands (`portolan verify`), or undefined when the key cannot be one. */
  key: string | undefined;
  /** Always valid for rule comments. */
  commentKey: string;
  tier: Tier;
  /** Values the knowledge templates are filled with. */
  values: TemplateValues;
  /** `203.0.113.5:6379/tcp`, `[2001:db8::5]:3306/tcp`, `$TARGET:22/tcp`. */
  where: string;
  knowledge: ServiceKnowledge;
  kind: ServiceKind | undefined;
  classes: ServiceClassId[];
  /** Our label for the service: the table's, never the banner's. */
  label: string;
  /** Rule ids of the finding's reasons. */
  rules: ReadonlySet<string>;
  reach: PlanReach;
  platform: 'linux' | 'windows';
  firewall: FirewallBackend;
  serviceManager: string;
  /** Allowed sources of the address's family, canonical; empty when none are known. */
  sources: Cidr[];
  /** Where the sources came from. */
  sourcesFrom: 'option' | 'policy' | undefined;
  /** The host's other services with a valid port and protocol (not the finding's own), at most 50. */
  hostServices: HostService[];
}

/** Other services that can go into commands: integer ports, tcp or udp, not the finding's own port. */
function cleanHostServices(list: unknown, port: number, protocol: string): HostService[] {
  if (!Array.isArray(list)) return [];
  const seen = new Set<string>();
  const out: HostService[] = [];
  for (const s of list as HostService[]) {
    if (typeof s !== 'object' || s === null || (s.protocol !== 'tcp' && s.protocol !== 'udp')) continue;
    if (!Number.isInteger(s.port) || s.port < 1 || s.port > 65535 || (s.port === port && s.protocol === protocol)) continue;
    const id = `${s.protocol}/${s.port}`;
    if (seen.has(id)) continue;
    seen.add(id);
    out.push(s);
    if (out.length === 50) break;
  }
  return out;
}

const REACH_RULES: readonly [string, PlanReach][] = [
  ['loopback-only', 'local'],
  ['exposure-internet', 'internet'],
  ['exposure-dmz', 'dmz'],
  ['exposure-internal', 'internal'],
  ['exposure-unknown', 'unknown'],
];

function reachOf(rules: ReadonlySet<string>, zone: string | undefined, ip: string | undefined): PlanReach {
  for (const [rule, reach] of REACH_RULES) if (rules.has(rule)) return reach;
  if (zone === 'internet' || zone === 'dmz' || zone === 'internal') return zone;
  if (ip === undefined) return 'unknown';
  if (ip === '::1' || ip.startsWith('127.')) return 'local';
  return 'unknown';
}

/** The address as an IP literal (brackets and a zone index dropped), with its family. */
function parseAddress(address: unknown): { ip: string; family: 4 | 6 } | undefined {
  if (typeof address !== 'string' || address.length === 0 || address.length > 80) return undefined;
  let bare = address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address;
  const pct = bare.indexOf('%');
  if (pct >= 0) bare = bare.slice(0, pct);
  const lit = parseIpLiteral(bare);
  if (lit === undefined) return undefined;
  // An IPv4-mapped IPv6 address (::ffff:a.b.c.d) is reached over IPv4: the rule must be an IPv4 one.
  if (lit.family === 6 && lit.value >> 32n === 0xffffn) {
    const v4 = parseIpLiteral(formatIpLiteral({ family: 4, value: Number(lit.value & 0xffffffffn) }));
    if (v4 !== undefined) return { ip: formatIpLiteral(v4), family: 4 };
  }
  return { ip: formatIpLiteral(lit), family: lit.family };
}

/** Sources from the option (strict: a bad or wrong-family entry is the user's error) or the policy. */
function pickSources(input: PlanInput, choices: PlanChoices, family: 4 | 6 | 'both'): { sources: Cidr[]; from: 'option' | 'policy' | undefined } {
  const given = choices.allowFrom ?? [];
  if (!Array.isArray(given)) throw new UsageError(E_REMEDIATE, 'bad allowed sources: expected a list of CIDRs');
  if (given.length > 0) {
    // Every entry is validated (a bad one is the user's error); one --allow-from serves findings of
    // both families (--all), so each rule keeps the sources of its address's family, and only a list
    // with none of that family is refused.
    const all = given.map((c) => validateCidr(c));
    const fit = all.filter((c) => family === 'both' || c.family === family);
    if (fit.length === 0) {
      throw new UsageError(E_REMEDIATE, `bad allowed sources: none of ${all.map((c) => c.text).join(', ')} is IPv${family === 4 ? 4 : 6}, the family of ${input.finding.address}`);
    }
    return { sources: fit, from: 'option' };
  }
  const policy = input.policyAllowFrom ?? [];
  const fit = policy
    .map((c) => validateCidr(c))
    // A policy may list both families for a group; only this address's family applies to this rule,
    // and "anywhere" (/0) is no restriction at all.
    .filter((c) => (family === 'both' || c.family === family) && !c.text.endsWith('/0'));
  const seen = new Set<string>();
  const sources = fit.filter((c) => (seen.has(c.text) ? false : (seen.add(c.text), true)));
  return { sources, from: sources.length > 0 ? 'policy' : undefined };
}

/** Validate the choices (unknown backends are the user's error) and the finding, and derive the facts. */
export function planContext(input: PlanInput, choices: PlanChoices): PlanContext {
  const finding = input.finding;
  const firewall = firewallBackend(String(choices.firewall));
  if (firewall === undefined) {
    refuse('firewall backend', choices.firewall, `give ${FIREWALL_BACKENDS.map((b) => b.id).join(', ')}`);
  }
  if (serviceBackend(String(choices.serviceManager)) === undefined) {
    refuse('service manager', choices.serviceManager, `give ${SERVICE_MANAGERS.join(', ')}`);
  }
  const port = validatePort(finding.port);
  const protocol = validateProtocol(finding.protocol);
  const addr = parseAddress(finding.address);
  const family = addr?.family ?? 'both';
  let key: string | undefined;
  try {
    key = validateFindingKey(finding.key);
  } catch {
    key = undefined;
  }
  const tier: Tier = TIERS.includes(finding.tier) ? finding.tier : 'medium';
  const rules = new Set((Array.isArray(finding.reasons) ? finding.reasons : []).map((r) => String(r.rule)));
  const match = knowledgeFor(finding.service, port, protocol);
  const platform = firewall.id === 'windows' || choices.serviceManager === 'windows' ? 'windows' : 'linux';
  const { sources, from } = pickSources(input, choices, family);
  const ip = addr?.ip;
  const url = ip === undefined ? '${TARGET}' : family === 6 ? `[${ip}]` : ip;
  const values: TemplateValues = {
    host: ip ?? '"$TARGET"',
    url,
    port,
    protocol,
    scheme: match.encrypted ? 'https' : 'http',
  };
  return {
    input,
    choices,
    finding,
    ip,
    family,
    port,
    protocol,
    key,
    commentKey: sanitizeCommentKey(typeof finding.key === 'string' ? finding.key : ''),
    tier,
    values,
    where: `${ip === undefined ? '$TARGET' : url}:${port}/${protocol}`,
    knowledge: match.knowledge,
    kind: match.kind,
    classes: match.classes,
    label: match.knowledge.id === 'generic' ? 'the unidentified service' : match.knowledge.label,
    rules,
    reach: reachOf(rules, input.zone, ip),
    platform,
    firewall,
    serviceManager: String(choices.serviceManager),
    sources,
    sourcesFrom: from,
    hostServices: cleanHostServices(input.hostServices, port, protocol),
  };
}

/** A knowledge template filled for this finding. */
export function fill(ctx: PlanContext, template: string): string {
  return fillTemplate(template, ctx.values);
}

/** The line sh blocks start with when the address is not an IP literal. */
export function targetGuard(ctx: PlanContext): string[] {
  return ctx.ip === undefined ? [': "${TARGET:?set TARGET to the address of the host}"'] : [];
}

/** Another way administrators reach the host (a non-cleartext remote-admin service on it), as `SSH on tcp/22`. */
export function adminAlternative(ctx: PlanContext): string | undefined {
  for (const s of ctx.hostServices) {
    const m = knowledgeFor(s.name === undefined ? undefined : { name: s.name }, s.port, s.protocol);
    if (m.classes.includes('remote-admin') && !m.classes.includes('cleartext')) return `${m.knowledge.label} on ${s.protocol}/${s.port}`;
  }
  return undefined;
}

/** True when the finding's reasons include the rule. */
export function has(ctx: PlanContext, rule: string): boolean {
  return ctx.rules.has(rule);
}

/** The text with its first letter in upper case (labels such as "the unidentified service" start sentences). */
export function cap(s: string): string {
  return s.length === 0 ? s : `${s[0]!.toUpperCase()}${s.slice(1)}`;
}

/** The reasons' texts for the rules given, as plain text (they come from the store). */
export function reasonTexts(ctx: PlanContext, rules?: readonly string[]): string[] {
  const reasons = Array.isArray(ctx.finding.reasons) ? ctx.finding.reasons : [];
  return reasons.filter((r) => rules === undefined || rules.includes(r.rule)).map((r) => plain(String(r.text), 400));
}

/** Text from the store made safe to sit in a sentence: control characters become spaces, length capped. */
export function plain(text: string, max = 120): string {
  // Control, line-separator and bidi-override characters would break a line or reorder what a reader sees.
  // eslint-disable-next-line no-control-regex
  const flat = text.slice(0, max * 2).replace(/[\u0000-\u001f\u007f-\u009f\u200e\u200f\u2028-\u202e\u2066-\u2069]+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}

/** `Redis 7.0.15` from the banner, as plain text, or undefined. */
export function bannerText(ctx: PlanContext): string | undefined {
  const s = ctx.finding.service;
  if (s === undefined) return undefined;
  const parts = [s.product, s.version].filter((p): p is string => typeof p === 'string' && p.trim() !== '').map((p) => plain(p, 80));
  return parts.length > 0 ? parts.join(' ') : undefined;
}

/** The reach as words for a sentence. */
export function reachWords(ctx: PlanContext): string {
  switch (ctx.reach) {
    case 'internet':
      return 'reachable from the internet';
    case 'dmz':
      return 'reachable from the DMZ';
    case 'internal':
      return 'reachable from internal networks';
    case 'local':
      return 'reachable from this host only (loopback)';
    default:
      return `reachable from wherever routes to ${ctx.ip ?? 'this host'}`;
  }
}
