/**
 * Helpers detectors share for reading text protocols out of untrusted bytes. Everything here is
 * pure and bounded: inputs are sliced before any regular expression sees them. The one exception,
 * `codedCommand`, sends a line on a Session and reads one reply through the Session's own caps.
 */
import type { Session } from './types.js';

/** Longest slice of a reply that line matchers look at; a 1 MiB line costs no more than this. */
export const MAX_MATCH_BYTES = 8192;

/** Decode bytes as Latin-1 (every byte maps to one character; never throws), bounded. */
export function latin1(data: Buffer, max = MAX_MATCH_BYTES): string {
  return data.subarray(0, max).toString('latin1');
}

/** True once `data` holds at least one CRLF- or LF-terminated line. */
export function hasLine(data: Buffer): boolean {
  return data.indexOf(0x0a) >= 0;
}

/** The complete lines in `data` (without terminators), bounded by MAX_MATCH_BYTES. */
export function lines(data: Buffer, max = MAX_MATCH_BYTES): string[] {
  const text = latin1(data, max);
  const last = text.lastIndexOf('\n');
  if (last < 0) return [];
  return text.slice(0, last).split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
}

/** The first line (terminated or not), without CR/LF, bounded. */
export function firstLine(data: Buffer, max = 1024): string {
  const text = latin1(data, max);
  const nl = text.indexOf('\n');
  const line = nl >= 0 ? text.slice(0, nl) : text;
  return line.endsWith('\r') ? line.slice(0, -1) : line;
}

/** A reply of a line protocol with three-digit codes (FTP, SMTP), multi-line form folded. */
export interface CodedReply {
  code: number;
  /** Text of each line, code and separator removed, control characters stripped. */
  lines: string[];
  /** The closing `NNN ` line was seen. */
  complete: boolean;
}

/** Lines of one reply we keep; a server sending more is cut off here (the text is bounded too). */
const MAX_REPLY_LINES = 64;

/**
 * Parse the first reply in `data`: `NNN text` or `NNN-text … NNN text` (RFC 959 §4.2, RFC 5321
 * §4.2.1). Strict on the first line; an unterminated last line counts, so a banner without CRLF
 * still parses (but is not `complete`). Undefined when the data does not start with a reply.
 */
export function parseCodedReply(data: Buffer): CodedReply | undefined {
  const text = latin1(data);
  const raw = text.split('\n', MAX_REPLY_LINES + 1).slice(0, MAX_REPLY_LINES).map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
  const first = /^([1-5]\d\d)([ -])(.*)$|^([1-5]\d\d)$/.exec(raw[0] ?? '');
  if (!first) return undefined;
  const codeText = first[1] ?? first[4]!;
  const code = Number(codeText);
  const out: string[] = [cleanField(first[3] ?? '', 512)];
  // A reply is whole only once its closing line is terminated: a segment may end mid-line.
  if (first[2] !== '-') return { code, lines: out, complete: raw.length > 1 };
  for (let i = 1; i < raw.length; i++) {
    const line = raw[i]!;
    // The last element may be an unterminated fragment: it cannot close the reply yet.
    const terminated = i < raw.length - 1 || text.endsWith('\n');
    if (terminated && (line === codeText || line.startsWith(`${codeText} `))) {
      out.push(cleanField(line.slice(4), 512));
      return { code, lines: out, complete: true };
    }
    if (line === '' && !terminated) break;
    out.push(cleanField(line.startsWith(`${codeText}-`) ? line.slice(4) : line, 512));
  }
  return { code, lines: out, complete: false };
}

/**
 * Read predicate for coded-reply protocols (FTP, SMTP): the first reply in the data is whole, its
 * closing `NNN ` line (same code as the first) terminated.
 */
export function codedReplyComplete(data: Buffer): boolean {
  return parseCodedReply(data)?.complete === true;
}

/**
 * Send one command line of a coded-reply protocol (FTP, SMTP) and read its reply, the wait ending
 * as soon as the reply is whole. Undefined when the connection is gone, the budget is nearly
 * spent, or the answer is not a coded reply.
 */
export async function codedCommand(session: Session, line: string, timeoutMs: number): Promise<CodedReply | undefined> {
  if (session.ended || session.remainingMs() < 50) return undefined;
  session.send(`${line}\r\n`);
  const r = await session.read(timeoutMs, codedReplyComplete);
  return parseCodedReply(r.data);
}

/**
 * `word` (a regular-expression fragment such as `E?SMTP`) as a token of its own in `text`, not
 * part of a host name such as `ftp.example.com`.
 */
export function hasToken(text: string, word: string): boolean {
  return new RegExp(`(?:^|[^\\w.-])${word}(?![\\w.-])`, 'i').test(text.slice(0, MAX_MATCH_BYTES));
}

/** Printable rendering of a banner for `unknown` services: controls as \xNN, at most `max` chars. */
export function printable(data: Buffer, max = 256): string {
  let out = '';
  for (const byte of data.subarray(0, max)) {
    if (byte === 0x0d) out += '\\r';
    else if (byte === 0x0a) out += '\\n';
    else if (byte === 0x5c) out += '\\\\';
    else if (byte >= 0x20 && byte < 0x7f) out += String.fromCharCode(byte);
    else out += `\\x${byte.toString(16).padStart(2, '0')}`;
  }
  return out;
}

/** Strip anything but printable ASCII from a short field read from a banner (product, version). */
export function cleanField(s: string, max = 120): string {
  // Everything outside printable ASCII goes: control characters, DEL and high bytes.
  return s.replace(/[^\x20-\x7e]/g, '').trim().slice(0, max);
}

/** Debian/Ubuntu package revision hints in a version string (`Debian-2+deb12u3`, `Ubuntu-3ubuntu13.4`). */
export function distroFrom(text: string): { distro: string; revision?: string; ostype: string } | undefined {
  const m = /\b(Debian|Ubuntu|Raspbian)[-_ ]?((?:\d+[\w.+~]*)?)/i.exec(text);
  if (!m) {
    if (/\b(?:FreeBSD)\b/.test(text)) return { distro: 'FreeBSD', ostype: 'FreeBSD' };
    if (/\b(?:CentOS|Red Hat|RHEL|Fedora|AlmaLinux|Rocky)\b/i.test(text)) return { distro: /\bFedora\b/i.test(text) ? 'Fedora' : /\bCentOS\b/i.test(text) ? 'CentOS' : 'Red Hat', ostype: 'Linux' };
    if (/\b(?:Win32|Win64|Windows|Microsoft)\b/.test(text)) return { distro: 'Windows', ostype: 'Windows' };
    return undefined;
  }
  const distro = m[1]!.charAt(0).toUpperCase() + m[1]!.slice(1).toLowerCase();
  const revision = m[2] ? m[2] : undefined;
  return revision !== undefined ? { distro, revision, ostype: 'Linux' } : { distro, ostype: 'Linux' };
}
