/**
 * AMQP: the client speaks first with a protocol header. To `AMQP 0-9-1` an AMQP 0-9-1 broker
 * (RabbitMQ, Qpid, LavinMQ, …) answers with a Connection.Start method whose server-properties
 * table names the product, version and platform, plus the SASL mechanisms it offers. A broker that
 * speaks another version answers with its own protocol header instead and closes (AMQP 1.0 brokers
 * such as ActiveMQ Artemis or Qpid Broker-J do this). We never authenticate: after Start we close.
 */
import { matchSignatures, type Signature } from '../signature.js';
import { cleanField } from '../text.js';
import type { Detector, Identification, ProbeContext, Session, Target } from '../types.js';

/** `AMQP` 0 0 9 1: the AMQP 0-9-1 protocol header. */
export const HEADER_091 = Buffer.from([0x41, 0x4d, 0x51, 0x50, 0, 0, 9, 1]);
const FRAME_END = 0xce;
/** Largest Start frame we wait for; RabbitMQ's is about 500 bytes. */
const MAX_FRAME = 32 * 1024;
/** Nesting of tables and arrays we follow; deeper input stops the parse. */
const MAX_DEPTH = 8;
/** Values (table entries plus array elements, all levels) read from one table. */
const MAX_VALUES = 512;
/** Characters kept of any one string value. */
const MAX_STRING = 1024;

/** A decoded field-table value. Tables are Maps, so a key like `__proto__` is only data. */
export type AmqpValue = string | number | bigint | boolean | null | Buffer | AmqpValue[] | Map<string, AmqpValue>;

/** The result of reading a field table: everything read, and whether it was read to its end. */
export interface AmqpTable {
  table: Map<string, AmqpValue>;
  complete: boolean;
}

/** Why a table parse stopped early; internal, never escapes `parseFieldTable`. */
class Stop extends Error {}

class Cursor {
  values = 0;
  constructor(
    readonly buf: Buffer,
    public pos: number,
  ) {}

  need(n: number, end: number): void {
    if (n < 0 || this.pos + n > end) throw new Stop('truncated');
  }

  u8(end: number): number {
    this.need(1, end);
    return this.buf[this.pos++]!;
  }

  take(n: number, end: number): Buffer {
    this.need(n, end);
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }
}

function str(b: Buffer): string {
  return b.subarray(0, MAX_STRING * 4).toString('utf8').slice(0, MAX_STRING);
}

/** One value of type `type`, within [c.pos, end). RabbitMQ's type letters (0-9-1 errata). */
function readValue(c: Cursor, type: number, end: number, depth: number): AmqpValue {
  if (++c.values > MAX_VALUES) throw new Stop('too many values');
  switch (String.fromCharCode(type)) {
    case 't':
      return c.u8(end) !== 0;
    case 'b':
      return c.take(1, end).readInt8(0);
    case 'B':
      return c.u8(end);
    case 's':
    case 'U':
      return c.take(2, end).readInt16BE(0);
    case 'u':
      return c.take(2, end).readUInt16BE(0);
    case 'I':
      return c.take(4, end).readInt32BE(0);
    case 'i':
      return c.take(4, end).readUInt32BE(0);
    case 'l':
    case 'L':
      return c.take(8, end).readBigInt64BE(0);
    case 'T':
      return c.take(8, end).readBigUInt64BE(0);
    case 'f':
      return c.take(4, end).readFloatBE(0);
    case 'd':
      return c.take(8, end).readDoubleBE(0);
    case 'D': {
      const b = c.take(5, end);
      return b.readInt32BE(1) / 10 ** Math.min(b[0]!, 20);
    }
    case 'S':
      return str(c.take(c.take(4, end).readUInt32BE(0), end));
    case 'x':
      return Buffer.from(c.take(c.take(4, end).readUInt32BE(0), end).subarray(0, MAX_STRING));
    case 'V':
      return null;
    case 'F': {
      const t = new Map<string, AmqpValue>();
      readTableInto(c, t, end, depth + 1);
      return t;
    }
    case 'A': {
      if (depth + 1 > MAX_DEPTH) throw new Stop('too deep');
      const { stop, cut } = bounds(c, end);
      const arr: AmqpValue[] = [];
      while (c.pos < stop) arr.push(readValue(c, c.u8(stop), stop, depth + 1));
      if (cut) throw new Stop('truncated');
      return arr;
    }
    default:
      // An unknown type has an unknown size: nothing after it can be located.
      throw new Stop('unknown type');
  }
}

/** Read a table (u32 length + entries) into `into`; entries land in it as soon as they are read. */
function readTableInto(c: Cursor, into: Map<string, AmqpValue>, end: number, depth: number): void {
  if (depth > MAX_DEPTH) throw new Stop('too deep');
  const { stop, cut } = bounds(c, end);
  while (c.pos < stop) {
    const name = str(c.take(c.u8(stop), stop));
    const type = c.u8(stop);
    // Nested tables are inserted before they are filled, so a truncated one still shows what it had.
    if (type === 0x46 /* F */) {
      if (++c.values > MAX_VALUES) throw new Stop('too many values');
      const t = new Map<string, AmqpValue>();
      into.set(name, t);
      readTableInto(c, t, stop, depth + 1);
    } else into.set(name, readValue(c, type, stop, depth));
  }
  if (cut) throw new Stop('truncated');
}

/**
 * The end of a length-prefixed container. A length reaching past what we hold (a truncated reply
 * or a lying field) is clamped, so the entries that are there are still read; `cut` records it.
 */
function bounds(c: Cursor, end: number): { stop: number; cut: boolean } {
  const len = c.take(4, end).readUInt32BE(0);
  return c.pos + len > end ? { stop: end, cut: true } : { stop: c.pos + len, cut: false };
}

/**
 * Parse an AMQP field table starting at `offset` (its u32 length first). Never throws: hostile
 * input (lying lengths, unknown types, deep nesting, too many entries) ends the parse with what was
 * read so far and `complete: false`, plus the offset after the table when it was whole.
 */
export function parseFieldTable(buf: Buffer, offset = 0): AmqpTable & { end?: number } {
  const table = new Map<string, AmqpValue>();
  const c = new Cursor(buf, offset);
  try {
    readTableInto(c, table, buf.length, 0);
    return { table, complete: true, end: c.pos };
  } catch {
    // Stop is the expected way out; anything else on hostile bytes is treated the same.
    return { table, complete: false };
  }
}

/** What a Connection.Start told us. */
export interface ConnectionStart {
  versionMajor: number;
  versionMinor: number;
  properties: Map<string, AmqpValue>;
  /** Server properties were read to their end. */
  complete: boolean;
  mechanisms: string[];
  locales: string[];
}

/** Bytes of a whole frame at the start of `data`, or undefined while it is incomplete. */
function frameSize(data: Buffer): number | undefined {
  if (data.length < 7) return undefined;
  const size = data.readUInt32BE(3);
  return 7 + size + 1;
}

/** True once `data` holds what the probe waits for: a protocol header, a whole frame, or junk. */
export function amqpReplyComplete(data: Buffer): boolean {
  const head = data.subarray(0, 4).toString('latin1');
  if ('AMQP'.startsWith(head) && data.length > 0) return data.length >= 8;
  if (data.length >= 1 && data[0] !== 1) return true;
  const size = frameSize(data);
  if (size === undefined) return false;
  return size > MAX_FRAME + 8 || data.length >= size;
}

/**
 * Parse a Connection.Start frame (type 1, channel 0, class 10, method 10) at the start of `data`.
 * A truncated frame still yields whatever properties it carried.
 */
export function parseConnectionStart(data: Buffer): ConnectionStart | undefined {
  if (data.length < 11 || data[0] !== 1 || data.readUInt16BE(1) !== 0) return undefined;
  const declared = data.readUInt32BE(3);
  if (declared < 4 + 2) return undefined;
  if (data.readUInt16BE(7) !== 10 || data.readUInt16BE(9) !== 10) return undefined;
  const whole = data.length >= 7 + declared + 1;
  if (whole && data[7 + declared] !== FRAME_END) return undefined;
  const payload = data.subarray(7, Math.min(data.length, 7 + declared));
  if (payload.length < 6) return undefined;
  const start: ConnectionStart = { versionMajor: payload[4]!, versionMinor: payload[5]!, properties: new Map(), complete: false, mechanisms: [], locales: [] };
  const t = parseFieldTable(payload, 6);
  start.properties = t.table;
  start.complete = t.complete;
  if (t.end === undefined) return start;
  const words = (at: number): { list: string[]; next: number } | undefined => {
    if (at + 4 > payload.length) return undefined;
    const len = payload.readUInt32BE(at);
    if (at + 4 + len > payload.length) return undefined;
    const list = cleanField(str(payload.subarray(at + 4, at + 4 + len)), MAX_STRING).split(/\s+/).filter((w) => w !== '').slice(0, 32);
    return { list, next: at + 4 + len };
  };
  const mech = words(t.end);
  if (mech) {
    start.mechanisms = mech.list;
    start.locales = words(mech.next)?.list ?? [];
  }
  return start;
}

/** The protocol a reply header announces (`AMQP 1.0`, `AMQP 0-9-1`, …), or undefined if it is none. */
export function headerProtocol(data: Buffer): string | undefined {
  if (data.length < 8 || data.subarray(0, 4).toString('latin1') !== 'AMQP') return undefined;
  const [id, a, b, c] = [data[4]!, data[5]!, data[6]!, data[7]!];
  // AMQP 1.0: protocol id 0 (AMQP), 2 (TLS) or 3 (SASL), version 1.0.0.
  if ((id === 0 || id === 2 || id === 3) && a === 1 && b === 0 && c === 0) return 'AMQP 1.0';
  if (id === 0 && a === 0 && b <= 10 && c <= 10) return `AMQP ${a}-${b}-${c}`;
  // The 0-8 and 0-9 era header: class 1, instance 1, then major and minor.
  if (id === 1 && a === 1 && b === 8 && c === 0) return 'AMQP 0-8';
  if (id === 1 && a === 1 && b <= 10 && c <= 10) return `AMQP ${b}-${c}`;
  return undefined;
}

const P = { service: 'amqp', field: 'amqp.server', origin: 'builtin' } as const;

/** Built-in table over `amqp.server` (`<product> <version>` from server-properties). */
export const AMQP_SIGNATURES: readonly Signature[] = [
  { ...P, pattern: /^RabbitMQ (\d[\w.]*)/, product: 'RabbitMQ', version: '$1', cpe: ['cpe:2.3:a:vmware:rabbitmq:$1:*:*:*:*:*:*:*'] },
  { ...P, pattern: /^RabbitMQ\b/, product: 'RabbitMQ', cpe: ['cpe:2.3:a:vmware:rabbitmq:*:*:*:*:*:*:*:*'] },
  { ...P, pattern: /^LavinMQ (\d[\w.]*)/, product: 'LavinMQ', version: '$1' },
  { ...P, pattern: /^qpidd (\d[\w.]*)/, product: 'Apache Qpid C++ broker', version: '$1', cpe: ['cpe:2.3:a:apache:qpid:$1:*:*:*:*:*:*:*'] },
];

function prop(props: Map<string, AmqpValue>, key: string): string | undefined {
  const v = props.get(key);
  if (typeof v !== 'string') return undefined;
  const s = cleanField(v, 120);
  return s === '' ? undefined : s;
}

/** The identification a Connection.Start gives. */
export function identifyStart(s: ConnectionStart): Identification {
  const product = prop(s.properties, 'product');
  const version = prop(s.properties, 'version');
  const platform = prop(s.properties, 'platform');
  const cluster = prop(s.properties, 'cluster_name');
  const fields: Record<string, string> = {};
  if (product) fields['amqp.product'] = product;
  if (version) fields['amqp.version'] = version;
  if (platform) fields['amqp.platform'] = platform;
  if (cluster) fields['amqp.cluster_name'] = cluster;
  if (s.mechanisms.length > 0) fields['amqp.mechanisms'] = s.mechanisms.join(' ');
  if (product) fields['amqp.server'] = version ? `${product} ${version}` : product;
  // Start carries major-minor (0-9); the revision is the one we asked for in the header.
  const proto = s.versionMajor === 0 && s.versionMinor === 9 ? 'AMQP 0-9-1' : `AMQP ${s.versionMajor}-${s.versionMinor}`;
  let id: Identification = { service: 'amqp', confidence: 8, extrainfo: proto, fields };
  const hit = matchSignatures(AMQP_SIGNATURES, undefined, fields);
  if (hit) id = { ...id, ...hit, extrainfo: proto, fields };
  else if (product) {
    // An unknown broker still names itself; keep its words (cleaned), without a CPE.
    id.product = product;
    if (version) id.version = version;
  }
  if (id.version !== undefined) id.confidence = 10;
  if (s.mechanisms.includes('ANONYMOUS')) {
    id.evidence = [{ id: 'amqp-anonymous-mechanism', detail: 'AMQP broker offers the SASL ANONYMOUS mechanism' }];
  }
  return id;
}

/** The identification a bare protocol header gives (the broker speaks another AMQP version). */
export function identifyHeader(data: Buffer): Identification | undefined {
  const proto = headerProtocol(data);
  return proto ? { service: 'amqp', confidence: 8, extrainfo: proto, fields: { 'amqp.protocol_header': data.subarray(4, 8).toString('hex') } } : undefined;
}

/** Any reply to our header: a Start frame or a protocol header. */
export function parseAmqpReply(data: Buffer): Identification | undefined {
  const start = parseConnectionStart(data);
  if (start) return identifyStart(start);
  return identifyHeader(data);
}

async function ask(session: Session, replyMs: number): Promise<Identification | undefined> {
  session.send(HEADER_091);
  const r = await session.read(replyMs, amqpReplyComplete);
  return parseAmqpReply(r.data);
}

function probe(ctx: ProbeContext): Promise<Identification | undefined> {
  return ask(ctx.session, ctx.timing.replyMs);
}

/**
 * After a probe: nothing more to learn without credentials, so hang up before the broker's
 * handshake timeout. After a greeting that was a broker's 0-9-1 header (its answer to another
 * probe's bytes), ask properly on a clean connection to learn product and version.
 */
async function followUp(ctx: ProbeContext & { previous: Identification }): Promise<Identification> {
  const { previous } = ctx;
  let session: Session | undefined = ctx.session;
  if (previous.product !== undefined || previous.fields?.['amqp.protocol_header'] !== '00000901') {
    session.close();
    return previous;
  }
  if (session.ended || session.sentBytes > 0) {
    const old = session;
    session = await old.reconnect();
    old.close();
  }
  if (!session) return previous;
  const found = await ask(session, Math.min(ctx.timing.replyMs, session.remainingMs()));
  session.close();
  return found?.service === 'amqp' && found.product !== undefined ? found : previous;
}

/**
 * A broker answers any bad header (another probe's bytes) with exactly its own 8-byte header and
 * closes, so an unprompted `AMQP…` reply of that shape is recognised too.
 */
function greeting(data: Buffer, _target: Target): Identification | undefined {
  if (data.length !== 8) return undefined;
  return identifyHeader(data);
}

/** AMQP broker detector (0-9-1 Connection.Start properties; 1.0 and older by protocol header). */
export const detector: Detector = {
  name: 'amqp',
  ports: [5672],
  tlsPorts: [5671],
  rarity: 5,
  greeting,
  probe,
  followUp,
};
