/**
 * Priority with reasons: one table of rules ({@link RULES}), each with an id, a weight and the
 * reason text it writes when it fires. A service's score is the sum of the weights that fired; the
 * tier comes from the score, then floors (a KEV CVE on an internet-facing service is at least high)
 * and caps (loopback-only is at most low). Pure and deterministic: no I/O, no clock, no randomness.
 */
import type { BindScope } from '../core/bind-scope.js';
import { escapeTerminal } from '../core/escape.js';
import { TIERS, tierRank, type FindingReason, type Tier } from '../core/finding.js';

export { TIERS, type Tier };
import type { Evidence, Protocol, ServiceMethod } from '../core/model.js';
import type { PortState } from '../core/status.js';
import { assessExposure, type Exposure, type Zone } from './exposure.js';
import { SERVICE_CLASSES, UNKNOWN_NAMES, classifyService, portSurprise, type Classification, type ServiceClassId, type ServiceFacts } from './service-classes.js';

export { serviceFacts, type ServiceFacts } from './service-classes.js';

/** Lowest score of each tier; below `low` is `info`. */
export const TIER_THRESHOLDS: Readonly<Record<Exclude<Tier, 'info'>, number>> = { critical: 80, high: 60, medium: 30, low: 5 };

/** One matched vulnerability. */
export interface VulnFact {
  id: string;
  /** CVSS base score 0–10 (v3 preferred); missing or invalid means unscored. */
  cvss?: number;
  /** Listed in CISA's Known Exploited Vulnerabilities catalog. */
  kev?: boolean;
  /** FIRST EPSS probability 0–1. */
  epss?: number;
  /** `banner-based`: matched on a version string that a distribution may have patched (backport). */
  confidence: 'confirmed' | 'banner-based';
}

/** Everything a rule may look at. */
export interface AssessInput {
  service: ServiceFacts;
  address: string;
  /** Policy zone override. */
  zone?: Zone;
  /** Bind scope when the service came from a listener audit. */
  listenerScope?: BindScope;
  bindAddress?: string;
  vulns?: VulnFact[];
  /** Safe checks that found a problem (the service's evidence). */
  safeCheckFailed?: Evidence[];
  /** Services on the same host that the policy does not allow. */
  unexpectedOnHost?: number;
  /** The policy allows this service (undefined: no policy). */
  expected?: boolean;
  /** Open from some vantage points, filtered from others. */
  filteredButReachable?: boolean;
}

/** One line of "why": the rule that fired, its text and its weight (the finding model's own). */
export type Reason = FindingReason;

/** The verdict on one service. */
export interface Assessment {
  tier: Tier;
  /** Sum of the weights of the rules that fired. */
  score: number;
  /** Rules that fired, heaviest first (table order among equals). */
  reasons: Reason[];
}

/** A vulnerability after validation: bad numbers dropped, id escaped, duplicates merged. */
export interface CleanVuln {
  id: string;
  cvss?: number;
  kev: boolean;
  epss?: number;
  banner: boolean;
}

/** CVSS qualitative severity of the worst CVE, or `unscored`. */
export type Bucket = 'critical' | 'high' | 'medium' | 'low' | 'unscored';

/** What rules read: the input plus facts derived once. */
export interface RuleContext {
  input: AssessInput;
  port?: number;
  protocol: Protocol;
  state: PortState;
  method: ServiceMethod;
  confidence: number;
  cls: Classification;
  exposure: Exposure;
  /** How reasons name the service: `Redis`, `ssh`, `unidentified service`. */
  label: string;
  vulns: CleanVuln[];
  top?: Bucket;
  unauth: Evidence[];
  weak: Evidence[];
}

/** One rule. `applies` returns the reason text when the rule fires. */
export interface Rule {
  id: string;
  description: string;
  weight: number;
  /** The tier is at least this when the rule fires. */
  floor?: Tier;
  /** The tier is at most this when the rule fires, unless the rule `unless` fired too. Caps beat floors. */
  cap?: { tier: Tier; unless?: string };
  applies(ctx: RuleContext): string | undefined;
}

const MAX_TEXT = 120;
const MAX_VULNS = 5000;
const MAX_EVIDENCE = 100;
/** EPSS probability from which exploitation is likely enough to weigh in. */
const EPSS_HIGH = 0.1;
/** Unexpected services on one host from which it looks like compromise or leftovers. */
const MANY_UNEXPECTED = 3;
const SENSITIVE: readonly ServiceClassId[] = ['database', 'admin-panel', 'file-sharing', 'broker'];
const UNAUTH_RE = /(?:^|-)(?:no-auth|anonymous|unauthenticated)(?:-|$)/;
/** Reading the LDAP root DSE anonymously is what it is for; a module list is a disclosure, not a login. */
const NOT_UNAUTH: ReadonlySet<string> = new Set(['ldap-anonymous-rootdse', 'rsync-module-list']);

/** Untrusted text for a reason line: bounded and with control characters made visible. */
function clean(value: unknown, max = MAX_TEXT): string {
  if (typeof value !== 'string') return '';
  return escapeTerminal(value.length > max ? `${value.slice(0, max)}…` : value);
}

const num = (v: unknown, lo: number, hi: number): number | undefined => (typeof v === 'number' && Number.isFinite(v) && v >= lo && v <= hi ? v : undefined);
const pct = (p: number): string => `${(p * 100).toFixed(1)}%`;

function bucketOf(cvss: number | undefined): Bucket {
  if (cvss === undefined) return 'unscored';
  return cvss >= 9 ? 'critical' : cvss >= 7 ? 'high' : cvss >= 4 ? 'medium' : 'low';
}

function cleanVulns(raw: unknown): CleanVuln[] {
  if (!Array.isArray(raw)) return [];
  const byId = new Map<string, CleanVuln>();
  for (const v of raw.slice(0, MAX_VULNS) as unknown[]) {
    if (typeof v !== 'object' || v === null) continue;
    const r = v as Record<string, unknown>;
    const id = clean(r.id, 40) || '(unnamed)';
    const cvss = num(r.cvss, 0, 10);
    const epss = num(r.epss, 0, 1);
    const c: CleanVuln = { id, kev: r.kev === true, banner: r.confidence !== 'confirmed' };
    if (cvss !== undefined) c.cvss = cvss;
    if (epss !== undefined) c.epss = epss;
    const prev = byId.get(id);
    if (prev === undefined) byId.set(id, c);
    else {
      // Duplicates merge to the strongest claim: a vulnerability is as bad as its worst report.
      prev.kev ||= c.kev;
      prev.banner &&= c.banner;
      if ((c.cvss ?? -1) > (prev.cvss ?? -1)) prev.cvss = c.cvss;
      if ((c.epss ?? -1) > (prev.epss ?? -1)) prev.epss = c.epss;
    }
  }
  return [...byId.values()].sort(
    (a, b) => (b.cvss ?? -1) - (a.cvss ?? -1) || Number(b.kev) - Number(a.kev) || (b.epss ?? -1) - (a.epss ?? -1) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
  );
}

function cleanEvidence(raw: unknown): Evidence[] {
  if (!Array.isArray(raw)) return [];
  const out: Evidence[] = [];
  for (const e of raw.slice(0, MAX_EVIDENCE) as unknown[]) {
    if (typeof e !== 'object' || e === null) continue;
    const r = e as Record<string, unknown>;
    const id = typeof r.id === 'string' && /^[a-z0-9][a-z0-9-]{0,63}$/.test(r.id) ? r.id : 'unnamed-check';
    out.push({ id, detail: clean(r.detail, 200) });
  }
  return out;
}

function vulnText(v: CleanVuln): string {
  const facts = [v.cvss === undefined ? 'no CVSS' : `CVSS ${v.cvss.toFixed(1)}`];
  if (v.epss !== undefined) facts.push(`EPSS ${pct(v.epss)}`);
  if (v.kev) facts.push('KEV');
  if (v.banner) facts.push('banner-based, possibly backported');
  return `${v.id} (${facts.join(', ')})`;
}

function listVulns(vs: readonly CleanVuln[], limit = 3): string {
  const shown = vs.slice(0, limit).map(vulnText).join(', ');
  return vs.length > limit ? `${shown} and ${vs.length - limit} more` : shown;
}

function listEvidence(es: readonly Evidence[], limit = 3): string {
  const shown = es.slice(0, limit).map((e) => (e.detail ? `${e.id}: ${e.detail}` : e.id)).join('; ');
  return es.length > limit ? `${shown}; and ${es.length - limit} more` : shown;
}

/** The context for one input; tolerant of anything (the input may come from a hostile file). */
export function ruleContext(input: AssessInput): RuleContext {
  const s = (typeof input?.service === 'object' && input.service !== null ? input.service : {}) as Partial<ServiceFacts>;
  const protocol: Protocol = s.protocol === 'udp' ? 'udp' : 'tcp';
  const port = typeof s.port === 'number' && Number.isInteger(s.port) && s.port >= 1 && s.port <= 65535 ? s.port : undefined;
  const method: ServiceMethod = s.method === 'table' ? 'table' : 'probed';
  const state: PortState = s.state === 'closed' || s.state === 'filtered' ? s.state : 'open';
  const shape = { name: typeof s.name === 'string' ? s.name : '', port: port ?? 0, protocol, method, tls: s.tls === true, startTls: s.startTls === true };
  const cls = classifyService({ ...shape, product: typeof s.product === 'string' ? s.product : '', wwwAuthenticate: typeof s.wwwAuthenticate === 'string' ? s.wwwAuthenticate : '' });
  const exposure = assessExposure({
    address: typeof input?.address === 'string' ? input.address : '',
    ...(typeof input?.zone === 'string' ? { zone: input.zone } : {}),
    ...(typeof input?.listenerScope === 'string' ? { listenerScope: input.listenerScope } : {}),
    ...(typeof input?.bindAddress === 'string' ? { bindAddress: input.bindAddress } : {}),
  });
  const vulns = cleanVulns(input?.vulns);
  const evidence = cleanEvidence(input?.safeCheckFailed);
  const unauth = evidence.filter((e) => UNAUTH_RE.test(e.id) && !NOT_UNAUTH.has(e.id));
  const label = cls.kind?.label ?? (UNKNOWN_NAMES.has(cls.normal.name) ? 'unidentified service' : cls.normal.name);
  const ctx: RuleContext = {
    input,
    protocol,
    state,
    method,
    confidence: num(s.confidence, 0, 10) ?? 0,
    cls,
    exposure,
    label,
    vulns,
    unauth,
    weak: evidence.filter((e) => !unauth.includes(e)),
  };
  if (port !== undefined) ctx.port = port;
  if (vulns.length > 0) ctx.top = bucketOf(vulns[0]?.cvss);
  return ctx;
}

/** `Redis`, `Docker Engine API (recognised by port 2375)`, `PostgreSQL (name guessed from the port)`. */
function who(ctx: RuleContext): string {
  if (ctx.cls.basis === 'port') return `${ctx.label} (recognised by port ${ctx.port ?? '?'})`;
  if (ctx.method === 'table') return `${ctx.label} (name guessed from the port)`;
  return ctx.label;
}

function classRule(id: ServiceClassId, weight: number, description: string): Rule {
  const c = SERVICE_CLASSES[id];
  return { id, description, weight, applies: (ctx) => (ctx.cls.classes.includes(id) ? `${who(ctx)} is ${c.noun}: ${c.explanation}` : undefined) };
}

function cveRule(bucket: Bucket, weight: number, description: string): Rule {
  return {
    id: `cve-${bucket}`,
    description,
    weight,
    applies(ctx) {
      if (ctx.top !== bucket) return undefined;
      const here = ctx.vulns.filter((v) => bucketOf(v.cvss) === bucket);
      const rest = ctx.vulns.length - here.length;
      const name = bucket === 'unscored' ? 'CVEs without a CVSS score' : `${bucket}-severity CVE${here.length > 1 ? 's' : ''}`;
      return `${name}: ${listVulns(here)}${rest > 0 ? `; ${rest} more at lower severity` : ''}`;
    },
  };
}

const kevs = (ctx: RuleContext): CleanVuln[] => ctx.vulns.filter((v) => v.kev);

const reach = (r: Exposure['reach']) => (ctx: RuleContext) => (ctx.exposure.reach === r ? ctx.exposure.text : undefined);

function cleartext(ctx: RuleContext): string | undefined {
  if (!ctx.cls.classes.includes('cleartext') || ctx.cls.kind?.shell === true) return undefined;
  return `${who(ctx)} ${ctx.cls.kind?.http === true ? 'asks for Basic credentials without TLS' : 'runs without TLS'}: ${SERVICE_CLASSES.cleartext.explanation}`;
}

function sensitiveOnInternet(ctx: RuleContext): string | undefined {
  const c = SENSITIVE.find((x) => ctx.cls.classes.includes(x));
  return c !== undefined && ctx.exposure.reach === 'internet' ? `${SERVICE_CLASSES[c].noun} reachable from the internet is rarely intended` : undefined;
}

function noAuthByDefault(ctx: RuleContext): string | undefined {
  // A safe check that already got in says it better; TLS on the Docker port means client certificates.
  return ctx.cls.kind?.noAuthByDefault !== undefined && !ctx.cls.encrypted && ctx.unauth.length === 0 ? ctx.cls.kind.noAuthByDefault : undefined;
}

function kev(ctx: RuleContext): string | undefined {
  const k = kevs(ctx);
  return k.length > 0 ? `in CISA's Known Exploited Vulnerabilities catalog, exploited in the wild: ${listVulns(k)}` : undefined;
}

function epss(ctx: RuleContext): string | undefined {
  const v = [...ctx.vulns].sort((a, b) => (b.epss ?? -1) - (a.epss ?? -1))[0];
  return v?.epss !== undefined && v.epss >= EPSS_HIGH ? `EPSS ${pct(v.epss)} for ${v.id}: exploitation activity is likely within 30 days` : undefined;
}

function bannerOnly(ctx: RuleContext): string | undefined {
  const n = ctx.vulns.length;
  if (n === 0 || !ctx.vulns.every((v) => v.banner)) return undefined;
  return `${n > 1 ? `all ${n} CVE matches come` : 'the CVE match comes'} from the version banner: a distribution may have backported the fixes (lower confidence, verify the package version)`;
}

function unknownService(ctx: RuleContext): string | undefined {
  if (ctx.cls.kind !== undefined || !UNKNOWN_NAMES.has(ctx.cls.normal.name)) return undefined;
  const n = ctx.cls.normal.name;
  const why =
    n === 'tcpwrapped'
      ? 'the service accepted the connection and closed it without a word (tcpwrapped)'
      : n === 'unknown'
        ? 'the service answered no probe in a recognisable way'
        : n === 'ssl' || n === 'tls' || ctx.cls.normal.ssl
          ? 'a TLS service whose inner protocol was not identified'
          : 'the service name is missing or unreadable';
  return `${why}: what runs here is unknown`;
}

function uncertain(ctx: RuleContext): string | undefined {
  if (ctx.method !== 'probed' || UNKNOWN_NAMES.has(ctx.cls.normal.name) || !(ctx.confidence < 5 || ctx.cls.normal.uncertain)) return undefined;
  return `identified as ${ctx.label} with low confidence (${ctx.confidence}/10)`;
}

function portNote(ctx: RuleContext, which: 'odd' | 'moved'): string | undefined {
  if (ctx.port === undefined || ctx.method === 'table') return undefined;
  const note = portSurprise(ctx.cls, ctx.port, ctx.protocol, ctx.label);
  return note?.kind === which ? note.text : undefined;
}

function policy(expected: boolean, text: string) {
  return (ctx: RuleContext): string | undefined => (ctx.input?.expected === expected ? text : undefined);
}

function manyUnexpected(ctx: RuleContext): string | undefined {
  const n = num(ctx.input?.unexpectedOnHost, 0, 1e9);
  return n !== undefined && n >= MANY_UNEXPECTED ? `${Math.floor(n)} services on this host are not allowed by the policy: possible compromise or leftover dev builds` : undefined;
}

/** THE rule table. The README lists it (see {@link rulesMarkdown}); order is the tie-break order of reasons. */
export const RULES: readonly Rule[] = [
  { id: 'not-open', weight: -50, cap: { tier: 'info' }, applies: (ctx) => (ctx.state !== 'open' && ctx.input?.filteredButReachable !== true ? `the port is ${ctx.state}: nothing answers there now` : undefined), description: 'The port is closed or filtered (and not reachable from elsewhere): nothing to reach.' },
  { id: 'exposure-internet', weight: 20, applies: reach('internet'), description: 'Reachable from the internet: a public address, or a zone declared internet-facing.' },
  { id: 'exposure-dmz', weight: 10, applies: reach('dmz'), description: 'In a zone the policy declares DMZ.' },
  { id: 'exposure-internal', weight: 0, applies: reach('internal'), description: 'Reachable from internal networks only: private, link-local or special-purpose address, or a declared internal zone.' },
  { id: 'loopback-only', weight: -20, cap: { tier: 'low', unless: 'cve-kev' }, applies: reach('local'), description: 'Bound to (or found on) a loopback address: only this host can connect, even when the host is public.' },
  { id: 'exposure-unknown', weight: 0, applies: reach('unknown'), description: 'The address is not an IP literal and no zone is declared.' },
  { id: 'filtered-but-reachable', weight: 5, applies: (ctx) => (ctx.input?.filteredButReachable === true ? 'filtered from some sources but reachable from others: the firewall lets some sources through; check its allow-list' : undefined), description: 'Filtered from some vantage points yet open from others: a firewall exists but lets some sources through.' },
  classRule('remote-admin', 25, 'Remote administration (SSH, RDP, VNC, Telnet, WinRM, X11, r-services, IPMI, …).'),
  classRule('database', 25, 'Database or cache (MySQL, PostgreSQL, SQL Server, Oracle, MongoDB, Redis, Memcached, Elasticsearch, …).'),
  classRule('admin-panel', 30, 'Management panel or admin API (Docker API, Kubernetes, etcd, Jenkins, Webmin, Tomcat manager, Consul, …).'),
  classRule('broker', 20, 'Message broker (AMQP, MQTT, NATS, Kafka, …).'),
  classRule('file-sharing', 20, 'File sharing (SMB, NFS, rsync, FTP, TFTP, …).'),
  { id: 'cleartext-remote-shell', weight: 20, floor: 'high', applies: (ctx) => (ctx.cls.kind?.shell === true ? `${who(ctx)} sends the whole session, passwords included, in cleartext` : undefined), description: 'A shell login in cleartext (Telnet, rlogin, rsh, rexec), wherever it is reachable from.' },
  { id: 'cleartext', weight: 15, applies: cleartext, description: 'Cleartext protocol: FTP, POP3/IMAP/SMTP/LDAP without TLS or STARTTLS, SNMP, TFTP, HTTP asking for Basic credentials without TLS.' },
  { id: 'sensitive-on-internet', weight: 15, applies: sensitiveOnInternet, description: 'A database, admin API, file share or broker reachable from the internet: these are rarely meant to be.' },
  { id: 'no-auth-by-default', weight: 15, applies: noAuthByDefault, description: 'No authentication unless someone set it up (Docker API without TLS, Memcached), and no safe check said more.' },
  { id: 'unauthenticated-access', weight: 40, applies: (ctx) => (ctx.unauth.length > 0 ? `unauthenticated access confirmed by a safe check: ${listEvidence(ctx.unauth)}` : undefined), description: 'A read-only safe check got in without credentials (redis-no-auth, ftp-anonymous, vnc-no-auth, …).' },
  { id: 'weak-configuration', weight: 10, applies: (ctx) => (ctx.weak.length > 0 ? `safe checks found: ${listEvidence(ctx.weak)}` : undefined), description: 'A safe check found a weakness (legacy TLS, password or cleartext logins offered, SMB signing off, default page, …).' },
  cveRule('critical', 40, 'Known CVEs, worst CVSS 9.0 or more.'),
  cveRule('high', 25, 'Known CVEs, worst CVSS 7.0–8.9.'),
  cveRule('medium', 10, 'Known CVEs, worst CVSS 4.0–6.9.'),
  cveRule('low', 3, 'Known CVEs, worst CVSS below 4.0.'),
  cveRule('unscored', 10, 'Known CVEs, none with a valid CVSS score.'),
  { id: 'cve-kev', weight: 25, floor: 'medium', applies: kev, description: 'A matched CVE is in CISA KEV (exploited in the wild); also lifts the loopback-only cap.' },
  { id: 'cve-kev-internet', weight: 10, floor: 'high', applies: (ctx) => (kevs(ctx).length > 0 && ctx.exposure.reach === 'internet' ? 'an actively exploited CVE on an internet-facing service: patch or close it first' : undefined), description: 'A CISA KEV CVE on an internet-facing service.' },
  { id: 'cve-epss', weight: 10, applies: epss, description: `A matched CVE has an EPSS probability of ${pct(EPSS_HIGH)} or more.` },
  { id: 'cve-banner-only', weight: -10, applies: bannerOnly, description: 'Every CVE match rests on a version banner: a distribution may have backported the fixes.' },
  { id: 'unknown-service', weight: 20, applies: unknownService, description: "What runs there is not known: 'unknown', 'tcpwrapped', TLS with an unidentified inside, a missing or unreadable name." },
  { id: 'uncertain-identification', weight: 5, applies: uncertain, description: 'Identified with low confidence (nmap conf below 5, or a name marked `?`).' },
  { id: 'unusual-port', weight: 10, applies: (ctx) => portNote(ctx, 'odd'), description: "A service on another service's usual port (HTTP on 22), or an unidentified service on a port no common service uses." },
  { id: 'alternate-port', weight: 0, applies: (ctx) => portNote(ctx, 'moved'), description: 'A known service moved off its usual port (SSH on 2222): noted, not weighed.' },
  { id: 'unexpected-service', weight: 15, applies: policy(false, "not in the policy's allowed services for this host: nobody has claimed it"), description: 'The policy does not allow this service on this host.' },
  { id: 'expected-service', weight: -10, applies: policy(true, 'allowed by the policy: an owner and a business need are on record'), description: 'The policy allows this service on this host.' },
  { id: 'many-unexpected', weight: 15, applies: manyUnexpected, description: `${MANY_UNEXPECTED} or more services on the host are not allowed by the policy.` },
];

/** The tier a score earns before floors and caps. */
export function tierForScore(score: number): Tier {
  if (!(score >= TIER_THRESHOLDS.low)) return 'info';
  return score >= TIER_THRESHOLDS.critical ? 'critical' : score >= TIER_THRESHOLDS.high ? 'high' : score >= TIER_THRESHOLDS.medium ? 'medium' : 'low';
}

/** Rank one service: run every rule, add the weights, then apply floors and caps (caps win). */
export function assessService(input: AssessInput): Assessment {
  const ctx = ruleContext(input);
  const fired: { rule: Rule; text: string; order: number }[] = [];
  RULES.forEach((rule, order) => {
    const text = rule.applies(ctx);
    if (text !== undefined) fired.push({ rule, text, order });
  });
  const score = fired.reduce((sum, f) => sum + f.rule.weight, 0);
  let tier = tierForScore(score);
  const notes = new Map<string, string>();
  for (const f of fired) {
    if (f.rule.floor !== undefined && tierRank(f.rule.floor) < tierRank(tier)) {
      tier = f.rule.floor;
      notes.set(f.rule.id, ` [raises the tier to ${tier}]`);
    }
  }
  const ids = new Set(fired.map((f) => f.rule.id));
  for (const f of fired) {
    const cap = f.rule.cap;
    if (cap !== undefined && !(cap.unless !== undefined && ids.has(cap.unless)) && tierRank(cap.tier) > tierRank(tier)) {
      tier = cap.tier;
      notes.set(f.rule.id, ` [caps the tier at ${tier}]`);
    }
  }
  fired.sort((a, b) => b.rule.weight - a.rule.weight || a.order - b.order);
  return { tier, score, reasons: fired.map((f) => ({ rule: f.rule.id, text: `${f.text}${notes.get(f.rule.id) ?? ''}`, weight: f.rule.weight })) };
}

/** The rule table as Markdown, for the README: id, weight, floor/cap, description. */
export function rulesMarkdown(): string {
  const rows = RULES.map((r) => {
    const limits = [r.floor && `at least ${r.floor}`, r.cap && `at most ${r.cap.tier}${r.cap.unless ? ` unless ${r.cap.unless}` : ''}`].filter(Boolean).join('; ');
    return `| \`${r.id}\` | ${r.weight > 0 ? '+' : ''}${r.weight} | ${limits || '—'} | ${r.description.replace(/\|/g, '\\|')} |`;
  });
  const t = TIER_THRESHOLDS;
  const head = `Tiers by score: critical ≥ ${t.critical}, high ≥ ${t.high}, medium ≥ ${t.medium}, low ≥ ${t.low}, else info. Floors raise, caps lower; caps win.\n\n`;
  return `${head}| rule | weight | tier limit | when it fires |\n|---|---|---|---|\n${rows.join('\n')}\n`;
}
