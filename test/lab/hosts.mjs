// The lab's hosts as data: addresses, listeners, nftables rules and the exact state + reason a
// connect scan must report for every port, per address family. The nft rulesets are generated from
// the same table, so a rule and its expectation cannot drift apart. Types: lab.d.mts.
//
// How the Linux connect() errno follows from each ICMP (kernel icmp_err_convert / icmpv6_err_convert,
// checked on this lab): v4 net-unreach 0 -> ENETUNREACH, host-unreach 1 -> EHOSTUNREACH,
// prot-unreach 2 -> ENOPROTOOPT, port-unreach 3 -> ECONNREFUSED, net-prohibited 9 -> ENETUNREACH,
// host-prohibited 10 -> EHOSTUNREACH, admin-prohibited 13 -> EHOSTUNREACH; v6 no-route 0 ->
// ENETUNREACH, admin-prohibited 1 / policy-fail 5 / reject-route 6 -> EACCES, addr-unreach 3 ->
// EHOSTUNREACH, port-unreach 4 -> ECONNREFUSED. nmap -sT only sees that errno, so its reason is the
// errno's (measured with nmap 7.93, see lab.test.ts): `nmapReason` below.
import { DAEMONS, HOSTILE_PORTS } from './service-table.mjs';

/** The lab's scanner addresses and subnets (RFC 2544 / RFC 5180 benchmarking space only). */
export const LAB_NET = Object.freeze({
  v4Subnet: '198.18.0.0/24',
  v6Subnet: '2001:2::/64',
  scannerV4: '198.18.0.1',
  scannerV6: '2001:2::1',
});

function outcome({ state, reason, noIcmp, errno, nft, cause, nmap, answerAfterMs, errnoOnlyAfterMs }) {
  const o = { state, reason, nmapReason: nmap ?? noIcmp ?? reason, errno: errno ?? null, nftRule: nft ?? null, cause };
  if (noIcmp !== undefined && noIcmp !== reason) o.reasonIfNoIcmpDetail = noIcmp;
  if (answerAfterMs !== undefined) o.answerAfterMs = answerAfterMs;
  if (errnoOnlyAfterMs !== undefined) o.errnoOnlyAfterMs = errnoOnlyAfterMs;
  return Object.freeze(o);
}

const listening = (what) => outcome({ state: 'open', reason: 'syn-ack', cause: `listener (${what})` });
const accepted = (what) =>
  outcome({ state: 'open', reason: 'syn-ack', nft: 'accept', cause: `listener (${what}) allowed through a drop policy` });
const KERNEL_RST = outcome({
  state: 'closed', reason: 'conn-refused', errno: 'ECONNREFUSED', cause: 'no listener: the kernel answers RST',
});
const DROPPED = outcome({
  state: 'filtered', reason: 'no-response', nft: 'drop',
  cause: 'nft drop: no answer; connect() would only fail after the kernel SYN retries (~127 s)',
});
const DROP_POLICY = outcome({ state: 'filtered', reason: 'no-response', cause: 'input policy drop' });
const NEIGHBOUR_FAILS = outcome({
  state: 'filtered', reason: 'host-unreach', errno: 'EHOSTUNREACH', answerAfterMs: 3000,
  cause: 'no host: ARP / neighbour discovery fails and the kernel reports EHOSTUNREACH after ~3 s (3 solicitations, 1 s apart)',
});

// On this zero-latency lab an ICMPv6 error reaches the scanner while its connect() syscall still
// holds the socket (v6 connect takes ~150 us here), so the kernel keeps it only as a soft error
// (TcpExtLockDroppedIcmps): connect() fails with it at the first SYN retransmission, ~1 s later.
// With IPV6_RECVERR the error queue has it at once (POLLERR; SO_ERROR returns the soft error).
// ICMPv4 errors are delivered at once either way (measured on kernel 6.18).
const V6_ICMP_ERRNO_DELAY_MS = 1000;

/** An ICMP (or RST) reject rule and what it looks like from the scanner. */
function reject(with_, state, reason, errno, noIcmp) {
  const icmp6 = with_.startsWith('icmpv6 ');
  return outcome({
    state, reason, errno, noIcmp, nft: `reject with ${with_}`, cause: `nft reject with ${with_}`,
    errnoOnlyAfterMs: icmp6 ? V6_ICMP_ERRNO_DELAY_MS : undefined,
  });
}

const range = (from, to, v4, v6 = v4) => Object.freeze({ from, to, v4, v6 });

const SSH_BANNER = 'SSH-2.0-LabSSH_1.0\\r\\n';
const HTTP_REPLY = 'HTTP/1.0 200 OK\\r\\nServer: LabHTTP/1.0\\r\\nContent-Length: 0\\r\\nConnection: close\\r\\n\\r\\n';

const MIXED_RANGES = [
  range(22, 22, listening('SSH banner')),
  range(80, 80, listening('answers any request with an HTTP/1.0 200')),
  range(443, 443, listening('silent: accepts, never speaks')),
  range(1000, 1099, DROPPED),
  range(1100, 1109,
    reject('icmp type host-unreachable', 'filtered', 'host-unreach', 'EHOSTUNREACH'),
    reject('icmpv6 type addr-unreachable', 'filtered', 'host-unreach', 'EHOSTUNREACH')),
  range(1110, 1119,
    reject('icmp type admin-prohibited', 'filtered', 'admin-prohibited', 'EHOSTUNREACH', 'host-unreach'),
    reject('icmpv6 type admin-prohibited', 'filtered', 'admin-prohibited', 'EACCES', 'admin-prohibited')),
  range(1120, 1129,
    reject('icmp type net-unreachable', 'filtered', 'net-unreach', 'ENETUNREACH'),
    reject('icmpv6 type no-route', 'filtered', 'net-unreach', 'ENETUNREACH')),
  // ICMPv6 has no protocol-unreachable among its destination-unreachable codes (the v6 analogue is
  // a parameter problem nft cannot send), so this range is v4-only: v6 gets the kernel's RST.
  range(1130, 1139, reject('icmp type prot-unreachable', 'filtered', 'proto-unreach', 'ENOPROTOOPT'), KERNEL_RST),
  range(1140, 1149,
    reject('icmp type port-unreachable', 'closed', 'port-unreach', 'ECONNREFUSED', 'conn-refused'),
    reject('icmpv6 type port-unreachable', 'closed', 'port-unreach', 'ECONNREFUSED', 'conn-refused')),
  // The other "prohibited" codes: v4 9 and 10 (errno says net/host unreachable), v6 5 and 6 (EACCES).
  range(1150, 1154,
    reject('icmp type net-prohibited', 'filtered', 'admin-prohibited', 'ENETUNREACH', 'net-unreach'),
    reject('icmpv6 type policy-fail', 'filtered', 'admin-prohibited', 'EACCES', 'admin-prohibited')),
  range(1155, 1159,
    reject('icmp type host-prohibited', 'filtered', 'admin-prohibited', 'EHOSTUNREACH', 'host-unreach'),
    reject('icmpv6 type reject-route', 'filtered', 'admin-prohibited', 'EACCES', 'admin-prohibited')),
  range(8080, 8080, listening('one-line banner')),
  // A listener exists on 8081; the rule must win, proving the scanner reports the RST it got.
  range(8081, 8081, reject('tcp reset', 'closed', 'conn-refused', 'ECONNREFUSED')),
];

function spec(s) {
  return Object.freeze({
    ...s,
    v4: `198.18.0.${s.index}`,
    v6: `2001:2::${s.index}`,
    defaultState: s.default.state,
    defaultReason: s.default.reason,
    ranges: Object.freeze(s.ranges ?? []),
    listenPorts: Object.freeze(s.listen?.ports ?? []),
    optional: s.optional === true,
  });
}

// The service hosts: every daemon port open (v4; v6 where the daemon listens there too), every
// other port the kernel's RST. No nft rules, so nothing stands between a scanner and a daemon.
const SERVICE_RANGES = DAEMONS.flatMap((d) => d.ports.map((p) => {
  const open = outcome({ state: 'open', reason: 'syn-ack', cause: `real daemon ${d.name}: ${p.tunnel ? `${p.tunnel}/` : ''}${p.service} (services.mjs)` });
  return range(p.port, p.port, open, d.v6 ? open : KERNEL_RST);
})).sort((a, b) => a.from - b.from);
const HOSTILE_RANGES = HOSTILE_PORTS.map((h) => range(h.port, h.port, outcome({
  state: 'open', reason: 'syn-ack', cause: `hostile.mjs ${h.behaviour}: ${h.about}`,
})));

/** Every lab host, by name. `index` is the last byte of its v4 address and the last group of its v6 one. */
export const LAB_HOSTS = Object.freeze({
  mixed: spec({
    name: 'mixed', index: 11, present: true, policy: 'accept',
    about: 'listeners on 22, 80, 443, 8080, 8081 plus one nft rule per kind of answer; every other port RSTs',
    listen: { ports: [22, 80, 443, 8080, 8081], banner: { 22: SSH_BANNER, 8080: 'LAB-8080 ready\\r\\n' }, reply: { 80: HTTP_REPLY } },
    ranges: MIXED_RANGES,
    default: KERNEL_RST,
  }),
  drop: spec({
    name: 'drop', index: 12, present: true, policy: 'drop',
    about: 'input policy drop, only 22 (an SSH banner) allowed: the "1000 dropped ports, one open" host',
    listen: { ports: [22], banner: { 22: SSH_BANNER } },
    // Neighbour discovery must pass a v6 drop policy or the host would vanish from the v6 side.
    preamble: ['iif "lo" accept', 'icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } accept'],
    ranges: [range(22, 22, accepted('SSH banner'))],
    default: DROP_POLICY,
  }),
  closed: spec({
    name: 'closed', index: 13, present: true, policy: 'accept',
    about: 'no listener, no rule: every port RSTs', default: KERNEL_RST,
  }),
  canary: spec({
    name: 'canary', index: 14, present: true, policy: 'accept', canary: true,
    about: 'no listener; named nft counters count every packet from the scanner (and its ARP requests for the canary). Out of scope: must stay 0',
    default: KERNEL_RST,
  }),
  down: spec({
    name: 'down', index: 15, present: false,
    about: 'address reserved on the lab subnet, no host behind it', default: NEIGHBOUR_FAILS,
  }),
  // Opt-in hosts (not in LAB_DEFAULT_HOSTS): they cost seconds of daemon start-up.
  svc: spec({
    name: 'svc', index: 20, present: true, policy: 'accept', optional: true,
    about: 'real Debian daemons (services.mjs): ssh ftp smtp dns http https pop3 imap mqtt mysql postgresql redis http-alt memcached',
    ranges: SERVICE_RANGES,
    default: KERNEL_RST,
  }),
  hostile: spec({
    name: 'hostile', index: 22, present: true, policy: 'accept', optional: true,
    about: 'hostile.mjs: tarpit, endless stream, drip, RST, close, garbage, 1 MiB line, ANSI banner, SSH banner + garbage',
    ranges: HOSTILE_RANGES,
    default: KERNEL_RST,
  }),
});

/** Every host name, in start order. */
export const LAB_HOST_NAMES = Object.freeze(Object.keys(LAB_HOSTS));

/** The hosts startLab() builds when not told otherwise: every host but the opt-in service hosts. */
export const LAB_DEFAULT_HOSTS = Object.freeze(LAB_HOST_NAMES.filter((n) => !LAB_HOSTS[n].optional));

function specOf(host) {
  const s = typeof host === 'string' ? LAB_HOSTS[host] : host;
  if (!s || !LAB_HOSTS[s.name]) throw new Error(`unknown lab host ${JSON.stringify(typeof host === 'string' ? host : s?.name)}`);
  return LAB_HOSTS[s.name];
}

/** The state, reason, errno and cause a connect scan must report for host:port over v4 or v6. */
export function expectedState(host, port, family = 4) {
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new RangeError(`port out of range: ${port}`);
  if (family !== 4 && family !== 6) throw new RangeError(`family must be 4 or 6, got ${family}`);
  const s = specOf(host);
  const r = s.ranges.find((x) => port >= x.from && port <= x.to);
  const o = r ? (family === 4 ? r.v4 : r.v6) : s.default;
  return { port, family, ...o };
}

/** Every port a rule or listener names, per family, expanded (ports not listed: the host default). */
export function expectationsOf(host) {
  const s = specOf(host);
  const out = [];
  for (const family of [4, 6]) {
    for (const r of s.ranges) for (let p = r.from; p <= r.to; p++) out.push(expectedState(s, p, family));
  }
  return out;
}

/** A short port list that still touches every rule: each range's ends plus a few default ports. */
export function samplePorts(host) {
  const s = specOf(host);
  const ports = new Set();
  for (const r of s.ranges) {
    ports.add(r.from);
    ports.add(r.to);
  }
  for (const p of [1, 2000, 65535]) if (!s.ranges.some((r) => p >= r.from && p <= r.to)) ports.add(p);
  return [...ports].sort((a, b) => a - b);
}

const portExpr = (r) => (r.from === r.to ? `${r.from}` : `${r.from}-${r.to}`);

/** The host's nft ruleset (for `nft -f -` inside its namespace), or null when it has none. */
export function nftRuleset(host) {
  const s = specOf(host);
  if (!s.present) return null;
  if (s.canary) return canaryRuleset(s);
  const rules = [...(s.preamble ?? [])];
  for (const r of s.ranges) {
    if (r.v4.nftRule === r.v6.nftRule) {
      if (r.v4.nftRule) rules.push(`tcp dport ${portExpr(r)} ${r.v4.nftRule}`);
      continue;
    }
    if (r.v4.nftRule) rules.push(`meta nfproto ipv4 tcp dport ${portExpr(r)} ${r.v4.nftRule}`);
    if (r.v6.nftRule) rules.push(`meta nfproto ipv6 tcp dport ${portExpr(r)} ${r.v6.nftRule}`);
  }
  if (rules.length === 0 && s.policy === 'accept') return null;
  return [
    'table inet portolan_lab {',
    '  chain input {',
    `    type filter hook input priority filter; policy ${s.policy};`,
    ...rules.map((x) => `    ${x}`),
    '  }',
    '}',
    '',
  ].join('\n');
}

function canaryRuleset(s) {
  // Priority -300 runs before anything else could drop the packet; the counters never change a verdict.
  return [
    'table inet portolan_lab {',
    '  counter from_scanner { }',
    '  chain input {',
    '    type filter hook input priority -300; policy accept;',
    `    ip saddr ${LAB_NET.scannerV4} counter name "from_scanner"`,
    `    ip6 saddr ${LAB_NET.scannerV6} counter name "from_scanner"`,
    '  }',
    '}',
    // An ARP request for the canary is the first sign of a v4 probe toward it, even if nothing follows.
    'table arp portolan_lab {',
    '  counter arp_from_scanner { }',
    '  chain input {',
    '    type filter hook input priority filter; policy accept;',
    `    arp operation request arp saddr ip ${LAB_NET.scannerV4} arp daddr ip ${s.v4} counter name "arp_from_scanner"`,
    '  }',
    '}',
    '',
  ].join('\n');
}

/** Arguments for listener.mjs (after the script path), or null when the host runs no listener. */
export function listenerArgs(host) {
  const s = specOf(host);
  if (!s.present || !s.listen || s.listen.ports.length === 0) return null;
  const args = ['--ports', s.listen.ports.join(',')];
  for (const [port, text] of Object.entries(s.listen.banner ?? {})) args.push('--banner', `${port}=${text}`);
  for (const [port, text] of Object.entries(s.listen.reply ?? {})) args.push('--reply', `${port}=${text}`);
  return args;
}
