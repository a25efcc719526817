/**
 * IRC (RFC 1459/2812). Clients speak first, but many servers send `NOTICE AUTH :*** Looking up your
 * hostname…` on accept, which the greeting recognises. The probe registers with a random nick
 * (`NICK`/`USER`); the follow-up answers registration PINGs (anti-spoof cookies), waits for
 * RPL_MYINFO (004) — server name and daemon version — and QUITs straight after, so we are never
 * a client in any channel.
 */
import { randomBytes } from 'node:crypto';
import { cpe23 } from '../../core/cpe.js';
import { matchSignatures, type Signature } from '../signature.js';
import { cleanField, lines } from '../text.js';
import type { Detector, Identification, ProbeContext, Session } from '../types.js';

/** How much of a registration reply is scanned for lines; 004 arrives within the first few KiB. */
const SCAN_BYTES = 16384;
/** Registration rounds (reads) at most: notices, PING, welcome burst. */
const MAX_ROUNDS = 5;

/** One parsed IRC message. */
export interface IrcMessage {
  prefix?: string;
  command: string;
  params: string[];
}

/** Parse one line (RFC 2812 shape: `[:prefix] command params [:trailing]`), bounded; undefined if not IRC-shaped. */
export function parseIrcLine(line: string): IrcMessage | undefined {
  const m = /^(?::([^\s]{1,256}) +)?([A-Za-z]{1,20}|\d{3})(?: +(.*))?$/.exec(line.slice(0, 1024));
  if (!m) return undefined;
  const params: string[] = [];
  let rest = m[3] ?? '';
  while (rest !== '' && params.length < 15) {
    if (rest.startsWith(':')) {
      params.push(rest.slice(1));
      break;
    }
    const sp = rest.indexOf(' ');
    params.push(sp < 0 ? rest : rest.slice(0, sp));
    rest = sp < 0 ? '' : rest.slice(sp + 1).replace(/^ +/, '');
  }
  const msg: IrcMessage = { command: m[2]!.toUpperCase(), params };
  if (m[1] !== undefined) msg.prefix = m[1];
  return msg;
}

/**
 * True when a message could only come from an IRC server. `strict` (for unprompted bytes) accepts
 * only prefixed numerics and auth notices; after our NICK/USER also PING and ERROR count.
 */
export function isIrcMessage(msg: IrcMessage, strict: boolean): boolean {
  if (/^\d{3}$/.test(msg.command)) return msg.prefix !== undefined && msg.params.length >= 2;
  if (msg.command === 'NOTICE') {
    const [to, text = ''] = msg.params;
    if (msg.params.length < 2) return false;
    return to === 'AUTH' || to === '*' || text.startsWith('***') || (!strict && msg.prefix !== undefined);
  }
  if (msg.command === 'ERROR') return msg.params.length === 1 && (!strict || /^Closing [Ll]ink/.test(msg.params[0]!));
  if (msg.command === 'PING') return !strict && msg.params.length >= 1;
  return false;
}

/** What registration told us so far. */
export interface IrcState {
  /** At least one line could only come from an IRC server. */
  irc: boolean;
  /** Name the server gives itself (message prefix, or 004's first field). */
  server?: string;
  /** Daemon version from 004 (or 002's "running version"). */
  version?: string;
  /** 004 arrived. */
  myInfo: boolean;
  /** Registration ended: ERROR, or a refusal numeric. */
  refused: boolean;
  /** PING tokens the server is waiting for a PONG to. */
  pings: string[];
}

/** Scan all complete lines received so far (bounded). */
export function parseIrc(data: Buffer, strict = false): IrcState {
  const st: IrcState = { irc: false, myInfo: false, refused: false, pings: [] };
  for (const line of lines(data, SCAN_BYTES).slice(0, 300)) {
    const msg = parseIrcLine(line);
    if (!msg || !isIrcMessage(msg, strict)) continue;
    st.irc = true;
    if (st.server === undefined && msg.prefix !== undefined && !msg.prefix.includes('!')) st.server = msg.prefix;
    switch (msg.command) {
      case 'PING':
        if (st.pings.length < 4) st.pings.push(cleanField(msg.params[0]!, 64));
        break;
      case 'ERROR':
        st.refused = true;
        break;
      case '004':
        st.myInfo = true;
        if (msg.params[1] !== undefined) st.server = msg.params[1];
        if (msg.params[2] !== undefined) st.version = msg.params[2];
        break;
      case '002': {
        const v = /running version (\S{1,80})/.exec(msg.params[msg.params.length - 1] ?? '');
        if (v && st.version === undefined) st.version = v[1]!.replace(/[.,]$/, '');
        break;
      }
      default:
        // 432/433 bad or taken nick, 451 not registered, 463-466 refused or banned: registration is over.
        if (/^4(?:3[2-7]|51|6[1-6])$/.test(msg.command)) st.refused = true;
    }
  }
  return st;
}

/** Built-in version signatures, matched against `irc.version` (004's version field). */
export const IRC_SIGNATURES: readonly Signature[] = [
  { service: 'irc', field: 'irc.version', pattern: /^UnrealIRCd-(\d[\w.-]*)/, product: 'UnrealIRCd', version: '$1', origin: 'builtin' },
  { service: 'irc', field: 'irc.version', pattern: /^Unreal(\d[\w.-]*)/, product: 'UnrealIRCd', version: '$1', origin: 'builtin' },
  { service: 'irc', field: 'irc.version', pattern: /^InspIRCd-(\d[\w.-]*)/, product: 'InspIRCd', version: '$1', origin: 'builtin' },
  { service: 'irc', field: 'irc.version', pattern: /^ngircd-(\d[\w.~-]*)/i, product: 'ngIRCd', version: '$1', origin: 'builtin' },
  { service: 'irc', field: 'irc.version', pattern: /^(?:ircd-)?hybrid-(\d[\w.-]*)/i, product: 'Hybrid ircd', version: '$1', origin: 'builtin' },
  { service: 'irc', field: 'irc.version', pattern: /^solanum-(\d[\w.-]*)/i, product: 'Solanum', version: '$1', origin: 'builtin' },
  { service: 'irc', field: 'irc.version', pattern: /^charybdis-(\d[\w.-]*)/i, product: 'Charybdis', version: '$1', origin: 'builtin' },
  { service: 'irc', field: 'irc.version', pattern: /^ircd-ratbox-(\d[\w.-]*)/i, product: 'ircd-ratbox', version: '$1', origin: 'builtin' },
  { service: 'irc', field: 'irc.version', pattern: /^ircd-seven-(\d[\w.-]*)/i, product: 'ircd-seven', version: '$1', origin: 'builtin' },
  { service: 'irc', field: 'irc.version', pattern: /^bahamut-(\d[\w.-]*)/i, product: 'Bahamut', version: '$1', origin: 'builtin' },
  { service: 'irc', field: 'irc.version', pattern: /^(?:ergo|oragono)-v?(\d[\w.-]*)/i, product: 'Ergo', version: '$1', origin: 'builtin' },
  { service: 'irc', field: 'irc.version', pattern: /^u(2\.\d+\.\d+[\w.+-]*)/, product: 'ircu', version: '$1', origin: 'builtin' },
];

const CPES: Record<string, [string, string]> = {
  UnrealIRCd: ['unrealircd', 'unrealircd'],
  InspIRCd: ['inspircd', 'inspircd'],
};

/** A printable host-like server name, or undefined. */
function serverName(s: string | undefined): string | undefined {
  if (s === undefined) return undefined;
  const c = cleanField(s, 253);
  return /^[A-Za-z0-9][A-Za-z0-9.\-_]*$/.test(c) ? c : undefined;
}

/** Identification from registration state, or undefined when nothing IRC-like was seen. */
export function identifyIrc(st: IrcState): Identification | undefined {
  if (!st.irc) return undefined;
  const version = st.version !== undefined ? cleanField(st.version, 120) : undefined;
  const fields: Record<string, string> = {};
  if (version) fields['irc.version'] = version;
  const matched = version ? matchSignatures(IRC_SIGNATURES, undefined, fields) : undefined;
  const id: Identification = matched ?? { service: 'irc', confidence: 8 };
  if (!matched && version) id.extrainfo = `version ${version}`;
  if (version || st.server !== undefined) id.fields = fields;
  const host = serverName(st.server);
  if (host !== undefined) {
    id.hostname = host;
    fields['irc.server'] = host;
  }
  const pair = id.product !== undefined ? CPES[id.product] : undefined;
  if (pair) id.cpe = [cpe23('a', pair[0], pair[1], id.version)];
  return id;
}

/** A random RFC 1459-valid nick (≤ 9 characters, letter first). */
export function randomNick(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  return `p${Array.from(randomBytes(7), (b) => alphabet[b % alphabet.length]!).join('')}`;
}

/** The registration we send: NICK then USER (mode 0, unused `*`, real name = nick). */
export function registration(nick: string): string {
  return `NICK ${nick}\r\nUSER ${nick} 0 * :${nick}\r\n`;
}

/** Sessions on which we already sent NICK/USER, so a follow-up does not register twice. */
const registered = new WeakSet<Session>();

function register(session: Session): void {
  if (registered.has(session)) return;
  registered.add(session);
  session.send(registration(randomNick()));
}

/** Stop waiting once a reply holds a line that moves registration on (004, PING, refusal). */
function progressComplete(data: Buffer): boolean {
  const st = parseIrc(data);
  return st.myInfo || st.refused || st.pings.length > 0;
}

async function enrich(ctx: ProbeContext & { previous: Identification }): Promise<Identification> {
  const { session, timing } = ctx;
  if (session.ended) return ctx.previous;
  register(session);
  const ponged = new Set<string>();
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const st = parseIrc(session.received);
    for (const token of st.pings) {
      if (ponged.has(token)) continue;
      ponged.add(token);
      session.send(`PONG :${token}\r\n`);
    }
    if (st.myInfo || st.refused || session.ended || session.remainingMs() <= 0) break;
    const r = await session.read(timing.replyMs, progressComplete);
    if (r.end !== 'complete' && r.data.length === 0) break;
  }
  if (!session.ended) session.send('QUIT\r\n');
  const found = identifyIrc(parseIrc(session.received));
  if (!found) return ctx.previous;
  return { ...ctx.previous, ...found, evidence: ctx.previous.evidence, confidence: Math.max(found.confidence, ctx.previous.confidence) };
}

/** True once the reply holds at least one complete line (IRC or not: no reason to wait longer). */
function anyLine(data: Buffer): boolean {
  return data.indexOf(0x0a) >= 0;
}

/** IRC detector: NOTICE AUTH greetings, NICK/USER probe, 004 version, then QUIT. */
export const detector: Detector = {
  name: 'irc',
  ports: [6667, 6668, 6669, 6697, 7000],
  tlsPorts: [6697],
  rarity: 7,
  greeting(data) {
    return identifyIrc(parseIrc(data, true));
  },
  async probe(ctx) {
    const { session, timing } = ctx;
    if (session.ended) return undefined;
    register(session);
    const r = await session.read(timing.replyMs, anyLine);
    return identifyIrc(parseIrc(r.data));
  },
  async followUp(ctx) {
    try {
      return await enrich(ctx);
    } catch {
      return ctx.previous;
    }
  },
};
