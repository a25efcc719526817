/**
 * MongoDB: the client speaks first. The probe is the driver handshake every server since 2.x
 * accepts — OP_QUERY `isMaster` on `admin.$cmd` — whose reply names the wire-protocol range
 * (`maxWireVersion`, which maps to a release line). The follow-up asks `buildInfo` (allowed without
 * authentication) for the exact version, then `listDatabases` with `nameOnly`, read-only: success
 * without authentication is the `mongodb-no-auth` fact, `Unauthorized` (code 13) is not.
 * The BSON reader is our own and bounded: lengths are checked against the bytes and the enclosing
 * document, nesting and element counts are capped, and any surprise rejects the whole document.
 */
import { matchSignatures, type Signature } from '../signature.js';
import { cleanField, latin1 } from '../text.js';
import type { Detector, Identification, ProbeContext, Target } from '../types.js';

/** A decoded BSON value. Types we do not interpret (ObjectId, binary, timestamp, …) become BsonOpaque. */
export type BsonValue = number | string | boolean | null | BsonDocument | BsonValue[] | BsonOpaque;
/** A decoded document; a null-prototype object, so keys like `__proto__` are plain data. */
export interface BsonDocument {
  [key: string]: BsonValue;
}
/** A value kept as its BSON type number and raw bytes. */
export class BsonOpaque {
  constructor(
    readonly type: number,
    readonly bytes: Buffer,
  ) {}
}

/** Deepest nesting the reader accepts; real server replies need fewer than 6 levels. */
export const BSON_MAX_DEPTH = 32;
/** Most elements (all levels together) the reader accepts; real replies have fewer than 300. */
export const BSON_MAX_ELEMENTS = 4096;
/** Largest reply we parse; hello/buildInfo are ~1–2 KiB. */
const MAX_MESSAGE = 1024 * 1024;

class BsonError extends Error {}

interface ReadState {
  elements: number;
}

function need(cond: boolean): void {
  if (!cond) throw new BsonError();
}

/** A BSON string (int32 length incl. NUL, bytes, NUL) at `p` inside `end`. */
function readString(buf: Buffer, p: number, end: number): { s: string; next: number } {
  need(p + 4 <= end);
  const n = buf.readInt32LE(p);
  need(n >= 1 && p + 4 + n <= end && buf[p + 4 + n - 1] === 0);
  return { s: buf.toString('utf8', p + 4, p + 4 + n - 1), next: p + 4 + n };
}

function readCString(buf: Buffer, p: number, end: number): { s: string; next: number } {
  const nul = buf.indexOf(0, p);
  need(nul >= 0 && nul < end);
  return { s: buf.toString('utf8', p, nul), next: nul + 1 };
}

function readDoc(buf: Buffer, p: number, limit: number, depth: number, st: ReadState, asArray: boolean): { value: BsonDocument | BsonValue[]; next: number } {
  need(depth <= BSON_MAX_DEPTH && p + 5 <= limit);
  const len = buf.readInt32LE(p);
  need(len >= 5 && p + len <= limit && buf[p + len - 1] === 0);
  const end = p + len - 1; // position of the terminating NUL
  const doc: BsonDocument = Object.create(null) as BsonDocument;
  const arr: BsonValue[] = [];
  let q = p + 4;
  while (q < end) {
    need(++st.elements <= BSON_MAX_ELEMENTS);
    const type = buf[q]!;
    const key = readCString(buf, q + 1, end);
    q = key.next;
    let value: BsonValue;
    const fixed = (n: number): Buffer => {
      need(q + n <= end);
      const b = buf.subarray(q, q + n);
      q += n;
      return b;
    };
    switch (type) {
      case 0x01: value = fixed(8).readDoubleLE(0); break;
      case 0x02: case 0x0d: case 0x0e: { const s = readString(buf, q, end); value = s.s; q = s.next; break; }
      case 0x03: case 0x04: { const d = readDoc(buf, q, end, depth + 1, st, type === 0x04); value = d.value; q = d.next; break; }
      case 0x05: { need(q + 5 <= end); const n = buf.readInt32LE(q); need(n >= 0 && q + 5 + n <= end); value = new BsonOpaque(type, buf.subarray(q, q + 5 + n)); q += 5 + n; break; }
      case 0x06: case 0x0a: case 0x7f: case 0xff: value = null; break;
      case 0x07: value = new BsonOpaque(type, fixed(12)); break;
      case 0x08: { const b = fixed(1)[0]!; need(b <= 1); value = b === 1; break; }
      case 0x09: case 0x12: value = Number(fixed(8).readBigInt64LE(0)); break;
      case 0x0b: { const a = readCString(buf, q, end); const b = readCString(buf, a.next, end); value = new BsonOpaque(type, buf.subarray(q, b.next)); q = b.next; break; }
      case 0x0c: { const s = readString(buf, q, end); need(s.next + 12 <= end); value = new BsonOpaque(type, buf.subarray(q, s.next + 12)); q = s.next + 12; break; }
      case 0x0f: { need(q + 4 <= end); const n = buf.readInt32LE(q); need(n >= 14 && q + n <= end); value = new BsonOpaque(type, buf.subarray(q, q + n)); q += n; break; }
      case 0x10: value = fixed(4).readInt32LE(0); break;
      case 0x11: value = new BsonOpaque(type, fixed(8)); break;
      case 0x13: value = new BsonOpaque(type, fixed(16)); break;
      default: throw new BsonError();
    }
    if (asArray) arr.push(value);
    else if (!(key.s in doc)) doc[key.s] = value;
  }
  need(q === end);
  return { value: asArray ? arr : doc, next: p + len };
}

/** Decode one BSON document at `offset`; undefined on any malformation. Never throws. */
export function decodeBson(buf: Buffer, offset = 0): { doc: BsonDocument; next: number } | undefined {
  try {
    const r = readDoc(buf, offset, buf.length, 1, { elements: 0 }, false);
    return { doc: r.value as BsonDocument, next: r.next };
  } catch (e) {
    if (e instanceof BsonError || e instanceof RangeError) return undefined;
    throw e;
  }
}

/** Values `encodeBson` writes: what our commands and tests need. */
export type BsonInput = number | bigint | string | boolean | null | BsonInput[] | { [key: string]: BsonInput };

/** Encode a document (int32 for safe small integers, double otherwise, int64 for bigint). */
export function encodeBson(doc: { [key: string]: BsonInput }): Buffer {
  const parts: Buffer[] = [];
  for (const [key, v] of Object.entries(doc)) {
    const k = Buffer.from(`${key}\0`, 'utf8');
    const el = (type: number, body: Buffer): void => void parts.push(Buffer.from([type]), k, body);
    if (typeof v === 'number') {
      if (Number.isInteger(v) && v >= -0x80000000 && v <= 0x7fffffff) {
        const b = Buffer.alloc(4);
        b.writeInt32LE(v);
        el(0x10, b);
      } else {
        const b = Buffer.alloc(8);
        b.writeDoubleLE(v);
        el(0x01, b);
      }
    } else if (typeof v === 'bigint') {
      const b = Buffer.alloc(8);
      b.writeBigInt64LE(v);
      el(0x12, b);
    } else if (typeof v === 'string') {
      const s = Buffer.from(`${v}\0`, 'utf8');
      const n = Buffer.alloc(4);
      n.writeInt32LE(s.length);
      el(0x02, Buffer.concat([n, s]));
    } else if (typeof v === 'boolean') el(0x08, Buffer.from([v ? 1 : 0]));
    else if (v === null) el(0x0a, Buffer.alloc(0));
    else if (Array.isArray(v)) el(0x04, encodeBson(Object.fromEntries(v.map((x, i) => [String(i), x]))));
    else el(0x03, encodeBson(v));
  }
  const body = Buffer.concat(parts);
  const out = Buffer.alloc(body.length + 5);
  out.writeInt32LE(out.length, 0);
  body.copy(out, 4);
  return out;
}

const OP_REPLY = 1;
const OP_QUERY = 2004;
const OP_MSG = 2013;

function header(length: number, requestId: number, opCode: number): Buffer {
  const h = Buffer.alloc(16);
  h.writeInt32LE(length, 0);
  h.writeInt32LE(requestId, 4);
  h.writeInt32LE(0, 8);
  h.writeInt32LE(opCode, 12);
  return h;
}

/** OP_QUERY on `admin.$cmd` (the legacy command form; every server accepts it for the handshake). */
export function opQuery(requestId: number, command: { [key: string]: BsonInput }): Buffer {
  const doc = encodeBson(command);
  const ns = Buffer.from('admin.$cmd\0');
  const fixed = Buffer.alloc(4);
  const tail = Buffer.alloc(8);
  tail.writeInt32LE(0, 0); // numberToSkip
  tail.writeInt32LE(-1, 4); // numberToReturn: one document, close the cursor
  const body = Buffer.concat([fixed, ns, tail, doc]);
  return Buffer.concat([header(16 + body.length, requestId, OP_QUERY), body]);
}

/** OP_MSG with one body section (3.6+). */
export function opMsg(requestId: number, command: { [key: string]: BsonInput }): Buffer {
  const body = Buffer.concat([Buffer.alloc(4), Buffer.from([0]), encodeBson({ ...command, $db: 'admin' })]);
  return Buffer.concat([header(16 + body.length, requestId, OP_MSG), body]);
}

/** Completeness predicate: the whole message per its length, or a length that cannot be real. */
export function messageComplete(data: Buffer): boolean {
  if (data.length < 4) return false;
  const len = data.readInt32LE(0);
  if (len < 21 || len > MAX_MESSAGE) return true;
  return data.length >= len;
}

/** The reply document of an OP_REPLY or OP_MSG answering `requestId`; undefined otherwise. */
export function parseReply(data: Buffer, requestId: number): BsonDocument | undefined {
  if (data.length < 21) return undefined;
  const len = data.readInt32LE(0);
  if (len < 21 || len > MAX_MESSAGE || data.length < len || data.readInt32LE(8) !== requestId) return undefined;
  const msg = data.subarray(0, len);
  const op = msg.readInt32LE(12);
  if (op === OP_REPLY) {
    if (len < 36 + 5 || msg.readInt32LE(32) < 1) return undefined;
    return decodeBson(msg, 36)?.doc;
  }
  if (op !== OP_MSG) return undefined;
  const flags = msg.readUInt32LE(16);
  const end = flags & 1 ? len - 4 : len; // checksumPresent: CRC-32C trailer
  let p = 20;
  for (let i = 0; i < 16 && p < end; i++) {
    const kind = msg[p]!;
    if (kind === 0) return decodeBson(msg.subarray(0, end), p + 1)?.doc;
    if (kind !== 1 || p + 5 > end) return undefined;
    const size = msg.readInt32LE(p + 1);
    if (size < 5 || p + 1 + size > end) return undefined;
    p += 1 + size;
  }
  return undefined;
}

const num = (v: BsonValue | undefined): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const str = (v: BsonValue | undefined): string | undefined => (typeof v === 'string' ? v : undefined);
const isOk = (d: BsonDocument): boolean => d.ok === true || num(d.ok) === 1;

/** Release line by maxWireVersion (driver specification; 5.1+ counts releases since 4.0). */
const WIRE_RELEASES: readonly string[] = ['2.4', '2.6', '2.6', '3.0', '3.2', '3.4', '3.6', '4.0', '4.2', '4.4', '4.7', '4.8', '4.9', '5.0', '5.1', '5.2', '5.3', '6.0', '6.1', '6.2', '6.3', '7.0', '7.1', '7.2', '7.3', '8.0'];

/** The release line a maxWireVersion names (`7.0`), or a description beyond the table. */
export function releaseForWire(wire: number): string | undefined {
  if (!Number.isInteger(wire) || wire < 0) return undefined;
  if (wire === 0) return '2.4 or earlier';
  return WIRE_RELEASES[wire] ?? 'newer than 8.0';
}

/** Identify from an isMaster/hello reply; undefined unless it looks like one. */
export function identifyHello(doc: BsonDocument): Identification | undefined {
  const wire = num(doc.maxWireVersion);
  const handshake = typeof doc.ismaster === 'boolean' || typeof doc.isWritablePrimary === 'boolean' || wire !== undefined;
  const refused = !isOk(doc) && str(doc.errmsg) !== undefined && num(doc.code) !== undefined;
  if (!(handshake && isOk(doc)) && !refused) return undefined;
  const id: Identification = { service: 'mongodb', product: 'MongoDB', confidence: refused ? 7 : 8, cpe: ['cpe:2.3:a:mongodb:mongodb:*:*:*:*:*:*:*:*'] };
  const fields: Record<string, string> = {};
  const notes: string[] = [];
  if (str(doc.msg) === 'isdbgrid') notes.push('mongos');
  if (wire !== undefined) {
    fields['mongodb.max_wire_version'] = String(wire);
    const release = releaseForWire(wire);
    if (release !== undefined) notes.push(`wire version ${wire}: ${release}`);
  }
  const setName = str(doc.setName);
  if (setName !== undefined) fields['mongodb.set_name'] = cleanField(setName, 64);
  if (refused) fields['mongodb.error'] = cleanField(str(doc.errmsg) ?? '', 200);
  if (notes.length > 0) id.extrainfo = notes.join('; ');
  id.fields = fields;
  return id;
}

const V = { service: 'mongodb', origin: 'builtin' } as const;

/** Built-in table over buildInfo fields; FerretDB answers buildInfo with a MongoDB-compatible version too. */
export const MONGODB_SIGNATURES: readonly Signature[] = [
  { ...V, field: 'mongodb.ferretdb_version', pattern: /^v?(\d+\.\d+\.\d+)/, product: 'FerretDB', version: '$1', cpe: ['cpe:2.3:a:ferretdb:ferretdb:$1:*:*:*:*:*:*:*'] },
  { ...V, field: 'mongodb.version', pattern: /^(\d+\.\d+\.\d+(?:-rc\d+)?)$/, product: 'MongoDB', version: '$1', cpe: ['cpe:2.3:a:mongodb:mongodb:$1:*:*:*:*:*:*:*'] },
];

/** Merge a buildInfo reply into the handshake's identification. */
export function identifyBuildInfo(doc: BsonDocument, base: Identification): Identification {
  if (!isOk(doc)) return base;
  const fields: Record<string, string> = { ...base.fields };
  const version = str(doc.version);
  if (version !== undefined) fields['mongodb.version'] = cleanField(version, 64);
  const ferret = doc.ferretdb;
  if (ferret && typeof ferret === 'object' && !Array.isArray(ferret) && !(ferret instanceof BsonOpaque)) {
    const fv = str(ferret.version);
    if (fv !== undefined) fields['mongodb.ferretdb_version'] = cleanField(fv, 64);
  }
  const id: Identification = { ...base, fields };
  const sig = matchSignatures(MONGODB_SIGNATURES, undefined, fields);
  if (sig?.version !== undefined) {
    id.product = sig.product;
    id.version = sig.version;
    if (sig.cpe) id.cpe = sig.cpe;
    id.confidence = 10;
  }
  const env = doc.buildEnvironment;
  if (env && typeof env === 'object' && !Array.isArray(env) && !(env instanceof BsonOpaque)) {
    const os = str(env.target_os);
    if (os === 'linux') id.ostype = 'Linux';
    else if (os === 'windows') id.ostype = 'Windows';
    else if (os === 'macOS') id.ostype = 'Mac OS X';
    const distmod = str(env.distmod) ?? '';
    if (/^debian\d/.test(distmod)) id.distro = 'Debian';
    else if (/^ubuntu\d/.test(distmod)) id.distro = 'Ubuntu';
    else if (/^rhel\d/.test(distmod)) id.distro = 'Red Hat';
  }
  const modules = doc.modules;
  if (Array.isArray(modules) && modules.includes('enterprise')) id.extrainfo = id.extrainfo ? `Enterprise; ${id.extrainfo}` : 'Enterprise';
  return id;
}

/** The `mongodb-no-auth` evidence from a listDatabases reply, or undefined (refused, garbage). */
export function noAuthEvidence(doc: BsonDocument): { id: string; detail: string } | undefined {
  if (!isOk(doc) || !Array.isArray(doc.databases)) return undefined;
  return { id: 'mongodb-no-auth', detail: `MongoDB listed ${doc.databases.length} databases without authentication` };
}

let nextRequestId = 0x504f0001;

/** One command round trip on the session; the reply document or undefined. */
async function command(ctx: ProbeContext, useMsg: boolean, cmd: { [key: string]: BsonInput }): Promise<BsonDocument | undefined> {
  const { session } = ctx;
  if (session.ended) return undefined;
  const requestId = nextRequestId++ & 0x7fffffff;
  session.send(useMsg ? opMsg(requestId, cmd) : opQuery(requestId, cmd));
  const r = await session.read(ctx.timing.replyMs, messageComplete);
  return parseReply(r.data, requestId);
}

async function probe(ctx: ProbeContext): Promise<Identification | undefined> {
  if (ctx.session.ended || ctx.session.received.length > 0) return undefined;
  const doc = await command(ctx, false, { isMaster: 1 });
  return doc ? identifyHello(doc) : undefined;
}

async function followUp(ctx: ProbeContext & { previous: Identification }): Promise<Identification> {
  let id = ctx.previous;
  try {
    // OP_MSG from wire version 6 (3.6); OP_QUERY commands were removed in 5.1+ except the handshake.
    const useMsg = Number(id.fields?.['mongodb.max_wire_version'] ?? '0') >= 6;
    const build = await command(ctx, useMsg, { buildInfo: 1 });
    if (build) id = identifyBuildInfo(build, id);
    const list = await command(ctx, useMsg, { listDatabases: 1, nameOnly: true });
    const ev = list ? noAuthEvidence(list) : undefined;
    if (ev) id = { ...id, evidence: [...(id.evidence ?? []), ev] };
    return id;
  } catch {
    return id;
  }
}

/** The text mongod sends back to an HTTP request on its driver port. */
const HTTP_ON_NATIVE = 'It looks like you are trying to access MongoDB over HTTP on the native driver port.';

/** MongoDB (and wire-compatible servers) on 27017. */
export const detector: Detector = {
  name: 'mongodb',
  ports: [27017, 27018, 27019],
  rarity: 6,
  greeting: (data: Buffer, _target: Target) =>
    latin1(data).includes(HTTP_ON_NATIVE) ? { service: 'mongodb', product: 'MongoDB', confidence: 8, cpe: ['cpe:2.3:a:mongodb:mongodb:*:*:*:*:*:*:*:*'] } : undefined,
  probe,
  followUp,
};
