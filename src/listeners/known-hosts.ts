/**
 * OpenSSH known_hosts: parse (plain, wildcard, negated and hashed `|1|salt|hash` host fields,
 * `[host]:port` names, `@revoked` / `@cert-authority` markers), look a presented host key up, and
 * append a new entry. The file is treated as hostile: every length is capped and bad lines are
 * skipped, never fatal, as OpenSSH does.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { closeSync, fstatSync, mkdirSync, openSync, readSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

/** Longest line considered; OpenSSH's own limit is far lower for sane files, keys of 16 kbit fit easily. */
const MAX_LINE_CHARS = 64 * 1024;
/** Most entries kept from one file; a bigger file is someone else's problem, not a reason to exhaust memory. */
const MAX_ENTRIES = 100_000;
/** Largest known_hosts read (bytes). */
export const MAX_KNOWN_HOSTS_BYTES = 16 * 1024 * 1024;
/** Longest single host pattern matched (wildcard matching is O(pattern × name)). */
const MAX_PATTERN_CHARS = 1024;

/** One usable line of a known_hosts file. */
export interface KnownHostEntry {
  /** 1-based line number, for messages. */
  line: number;
  marker?: 'revoked' | 'cert-authority';
  /** Comma-separated patterns, when the host field is plain. */
  patterns?: string[];
  /** HMAC-SHA1 of the host name keyed by the salt, when the host field is hashed. */
  hashed?: { salt: Buffer; hash: Buffer };
  /** Key type as written (`ssh-ed25519`, `ecdsa-sha2-nistp256`, `ssh-rsa`, …). */
  keyType: string;
  /** The public key blob (SSH wire format), base64-decoded. */
  key: Buffer;
}

const KEY_TYPE_RE = /^[A-Za-z0-9@._+-]{1,64}$/;
const BASE64_RE = /^[A-Za-z0-9+/]+={0,2}$/;

/** The key type string that starts an SSH public key blob, or null when the blob is malformed. */
export function blobKeyType(blob: Buffer): string | null {
  if (blob.length < 4) return null;
  const len = blob.readUInt32BE(0);
  if (len === 0 || len > 64 || 4 + len > blob.length) return null;
  const type = blob.subarray(4, 4 + len).toString('latin1');
  return KEY_TYPE_RE.test(type) ? type : null;
}

/** OpenSSH's fingerprint of a key blob: `SHA256:` and unpadded base64 of its SHA-256. */
export function fingerprint(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/** The name known_hosts stores for a host and port: bare for 22, `[host]:port` otherwise; lower case as OpenSSH does. */
export function knownHostName(host: string, port: number): string {
  const h = host.toLowerCase();
  return port === 22 ? h : `[${h}]:${port}`;
}

function parseHashed(field: string): { salt: Buffer; hash: Buffer } | null {
  // |1|base64(salt)|base64(hmac)
  const parts = field.split('|');
  if (parts.length !== 4 || parts[0] !== '' || parts[1] !== '1') return null;
  const [salt, hash] = [parts[2] ?? '', parts[3] ?? ''];
  if (!BASE64_RE.test(salt) || !BASE64_RE.test(hash)) return null;
  const s = Buffer.from(salt, 'base64');
  const h = Buffer.from(hash, 'base64');
  return s.length === 20 && h.length === 20 ? { salt: s, hash: h } : null;
}

/** One line to an entry, or null for a comment, a blank or a malformed line. */
function parseLine(text: string, line: number): KnownHostEntry | null {
  if (text.length > MAX_LINE_CHARS) return null;
  const fields = text.trim().split(/[ \t]+/);
  if (fields[0] === undefined || fields[0] === '' || fields[0].startsWith('#')) return null;
  let marker: KnownHostEntry['marker'];
  if (fields[0].startsWith('@')) {
    if (fields[0] === '@revoked') marker = 'revoked';
    else if (fields[0] === '@cert-authority') marker = 'cert-authority';
    else return null;
    fields.shift();
  }
  const [hosts, keyType, b64] = fields;
  if (hosts === undefined || keyType === undefined || b64 === undefined) return null;
  if (!KEY_TYPE_RE.test(keyType) || !BASE64_RE.test(b64)) return null;
  const key = Buffer.from(b64, 'base64');
  // The blob names its own type; a line whose two disagree is corrupt (OpenSSH rejects it too).
  if (blobKeyType(key) !== keyType) return null;
  const entry: KnownHostEntry = { line, keyType, key };
  if (marker !== undefined) entry.marker = marker;
  if (hosts.startsWith('|')) {
    const hashed = parseHashed(hosts);
    if (hashed === null) return null;
    entry.hashed = hashed;
  } else {
    entry.patterns = hosts.split(',').filter((p) => p !== '' && p.length <= MAX_PATTERN_CHARS);
    if (entry.patterns.length === 0) return null;
  }
  return entry;
}

/** Every usable entry of a known_hosts text; bad lines are skipped. At most 100 000 entries. */
export function parseKnownHosts(text: string): KnownHostEntry[] {
  const out: KnownHostEntry[] = [];
  let start = 0;
  let line = 0;
  while (start < text.length && out.length < MAX_ENTRIES) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = text.length;
    line++;
    const e = parseLine(text.slice(start, end).replace(/\r$/, ''), line);
    if (e !== null) out.push(e);
    start = end + 1;
  }
  return out;
}

/**
 * `*` / `?` glob match, case-insensitive, without regular expressions (no backtracking blow-up):
 * the classic greedy scan that remembers the last star, O(pattern × name) at worst.
 */
export function globMatch(pattern: string, name: string): boolean {
  const p = pattern.toLowerCase();
  const s = name.toLowerCase();
  let pi = 0;
  let si = 0;
  let star = -1;
  let mark = 0;
  while (si < s.length) {
    if (pi < p.length && (p[pi] === '?' || p[pi] === s[si])) {
      pi++;
      si++;
    } else if (pi < p.length && p[pi] === '*') {
      star = pi++;
      mark = si;
    } else if (star !== -1) {
      pi = star + 1;
      si = ++mark;
    } else {
      return false;
    }
  }
  while (pi < p.length && p[pi] === '*') pi++;
  return pi === p.length;
}

/** Whether an entry's host field names `name` (as made by knownHostName). A matching `!pattern` excludes it. */
export function entryMatches(entry: KnownHostEntry, name: string): boolean {
  if (entry.hashed !== undefined) {
    const mac = createHmac('sha1', entry.hashed.salt).update(name).digest();
    return timingSafeEqual(mac, entry.hashed.hash);
  }
  let positive = false;
  for (const pat of entry.patterns ?? []) {
    if (pat.startsWith('!')) {
      if (globMatch(pat.slice(1), name)) return false;
    } else if (globMatch(pat, name)) {
      positive = true;
    }
  }
  return positive;
}

/** What known_hosts says about a presented host key. */
export type HostKeyVerdict =
  | { status: 'known'; line: number }
  | { status: 'unknown' }
  /** The host is known with other keys: `expected` lists them (possibly of other types). */
  | { status: 'mismatch'; expected: KnownHostEntry[] }
  | { status: 'revoked'; line: number };

/** Look a host key blob up for `host` on `port`. A revoked key is refused even when also listed as known. */
export function checkHostKey(entries: readonly KnownHostEntry[], host: string, port: number, key: Buffer): HostKeyVerdict {
  const name = knownHostName(host, port);
  const forHost: KnownHostEntry[] = [];
  let knownLine = -1;
  for (const e of entries) {
    if (e.marker === 'revoked') {
      // @revoked applies to the key wherever it is presented; the host field still has to match in OpenSSH, but refusing more is safe.
      if (e.key.equals(key)) return { status: 'revoked', line: e.line };
      continue;
    }
    // Certificates are not supported: a CA line never vouches for a plain key.
    if (e.marker === 'cert-authority' || !entryMatches(e, name)) continue;
    forHost.push(e);
    if (knownLine === -1 && e.key.equals(key)) knownLine = e.line;
  }
  if (knownLine !== -1) return { status: 'known', line: knownLine };
  return forHost.length === 0 ? { status: 'unknown' } : { status: 'mismatch', expected: forHost };
}

/** Host key signature algorithms we offer, strongest-first (no SHA-1 `ssh-rsa` signatures). */
export const HOST_KEY_ALGORITHMS = [
  'ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'rsa-sha2-512', 'rsa-sha2-256',
] as const;

function algorithmsFor(keyType: string): string[] {
  return keyType === 'ssh-rsa' ? ['rsa-sha2-512', 'rsa-sha2-256'] : [keyType];
}

/**
 * The host key algorithm list to offer: the types known_hosts has for this host first, so a server
 * with several host keys presents the one we can check (what OpenSSH does), then the rest.
 */
export function preferredHostKeyAlgorithms(entries: readonly KnownHostEntry[], host: string, port: number): string[] {
  const name = knownHostName(host, port);
  const first: string[] = [];
  for (const e of entries) {
    if (e.marker !== undefined || !entryMatches(e, name)) continue;
    for (const a of algorithmsFor(e.keyType)) {
      if ((HOST_KEY_ALGORITHMS as readonly string[]).includes(a) && !first.includes(a)) first.push(a);
    }
  }
  return [...first, ...HOST_KEY_ALGORITHMS.filter((a) => !first.includes(a))];
}

/** The known_hosts line for a new key (plain host field, like `ssh -o StrictHostKeyChecking=accept-new` with HashKnownHosts off). */
export function formatKnownHostsLine(host: string, port: number, key: Buffer): string {
  const type = blobKeyType(key);
  if (type === null) throw new Error('malformed host key blob');
  return `${knownHostName(host, port)} ${type} ${key.toString('base64')}\n`;
}

/** Read a known_hosts file (at most 16 MiB are read); a missing file is an empty one. */
export function readKnownHosts(path: string): KnownHostEntry[] {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  try {
    const size = Math.min(fstatSync(fd).size, MAX_KNOWN_HOSTS_BYTES);
    const buf = Buffer.alloc(size);
    let got = 0;
    while (got < size) {
      const n = readSync(fd, buf, got, size - got, got);
      if (n === 0) break;
      got += n;
    }
    return parseKnownHosts(buf.subarray(0, got).toString('utf8'));
  } finally {
    closeSync(fd);
  }
}

/**
 * Append a line to known_hosts, creating the file with mode 0600 (and its directory with 0700) if
 * needed. A file whose last line lacks a newline gets one first, so the new entry stays its own line.
 */
export function appendKnownHost(path: string, line: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const fd = openSync(path, 'a+', 0o600);
  try {
    const size = fstatSync(fd).size;
    let prefix = '';
    if (size > 0) {
      const last = Buffer.alloc(1);
      readSync(fd, last, 0, 1, size - 1);
      if (last[0] !== 0x0a) prefix = '\n';
    }
    writeSync(fd, prefix + line);
  } finally {
    closeSync(fd);
  }
}
