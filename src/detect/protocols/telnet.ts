/**
 * Telnet: servers open with option negotiation (RFC 854/855: IAC WILL/WONT/DO/DONT <option>,
 * IAC SB … IAC SE) and then a banner or login prompt. We answer nothing — silence is enough to
 * see the banner on most servers — and read the text for product hints.
 *
 * Strictness matters: the runner offers every greeting to every detector, so a reply counts as
 * telnet only when it starts with well-formed negotiation of registered options followed by
 * clean text, or (on a telnet port only) when plain text ends in a login prompt.
 */
import { matchSignatures, type Signature } from '../signature.js';
import { distroFrom } from '../text.js';
import type { Detector, Identification, ProbeContext, Target } from '../types.js';

const IAC = 0xff;
const SB = 0xfa;
const SE = 0xf0;
/** WILL, WONT, DO, DONT. */
const NEGOTIATE = new Set([0xfb, 0xfc, 0xfd, 0xfe]);
/** NOP, Data Mark, BRK, IP, AO, AYT, EC, EL, GA: two-byte commands. */
const SIMPLE = new Set([0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9]);
/** Bytes of a reply we scan; a banner is never longer. */
const MAX_SCAN = 4096;
/** Longest subnegotiation we accept (terminal type, environment: tens of bytes). */
const MAX_SB = 512;

const TELNET_PORTS = [23, 2323];

/** Options in the IANA telnet registry (0–49, 138–140, 255 EXOPL); anything else is not telnet. */
export function knownOption(opt: number): boolean {
  return opt <= 49 || (opt >= 138 && opt <= 140) || opt === 255;
}

/** What the bytes of a telnet greeting contain. */
export interface TelnetScan {
  /** WILL/WONT/DO/DONT commands in order, as `[command, option]` (at most 64 kept). */
  negotiations: Array<[number, number]>;
  /** Subnegotiations seen (`IAC SB … IAC SE`). */
  subnegotiations: number;
  /** The non-command bytes (Latin-1). */
  text: string;
  /** Control bytes and malformed UTF-8 in the text: what no terminal banner sends. */
  badBytes: number;
  /** An IAC followed by something that is not a telnet command, or an unknown option. */
  malformed: boolean;
  /** The data starts with IAC. */
  startsWithIac: boolean;
}

/** Split bytes into telnet commands and text, validating every command. Bounded, never throws. */
export function scanTelnet(data: Buffer): TelnetScan {
  const buf = data.subarray(0, MAX_SCAN);
  const out: TelnetScan = { negotiations: [], subnegotiations: 0, text: '', badBytes: 0, malformed: false, startsWithIac: buf[0] === IAC };
  const text: number[] = [];
  let i = 0;
  while (i < buf.length && !out.malformed) {
    const byte = buf[i]!;
    if (byte !== IAC) {
      // Allowed in a banner: printable, CR, LF, TAB, NUL (after CR), BEL, BS, ESC (ANSI), UTF-8.
      if ((byte < 0x20 && ![0x0d, 0x0a, 0x09, 0x00, 0x07, 0x08, 0x1b].includes(byte)) || byte === 0x7f) out.badBytes++;
      text.push(byte);
      i++;
      continue;
    }
    const cmd = buf[i + 1];
    if (cmd === undefined) break; // truncated: the next chunk completes it
    if (cmd === IAC) {
      text.push(IAC); // escaped data byte 255
      i += 2;
    } else if (NEGOTIATE.has(cmd)) {
      const opt = buf[i + 2];
      if (opt === undefined) break;
      if (!knownOption(opt)) out.malformed = true;
      else if (out.negotiations.length < 64) out.negotiations.push([cmd, opt]);
      i += 3;
    } else if (cmd === SB) {
      const opt = buf[i + 2];
      if (opt === undefined) break;
      if (!knownOption(opt)) {
        out.malformed = true;
        break;
      }
      // Find IAC SE, skipping IAC IAC inside the parameters.
      let j = i + 3;
      let end = -1;
      while (j < buf.length - 1 && j - i <= MAX_SB) {
        if (buf[j] === IAC && buf[j + 1] === SE) {
          end = j + 2;
          break;
        }
        j += buf[j] === IAC && buf[j + 1] === IAC ? 2 : 1;
      }
      if (end < 0) {
        if (j - i > MAX_SB) out.malformed = true;
        break;
      }
      out.subnegotiations++;
      i = end;
    } else if (SIMPLE.has(cmd)) {
      i += 2;
    } else {
      out.malformed = true;
    }
  }
  out.badBytes += invalidUtf8(text);
  out.text = Buffer.from(text).toString('latin1');
  return out;
}

/**
 * Bytes ≥ 0x80 that are not part of a well-formed UTF-8 sequence. Banners are ASCII or UTF-8;
 * random binary almost never is, which keeps `FF FB 01` + noise from passing as telnet.
 */
function invalidUtf8(bytes: readonly number[]): number {
  let bad = 0;
  for (let i = 0; i < bytes.length; ) {
    const b = bytes[i]!;
    const need = b < 0x80 ? 0 : b >= 0xc2 && b <= 0xdf ? 1 : b >= 0xe0 && b <= 0xef ? 2 : b >= 0xf0 && b <= 0xf4 ? 3 : -1;
    if (need < 0) {
      bad++;
      i++;
      continue;
    }
    let ok = true;
    for (let k = 1; k <= need; k++) {
      const c = bytes[i + k];
      if (c === undefined || c < 0x80 || c > 0xbf) ok = false;
    }
    if (ok) i += need + 1;
    else {
      bad++;
      i++;
    }
  }
  return bad;
}

/** Printable ASCII banner text: ANSI escapes, controls and 8-bit bytes removed, at most 2 KiB. */
export function bannerText(text: string): string {
  return (
    text
      .slice(0, MAX_SCAN)
      // eslint-disable-next-line no-control-regex -- ANSI CSI / OSC sequences are what we remove
      .replace(/\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]{0,256}(?:\x07|\x1b\\)?|\x1b[@-Z\\-_]/g, '')
      // eslint-disable-next-line no-control-regex -- other control bytes are dropped too
      .replace(/[\x00-\x08\x0b-\x1f\x7f]/g, '')
      .replace(/[^\n\x20-\x7e]/g, '')
      .replace(/\n{3,}/g, '\n\n')
      .trim()
      .slice(0, 2048)
  );
}

/** A login prompt at the end of a banner. */
const LOGIN_PROMPT = /(?:login|username|user ?name|user|password)\s*:\s*$/i;

const T = { service: 'telnet', field: 'telnet.banner', origin: 'builtin' } as const;

/** Built-in hints over `telnet.banner` (the text after negotiation); specific first. */
export const TELNET_SIGNATURES: readonly Signature[] = [
  { ...T, pattern: /User Access Verification/, product: 'Cisco router telnetd', ostype: 'IOS', devicetype: 'router', cpe: ['cpe:2.3:o:cisco:ios:*:*:*:*:*:*:*:*'] },
  { ...T, pattern: /\bMikroTik v(\d+\.\d+(?:\.\d+)?)/, product: 'MikroTik RouterOS telnetd', version: '$1', ostype: 'RouterOS', devicetype: 'router', cpe: ['cpe:2.3:o:mikrotik:routeros:$1:*:*:*:*:*:*:*'] },
  { ...T, pattern: /\bMikroTik\b/, product: 'MikroTik RouterOS telnetd', ostype: 'RouterOS', devicetype: 'router', cpe: ['cpe:2.3:o:mikrotik:routeros:*:*:*:*:*:*:*:*'] },
  { ...T, pattern: /\bBusyBox v(\d+\.\d+(?:\.\d+)?)/, product: 'BusyBox telnetd', version: '$1', ostype: 'Linux', cpe: ['cpe:2.3:a:busybox:busybox:$1:*:*:*:*:*:*:*'] },
  { ...T, pattern: /Welcome to Microsoft Telnet Service/, product: 'Microsoft Windows telnetd', ostype: 'Windows', cpe: ['cpe:2.3:o:microsoft:windows:*:*:*:*:*:*:*:*'] },
  { ...T, pattern: /\bHP JetDirect\b/i, product: 'HP JetDirect telnetd', devicetype: 'printer' },
  { ...T, pattern: /\bHuawei\b[\s\S]*(?:Username|Password)\s*:/i, product: 'Huawei VRP telnetd', ostype: 'VRP', devicetype: 'router' },
  { ...T, pattern: /\b(?:Debian GNU\/Linux|Ubuntu \d|Raspbian|CentOS|Fedora|Red Hat Enterprise Linux)\b|\bKernel \d[\w.+-]* on an? /, product: 'Linux telnetd', ostype: 'Linux' },
  { ...T, pattern: /^\(none\) login:/m, product: 'Linux telnetd', ostype: 'Linux', confidence: 6 },
];

/** Opening negotiations of common telnetd implementations, as hex; weak hints when text says nothing. */
const NEGOTIATION_HINTS: ReadonlyArray<{ prefix: string; product: string; ostype: string }> = [
  // BusyBox telnetd: DO ECHO, DO NAWS, [DO LFLOW,] WILL ECHO, WILL SGA.
  { prefix: 'fffd01fffd1ffffb01fffb03', product: 'BusyBox telnetd', ostype: 'Linux' },
  { prefix: 'fffd01fffd1ffffd21fffb01fffb03', product: 'BusyBox telnetd', ostype: 'Linux' },
  // netkit / inetutils telnetd: DO TTYPE, DO TSPEED, DO XDISPLOC, DO NEW-ENVIRON.
  { prefix: 'fffd18fffd20fffd23fffd27', product: 'Linux telnetd', ostype: 'Linux' },
];

/**
 * Identify a telnet server from what it sent. `port` admits plain-text login prompts on telnet
 * ports; elsewhere negotiation is required.
 */
export function identifyTelnet(data: Buffer, port?: number): Identification | undefined {
  if (data.length === 0) return undefined;
  const scan = scanTelnet(data);
  if (scan.malformed) return undefined;
  const banner = bannerText(scan.text);
  // Zero tolerance for stray control bytes in short text, 2 % in long banners.
  const cleanText = scan.badBytes <= Math.floor(scan.text.length * 0.02);
  const negotiated = scan.startsWithIac && scan.negotiations.length + scan.subnegotiations > 0 && cleanText;
  const fields = { 'telnet.banner': banner };
  const hinted = matchSignatures(TELNET_SIGNATURES, undefined, fields);
  if (!negotiated) {
    const plainText = !data.subarray(0, MAX_SCAN).includes(IAC) && cleanText;
    const onPort = port !== undefined && TELNET_PORTS.includes(port);
    if (!(plainText && onPort && LOGIN_PROMPT.test(banner))) return undefined;
  }
  let id: Identification = hinted ?? { service: 'telnet', confidence: negotiated ? 7 : 5 };
  if (!hinted && negotiated) {
    const hex = data.subarray(0, 64).toString('hex');
    const hint = NEGOTIATION_HINTS.find((h) => hex.startsWith(h.prefix));
    if (hint) id = { service: 'telnet', product: hint.product, ostype: hint.ostype, confidence: 6 };
  }
  if (id.version !== undefined) id.confidence = 10;
  if (banner !== '') id.fields = fields;
  if (id.ostype === 'Linux' || id.ostype === undefined) {
    const d = distroFrom(banner.slice(0, 512));
    if (d && d.distro !== 'Windows' && d.distro !== 'FreeBSD') {
      id.distro = d.distro;
      id.ostype = 'Linux';
    }
  }
  return id;
}

/** Read predicate: the banner has reached a prompt (or is long enough to judge). */
function bannerComplete(data: Buffer): boolean {
  if (data.length >= MAX_SCAN) return true;
  const text = bannerText(scanTelnet(data).text);
  return LOGIN_PROMPT.test(text) || /User Access Verification|[>#$%]\s*$/.test(text);
}

async function followUp(ctx: ProbeContext & { previous: Identification }): Promise<Identification> {
  const { session, previous } = ctx;
  try {
    const have = bannerText(scanTelnet(session.received).text);
    // Negotiation alone often comes first; the banner follows once the server stops waiting for
    // answers. Wait for it (bounded), but not when a prompt is already here.
    if (!session.ended && !LOGIN_PROMPT.test(have) && session.remainingMs() > 100) {
      await session.read(ctx.timing.replyMs, (d) => bannerComplete(d) || bannerComplete(session.received));
    }
    const again = identifyTelnet(session.received, session.target.port);
    if (!again) return previous;
    // Keep what we knew; take the product, version and hints the banner added.
    const merged: Identification = { ...previous };
    if (again.fields) merged.fields = { ...(previous.fields ?? {}), ...again.fields };
    if (again.product !== undefined && (previous.product === undefined || again.confidence > previous.confidence)) {
      for (const k of ['product', 'version', 'ostype', 'devicetype', 'cpe'] as const) if (again[k] !== undefined) Object.assign(merged, { [k]: again[k] });
      merged.confidence = Math.max(previous.confidence, again.confidence);
    }
    if (again.distro !== undefined && merged.distro === undefined) merged.distro = again.distro;
    return merged;
  } catch {
    return previous;
  }
}

/** Telnet detector: strict IAC negotiation check, banner hints, no answers sent. */
export const detector: Detector = {
  name: 'telnet',
  ports: TELNET_PORTS,
  serverFirst: true,
  rarity: 4,
  greeting(data: Buffer, target: Target): Identification | undefined {
    return identifyTelnet(data, target.port);
  },
  followUp,
};
