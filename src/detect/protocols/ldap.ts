/**
 * LDAP (389, 3268 global catalog; 636/3269 inside TLS). The client speaks first: an anonymous
 * base-scope search of the root DSE, which every LDAPv3 server answers without a bind. Its
 * vendorName/vendorVersion, Active Directory capability OIDs and OpenLDAP's root DSE object class
 * name the product; StartTLS in supportedExtension sets `startTls`, and the follow-up upgrades.
 */
import { cpe23 } from '../../core/cpe.js';
import { matchSignatures, type Signature } from '../signature.js';
import { cleanField } from '../text.js';
import type { Detector, Evidence, Identification, ProbeContext, Session, Target } from '../types.js';
import { children, encodeInteger, encodeString, encodeTlv, readInteger, readString, readTlv, type Tlv } from './ber.js';

/** Attributes asked of the root DSE (operational ones are only returned when named). */
export const ROOT_DSE_ATTRIBUTES = [
  'namingContexts', 'supportedLDAPVersion', 'vendorName', 'vendorVersion', 'supportedCapabilities',
  'supportedExtension', 'supportedControl', 'dnsHostName', 'defaultNamingContext', 'serverName',
  'forestFunctionality', 'domainControllerFunctionality', 'isGlobalCatalogReady', 'objectClass',
] as const;

/** The StartTLS extended operation (RFC 4511 4.14). */
export const STARTTLS_OID = '1.3.6.1.4.1.1466.20037';
/** LDAP_CAP_ACTIVE_DIRECTORY_OID: the server is an Active Directory domain controller. */
const AD_CAPABILITY = '1.2.840.113556.1.4.800';
/** LDAP_CAP_ACTIVE_DIRECTORY_ADAM_OID: AD Lightweight Directory Services (ADAM). */
const ADAM_CAPABILITY = '1.2.840.113556.1.4.1851';
/** OpenLDAP's experimental OID arc; only OpenLDAP advertises controls/extensions under it. */
const OPENLDAP_EXPERIMENTAL = '1.3.6.1.4.1.4203.666.';

/** LDAP application tags of protocol operations a server sends. */
const OP = { bindResponse: 1, searchEntry: 4, searchDone: 5, searchReference: 19, extendedResponse: 24, intermediate: 25 } as const;
/** Response operations whose body is an LDAPResult. */
const RESULT_OPS = new Set([1, 5, 7, 9, 11, 13, 15, 24]);
const RESPONSE_OPS = new Set([...RESULT_OPS, OP.searchEntry, OP.searchReference, OP.intermediate]);

const MAX_MESSAGES = 64;
const MAX_ATTRIBUTES = 64;
const MAX_VALUES = 256;
const MAX_VALUE_BYTES = 512;

/** Build an LDAPMessage: SEQUENCE { messageID, protocolOp }. */
function message(id: number, op: Buffer): Buffer {
  return encodeTlv(0x30, encodeInteger(id), op);
}

/** The anonymous root DSE search: base "", scope base, never deref, no limits, (objectClass=*). */
export function rootDseRequest(id = 1): Buffer {
  return message(id, encodeTlv(0x63,
    encodeString(''),
    encodeInteger(0, 0x0a),
    encodeInteger(0, 0x0a),
    encodeInteger(0),
    encodeInteger(0),
    Buffer.from([0x01, 0x01, 0x00]),
    encodeString('objectClass', 0x87),
    encodeTlv(0x30, ...ROOT_DSE_ATTRIBUTES.map((a) => encodeString(a))),
  ));
}

/** ExtendedRequest [APPLICATION 23] { requestName [0] StartTLS OID }. */
export function startTlsRequest(id = 2): Buffer {
  return message(id, encodeTlv(0x77, encodeString(STARTTLS_OID, 0x80)));
}

/** An LDAPResult (the body of most responses). */
export interface LdapResult {
  code: number;
  matchedDN: string;
  diagnostic: string;
  /** ExtendedResponse responseName (e.g. the notice of disconnection 1.3.6.1.4.1.1466.20036). */
  responseName?: string;
}

/** One decoded LDAPMessage from the server. */
export interface LdapMessage {
  id: number;
  /** Application tag of the protocol operation. */
  op: number;
  entry?: { dn: string; attributes: Map<string, string[]> };
  result?: LdapResult;
}

/** One message read from a stream: `incomplete` may still finish, `invalid` never will. */
export type MessageRead = { kind: 'ok'; message: LdapMessage; next: number } | { kind: 'incomplete' } | { kind: 'invalid'; reason: string };

/** Values are kept as Latin-1 so every byte survives for escaping; capped per value. */
function str(buf: Buffer, t: Tlv | undefined): string | undefined {
  if (!t || t.cls !== 0 || t.tag !== 4) return undefined;
  return readString(buf, t, MAX_VALUE_BYTES, 'latin1');
}

function parseResult(buf: Buffer, parts: Tlv[]): LdapResult | undefined {
  const [code, matched, diag] = parts;
  if (!code || code.cls !== 0 || code.tag !== 10) return undefined;
  const value = readInteger(buf, code);
  const matchedDN = str(buf, matched);
  const diagnostic = str(buf, diag);
  if (value === undefined || matchedDN === undefined || diagnostic === undefined) return undefined;
  const result: LdapResult = { code: value, matchedDN, diagnostic };
  const name = parts.find((p) => p.cls === 2 && p.tag === 10 && !p.constructed);
  if (name) result.responseName = readString(buf, name, 128, 'latin1');
  return result;
}

function parseEntry(buf: Buffer, parts: Tlv[]): LdapMessage['entry'] {
  const [dnTlv, list] = parts;
  const dn = str(buf, dnTlv);
  if (dn === undefined || !list || list.cls !== 0 || list.tag !== 16) return undefined;
  const attrs = children(buf, list, MAX_ATTRIBUTES);
  if (!attrs) return undefined;
  const attributes = new Map<string, string[]>();
  for (const a of attrs) {
    const [typeTlv, setTlv] = children(buf, a, 2) ?? [];
    const type = str(buf, typeTlv);
    if (type === undefined || !setTlv || setTlv.tag !== 17) return undefined;
    const vals = children(buf, setTlv, MAX_VALUES);
    if (!vals) return undefined;
    attributes.set(type.toLowerCase(), vals.map((v) => str(buf, v) ?? ''));
  }
  return { dn, attributes };
}

/**
 * Read one LDAPMessage at `offset` of a (possibly partial) stream. `incomplete` while more bytes
 * could complete it; `invalid` when it is not LDAP or lies about a length.
 */
export function readLdapMessage(buf: Buffer, offset = 0): MessageRead {
  if (offset < buf.length && buf[offset] !== 0x30) return { kind: 'invalid', reason: 'not a SEQUENCE' };
  const outer = readTlv(buf, offset, buf.length, true);
  if (outer.kind !== 'ok') return outer;
  const parts = children(buf, outer.tlv, 3);
  const [idTlv, opTlv] = parts ?? [];
  if (!idTlv || !opTlv || idTlv.cls !== 0 || idTlv.tag !== 2) return { kind: 'invalid', reason: 'bad message header' };
  const id = readInteger(buf, idTlv);
  if (id === undefined || id < 0 || opTlv.cls !== 1) return { kind: 'invalid', reason: 'bad message id or operation' };
  const msg: LdapMessage = { id, op: opTlv.tag };
  if (opTlv.constructed) {
    const body = children(buf, opTlv, MAX_ATTRIBUTES);
    if (!body) return { kind: 'invalid', reason: 'bad operation body' };
    if (RESULT_OPS.has(opTlv.tag)) {
      const result = parseResult(buf, body);
      if (!result) return { kind: 'invalid', reason: 'bad LDAPResult' };
      msg.result = result;
    } else if (opTlv.tag === OP.searchEntry) {
      const entry = parseEntry(buf, body);
      if (!entry) return { kind: 'invalid', reason: 'bad SearchResultEntry' };
      msg.entry = entry;
    }
  }
  return { kind: 'ok', message: msg, next: outer.tlv.end };
}

/** Every whole message at the start of `buf`, and how the list ended. */
export function parseLdapMessages(buf: Buffer): { messages: LdapMessage[]; end: 'complete' | 'incomplete' | 'invalid' } {
  const messages: LdapMessage[] = [];
  let pos = 0;
  while (pos < buf.length && messages.length < MAX_MESSAGES) {
    const r = readLdapMessage(buf, pos);
    if (r.kind !== 'ok') return { messages, end: r.kind };
    messages.push(r.message);
    pos = r.next;
  }
  return { messages, end: 'complete' };
}

/** Completeness for the search: a final response arrived, or the bytes cannot be LDAP. */
export function searchComplete(data: Buffer): boolean {
  const { messages, end } = parseLdapMessages(data);
  if (end === 'invalid' || messages.length >= MAX_MESSAGES) return true;
  return messages.some((m) => m.op !== OP.searchEntry && m.op !== OP.searchReference && m.op !== OP.intermediate);
}

/** Escape a value for a one-line detail: printable ASCII kept, everything else `\xNN`. */
function escapeValue(s: string, max = 120): string {
  let out = '';
  for (const ch of s.slice(0, max)) {
    const c = ch.charCodeAt(0);
    out += c >= 0x20 && c < 0x7f && ch !== '\\' ? ch : `\\x${c.toString(16).padStart(2, '0')}`;
  }
  return s.length > max ? `${out}…` : out;
}

/** `DC=corp,DC=example,DC=com` → `corp.example.com` (undefined without DC components). */
export function domainFromDn(dn: string): string | undefined {
  const labels = dn.split(',').map((p) => /^\s*dc=(.+?)\s*$/i.exec(p)?.[1]).filter((x): x is string => x !== undefined);
  const domain = cleanField(labels.join('.'));
  return domain === '' ? undefined : domain;
}

/** The AD site from serverName: `CN=DC1,CN=Servers,CN=<site>,CN=Sites,…`. */
function siteFromServerName(dn: string): string | undefined {
  const m = /,CN=Servers,CN=([^,]{1,64}),CN=Sites,/i.exec(dn.slice(0, 1024));
  return m ? cleanField(m[1]!) : undefined;
}

/** Active Directory functional levels (msDS-Behavior-Version) as Windows Server releases. */
const FUNCTIONAL_LEVELS: Record<string, string> = {
  '0': '2000', '1': '2003 interim', '2': '2003', '3': '2008', '4': '2008 R2', '5': '2012', '6': '2012 R2', '7': '2016', '10': '2025',
};

/** Vendor strings from RFC 3045 attributes; the same matcher user signature files use. */
export const LDAP_SIGNATURES: readonly Signature[] = [
  { service: 'ldap', field: 'ldap.vendor_version', pattern: /^389-Directory\/(\d+(?:\.\d+)+)/, product: '389 Directory Server', version: '$1', cpe: ['cpe:2.3:a:port389:389-ds-base:$1:*:*:*:*:*:*:*'], origin: 'builtin' },
  { service: 'ldap', field: 'ldap.vendor_version', pattern: /^Red Hat-Directory\/(\d+(?:\.\d+)+)/, product: 'Red Hat Directory Server', version: '$1', cpe: ['cpe:2.3:a:redhat:directory_server:$1:*:*:*:*:*:*:*'], origin: 'builtin' },
  { service: 'ldap', field: 'ldap.vendor_version', pattern: /^OpenDJ(?: Server)? (\d+(?:\.\d+)+)/, product: 'OpenDJ', version: '$1', cpe: ['cpe:2.3:a:forgerock:opendj:$1:*:*:*:*:*:*:*'], origin: 'builtin' },
  { service: 'ldap', field: 'ldap.vendor_version', pattern: /^LDAP Agent for (Novell|NetIQ) eDirectory (\d+(?:\.\d+)+(?: SP\d+)?)/, product: '$1 eDirectory', version: '$2', origin: 'builtin' },
  { service: 'ldap', field: 'ldap.vendor', pattern: /^Apache Software Foundation\n(\d+(?:\.\d+)+[\w.-]*)/, product: 'ApacheDS', version: '$1', cpe: ['cpe:2.3:a:apache:apacheds:$1:*:*:*:*:*:*:*'], origin: 'builtin' },
  // Any other "Product/1.2.3" or "Product 1.2.3": report it as the vendor wrote it, with less trust.
  { service: 'ldap', field: 'ldap.vendor_version', pattern: /^([A-Za-z][\w .()-]{1,60}?)[ /]v?(\d+(?:\.\d+)+)/, product: '$1', version: '$2', confidence: 7, origin: 'builtin' },
];

/** The root DSE attributes we use, from the first SearchResultEntry. */
function rootDse(messages: LdapMessage[]): Map<string, string[]> | undefined {
  return messages.find((m) => m.op === OP.searchEntry && m.entry)?.entry?.attributes;
}

/** Turn the server's answer to the root DSE search into an identification. */
export function identifyLdap(all: LdapMessage[], target?: Target): Identification | undefined {
  // Only server operations count: an echo of our own SearchRequest is not an LDAP server.
  const messages = all.filter((m) => RESPONSE_OPS.has(m.op));
  if (messages.length === 0) return undefined;
  const dse = rootDse(messages);
  if (!dse) {
    const done = messages.find((m) => m.result);
    const id: Identification = { service: 'ldap', confidence: 7 };
    if (done?.result && done.op === OP.searchDone && done.result.code !== 0) id.extrainfo = `root DSE search refused (result ${done.result.code})`;
    return id;
  }
  const get = (name: string): string[] => dse.get(name.toLowerCase()) ?? [];
  const first = (name: string): string | undefined => get(name)[0];
  const fields: Record<string, string> = {};
  const vendorName = cleanField(first('vendorName') ?? '');
  const vendorVersion = cleanField(first('vendorVersion') ?? '');
  if (vendorName) fields['ldap.vendor_name'] = vendorName;
  if (vendorVersion) fields['ldap.vendor_version'] = vendorVersion;
  const contexts = get('namingContexts');
  if (contexts.length > 0) fields['ldap.naming_contexts'] = contexts.slice(0, 16).map((c) => cleanField(c, 200)).join('; ');
  const defaultNc = first('defaultNamingContext');
  if (defaultNc) fields['ldap.default_naming_context'] = cleanField(defaultNc, 200);

  const caps = get('supportedCapabilities');
  const oids = [...get('supportedExtension'), ...get('supportedControl')];
  let id: Identification;
  if (caps.includes(AD_CAPABILITY) || caps.includes(ADAM_CAPABILITY)) {
    const ad = caps.includes(AD_CAPABILITY);
    id = { service: 'ldap', product: ad ? 'Microsoft Windows Active Directory LDAP' : 'Microsoft Active Directory Lightweight Directory Services', ostype: 'Windows', cpe: [cpe23('o', 'microsoft', 'windows')], confidence: 8 };
    const extra: string[] = [];
    const domain = defaultNc ? domainFromDn(defaultNc) : undefined;
    if (domain) extra.push(`Domain: ${domain}`);
    const site = siteFromServerName(first('serverName') ?? '');
    if (site) extra.push(`Site: ${site}`);
    const level = FUNCTIONAL_LEVELS[first('domainControllerFunctionality') ?? ''];
    if (level) extra.push(`DC functional level: Windows Server ${level}`);
    if (extra.length > 0) id.extrainfo = extra.join(', ');
  } else {
    // `ldap.vendor` (name and version on two lines) exists only for matching, not in the output.
    const matched = matchSignatures(LDAP_SIGNATURES, undefined, { ...fields, 'ldap.vendor': `${vendorName}\n${vendorVersion}` });
    if (matched) id = matched;
    else if (get('objectClass').some((c) => c.toLowerCase() === 'openldaprootdse') || oids.some((o) => o.startsWith(OPENLDAP_EXPERIMENTAL))) {
      id = { service: 'ldap', product: 'OpenLDAP', cpe: [cpe23('a', 'openldap', 'openldap')], confidence: 8 };
    } else {
      id = { service: 'ldap', confidence: 7 };
      if (vendorName) id.extrainfo = `vendor: ${vendorName}`;
    }
  }
  // A host name is used only when it is one as sent, never after stripping what made it unsafe.
  const host = first('dnsHostName') ?? '';
  if (/^[A-Za-z0-9.-]{1,253}$/.test(host)) id.hostname = host;
  if (get('supportedExtension').includes(STARTTLS_OID) && target?.tunnel !== 'ssl') id.startTls = true;
  id.fields = { ...fields, ...id.fields };
  if (dse.size > 0) id.evidence = [anonymousEvidence(contexts)];
  return id;
}

function anonymousEvidence(contexts: string[]): Evidence {
  const shown = contexts.slice(0, 8).map((c) => escapeValue(c));
  const more = contexts.length > shown.length ? ` (+${contexts.length - shown.length} more)` : '';
  const list = shown.length > 0 ? `; naming contexts: ${shown.join(', ')}${more}` : '';
  return { id: 'ldap-anonymous-rootdse', detail: `root DSE readable without authentication${list}`.slice(0, 600) };
}

/** A bare LDAP response (notice of disconnection, bind error, …) received unprompted. */
export function ldapGreeting(data: Buffer): Identification | undefined {
  const r = readLdapMessage(data, 0);
  if (r.kind !== 'ok' || !RESPONSE_OPS.has(r.message.op)) return undefined;
  return { service: 'ldap', confidence: 6 };
}

async function probe(ctx: ProbeContext): Promise<Identification | undefined> {
  const session = ctx.session;
  // A server that already spoke (notice of disconnection) is LDAP but will not answer a search.
  if (session.received.length > 0) {
    const early = ldapGreeting(session.received);
    if (early || session.ended) return early;
    return undefined;
  }
  if (session.ended) return undefined;
  session.send(rootDseRequest(1));
  const reply = await session.read(ctx.timing.replyMs, searchComplete);
  const { messages } = parseLdapMessages(reply.data);
  return identifyLdap(messages, session.target);
}

/** Upgrade with the StartTLS extended operation; the TLS facts go into `tls`. */
async function upgrade(session: Session, replyMs: number, previous: Identification): Promise<Identification> {
  session.send(startTlsRequest(2));
  const reply = await session.read(replyMs, (d) => readLdapMessage(d, 0).kind !== 'incomplete');
  const r = readLdapMessage(reply.data, 0);
  if (r.kind !== 'ok' || r.message.op !== OP.extendedResponse || r.message.result?.code !== 0) return previous;
  const tls = await session.startTls();
  return tls ? { ...previous, tls } : previous;
}

async function followUp(ctx: ProbeContext & { previous: Identification }): Promise<Identification> {
  const { session, previous } = ctx;
  try {
    if (!previous.startTls || previous.tls || session.ended || session.target.tunnel === 'ssl' || session.remainingMs() <= 0) return previous;
    return await upgrade(session, ctx.timing.replyMs, previous);
  } catch {
    return previous;
  }
}

/** LDAP: root DSE search, product from vendor attributes / AD capabilities, StartTLS upgrade. */
export const detector: Detector = {
  name: 'ldap',
  ports: [389, 3268, 636, 3269],
  tlsPorts: [636, 3269],
  rarity: 6,
  greeting: (data) => ldapGreeting(data),
  probe,
  followUp,
};
