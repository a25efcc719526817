/**
 * PostgreSQL: the client speaks first. An SSLRequest (length 8, code 80877103) is answered with a
 * single byte, `S` (TLS available) or `N`; after `N` the same connection accepts a StartupMessage.
 * We send one asking for protocol 4.0, which no server supports, so the server rejects it before any
 * authentication with an ErrorResponse — no user name, database or credential is ever sent. That
 * error names the protocol range the server speaks and the source file, line and routine that raised
 * it, which narrow the major version.
 *
 * Measured here: PostgreSQL 15.20 (Debian 15.20-0+deb12u1) answers the 4.0 startup with
 * `SFATAL VFATAL C0A000 M"unsupported frontend protocol 4.0: server supports 3.0 to 3.0"
 * Fpostmaster.c L2220 RProcessStartupPacket` and the SSLRequest with `N` (no ssl configured).
 */
import { cpe23 } from '../../core/cpe.js';
import { cleanField } from '../text.js';
import type { Detector, Identification, ProbeContext, Session, Target } from '../types.js';

/** SSLRequest: length 8, request code 1234.5679. */
export const SSL_REQUEST = Buffer.from('0000000804d2162f', 'hex');
/** StartupMessage for protocol 4.0 with no parameters: rejected by every PostgreSQL release. */
export const STARTUP_V4 = Buffer.from('0000000800040000', 'hex');

/** Real startup errors are ~130 bytes; the field limit keeps a hostile length from mattering. */
const MAX_ERROR_LEN = 4096;
const MAX_FIELDS = 24;
/** Field codes the protocol defines for ErrorResponse / NoticeResponse. */
const FIELD_CODES = new Set('SVCMDHPpqWstcdnFLR');

/** ErrorResponse fields by their one-letter code (S severity, C SQLSTATE, M message, F/L/R source). */
export type PgErrorFields = Partial<Record<string, string>>;

/** A parsed reply to the startup packet. */
export interface PgError {
  fields: PgErrorFields;
  /** True for the protocol-2 style `E` + text reply (no fields). */
  legacy: boolean;
}

/** Completeness predicate for an SSLRequest answer: one byte `S`/`N`, or a whole error message. */
export function sslAnswerComplete(data: Buffer): boolean {
  if (data.length === 0) return false;
  if (data[0] === 0x53 || data[0] === 0x4e) return true;
  return errorComplete(data);
}

/** Completeness predicate for an ErrorResponse (v3 with its length, or protocol-2 NUL-terminated). */
export function errorComplete(data: Buffer): boolean {
  if (data.length === 0) return false;
  if (data[0] !== 0x45) return true; // not an error: nothing more to wait for
  if (data.length < 5) return false;
  const len = data.readInt32BE(1);
  if (len >= 0x01000000 || len < 0) {
    // Protocol-2 style text error: `E` + text + NUL. Its second byte is a letter, so the "length" is huge.
    return data.indexOf(0, 1) > 0 || data.length > MAX_ERROR_LEN;
  }
  if (len < 5 || len > MAX_ERROR_LEN) return true;
  return data.length >= 1 + len;
}

/**
 * Parse an ErrorResponse. Strict: type `E`, a length that fits both the bytes and our bound, known
 * field codes each with a NUL-terminated printable value, a terminating NUL exactly at the end, and
 * S, C (SQLSTATE shape) and M present. The protocol-2 `E<text>\0` form is accepted when its text
 * starts with a severity.
 */
export function parseErrorResponse(data: Buffer): PgError | undefined {
  if (data.length < 5 || data[0] !== 0x45) return undefined;
  const len = data.readInt32BE(1);
  if (len >= 0x01000000 || len < 0) return parseLegacy(data);
  if (len < 5 || len > MAX_ERROR_LEN || data.length < 1 + len) return undefined;
  const end = 1 + len;
  const fields: PgErrorFields = {};
  let off = 5;
  for (let n = 0; n <= MAX_FIELDS; n++) {
    if (off >= end) return undefined;
    const code = String.fromCharCode(data[off]!);
    if (data[off] === 0) {
      if (off !== end - 1) return undefined;
      return validFields(fields) ? { fields, legacy: false } : undefined;
    }
    if (!FIELD_CODES.has(code) || fields[code] !== undefined) return undefined;
    const nul = data.indexOf(0, off + 1);
    if (nul < 0 || nul >= end) return undefined;
    const value = data.toString('latin1', off + 1, nul);
    // eslint-disable-next-line no-control-regex -- control bytes in a field mean this is not PostgreSQL
    if (/[\x00-\x08\x0b-\x1f\x7f]/.test(value)) return undefined;
    fields[code] = value;
    off = nul + 1;
  }
  return undefined;
}

function validFields(f: PgErrorFields): boolean {
  return f.S !== undefined && /^[A-Z]{3,10}$/.test(f.V ?? f.S) && f.C !== undefined && /^[0-9A-Z]{5}$/.test(f.C) && f.M !== undefined && (f.L === undefined || /^\d{1,6}$/.test(f.L));
}

function parseLegacy(data: Buffer): PgError | undefined {
  const nul = data.indexOf(0, 1);
  if (nul < 0 || nul > MAX_ERROR_LEN) return undefined;
  const text = data.toString('latin1', 1, nul);
  const m = /^(FATAL|ERROR|PANIC): {2}([\x20-\x7e]{1,512})\n?$/.exec(text);
  if (!m) return undefined;
  return { fields: { S: m[1]!, M: m[2]! }, legacy: true };
}

/** Protocol range named in the rejection ("server supports 3.0 to 3.0"), localised text included. */
export function protocolRange(message: string): { earliest: string; latest: string } | undefined {
  const m = /(\d{1,2}\.\d{1,2})\D{1,40}?(\d{1,2}\.\d{1,2})\s*$/.exec(message.slice(0, 512));
  return m ? { earliest: m[1]!, latest: m[2]! } : undefined;
}

/**
 * Release ranges by protocol range, from the release notes: protocol 1.0 was dropped in 10,
 * 2.0 in 14, and 3.2 added in 18. Only "3.0 to 3.0" (15.20) was measured on a real server here.
 */
const RANGE_RELEASES: Readonly<Record<string, string>> = {
  '1.0-3.0': '7.4-9.6',
  '2.0-3.0': '10-13',
  '3.0-3.0': '14-17',
  '3.0-3.2': '18+',
};

/** Source positions of the 4.0 rejection seen on real servers, to name the exact build measured. */
const MEASURED: readonly { file: string; line: string; seen: string }[] = [{ file: 'postmaster.c', line: '2220', seen: '15.20' }];

/** Identification from an ErrorResponse to our startup (or to anything else a client sent). */
export function identifyError(err: PgError, ssl?: boolean): Identification {
  const f = err.fields;
  const id: Identification = { service: 'postgresql', confidence: 7 };
  const fromPostgres = f.R !== undefined && /\.c$/.test(f.F ?? '');
  if (fromPostgres || err.legacy) {
    id.product = 'PostgreSQL DB';
    id.cpe = [cpe23('a', 'postgresql', 'postgresql')];
    id.confidence = 8;
  }
  const notes: string[] = [];
  const range = f.C === '0A000' || err.legacy ? protocolRange(f.M ?? '') : undefined;
  if (range) {
    notes.push(range.earliest === range.latest ? `protocol ${range.latest}` : `protocol ${range.earliest}-${range.latest}`);
    let releases = RANGE_RELEASES[`${range.earliest}-${range.latest}`];
    // The unlocalised severity (V) exists since 9.6, which narrows the oldest range.
    if (releases === '7.4-9.6' && f.V !== undefined) releases = '9.6';
    if (releases !== undefined && id.product !== undefined) notes.push(`versions ${releases}`);
  }
  const measured = MEASURED.find((m) => m.file === f.F && m.line === f.L);
  if (measured && range) notes.push(`${measured.file}:${measured.line} as in ${measured.seen}`);
  if (notes.length > 0) id.extrainfo = notes.join('; ');
  if (ssl) id.startTls = true;
  const fields: Record<string, string> = {};
  for (const [code, key] of [['C', 'code'], ['M', 'message'], ['F', 'file'], ['L', 'line'], ['R', 'routine']] as const) {
    const v = f[code];
    if (v !== undefined) fields[`postgresql.error.${key}`] = cleanField(v, 256);
  }
  id.fields = fields;
  return id;
}

/** Recognise an ErrorResponse a PostgreSQL server sent to some other probe. */
export function identifyPostgresql(data: Buffer): Identification | undefined {
  const err = parseErrorResponse(data);
  // A bare protocol-2 text error is too weak on its own for an unsolicited match.
  return err && !err.legacy ? identifyError(err) : undefined;
}

/** Send the 4.0 startup on `session` and identify from the rejection. */
async function startup(ctx: ProbeContext, session: Session, ssl?: boolean): Promise<Identification | undefined> {
  if (session.ended) return undefined;
  session.send(STARTUP_V4);
  const r = await session.read(ctx.timing.replyMs, errorComplete);
  const err = parseErrorResponse(r.data);
  return err ? identifyError(err, ssl) : undefined;
}

/** Weak identification from the SSLRequest answer alone. */
function fromSslAnswer(ssl: boolean): Identification {
  const id: Identification = { service: 'postgresql', product: 'PostgreSQL DB', confidence: 5, cpe: [cpe23('a', 'postgresql', 'postgresql')] };
  if (ssl) id.startTls = true;
  return id;
}

async function probe(ctx: ProbeContext): Promise<Identification | undefined> {
  const { session } = ctx;
  if (session.ended || session.received.length > 0) return undefined;
  // Inside TLS (direct SSL, PostgreSQL 17+) the SSLRequest step is already done.
  if (session.target.tunnel === 'ssl') return startup(ctx, session);
  session.send(SSL_REQUEST);
  const r = await session.read(ctx.timing.replyMs, sslAnswerComplete);
  if (r.data.length === 1 && r.data[0] === 0x4e) {
    // Same connection: after `N` the server waits for a StartupMessage.
    const id = await startup(ctx, session, false);
    if (id) return id;
    return session.received.length === 1 ? fromSslAnswer(false) : undefined;
  }
  if (r.data.length === 1 && r.data[0] === 0x53) return fromSslAnswer(true);
  const err = parseErrorResponse(r.data);
  return err ? identifyError(err) : undefined;
}

/**
 * After `S` the server expects a TLS ClientHello on this connection: upgrade, then ask for the
 * startup rejection inside TLS; if TLS fails, ask on a fresh plaintext connection instead.
 */
async function followUp(ctx: ProbeContext & { previous: Identification }): Promise<Identification> {
  const { session, previous } = ctx;
  if (!previous.startTls || previous.confidence > 5 || session.ended) return previous;
  try {
    const tls = await session.startTls();
    let id = tls ? await startup(ctx, session, true) : undefined;
    if (!id) {
      const fresh = await session.reconnect();
      if (fresh) {
        try {
          id = await startup(ctx, fresh, true);
        } finally {
          fresh.close();
        }
      }
    }
    const out = id ?? previous;
    return tls ? { ...out, tls } : out;
  } catch {
    return previous;
  }
}

/** PostgreSQL (and servers speaking its protocol) on 5432. */
export const detector: Detector = {
  name: 'postgresql',
  ports: [5432, 5433],
  rarity: 5,
  greeting: (data: Buffer, _target: Target) => identifyPostgresql(data),
  probe,
  followUp,
};
