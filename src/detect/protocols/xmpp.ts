/**
 * XMPP (RFC 6120). We open a stream and read the server's stream header and `<stream:features>`.
 * The reply is scanned with bounded string searches, never an XML parser, so entities are never
 * expanded and a hostile document costs no more than its first few KiB.
 *
 * Facts read: the `from` domain, client vs server-to-server stream (jabber:server / dialback),
 * STARTTLS (and whether it is required), SASL mechanisms, and the product from the XEP-0115 entity
 * caps `node` some servers advertise in their features. The follow-up may upgrade with STARTTLS.
 */
import { cpe23 } from '../../core/cpe.js';
import { cleanField, latin1 } from '../text.js';
import type { Detector, Evidence, Identification, ProbeContext, Target } from '../types.js';

const STREAMS_NS = 'http://etherx.jabber.org/streams';
const SCAN_BYTES = 16384;
const S2S_PORTS = [5269, 5270];

/** What a server's stream opening told us. */
export interface XmppReply {
  /** Attributes of the `<stream:stream …>` tag (raw values, entities not expanded). */
  attrs: Record<string, string>;
  /** `jabber:server` stream or dialback offered. */
  server: boolean;
  starttls: boolean;
  starttlsRequired: boolean;
  mechanisms: string[];
  /** XEP-0115 caps node (`http://prosody.im`, …). */
  capsNode?: string;
  /** Stream error condition (`host-unknown`, `invalid-namespace`, …). */
  error?: string;
}

/** Escape a value for a single-quoted XML attribute. */
export function xmlAttr(s: string): string {
  return s.replace(/[&<>'"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The stream header we open: `to` is the name the user gave, or the address. */
export function streamHeader(target: Target): string {
  const server = S2S_PORTS.includes(target.port);
  const ns = server ? "xmlns='jabber:server' xmlns:db='jabber:server:dialback'" : "xmlns='jabber:client'";
  return `<?xml version='1.0'?><stream:stream to='${xmlAttr(target.hostname ?? target.address)}' ${ns} xmlns:stream='${STREAMS_NS}' version='1.0'>`;
}

/** Attributes of one start tag's inner text, bounded in count and length. */
function attributes(tag: string): Record<string, string> {
  const out: Record<string, string> = {};
  const re = /([A-Za-z_][\w:.-]{0,40})\s*=\s*(?:'([^'<]{0,512})'|"([^"<]{0,512})")/g;
  let m: RegExpExecArray | null;
  let n = 0;
  while (n++ < 32 && (m = re.exec(tag)) !== null) out[m[1]!] = m[2] ?? m[3] ?? '';
  return out;
}

/** Parse a server's reply to our stream header; undefined when it is not an XMPP stream. */
export function parseXmppReply(data: Buffer): XmppReply | undefined {
  const text = latin1(data, SCAN_BYTES);
  const open = /<([A-Za-z_][\w.-]{0,32}:)?stream[\s>]/.exec(text);
  if (!open) return undefined;
  const end = text.indexOf('>', open.index);
  const tag = text.slice(open.index, end < 0 ? Math.min(text.length, open.index + 2048) : Math.min(end, open.index + 2048));
  const attrs = attributes(tag);
  if (!Object.values(attrs).includes(STREAMS_NS)) return undefined;
  const rest = text.slice(open.index + tag.length);
  const starttls = /<starttls\b[^>]{0,200}urn:ietf:params:xml:ns:xmpp-tls/.exec(rest);
  const reply: XmppReply = {
    attrs,
    server: attrs.xmlns === 'jabber:server' || attrs['xmlns:db'] !== undefined || rest.includes('urn:xmpp:features:dialback'),
    starttls: starttls !== null,
    starttlsRequired: false,
    mechanisms: [],
  };
  if (starttls) {
    const close = rest.indexOf('</starttls>', starttls.index);
    reply.starttlsRequired = close > 0 && rest.slice(starttls.index, close).includes('<required');
  }
  const mechRe = /<mechanism>([^<]{1,64})<\/mechanism>/g;
  let m: RegExpExecArray | null;
  while (reply.mechanisms.length < 32 && (m = mechRe.exec(rest)) !== null) {
    const mech = cleanField(m[1]!, 64).toUpperCase();
    if (mech !== '') reply.mechanisms.push(mech);
  }
  const caps = /<c\s[^>]{0,512}http:\/\/jabber\.org\/protocol\/caps[^>]{0,512}>/.exec(rest);
  if (caps) {
    const node = attributes(caps[0]).node;
    if (node !== undefined) reply.capsNode = cleanField(node, 200);
  }
  const err = /<stream:error>\s{0,16}<([a-z-]{1,40})[\s/>]/.exec(rest);
  if (err) reply.error = err[1]!;
  return reply;
}

/** True once a reply to our header is whole (features, an error or the stream's end), or clearly not XMPP. */
export function xmppReplyComplete(data: Buffer): boolean {
  const text = latin1(data, SCAN_BYTES);
  const head = text.trimStart();
  if (head.length >= 1 && !head.startsWith('<')) return true;
  if (head.length >= 32 && !/^<(?:\?xml|[A-Za-z_][\w.-]{0,32}:stream|stream)/.test(head)) return true;
  return /<\/stream:features>|<stream:features\s*\/>|<\/stream:error>|<\/stream:stream>/.test(text);
}

const PRODUCTS: [RegExp, string, [string, string] | undefined][] = [
  [/prosody\.im/i, 'Prosody', ['prosody', 'prosody']],
  [/ejabberd|process-one\.net/i, 'ejabberd', ['process-one', 'ejabberd']],
  [/igniterealtime|openfire/i, 'Openfire', ['igniterealtime', 'openfire']],
  [/tigase/i, 'Tigase', undefined],
  [/mongooseim|erlang-solutions/i, 'MongooseIM', undefined],
];

function domainOf(s: string | undefined): string | undefined {
  if (s === undefined) return undefined;
  const c = cleanField(s, 253);
  return /^[A-Za-z0-9][A-Za-z0-9.-]*$/.test(c) ? c : undefined;
}

/** Identification from a parsed reply; `port` decides client vs server when the stream does not say. */
export function identifyXmpp(r: XmppReply, target?: Target): Identification {
  const ns = r.attrs.xmlns;
  const server = r.server || (ns === undefined && target !== undefined && S2S_PORTS.includes(target.port));
  const id: Identification = { service: server ? 'xmpp-server' : 'xmpp-client', confidence: 7 };
  const fields: Record<string, string> = {};
  const host = domainOf(r.attrs.from);
  if (host !== undefined) {
    id.hostname = host;
    fields['xmpp.from'] = host;
  }
  if (r.capsNode !== undefined) {
    fields['xmpp.caps_node'] = r.capsNode;
    const hit = PRODUCTS.find(([re]) => re.test(r.capsNode!));
    if (hit) {
      id.product = hit[1];
      id.confidence = 8;
      if (hit[2]) id.cpe = [cpe23('a', hit[2][0], hit[2][1])];
    }
  }
  if (r.attrs.version !== undefined) fields['xmpp.stream_version'] = cleanField(r.attrs.version, 16);
  if (r.mechanisms.length > 0) fields['xmpp.sasl'] = r.mechanisms.join(' ');
  if (r.starttls) {
    id.startTls = true;
    fields['xmpp.starttls'] = r.starttlsRequired ? 'required' : 'optional';
  }
  if (r.error !== undefined) fields['xmpp.error'] = r.error;
  id.fields = fields;
  return id;
}

function plaintextEvidence(r: XmppReply): Evidence | undefined {
  const weak = r.mechanisms.filter((m) => m === 'PLAIN' || m === 'LOGIN');
  if (weak.length === 0 || r.starttlsRequired) return undefined;
  return { id: 'xmpp-plaintext-auth', detail: `XMPP offers ${weak.join(', ')} authentication before TLS` };
}

async function upgrade(ctx: ProbeContext & { previous: Identification }): Promise<Identification> {
  const { session, timing } = ctx;
  const id = ctx.previous;
  if (session.ended) return id;
  if (!id.startTls || session.target.tunnel === 'ssl' || session.remainingMs() <= timing.replyMs) {
    session.send('</stream:stream>');
    return id;
  }
  session.send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
  const r = await session.read(timing.replyMs, (d) => /<proceed\b|<failure\b|<\/stream:stream>/.test(latin1(d, 4096)));
  if (!/<proceed\b[^>]{0,200}urn:ietf:params:xml:ns:xmpp-tls/.test(latin1(r.data, 4096))) return id;
  const tls = await session.startTls();
  return tls ? { ...id, tls } : id;
}

/** XMPP detector (xmpp-client / xmpp-server): stream header probe, features, optional STARTTLS. */
export const detector: Detector = {
  name: 'xmpp-client',
  ports: [5222, 5269, 5223],
  tlsPorts: [5223],
  rarity: 6,
  greeting(data, target) {
    const r = parseXmppReply(data);
    return r ? identifyXmpp(r, target) : undefined;
  },
  async probe(ctx) {
    const { session, timing } = ctx;
    if (session.ended) return undefined;
    session.send(streamHeader(session.target));
    const res = await session.read(timing.replyMs, xmppReplyComplete);
    const r = parseXmppReply(res.data);
    if (!r) return undefined;
    const id = identifyXmpp(r, session.target);
    const ev = session.target.tunnel === 'ssl' ? undefined : plaintextEvidence(r);
    if (ev) id.evidence = [ev];
    return id;
  },
  async followUp(ctx) {
    try {
      return await upgrade(ctx);
    } catch {
      return ctx.previous;
    }
  },
};
