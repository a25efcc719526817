/**
 * The policy file: its types, its zod schema, and {@link parsePolicy}. A policy is user input and
 * may be hostile: the size is capped before parsing, YAML aliases are capped (no "billion laughs"),
 * no YAML tag is resolved, duplicate keys are errors, and every problem is a {@link PolicyError}
 * naming the field path (`groups[2].allow[0].port`) and its line. The file format is documented on
 * {@link parsePolicy} in policy.ts.
 */
import ipaddr from 'ipaddr.js';
import { LineCounter, parseDocument, type Document } from 'yaml';
import { z } from 'zod';
import { quoteToken, UsageError } from '../core/errors.js';
import { escapeTerminal } from '../core/escape.js';
import type { Protocol } from '../core/model.js';
import { parseIPv4, parseIPv6 } from '../core/targets-addr.js';
import type { Zone } from './exposure.js';

export type { Zone } from './exposure.js';

/** Largest policy file read: a baseline of a busy /16 fits, a memory bomb does not. */
export const MAX_POLICY_BYTES = 16 * 1024 * 1024;
/** YAML alias expansions allowed; a hand-written policy needs a few, an alias bomb needs millions. */
export const MAX_YAML_ALIASES = 50;
export const MAX_GROUPS = 100_000;
export const MAX_HOSTS_PER_GROUP = 65_536;
export const MAX_RULES_PER_GROUP = 1024;
/** Problems listed in `PolicyError.problems`; the rest are counted. */
const MAX_PROBLEMS = 20;
/** Problems spelled out in the one-line message. */
const MAX_IN_MESSAGE = 3;

/** A host entry of a group: one address, a network, or a host name (matched against the name a scan reports). */
export type HostEntry =
  | { kind: 'address'; text: string; ip: ipaddr.IPv4 | ipaddr.IPv6 }
  | { kind: 'cidr'; text: string; ip: ipaddr.IPv4 | ipaddr.IPv6; bits: number }
  | { kind: 'name'; text: string };

/** Who a rule lets in; only checked when the caller says where the scan ran from. */
export type RuleSource = { kind: 'anywhere' } | { kind: 'internal' } | { kind: 'networks'; networks: HostEntry[] };

/** One allowed service, normalised. */
export interface AllowRule {
  /** Canonical display text: `22/tcp ssh`, `443/tcp`, `ssh`, `8000-8100/tcp http from internal`. */
  text: string;
  /** Undefined: any protocol (a service-name rule without one). A rule with a port defaults to tcp. */
  protocol?: Protocol;
  /** Inclusive port range; undefined: any port (service-name rule). */
  ports?: { from: number; to: number };
  /** Service name as written, lowercased. */
  service?: string;
  from: RuleSource;
  note?: string;
}

export interface PolicyGroup {
  name: string;
  owner?: string;
  /** The business need: why these hosts expose what they expose. */
  purpose?: string;
  zone?: Zone;
  hosts: HostEntry[];
  allow: AllowRule[];
}

/** A parsed, validated policy. `defaults` is the group of every host no group names (its `hosts` is empty). */
export interface Policy {
  version: 1;
  defaults: PolicyGroup;
  groups: PolicyGroup[];
  /** Networks `from: internal` means; undefined: every non-public address (RFC 1918, ULA, loopback, …). */
  internalNetworks?: HostEntry[];
}

/** A policy file that cannot be used. Code `E_POLICY`; the message names the file, the field path and the line. */
export class PolicyError extends UsageError {
  constructor(
    readonly source: string,
    problems: readonly string[],
    total = problems.length,
  ) {
    const shown = problems.slice(0, MAX_IN_MESSAGE).join('; ');
    const more = total > MAX_IN_MESSAGE ? `; and ${total - MAX_IN_MESSAGE} more` : '';
    super('E_POLICY', `policy ${quoteToken(source)}: ${total > 1 ? `${total} problems: ` : ''}${shown}${more}`, { token: source, problems });
    this.name = 'PolicyError';
  }
}

const ZONES = ['internet', 'dmz', 'internal'] as const;
const HOSTNAME_LABEL = /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/;
/** nmap-style service name, optionally `ssl/`-prefixed. */
export const SERVICE_NAME_RE = /^(?:ssl\/)?[a-z0-9][a-z0-9_.+-]{0,63}$/;
/** Group names appear in messages and reports, so they keep to printable, shell-inert characters. */
const GROUP_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9 _.:/@+-]{0,299}$/;

/** An address literal for matching: IPv4-mapped IPv6 becomes the IPv4 address it stands for. */
function toIp(text: string, family: 4 | 6): ipaddr.IPv4 | ipaddr.IPv6 {
  const ip = family === 4 ? ipaddr.IPv4.parse(text) : ipaddr.IPv6.parse(text);
  return ip instanceof ipaddr.IPv6 && ip.isIPv4MappedAddress() ? ip.toIPv4Address() : ip;
}

/** Validate an address with the project's strict parser (no octal, no `10.1` shorthand); an error text or the address. */
function strictIp(text: string): { ip: ipaddr.IPv4 | ipaddr.IPv6 } | { why: string } {
  const bare = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  if (bare.includes(':')) {
    const r = parseIPv6(bare);
    return r.ok ? { ip: toIp(bare, 6) } : { why: `${quoteToken(text)} is not an IPv6 address (${r.why})` };
  }
  const r = parseIPv4(bare);
  return r.ok ? { ip: toIp(bare, 4) } : { why: `${quoteToken(text)} is not an IPv4 address (${r.why})` };
}

/** Canonical text of an address: dotted quad, or RFC 5952 IPv6. */
export function ipText(ip: ipaddr.IPv4 | ipaddr.IPv6): string {
  return ip.toString();
}

/** Parse a host entry: `192.0.2.7`, `2001:db8::/32`, `10.0.0.0/8`, `www.example.org`. An error text when it is none of them. */
export function parseHostEntry(raw: string): HostEntry | string {
  const text = raw.trim();
  if (text === '' || text.length > 300) return 'expected an address, a CIDR or a host name';
  const slash = text.indexOf('/');
  if (slash >= 0) {
    const addr = strictIp(text.slice(0, slash));
    if ('why' in addr) return addr.why;
    const bitsText = text.slice(slash + 1);
    const max = addr.ip.kind() === 'ipv4' ? 32 : 128;
    // A mapped IPv6 network (::ffff:10.0.0.0/104) counts in IPv6 bits but matches as IPv4.
    const mapped = addr.ip.kind() === 'ipv4' && text.slice(0, slash).includes(':');
    const limit = mapped ? 128 : max;
    if (!/^\d{1,3}$/.test(bitsText) || Number(bitsText) > limit) return `${quoteToken(text)}: the prefix length must be 0-${limit}`;
    const bits = mapped ? Number(bitsText) - 96 : Number(bitsText);
    if (bits < 0) return `${quoteToken(text)}: an IPv4-mapped network needs a prefix of at least /96`;
    if (bits === max) return { kind: 'address', text: ipText(addr.ip), ip: addr.ip };
    // Host bits are allowed (nmap and iptables accept 192.0.2.7/24); the entry is the network.
    const net = addr.ip.kind() === 'ipv4' ? ipaddr.IPv4.networkAddressFromCIDR(`${ipText(addr.ip)}/${bits}`) : ipaddr.IPv6.networkAddressFromCIDR(`${ipText(addr.ip)}/${bits}`);
    return { kind: 'cidr', text: `${ipText(net)}/${bits}`, ip: net, bits };
  }
  if (text.includes(':') || /^[0-9.]+$/.test(text) || text.startsWith('[')) {
    const addr = strictIp(text);
    return 'why' in addr ? addr.why : { kind: 'address', text: ipText(addr.ip), ip: addr.ip };
  }
  const name = text.toLowerCase().replace(/\.$/, '');
  if (name.length > 253 || !name.split('.').every((l) => HOSTNAME_LABEL.test(l))) {
    return `${quoteToken(text)} is not an address, a CIDR or a host name`;
  }
  return { kind: 'name', text: name };
}

type Ctx = z.core.$RefinementCtx;

/** A type error message that says "missing" when the field is absent. */
const say =
  (text: string) =>
  (issue: { input?: unknown }): string =>
    issue.input === undefined ? 'missing; it is required' : text;

function fail(ctx: Ctx, message: string, path: PropertyKey[] = []): typeof z.NEVER {
  ctx.addIssue({ code: 'custom', message, path });
  return z.NEVER;
}

/** A string or a list of strings, as a list (`hosts: 10.0.0.0/8` reads as a list of one). */
const stringList = (what: string, max: number) =>
  z
    .union([z.string(), z.array(z.unknown())], { error: say(`expected ${what}, or a list of them`) })
    .transform((v) => (typeof v === 'string' ? [v] : v))
    .pipe(z.array(z.unknown()).max(max, `more than ${max} entries`));

const HostsSchema = (what: string, max: number, min: number) =>
  stringList(what, max).transform((list, ctx) => {
    const out: HostEntry[] = [];
    if (list.length < min) fail(ctx, `the list is empty; give at least ${what}`);
    list.forEach((item, i) => {
      if (typeof item !== 'string') {
        fail(ctx, typeof item === 'number' ? 'expected text; quote addresses like "10.0" that YAML reads as numbers' : 'expected an address, a CIDR or a host name as text (quote IPv6 addresses)', [i]);
        return;
      }
      const entry = parseHostEntry(item);
      if (typeof entry === 'string') fail(ctx, entry, [i]);
      else out.push(entry);
    });
    return out;
  });

const FromSchema = z.union([z.string(), z.array(z.unknown())], { error: say('expected anywhere, internal, or a list of CIDRs') }).transform((v, ctx): RuleSource => {
  if (v === 'anywhere') return { kind: 'anywhere' };
  if (v === 'internal') return { kind: 'internal' };
  const list = typeof v === 'string' ? [v] : v;
  if (list.length === 0 || list.length > 1024) return fail(ctx, 'expected anywhere, internal, or 1-1024 CIDRs');
  const networks: HostEntry[] = [];
  list.forEach((item, i) => {
    const entry = typeof item === 'string' ? parseHostEntry(item) : 'expected a CIDR or an address as text';
    if (typeof entry === 'string') fail(ctx, typeof v === 'string' ? `expected anywhere, internal, or CIDRs: ${entry}` : entry, typeof v === 'string' ? [] : [i]);
    else if (entry.kind === 'name') fail(ctx, `${quoteToken(entry.text)}: expected anywhere, internal, or CIDRs (not host names)`, typeof v === 'string' ? [] : [i]);
    else networks.push(entry);
  });
  return { kind: 'networks', networks };
});

const PORT_MSG = 'expected a port 0-65535 or a range like 8000-8100';

/** `22`, `"22"`, `"8000-8100"` → range; an error text otherwise. */
function parsePorts(v: unknown): { from: number; to: number } | string {
  if (typeof v === 'number') return Number.isInteger(v) && v >= 0 && v <= 65535 ? { from: v, to: v } : PORT_MSG;
  if (typeof v !== 'string') return PORT_MSG;
  const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(v.trim());
  if (m === null) return PORT_MSG;
  const from = Number(m[1]);
  const to = m[2] === undefined ? from : Number(m[2]);
  if (from > 65535 || to > 65535) return PORT_MSG;
  return from <= to ? { from, to } : `the range ${from}-${to} runs backwards; write ${to}-${from}`;
}

const ServiceSchema = z
  .string({ error: say('expected a service name such as ssh or https') })
  .transform((s) => s.trim().toLowerCase())
  .refine((s) => SERVICE_NAME_RE.test(s), "expected nmap's service name, e.g. ssh, http, https, domain");

const RuleObject = z.strictObject({
  port: z.unknown().optional(),
  protocol: z.enum(['tcp', 'udp'], { error: say('expected tcp or udp') }).optional(),
  service: ServiceSchema.optional(),
  from: FromSchema.optional(),
  note: z.string({ error: say('expected text') }).max(1000, 'longer than 1000 characters').optional(),
});

function ruleText(r: Omit<AllowRule, 'text'>): string {
  const ports = r.ports === undefined ? '' : r.ports.from === r.ports.to ? `${r.ports.from}` : `${r.ports.from}-${r.ports.to}`;
  let text = ports === '' ? (r.service ?? '') : `${ports}/${r.protocol ?? 'tcp'}${r.service === undefined ? '' : ` ${r.service}`}`;
  if (ports === '' && r.protocol !== undefined) text += ` (${r.protocol})`;
  if (r.from.kind === 'internal') text += ' from internal';
  else if (r.from.kind === 'networks') text += ` from ${r.from.networks.map((n) => n.text).join(',')}`;
  return text;
}

function buildRule(parts: Omit<AllowRule, 'text' | 'from'> & { from?: RuleSource }): AllowRule {
  const rule: Omit<AllowRule, 'text'> = { ...parts, from: parts.from ?? { kind: 'anywhere' } };
  if (rule.ports !== undefined && rule.protocol === undefined) rule.protocol = 'tcp';
  return { text: ruleText(rule), ...rule };
}

const SHORTHAND_MSG = 'expected "PORT/PROTOCOL SERVICE", "PORT/PROTOCOL" or "SERVICE", e.g. "22/tcp ssh", "443/tcp", "ssh"';

/** `"22/tcp ssh"`, `"443/tcp"`, `"53/udp"`, `"8000-8100/tcp http"`, `"ssh"`, `22`. */
function parseShorthand(text: string): AllowRule | string {
  const tokens = text.trim().split(/\s+/);
  if (tokens.length > 2 || tokens[0] === '') return SHORTHAND_MSG;
  const first = tokens[0] ?? '';
  if (!/^\d/.test(first)) {
    if (tokens.length !== 1) return SHORTHAND_MSG;
    const service = first.toLowerCase();
    return SERVICE_NAME_RE.test(service) ? buildRule({ service }) : `${quoteToken(first)}: ${SHORTHAND_MSG}`;
  }
  const m = /^([\d-]+)(?:\/([A-Za-z]+))?$/.exec(first);
  if (m === null) return `${quoteToken(first)}: ${SHORTHAND_MSG}`;
  const ports = parsePorts(m[1]);
  if (typeof ports === 'string') return `${quoteToken(first)}: ${ports}`;
  const proto = m[2]?.toLowerCase();
  if (proto !== undefined && proto !== 'tcp' && proto !== 'udp') return `${quoteToken(first)}: the protocol must be tcp or udp`;
  const service = tokens[1]?.toLowerCase();
  if (service !== undefined && !SERVICE_NAME_RE.test(service)) return `${quoteToken(tokens[1] ?? '')}: expected nmap's service name, e.g. ssh, http`;
  return buildRule({ ports, protocol: proto ?? 'tcp', ...(service === undefined ? {} : { service }) });
}

const RuleSchema = z.unknown().transform((v, ctx): AllowRule => {
  if (typeof v === 'number') {
    const ports = parsePorts(v);
    return typeof ports === 'string' ? fail(ctx, ports) : buildRule({ ports });
  }
  if (typeof v === 'string') {
    const rule = parseShorthand(v);
    return typeof rule === 'string' ? fail(ctx, rule) : rule;
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return fail(ctx, `${SHORTHAND_MSG}, or a mapping with port, protocol, service, from, note`);
  const parsed = RuleObject.safeParse(v);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) ctx.addIssue({ code: 'custom', path: [...issue.path], message: describeIssue(issue) });
    return z.NEVER;
  }
  const o = parsed.data;
  let ports: { from: number; to: number } | undefined;
  if (o.port !== undefined) {
    const p = parsePorts(o.port);
    if (typeof p === 'string') return fail(ctx, p, ['port']);
    ports = p;
  }
  if (ports === undefined && o.service === undefined) return fail(ctx, 'give a port, a service, or both');
  return buildRule({
    ...(ports === undefined ? {} : { ports }),
    ...(o.protocol === undefined ? {} : { protocol: o.protocol }),
    ...(o.service === undefined ? {} : { service: o.service }),
    ...(o.from === undefined ? {} : { from: o.from }),
    ...(o.note === undefined ? {} : { note: o.note }),
  });
});

const text = (max: number) => z.string({ error: say('expected text') }).max(max, `longer than ${max} characters`);
const ZoneSchema = z.enum(ZONES, { error: say('expected a zone: internet, dmz or internal') });
const AllowSchema = z
  .array(RuleSchema, { error: say('expected a list of allowed services') })
  .max(MAX_RULES_PER_GROUP, `more than ${MAX_RULES_PER_GROUP} rules`)
  .nullish()
  .transform((v) => v ?? []);

const GroupSchema = z.strictObject(
  {
  name: z.string({ error: say('expected a group name') }).regex(GROUP_NAME_RE, 'use 1-300 letters, digits, spaces and _ . : / @ + -'),
  owner: text(200).optional(),
  purpose: text(1000).optional(),
  zone: ZoneSchema.optional(),
  hosts: HostsSchema('an address, a CIDR or a host name', MAX_HOSTS_PER_GROUP, 1),
  allow: AllowSchema,
  },
  { error: say('expected a group: a mapping with name, hosts and allow') },
);

const DefaultSchema = z.strictObject(
  { owner: text(200).optional(), purpose: text(1000).optional(), zone: ZoneSchema.optional(), allow: AllowSchema },
  { error: say('expected a mapping with zone, owner, purpose or allow') },
);

const PolicySchema = z
  .strictObject({
    version: z.literal(1, { error: say('this portolan reads policy version 1') }).optional(),
    default: DefaultSchema.nullish(),
    internal_networks: HostsSchema('a CIDR', 4096, 1).optional(),
    groups: z.array(GroupSchema, { error: say('expected a list of groups') }).max(MAX_GROUPS, `more than ${MAX_GROUPS} groups`).nullish(),
  }, { error: say('expected a mapping with groups: (and optionally version, default, internal_networks)') })
  .superRefine((p, ctx) => {
    const seen = new Map<string, number>();
    (p.groups ?? []).forEach((g, i) => {
      const key = g.name.toLowerCase();
      const first = seen.get(key);
      if (key === 'default') fail(ctx, '"default" is reserved for hosts no group names; use the default: section', ['groups', i, 'name']);
      else if (first !== undefined) fail(ctx, `${quoteToken(g.name)} is already the name of groups[${first}]`, ['groups', i, 'name']);
      else seen.set(key, i);
    });
    (p.internal_networks ?? []).forEach((n, i) => {
      if (n.kind === 'name') fail(ctx, `${quoteToken(n.text)}: expected a CIDR or an address, not a host name`, ['internal_networks', i]);
    });
  });

/** zod's type names as a YAML author knows them. */
const WORDS: Readonly<Record<string, string>> = { object: 'a mapping', array: 'a list', string: 'text', number: 'a number', boolean: 'true/false', null: 'nothing' };

/** A zod issue as words for a person: `expected a list, got text`, `unknown key "alow"`, `missing; it is required`. */
function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys') return `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.slice(0, 3).map((k) => quoteToken(k)).join(', ')}; check the spelling`;
  if (issue.code === 'invalid_type' && /received undefined$/.test(issue.message)) return 'missing; it is required';
  if (issue.code === 'invalid_type' && issue.message.startsWith('Invalid input')) {
    const got = /received (\w+)$/.exec(issue.message)?.[1];
    return `expected ${WORDS[issue.expected] ?? issue.expected}${got === undefined ? '' : `, got ${WORDS[got] ?? got}`}`;
  }
  return issue.message;
}

/** `groups[2].allow[0].port`. */
export function fieldPath(path: readonly PropertyKey[]): string {
  return path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('').replace(/^\./, '');
}

/** The line of the deepest YAML node on `path` that exists. */
function lineOf(doc: Document, lines: LineCounter, path: readonly PropertyKey[]): number | undefined {
  for (let n = path.length; n >= 0; n--) {
    const node = doc.getIn(path.slice(0, n) as unknown[], true) as { range?: [number, number, number] } | undefined;
    if (node?.range !== undefined) return lines.linePos(node.range[0]).line;
  }
  return undefined;
}

function decode(input: string | Uint8Array, source: string): string {
  const size = typeof input === 'string' ? input.length : input.byteLength;
  if (size > MAX_POLICY_BYTES) throw new PolicyError(source, [`is larger than ${MAX_POLICY_BYTES / 1024 / 1024} MiB; a policy that big is not a policy`]);
  let text: string;
  if (typeof input === 'string') text = input;
  else {
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(input);
    } catch {
      throw new PolicyError(source, ['is not UTF-8 text; expected a YAML policy file']);
    }
  }
  text = text.replace(/^\uFEFF/, '');
  if (text.trim() === '') throw new PolicyError(source, ['is empty; a policy needs a groups: list (see the example in the README)']);
  return text;
}

/**
 * Parse and validate policy text (see policy.ts for the format). Throws a {@link PolicyError}
 * (a `UsageError`, code `E_POLICY`) for anything wrong, never another exception.
 */
export function parsePolicyText(input: string | Uint8Array, source = 'policy'): Policy {
  const text = decode(input, source);
  const lines = new LineCounter();
  let doc: Document;
  let data: unknown;
  try {
    doc = parseDocument(text, { schema: 'core', customTags: [], resolveKnownTags: false, merge: false, uniqueKeys: true, prettyErrors: false, lineCounter: lines });
    const first = doc.errors[0] ?? doc.warnings[0];
    if (first !== undefined) {
      // yaml reports its own stack exhaustion on absurd nesting as a parse error.
      const msg = /call stack/i.test(first.message) ? 'too deeply nested' : first.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
      throw new PolicyError(source, [`not valid YAML at line ${lines.linePos(first.pos[0]).line}: ${escapeTerminal(msg.slice(0, 200))}`]);
    }
    data = doc.toJS({ maxAliasCount: MAX_YAML_ALIASES });
  } catch (error) {
    if (error instanceof PolicyError) throw error;
    // The alias cap throws ReferenceError; absurd nesting exhausts the stack (RangeError).
    const why = error instanceof ReferenceError ? 'too many alias (*name) expansions; write the values out' : 'too deeply nested or malformed';
    throw new PolicyError(source, [`YAML rejected: ${why}`]);
  }
  const parsed = PolicySchema.safeParse(data);
  if (!parsed.success) {
    const issues = parsed.error.issues;
    const problems = issues.slice(0, MAX_PROBLEMS).map((issue) => {
      const path = fieldPath(issue.path);
      const line = lineOf(doc, lines, issue.path);
      return `${path === '' ? 'the policy' : path}${line === undefined ? '' : ` (line ${line})`}: ${describeIssue(issue)}`;
    });
    throw new PolicyError(source, problems, issues.length);
  }
  const p = parsed.data;
  const d = p.default ?? { allow: [] };
  const defaults: PolicyGroup = { name: 'default', hosts: [], allow: d.allow };
  if (d.owner !== undefined) defaults.owner = d.owner;
  if (d.purpose !== undefined) defaults.purpose = d.purpose;
  if (d.zone !== undefined) defaults.zone = d.zone;
  const groups = (p.groups ?? []).map((g): PolicyGroup => {
    const group: PolicyGroup = { name: g.name, hosts: g.hosts, allow: g.allow };
    if (g.owner !== undefined) group.owner = g.owner;
    if (g.purpose !== undefined) group.purpose = g.purpose;
    if (g.zone !== undefined) group.zone = g.zone;
    return group;
  });
  const policy: Policy = { version: 1, defaults, groups };
  if (p.internal_networks !== undefined) policy.internalNetworks = p.internal_networks;
  return policy;
}
