/**
 * Policy and inventory: which hosts may expose which services, who owns them and why, and in which
 * zone they sit. {@link checkPolicy} compares a scan with the policy (unexpected open services,
 * expected-but-missing ones), {@link baselineFrom} writes a policy from a known-good scan, and
 * {@link zoneOf} gives the priority rules the zone a host was declared in. Pure: no I/O.
 */
import ipaddr from 'ipaddr.js';
import { Document, isSeq } from 'yaml';
import { quoteToken } from '../core/errors.js';
import { escapeTerminal } from '../core/escape.js';
import type { Protocol } from '../core/model.js';
import { parseIpLiteral, formatIpLiteral } from '../core/targets-addr.js';
import { classifyAddress, type Zone } from './exposure.js';
import { ipText, parseHostEntry, parsePolicyText, SERVICE_NAME_RE, type AllowRule, type HostEntry, type Policy, type PolicyGroup } from './policy-schema.js';

export { MAX_POLICY_BYTES, PolicyError, parseHostEntry, type AllowRule, type HostEntry, type Policy, type PolicyGroup, type RuleSource, type Zone } from './policy-schema.js';

/**
 * Parse and validate a policy file (YAML; JSON is YAML too). Throws a `PolicyError` (a `UsageError`,
 * code `E_POLICY`) whose message names each bad field by path and line, e.g.
 * `policy "site.yaml": groups[2].allow[0].port (line 31): expected a port 0-65535 or a range like 8000-8100`.
 *
 * ```yaml
 * version: 1                      # optional; the only version so far
 * default:                        # hosts that no group names
 *   zone: internal                # internet | dmz | internal; omitted: judged from the address
 *   owner: it-ops@example.org
 *   allow: []                     # nothing may be open on an unknown host
 * internal_networks:              # optional: what `from: internal` means (default: non-public addresses)
 *   - 10.0.0.0/8
 *   - "2001:db8:1::/48"
 * groups:
 *   - name: web                   # unique; "default" is reserved
 *     owner: web-team@example.org
 *     purpose: public web site and its API
 *     zone: dmz
 *     hosts: [203.0.113.10, 203.0.113.11, www.example.org]   # addresses, CIDRs, host names
 *     allow:
 *       - 443/tcp https           # PORT/PROTOCOL SERVICE
 *       - 80/tcp                  # any service on this port
 *       - { port: 22, protocol: tcp, service: ssh, from: internal, note: admin access via VPN }
 *   - name: dns
 *     owner: netops@example.org
 *     purpose: authoritative DNS
 *     zone: internet
 *     hosts: ["2001:db8::53", 198.51.100.53]   # quote IPv6 addresses
 *     allow: [53/udp domain, 53/tcp domain]
 *   - name: every host
 *     purpose: monitoring agent everywhere
 *     hosts: [0.0.0.0/0, "::/0"]
 *     allow:
 *       - { port: 9100, service: node-exporter, from: [10.0.5.0/24] }
 *       - ssh                     # this service name on any port
 * ```
 *
 * Rules: a port rule without a protocol is tcp; a port may be a range (`8000-8100/tcp`); a service
 * name is nmap's (`ssh`, `http`, `domain`, `ms-wbt-server`), with a few aliases understood (`dns`,
 * `rdp`, `smb`, `postgres`, `mssql`, `winrm`). `http` also allows HTTP inside TLS; `https` (or
 * `ssl/http`) requires TLS. A port rule with a service allows the port when the scan could not
 * identify the service. `from` (`anywhere`, `internal`, or CIDRs) is checked only when the caller
 * says where the scan ran from ({@link CheckOptions.scannedFrom}); it also feeds remediation.
 * A host in several groups gets the union of their allowances; the most specific group (an exact
 * address or name, then the longest prefix, then file order) that declares a zone gives its zone.
 */
export function parsePolicy(input: string | Uint8Array, source = 'policy'): Policy {
  return parsePolicyText(input, source);
}

/** What the checks read of a service; a full `Service` row with address and state fits. */
export interface PolicyService {
  address: string;
  protocol: Protocol;
  port: number;
  /** Only `open` counts as open (`open|filtered` is not proof of anything). */
  state: string;
  name?: string;
  /** A name the host is known by (reverse DNS, the target as given); matched against host-name entries. */
  hostname?: string;
  tunnel?: 'ssl';
}

export interface CheckOptions {
  /**
   * Did the scan probe this address (canonical text), protocol and port? Used for `missing`, so a
   * port outside a partial scan's list is not reported missing. Default, inferred from the services:
   * yes when the input holds any record (any state) for that address and protocol. Pass the scan's
   * real target and port lists when known: the inference cannot see a host that was entirely down.
   */
  covered?: (address: string, protocol: Protocol, port: number) => boolean;
  /** Address the scan ran from; when given, rules with `from:` are checked against it. */
  scannedFrom?: string;
}

export type Unexpected<S> = S & { group: string; groups: string[]; zone?: Zone; reason: string };
export type Allowed<S> = S & { group: string; rule: string };
export interface Missing {
  address: string;
  protocol: Protocol;
  port: number;
  group: string;
  rule: string;
  /** What the scan saw on that port: `closed`, `filtered`, … or `not seen`. */
  state: string;
  reason: string;
}

export interface PolicyCheck<S> {
  /** Open services no rule of their host's groups allows, with why. */
  unexpected: Unexpected<S>[];
  /** Single-address, single-port rules the scan shows not open (only where the scan looked). */
  missing: Missing[];
  /** Open services a rule allows, with the group and rule that allow them. */
  allowed: Allowed<S>[];
  /** Input records with an impossible protocol or port, left out. */
  skipped: number;
}

/** A service's host, parsed once: canonical text, address (IPv4-mapped folded to IPv4), names. */
interface HostKey {
  canon: string;
  ip?: ipaddr.IPv4 | ipaddr.IPv6;
  names: string[];
}

function hostKey(address: string, hostname?: string): HostKey {
  let bare = String(address).trim().slice(0, 300);
  if (bare.startsWith('[') && bare.endsWith(']')) bare = bare.slice(1, -1);
  bare = bare.replace(/%.*$/, '');
  const names = typeof hostname === 'string' && hostname !== '' ? [hostname.trim().toLowerCase().replace(/\.$/, '')] : [];
  const lit = parseIpLiteral(bare);
  if (lit === undefined) {
    const name = bare.toLowerCase().replace(/\.$/, '');
    return { canon: name, names: [name, ...names] };
  }
  let ip: ipaddr.IPv4 | ipaddr.IPv6 = ipaddr.parse(formatIpLiteral(lit));
  if (ip instanceof ipaddr.IPv6 && ip.isIPv4MappedAddress()) ip = ip.toIPv4Address();
  return { canon: ipText(ip), ip, names };
}

function inEntry(key: HostKey, entry: HostEntry): boolean {
  if (entry.kind === 'name') return key.names.includes(entry.text);
  if (key.ip === undefined || key.ip.kind() !== entry.ip.kind()) return false;
  if (entry.kind === 'address') return key.canon === entry.text;
  // Same kind checked above; the cast only picks one of ipaddr's two match() overloads.
  return (key.ip as ipaddr.IPv4).match(entry.ip, entry.bits);
}

interface Member {
  group: PolicyGroup;
  order: number;
  specificity: number;
}

interface Index {
  exact: Map<string, Member[]>;
  cidrs: { entry: HostEntry & { kind: 'cidr' }; member: Member }[];
}

const indexes = new WeakMap<Policy, Index>();

function indexOf(policy: Policy): Index {
  let index = indexes.get(policy);
  if (index !== undefined) return index;
  index = { exact: new Map(), cidrs: [] };
  policy.groups.forEach((group, order) => {
    for (const entry of group.hosts) {
      if (entry.kind === 'cidr') index.cidrs.push({ entry, member: { group, order, specificity: entry.bits } });
      else {
        const list = index.exact.get(entry.text) ?? [];
        list.push({ group, order, specificity: 1000 });
        index.exact.set(entry.text, list);
      }
    }
  });
  indexes.set(policy, index);
  return index;
}

/** Groups naming a host, most specific first; each group once. */
function membersOf(policy: Policy, key: HostKey): Member[] {
  const index = indexOf(policy);
  const best = new Map<number, Member>();
  const add = (m: Member): void => {
    const had = best.get(m.order);
    if (had === undefined || had.specificity < m.specificity) best.set(m.order, m);
  };
  for (const text of new Set([key.canon, ...key.names])) for (const m of index.exact.get(text) ?? []) add(m);
  if (key.ip !== undefined) for (const { entry, member } of index.cidrs) if (inEntry(key, entry)) add(member);
  return [...best.values()].sort((a, b) => b.specificity - a.specificity || a.order - b.order);
}

/** The groups that name a host, most specific first (empty: the host falls to `policy.defaults`). */
export function hostGroups(policy: Policy, address: string, hostname?: string): PolicyGroup[] {
  return membersOf(policy, hostKey(address, hostname)).map((m) => m.group);
}

/** The declared zone of a host: from its most specific group that has one, else the default zone; undefined when none is declared. */
export function zoneOf(policy: Policy, address: string, hostname?: string): Zone | undefined {
  return membersOf(policy, hostKey(address, hostname)).find((m) => m.group.zone !== undefined)?.group.zone ?? policy.defaults.zone;
}

const ALIASES: Readonly<Record<string, string>> = { dns: 'domain', rdp: 'ms-wbt-server', smb: 'microsoft-ds', postgres: 'postgresql', mssql: 'ms-sql-s', winrm: 'wsman' };
const TLS_FORMS: Readonly<Record<string, string>> = { https: 'http', imaps: 'imap', pop3s: 'pop3', ldaps: 'ldap', smtps: 'smtp', ftps: 'ftp', wsmans: 'wsman' };

/** A service name reduced to a base name and whether it runs in TLS; undefined when the scan did not identify it. */
function canonName(raw: string | undefined, tunnel?: string): { base: string; tls: boolean } | undefined {
  if (typeof raw !== 'string') return undefined;
  let n = raw.trim().toLowerCase().replace(/\?+$/, '');
  let tls = tunnel === 'ssl';
  if (n.startsWith('ssl/')) {
    n = n.slice(4);
    tls = true;
  }
  const plain = TLS_FORMS[n];
  if (plain !== undefined) {
    n = plain;
    tls = true;
  }
  n = ALIASES[n] ?? n;
  return n === '' || n === 'unknown' || n === 'tcpwrapped' ? undefined : { base: n, tls };
}

/** A scan-provided name fit for a message. */
const shown = (name: string): string => (SERVICE_NAME_RE.test(name) ? name : quoteToken(name));

function sourceAllowed(policy: Policy, rule: AllowRule, scanner: HostKey | undefined): boolean {
  if (rule.from.kind === 'anywhere' || scanner?.ip === undefined) return true;
  if (rule.from.kind === 'networks') return rule.from.networks.some((n) => inEntry(scanner, n));
  return policy.internalNetworks !== undefined ? policy.internalNetworks.some((n) => inEntry(scanner, n)) : classifyAddress(scanner.canon) !== 'public';
}

/** 0: the rule is about something else; 1: same port, other service; 2: wrong source; ok: allowed. */
type Verdict = { ok: true } | { ok: false; rank: 0 | 1 | 2; reason: string };

function evaluate(policy: Policy, group: PolicyGroup, rule: AllowRule, s: PolicyService, scanner: HostKey | undefined): Verdict {
  if (rule.protocol !== undefined && rule.protocol !== s.protocol) return { ok: false, rank: 0, reason: '' };
  if (rule.ports !== undefined && (s.port < rule.ports.from || s.port > rule.ports.to)) return { ok: false, rank: 0, reason: '' };
  if (rule.service !== undefined) {
    const want = canonName(rule.service);
    const got = canonName(s.name, s.tunnel);
    const same = want !== undefined && got !== undefined && want.base === got.base && (!want.tls || got.tls);
    if (rule.ports === undefined && !same) return { ok: false, rank: 0, reason: '' };
    if (rule.ports !== undefined && got !== undefined && !same) {
      return { ok: false, rank: 1, reason: `group ${group.name} allows ${s.port}/${s.protocol} for ${rule.service} (rule "${rule.text}"), but the scan found ${shown(s.name ?? '')}` };
    }
  }
  if (!sourceAllowed(policy, rule, scanner)) {
    const from = rule.from.kind === 'internal' ? 'internal networks' : rule.text.slice(rule.text.indexOf(' from ') + 6);
    return { ok: false, rank: 2, reason: `group ${group.name} allows it only from ${from} (rule "${rule.text}"), but the scan from ${scanner?.canon ?? '?'} reached it` };
  }
  return { ok: true };
}

function validService(s: PolicyService): boolean {
  return (s.protocol === 'tcp' || s.protocol === 'udp') && Number.isInteger(s.port) && s.port >= 0 && s.port <= 65535 && typeof s.address === 'string';
}

/**
 * Compare open services with the policy. Each open service (duplicates from several sources count
 * once) is allowed by a rule of one of its host's groups, or unexpected with the closest near miss
 * as its reason. `missing` lists rules naming one port and protocol in groups that name a single
 * address, when the scan looked there ({@link CheckOptions.covered}) and did not find it open.
 */
export function checkPolicy<S extends PolicyService>(policy: Policy, services: readonly S[], opts: CheckOptions = {}): PolicyCheck<S> {
  const scanner = opts.scannedFrom === undefined ? undefined : hostKey(opts.scannedFrom);
  const merged = new Map<string, { s: S; key: HostKey; open: boolean }>();
  const hostProto = new Set<string>();
  const keys = new Map<string, HostKey>();
  let skipped = 0;
  for (const s of services) {
    if (!validService(s)) {
      skipped++;
      continue;
    }
    const cacheKey = `${s.address}\n${s.hostname ?? ''}`;
    let key = keys.get(cacheKey);
    if (key === undefined) keys.set(cacheKey, (key = hostKey(s.address, s.hostname)));
    const k = `${key.canon}|${s.protocol}|${s.port}`;
    hostProto.add(`${key.canon}|${s.protocol}`);
    const open = s.state === 'open';
    const had = merged.get(k);
    // Keep an open record over a closed one, and an identified one over an unidentified one.
    if (had === undefined || (open && !had.open) || (open && canonName(had.s.name) === undefined && canonName(s.name) !== undefined)) {
      merged.set(k, { s, key, open: open || (had?.open ?? false) });
    }
  }
  const result: PolicyCheck<S> = { unexpected: [], missing: [], allowed: [], skipped };
  for (const { s, key, open } of merged.values()) {
    if (!open) continue;
    const members = membersOf(policy, key);
    const groups = members.length > 0 ? members.map((m) => m.group) : [policy.defaults];
    let near: Verdict & { ok: false } = { ok: false, rank: 0, reason: '' };
    let allowedBy: { group: PolicyGroup; rule: AllowRule } | undefined;
    for (const group of groups) {
      for (const rule of group.allow) {
        const v = evaluate(policy, group, rule, s, scanner);
        if (v.ok) {
          allowedBy = { group, rule };
          break;
        }
        if (v.rank > near.rank) near = v;
      }
      if (allowedBy !== undefined) break;
    }
    if (allowedBy !== undefined) {
      result.allowed.push({ ...s, group: allowedBy.group.name, rule: allowedBy.rule.text });
      continue;
    }
    const names = groups.map((g) => g.name);
    const what = `${s.port}/${s.protocol}${canonName(s.name) === undefined ? '' : ` (${shown(s.name ?? '')})`}`;
    const reason = near.rank > 0 ? near.reason : `no rule of group${names.length > 1 ? 's' : ''} ${names.join(', ')} allows ${what}`;
    const zone = groups.find((g) => g.zone !== undefined)?.zone ?? policy.defaults.zone;
    result.unexpected.push({ ...s, group: names[0] ?? 'default', groups: names, ...(zone === undefined ? {} : { zone }), reason });
  }
  const covered = opts.covered ?? ((address: string, protocol: Protocol): boolean => hostProto.has(`${address}|${protocol}`));
  const reported = new Set<string>();
  for (const group of policy.groups) {
    for (const host of group.hosts) {
      if (host.kind !== 'address') continue;
      for (const rule of group.allow) {
        if (rule.ports === undefined || rule.ports.from !== rule.ports.to || rule.protocol === undefined) continue;
        const port = rule.ports.from;
        const k = `${host.text}|${rule.protocol}|${port}`;
        const seen = merged.get(k);
        if (reported.has(k) || seen?.open === true || !sourceAllowed(policy, rule, scanner) || !covered(host.text, rule.protocol, port)) continue;
        reported.add(k);
        const state = seen === undefined ? 'not seen' : seen.s.state;
        result.missing.push({
          address: host.text, protocol: rule.protocol, port, group: group.name, rule: rule.text, state,
          reason: `group ${group.name} expects ${rule.text} on ${host.text}, but the scan found it ${state === 'not seen' ? 'not open' : shown(state)}`,
        });
      }
    }
  }
  return result;
}

export interface BaselineOptions {
  /** One group per host (default), or per subnet (IPv4 /24, IPv6 /64). */
  groupBy?: 'host' | 'subnet';
  /** Written as the default zone. */
  zone?: Zone;
  owner?: string;
  purpose?: string;
  /** Extra header comment lines (scan id, date). */
  comment?: string;
}

/** Sort key: IPv4 before IPv6 before names, numerically within a family. */
function sortKey(key: HostKey): string {
  if (key.ip === undefined) return `2${key.canon}`;
  return `${key.ip.kind() === 'ipv4' ? 0 : 1}${key.ip.toByteArray().map((b) => b.toString(16).padStart(2, '0')).join('')}`;
}

const commentLine = (text: string): string => ` ${escapeTerminal(text.slice(0, 200))}`;

/**
 * A policy (YAML text) that allows exactly what is open in a known-good scan: one group per host
 * (or per subnet), each allowing its open `PORT/PROTOCOL SERVICE`. Hosts with nothing open get a
 * group with an empty allow list, so anything opened later is unexpected. Records whose address is
 * neither an IP literal nor a host name are left out and counted in the header comment.
 * `checkPolicy(parsePolicy(baselineFrom(s)), s)` has no unexpected services.
 */
export function baselineFrom(services: readonly PolicyService[], opts: BaselineOptions = {}): string {
  const groups = new Map<string, { sort: string; name: string; host: string; allow: Map<string, { sort: number; text: string }> }>();
  let skipped = 0;
  let open = 0;
  for (const s of services) {
    const key = validService(s) ? hostKey(s.address) : undefined;
    const entry = key === undefined ? undefined : parseHostEntry(key.canon);
    if (key === undefined || entry === undefined || typeof entry === 'string') {
      skipped++;
      continue;
    }
    let host = entry.text;
    let name = `host ${host}`;
    if (opts.groupBy === 'subnet' && key.ip !== undefined) {
      const bits = key.ip.kind() === 'ipv4' ? 24 : 64;
      const net = key.ip.kind() === 'ipv4' ? ipaddr.IPv4.networkAddressFromCIDR(`${key.canon}/${bits}`) : ipaddr.IPv6.networkAddressFromCIDR(`${key.canon}/${bits}`);
      host = `${ipText(net)}/${bits}`;
      name = `net ${host}`;
    }
    let group = groups.get(host);
    if (group === undefined) groups.set(host, (group = { sort: sortKey(key), name, host, allow: new Map() }));
    if (s.state !== 'open') continue;
    open++;
    const svc = canonName(s.name, s.tunnel);
    // The base name (http, not https): a later scan that misses the TLS layer still matches.
    const label = svc !== undefined && SERVICE_NAME_RE.test(svc.base) ? ` ${svc.base}` : '';
    const k = `${s.protocol}|${s.port}`;
    const had = group.allow.get(k);
    if (had === undefined || (!had.text.includes(' ') && label !== '')) {
      group.allow.set(k, { sort: (s.protocol === 'tcp' ? 0 : 65536) + s.port, text: `${s.port}/${s.protocol}${label}` });
    }
  }
  const list = [...groups.values()].sort((a, b) => (a.sort < b.sort ? -1 : a.sort > b.sort ? 1 : 0));
  const body: Record<string, unknown> = { version: 1 };
  if (opts.zone !== undefined) body.default = { zone: opts.zone, allow: [] };
  body.groups = list.map((g) => ({
    name: g.name,
    owner: (opts.owner ?? 'unassigned').slice(0, 200),
    purpose: (opts.purpose ?? 'baseline from a known-good scan; describe the business need').slice(0, 1000),
    hosts: [g.host],
    allow: [...g.allow.values()].sort((a, b) => a.sort - b.sort).map((a) => a.text),
  }));
  const doc = new Document(body, { aliasDuplicateObjects: false });
  doc.commentBefore = [
    ` portolan policy baseline: ${list.length} group${list.length === 1 ? '' : 's'}, ${open} open service${open === 1 ? '' : 's'} allowed.`,
    ' Review each group: set owner and purpose, and delete what should not be open.',
    ...(skipped > 0 ? [` ${skipped} record${skipped === 1 ? '' : 's'} left out: address not an IP address or host name, or impossible port.`] : []),
    ...(opts.comment === undefined ? [] : opts.comment.split('\n').slice(0, 20).map(commentLine)),
  ].join('\n');
  list.forEach((_, i) => {
    const hosts = doc.getIn(['groups', i, 'hosts'], true);
    if (isSeq(hosts)) hosts.flow = true;
  });
  return doc.toString({ lineWidth: 0 });
}

/** The rules of the host's groups that allow this service, whatever their `from` (remediation turns `from` into firewall sources). */
export function allowingRules(policy: Policy, s: PolicyService): { group: PolicyGroup; rule: AllowRule }[] {
  if (!validService(s)) return [];
  const members = membersOf(policy, hostKey(s.address, s.hostname));
  const groups = members.length > 0 ? members.map((m) => m.group) : [policy.defaults];
  return groups.flatMap((group) => group.allow.filter((rule) => evaluate(policy, group, rule, s, undefined).ok).map((rule) => ({ group, rule })));
}
