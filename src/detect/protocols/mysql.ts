/**
 * MySQL / MariaDB: the server speaks first with a handshake packet (protocol 10) that carries the
 * server version string, or with an error packet (0xff) when it refuses the client outright
 * ("Host … is not allowed to connect", "Too many connections"). The version string names the fork
 * (MariaDB prefixes `5.5.5-` for old replication clients) and, on distribution builds, the package
 * revision. The follow-up upgrades to TLS when the server offers it, without ever logging in.
 */
import { cpe23 } from '../../core/cpe.js';
import { matchSignatures, type Signature } from '../signature.js';
import { cleanField } from '../text.js';
import type { Detector, Identification, ProbeContext, Target } from '../types.js';

/** A real handshake is ~80–120 bytes; anything claiming more than this is not a MySQL greeting. */
const MAX_GREETING_PAYLOAD = 1024;
/** Longest server version string we accept (real ones are < 64). */
const MAX_VERSION = 128;
/** Capability bit: the server can switch to TLS after an SSLRequest packet. */
const CLIENT_SSL = 0x0800;
const CLIENT_PROTOCOL_41 = 0x0200;
const CLIENT_SECURE_CONNECTION = 0x8000;
const CLIENT_LONG_PASSWORD = 0x0001;

/** The parts of the initial handshake packet we use. */
export interface MysqlHandshake {
  /** 10 (or 9 for 3.x-era servers). */
  protocol: number;
  /** Server version string as sent (`5.5.5-10.11.19-MariaDB-0+deb12u1`). */
  serverVersion: string;
  connectionId?: number;
  /** Lower and upper capability words combined (upper 0 when absent). */
  capabilities?: number;
  /** Default collation id. */
  charset?: number;
  /** `mysql_native_password`, `caching_sha2_password`, … */
  authPlugin?: string;
}

/** A pre-handshake error packet. */
export interface MysqlError {
  code: number;
  sqlState?: string;
  message: string;
}

/** Length and sequence of the first packet, or undefined when fewer than 4 bytes arrived. */
function header(data: Buffer): { len: number; seq: number } | undefined {
  if (data.length < 4) return undefined;
  return { len: data[0]! | (data[1]! << 8) | (data[2]! << 16), seq: data[3]! };
}

/** Completeness predicate for the first packet: whole, or its length is implausible (stop waiting). */
export function firstPacketComplete(data: Buffer): boolean {
  const h = header(data);
  if (!h) return false;
  if (h.len === 0 || h.len > MAX_GREETING_PAYLOAD) return true;
  return data.length >= 4 + h.len;
}

/** NUL-terminated string at `off` within `end`, or undefined when no NUL is found in `max` bytes. */
function cstring(buf: Buffer, off: number, end: number, max: number): { s: string; next: number } | undefined {
  const limit = Math.min(end, off + max + 1);
  const nul = buf.subarray(off, limit).indexOf(0);
  if (nul < 0) return undefined;
  return { s: buf.toString('latin1', off, off + nul), next: off + nul + 1 };
}

/**
 * Parse the handshake packet. Strict enough not to claim other protocols: sequence 0, a length
 * that fits what follows, protocol 9/10, a printable version string starting with a digit, and the
 * fixed fields after it present. Later optional fields are read only while they fit.
 */
export function parseHandshake(data: Buffer): MysqlHandshake | undefined {
  const h = header(data);
  if (!h || h.seq !== 0 || h.len < 2 || h.len > MAX_GREETING_PAYLOAD) return undefined;
  const end = 4 + Math.min(h.len, data.length - 4);
  const protocol = data[4]!;
  if (protocol !== 10 && protocol !== 9) return undefined;
  const v = cstring(data, 5, end, MAX_VERSION);
  if (!v || !/^\d[\x20-\x7e]*$/.test(v.s)) return undefined;
  const hs: MysqlHandshake = { protocol, serverVersion: v.s };
  let off = v.next;
  if (protocol === 9) return hs;
  // connection id (4), auth-plugin-data part 1 (8), filler (1), capability flags lower (2)
  if (off + 15 > end) return undefined;
  hs.connectionId = data.readUInt32LE(off);
  if (data[off + 12] !== 0) return undefined;
  let caps = data.readUInt16LE(off + 13);
  off += 15;
  if (off + 16 <= end) {
    hs.charset = data[off]!;
    caps |= data.readUInt16LE(off + 3) << 16;
    const authLen = data[off + 5]!;
    off += 16; // charset 1, status 2, caps upper 2, auth data length 1, reserved 10
    if ((caps & CLIENT_SECURE_CONNECTION) !== 0) off += Math.max(13, authLen - 8);
    if (off < end) {
      const plugin = cstring(data, off, end, 64);
      if (plugin && /^[\w-]{1,64}$/.test(plugin.s)) hs.authPlugin = plugin.s;
    }
  }
  hs.capabilities = caps >>> 0;
  return hs;
}

/** Parse an error packet sent instead of a handshake (seq 0, or 1 from some proxies). */
export function parseErrorPacket(data: Buffer): MysqlError | undefined {
  const h = header(data);
  if (!h || h.seq > 1 || h.len < 3 || h.len > 512 || data[4] !== 0xff || data.length < 7) return undefined;
  const end = Math.min(4 + h.len, data.length);
  const code = data.readUInt16LE(5);
  // Server and client error numbers live in 1000–5000; MySQL 8 adds some above 10000.
  if (code < 1000 || code > 20000) return undefined;
  let off = 7;
  let sqlState: string | undefined;
  if (data[off] === 0x23 && off + 6 <= end) {
    sqlState = data.toString('latin1', off + 1, off + 6);
    if (!/^[0-9A-Z]{5}$/.test(sqlState)) return undefined;
    off += 6;
  }
  const raw = data.toString('latin1', off, end);
  // eslint-disable-next-line no-control-regex -- a message with control bytes is not MySQL's
  if (raw.length === 0 || /[\x00-\x08\x0b-\x1f\x7f]/.test(raw)) return undefined;
  const message = cleanField(raw, 256);
  return sqlState !== undefined ? { code, sqlState, message } : { code, message };
}

const F = { service: 'mysql', field: 'mysql.banner', origin: 'builtin' } as const;
const cpeV = (vendor: string, product: string, group = '$1'): string => `cpe:2.3:a:${vendor}:${product}:${group}:*:*:*:*:*:*:*`;

/**
 * Built-in table over `mysql.banner` (the handshake's server version). Order is priority: forks
 * and MySQL-protocol look-alikes first, plain MySQL last. Version groups admit `[\d.\-]` only.
 */
export const MYSQL_SIGNATURES: readonly Signature[] = [
  { ...F, pattern: /^(?:5\.5\.5-)?(\d+\.\d+\.\d+)-MariaDB\b/, product: 'MariaDB', version: '$1', cpe: [cpeV('mariadb', 'mariadb')] },
  { ...F, pattern: /-TiDB-v(\d+\.\d+\.\d+)/, product: 'TiDB', version: '$1', cpe: [cpeV('pingcap', 'tidb')] },
  { ...F, pattern: /^\d+\.\d+\.\d+-Vitess\b/, product: 'Vitess', cpe: ['cpe:2.3:a:vitess:vitess:*:*:*:*:*:*:*:*'] },
  { ...F, pattern: /\(ProxySQL\)/, product: 'ProxySQL', cpe: ['cpe:2.3:a:proxysql:proxysql:*:*:*:*:*:*:*:*'] },
  { ...F, pattern: /\bManticore (\d+\.\d+\.\d+)/, product: 'Manticore Search', version: '$1' },
  { ...F, pattern: /^(\d+\.\d+\.\d+)(?:-id64)?-(?:release|beta|dev)\b/, product: 'Sphinx Search', version: '$1', cpe: [cpeV('sphinxsearch', 'sphinx')] },
  { ...F, pattern: /^\d+\.\d+\.mysql_aurora\.(\d+\.\d+\.\d+)/, product: 'Amazon Aurora MySQL', version: '$1' },
  // Percona Server appends its own build number (`8.0.35-27`, `5.7.44-48-log`); Oracle builds never do.
  { ...F, pattern: /^(\d+\.\d+\.\d+-\d+(?:\.\d+)?)(?:-\d+)?(?:-log|-debug)?$/, product: 'Percona Server', version: '$1', cpe: [cpeV('percona', 'percona_server')] },
  { ...F, pattern: /^(\d+\.\d+\.\d+)(?:[-+~.:\w]*)$/, product: 'MySQL', version: '$1', cpe: [cpeV('oracle', 'mysql')] },
];

/** Suffixes the server appends for its own modes, not part of a package revision. */
const MODE_SUFFIX = /(?:-(?:log|debug|valgrind|embedded|cluster|enterprise|commercial|community|gpl|standard|nt))+$/i;

/**
 * Distribution and package revision from a version string's suffix: `…-MariaDB-0+deb12u1`,
 * `8.0.36-0ubuntu0.22.04.1`, `…-MariaDB-1:10.11.6+maria~ubu2204` (MariaDB's own repository).
 */
export function mysqlDistro(serverVersion: string): { distro: string; revision: string } | undefined {
  const m = /^(?:5\.5\.5-)?\d+\.\d+\.\d+(?:-MariaDB)?-(.+)$/.exec(serverVersion.slice(0, MAX_VERSION));
  if (!m) return undefined;
  const revision = m[1]!.replace(MODE_SUFFIX, '');
  if (revision === '' || !/^\d/.test(revision)) return undefined;
  if (/ubuntu|~ubu\d/i.test(revision)) return { distro: 'Ubuntu', revision };
  if (/\+deb\d|~deb\d|debian/i.test(revision)) return { distro: 'Debian', revision };
  if (/\.el\d/.test(revision)) return { distro: 'Red Hat', revision };
  if (/\.fc\d/.test(revision)) return { distro: 'Fedora', revision };
  return undefined;
}

/** Identification from a handshake packet. */
export function identifyHandshake(hs: MysqlHandshake): Identification {
  const banner = cleanField(hs.serverVersion, MAX_VERSION);
  const fields: Record<string, string> = { 'mysql.banner': banner };
  if (hs.authPlugin !== undefined) fields['mysql.auth_plugin'] = hs.authPlugin;
  const id: Identification = matchSignatures(MYSQL_SIGNATURES, undefined, fields) ?? { service: 'mysql', confidence: 7 };
  id.fields = fields;
  if (id.version !== undefined) id.confidence = 10;
  const d = mysqlDistro(banner);
  if (d && id.product !== 'Percona Server') {
    id.distro = d.distro;
    id.packageRevision = cleanField(d.revision, 64);
    id.ostype = 'Linux';
  }
  if (hs.capabilities !== undefined && (hs.capabilities & CLIENT_SSL) !== 0) id.startTls = true;
  return id;
}

/** What an error code says about the refusal, for extrainfo. */
const ERROR_NOTES: Readonly<Record<number, string>> = {
  1040: 'too many connections',
  1129: 'host blocked',
  1130: 'unauthorized',
};

/** Identification from a refusal packet; the product only when the text names it. */
export function identifyError(err: MysqlError): Identification {
  const id: Identification = { service: 'mysql', confidence: 7 };
  if (/\bMariaDB\b|mariadb-admin/.test(err.message)) {
    id.product = 'MariaDB';
    id.cpe = [cpe23('a', 'mariadb', 'mariadb')];
    id.confidence = 8;
  } else if (/\bMySQL\b/.test(err.message)) {
    id.product = 'MySQL';
    id.cpe = [cpe23('a', 'oracle', 'mysql')];
    id.confidence = 8;
  }
  const note = ERROR_NOTES[err.code];
  if (note !== undefined) id.extrainfo = note;
  id.fields = { 'mysql.error': err.message, 'mysql.error.code': String(err.code) };
  return id;
}

/** Identify what a MySQL-protocol server sent first; undefined when it is not that protocol. */
export function identifyMysql(data: Buffer): Identification | undefined {
  const hs = parseHandshake(data);
  if (hs) return identifyHandshake(hs);
  const err = parseErrorPacket(data);
  return err ? identifyError(err) : undefined;
}

/**
 * The SSLRequest packet (sequence 1): the client's capability flags with CLIENT_SSL, a max packet
 * size and a collation, no user name — the server then expects a TLS ClientHello.
 */
export function sslRequestPacket(): Buffer {
  const p = Buffer.alloc(36);
  p.writeUIntLE(32, 0, 3);
  p[3] = 1;
  p.writeUInt32LE(CLIENT_SSL | CLIENT_PROTOCOL_41 | CLIENT_SECURE_CONNECTION | CLIENT_LONG_PASSWORD, 4);
  p.writeUInt32LE(16 * 1024 * 1024, 8);
  p[12] = 45; // utf8mb4_general_ci
  return p;
}

async function probe(ctx: ProbeContext): Promise<Identification | undefined> {
  const { session } = ctx;
  // The client sends nothing: wait for the rest of the greeting if it is not all here yet.
  if (!firstPacketComplete(session.received) && !session.ended && session.sentBytes === 0) {
    const before = session.received;
    await session.read(ctx.timing.replyMs, (d) => firstPacketComplete(Buffer.concat([before, d])));
  }
  return identifyMysql(session.received);
}

async function followUp(ctx: ProbeContext & { previous: Identification }): Promise<Identification> {
  const { session, previous } = ctx;
  // Upgrade only on the untouched handshake connection of a server that offers TLS.
  if (!previous.startTls || session.target.tunnel === 'ssl' || session.ended || session.sentBytes !== 0) return previous;
  try {
    session.send(sslRequestPacket());
    const tls = await session.startTls();
    return tls ? { ...previous, tls } : previous;
  } catch {
    return previous;
  }
}

/** MySQL, MariaDB, Percona and MySQL-protocol servers on 3306. */
export const detector: Detector = {
  name: 'mysql',
  ports: [3306, 3307],
  serverFirst: true,
  rarity: 1,
  greeting: (data: Buffer, _target: Target) => identifyMysql(data),
  probe,
  followUp,
};
