/**
 * What a remediation plan needs to know about a service, per service kind: what an attacker gains,
 * how it is attacked, which directive decides where it listens, where it logs on Debian, its Debian
 * package and unit, a harmless client command that shows it answers, and the vendor's own hardening
 * documentation. The tables live in knowledge-*.ts; this file holds the types, the lookup (through
 * the same classifier the assessment uses, so a hostile service name can only select an entry, never
 * reach a command) and the template filler, which takes validated values only.
 */
import { classifyService, SERVICE_CLASSES, type ServiceClassId, type ServiceKind } from '../assess/service-classes.js';
import type { Protocol } from '../core/model.js';
import { ADMIN_KNOWLEDGE } from './knowledge-admin.js';
import { DATA_KNOWLEDGE } from './knowledge-data.js';
import { NET_KNOWLEDGE } from './knowledge-net.js';

/** Where a service writes what an investigation needs. */
export interface LogSource {
  /** A systemd unit (or a unit pattern such as `postgresql@*`) whose journal holds its messages. */
  unit?: string;
  /** A log file on Debian (may hold a glob). */
  file?: string;
  /** What to look for there. */
  look: string;
}

/** A vendor or distribution document. */
export interface DocLink {
  title: string;
  url: string;
}

/** The facts one service kind contributes to a plan. All text is ours; nothing here comes from a scan. */
export interface ServiceKnowledge {
  /** The service-kind id from SERVICE_KINDS, or `generic` / `class:<class>` for fallbacks. */
  id: string;
  /** Human name (`Redis`). */
  label: string;
  /** What an attacker who reaches the port gains (a clause: "every key in every database …"). */
  gains: string;
  /** How it is attacked in practice. */
  attack: string;
  /** Why it ends up reachable: the default and the directive that changes it. */
  cause: string;
  /** The directive that decides the listening addresses, and the file it lives in on Debian. */
  bind?: { file?: string; directive: string };
  /** Debian package and systemd unit (`vendor`: from the vendor's own apt repository, not Debian's). */
  debian?: { package?: string; unit?: string; vendor?: boolean };
  /** The Windows service (key) name, for services that run on Windows. */
  windowsService?: string;
  /** Logs on Debian. */
  logs: readonly LogSource[];
  /** PowerShell one-liners that read the relevant Windows event logs. */
  windowsLogs?: readonly string[];
  /** A harmless client command (`{host}`, `{url}`, `{port}`, `{agent}` are filled with validated values). */
  probe?: string;
  /** What the probe prints when the service answers. */
  answer?: string;
  /** A command on the host that lists who is connected right now (same placeholders). */
  who?: string;
  /** Who connects to it legitimately: what breaks when it is closed. */
  clients: string;
  /** Set when the traffic never passes the host's own firewall (a BMC): why. */
  offHost?: string;
  docs: readonly DocLink[];
}

/** Every specific entry, keyed by service-kind id. */
const TABLE: ReadonlyMap<string, ServiceKnowledge> = new Map([...ADMIN_KNOWLEDGE, ...DATA_KNOWLEDGE, ...NET_KNOWLEDGE].map((k) => [k.id, k]));

/** Ids with their own entry (tests check each is a real service kind). */
export const KNOWLEDGE_IDS: readonly string[] = [...TABLE.keys()];

/** The specific entry for a service-kind id, if the table has one. */
export function knowledgeById(id: string): ServiceKnowledge | undefined {
  return TABLE.get(id);
}

/** What a service's class alone says, for kinds without an entry of their own. */
const CLASS_GAINS: Readonly<Record<ServiceClassId, { gains: string; attack: string; clients: string }>> = {
  'remote-admin': {
    gains: 'remote control of the host with the rights of whichever account logs in',
    attack: 'automated password guessing and known flaws in the login path; a successful login looks like the administrator',
    clients: 'the administrators who log in remotely',
  },
  database: {
    gains: 'the data it stores and, on many engines, a way to run commands or write files on the host',
    attack: 'connecting with the stock client and trying empty or default credentials, then reading or wiping the data',
    clients: 'the application servers that use it',
  },
  'admin-panel': {
    gains: 'control over what it manages: configuration, deployments and often command execution',
    attack: 'default or guessed credentials, or known authentication bypasses in the panel',
    clients: 'the operators who use the panel',
  },
  broker: {
    gains: 'reading and injecting the messages that other systems trust',
    attack: 'connecting as a client with default credentials, subscribing to everything and publishing forged messages',
    clients: 'the producers and consumers of its queues',
  },
  'file-sharing': {
    gains: 'the shared files, and often credentials or hashes found in them',
    attack: 'listing shares or exports and reading what anonymous or guessed access allows',
    clients: 'the machines that mount or fetch its files',
  },
  cleartext: {
    gains: 'the credentials and data that cross the network unencrypted',
    attack: 'reading or altering the traffic anywhere on the path, and guessing passwords at the prompt',
    clients: 'the clients that still speak the unencrypted protocol',
  },
};

/** An entry built from the kind's label and first class, for kinds the table does not cover. */
function classEntry(kind: ServiceKind, classes: readonly ServiceClassId[]): ServiceKnowledge {
  const cls = classes[0];
  const base = cls === undefined ? undefined : CLASS_GAINS[cls];
  const http = kind.http === true;
  return {
    id: cls === undefined ? `kind:${kind.id}` : `class:${cls}`,
    label: kind.label,
    gains: base?.gains ?? 'whatever the service offers to anyone who can reach it',
    attack: base?.attack ?? 'connecting as any client would and probing for default settings',
    cause: cls === undefined ? `${kind.label} listens on every address unless its configuration names one` : `${kind.label} is ${SERVICE_CLASSES[cls].noun}: ${SERVICE_CLASSES[cls].explanation}`,
    logs: [],
    probe: http ? 'curl -skI --max-time 5 "{scheme}://{url}:{port}/"' : undefined,
    answer: http ? 'an HTTP status line and headers' : undefined,
    clients: base?.clients ?? `whoever uses ${kind.label}`,
    docs: [],
  };
}

/** The fallback for a service nobody identified. */
export const GENERIC_KNOWLEDGE: ServiceKnowledge = {
  id: 'generic',
  label: 'an unidentified service',
  gains: 'whatever the program behind the port allows; until someone names it, assume it is as dangerous as an unauthenticated shell',
  attack: 'an attacker probes it the same way the scan did and looks for a protocol, a banner or a crash that tells what it is',
  cause: 'some program opened a listening socket and nothing in the inventory claims it',
  logs: [],
  clients: 'nobody on record, which is the first thing to find out',
  docs: [],
};

/** Which entry applies to a finding's service, by the assessment's own classifier. */
export interface KnowledgeMatch {
  knowledge: ServiceKnowledge;
  kind?: ServiceKind;
  classes: ServiceClassId[];
  /** True when the classifier recognised the kind (not the generic fallback). */
  known: boolean;
  /** TLS was seen (or the kind's TLS port is in use): probes use https. */
  encrypted: boolean;
}

/** Longest product text the variant test looks at. */
const MAX_PRODUCT = 200;

/**
 * The knowledge for a service. The name and product only select an entry (the classifier normalises
 * the name and caps the product); nothing of them is copied into the result.
 */
export function knowledgeFor(service: { name?: string; product?: string } | undefined, port: number, protocol: Protocol): KnowledgeMatch {
  const name = typeof service?.name === 'string' ? service.name : '';
  const product = typeof service?.product === 'string' ? service.product.slice(0, MAX_PRODUCT) : undefined;
  const cls = classifyService({ name, ...(product === undefined ? {} : { product }), port, protocol, method: 'probed' });
  const kind = cls.kind;
  if (kind === undefined) return { knowledge: GENERIC_KNOWLEDGE, classes: cls.classes, known: false, encrypted: cls.encrypted };
  const own = variantOf(kind.id, product) ?? TABLE.get(kind.id);
  return { knowledge: own ?? classEntry(kind, cls.classes), kind, classes: cls.classes, known: true, encrypted: cls.encrypted };
}

/** Products that run the same protocol with another daemon than the table's Debian default. */
const VARIANTS: readonly { kind: string; product: RegExp; id: string }[] = [
  { kind: 'ftp', product: /proftpd/i, id: 'ftp:proftpd' },
  { kind: 'smtp', product: /exim/i, id: 'smtp:exim' },
];

function variantOf(kindId: string, product: string | undefined): ServiceKnowledge | undefined {
  if (product === undefined) return undefined;
  const v = VARIANTS.find((x) => x.kind === kindId && x.product.test(product));
  return v === undefined ? undefined : TABLE.get(v.id);
}

/** Validated values a template may receive. */
export interface TemplateValues {
  /** An IP literal in canonical form, or the shell text `"$TARGET"` when the address is not one. */
  host: string;
  /** The host as it goes into a URL: IPv6 in brackets, `${TARGET}` for the placeholder. */
  url: string;
  port: number;
  protocol: Protocol;
  /** `https` when the service speaks TLS. */
  scheme: 'http' | 'https';
}

/** net-snmp's agent syntax: `udp:H:P`, `udp6:[H]:P`, `tcp:…`. */
function agentOf(v: TemplateValues): string {
  const six = v.url.startsWith('[');
  return `${v.protocol}${six ? '6' : ''}:${v.url}:${v.port}`;
}

/**
 * Fill a template from the knowledge table with validated values. The template is ours; the values
 * were validated by the caller (an IP literal, an integer port); anything else in braces is left alone.
 */
export function fillTemplate(template: string, v: TemplateValues): string {
  const map: Record<string, string> = { host: v.host, url: v.url, port: String(v.port), scheme: v.scheme, agent: agentOf(v) };
  return template.replace(/\{(host|url|port|scheme|agent)\}/g, (_m, key: string) => map[key] ?? '');
}
