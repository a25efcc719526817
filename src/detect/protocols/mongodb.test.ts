import { describe, expect, it } from 'vitest';
import { ScriptedSession } from '../scripted-session.js';
import type { ProbeContext, Session } from '../types.js';
import {
  BSON_MAX_DEPTH,
  BsonOpaque,
  decodeBson,
  detector,
  encodeBson,
  identifyBuildInfo,
  identifyHello,
  messageComplete,
  noAuthEvidence,
  opMsg,
  opQuery,
  parseReply,
  releaseForWire,
  type BsonDocument,
} from './mongodb.js';

// No MongoDB server runs here: every document below is built byte by byte (or by the encoder,
// which the first tests pin against hand-written bytes).

/** An element with a raw body: type byte, cstring key, bytes. */
function el(type: number, key: string, body: Buffer | number[]): Buffer {
  return Buffer.concat([Buffer.from([type]), Buffer.from(`${key}\0`), Buffer.from(body)]);
}
/** A document from raw elements, with a correct length and terminator. */
function rawDoc(...elements: Buffer[]): Buffer {
  const body = Buffer.concat(elements);
  const out = Buffer.alloc(body.length + 5);
  out.writeInt32LE(out.length, 0);
  body.copy(out, 4);
  return out;
}
/** `size` bytes filled in by `write` (BSON numbers are little-endian). */
function le(size: number, write: (b: Buffer) => void): Buffer {
  const b = Buffer.alloc(size);
  write(b);
  return b;
}
const i32 = (n: number): Buffer => le(4, (b) => b.writeInt32LE(n));
const i64 = (n: bigint): Buffer => le(8, (b) => b.writeBigInt64LE(n));
const dbl = (n: number): Buffer => le(8, (b) => b.writeDoubleLE(n));
function bstr(s: string): Buffer {
  return Buffer.concat([i32(Buffer.byteLength(s) + 1), Buffer.from(`${s}\0`)]);
}

/** A MongoDB 7.0 standalone's isMaster reply, as the server lays it out (ObjectId, datetime, int64 included). */
const HELLO_70 = rawDoc(
  el(0x08, 'helloOk', [1]),
  el(0x08, 'ismaster', [1]),
  el(0x03, 'topologyVersion', rawDoc(el(0x07, 'processId', Buffer.from('65a1b2c3d4e5f60718293a4b', 'hex')), el(0x12, 'counter', i64(0n)))),
  el(0x10, 'maxBsonObjectSize', i32(16777216)),
  el(0x10, 'maxMessageSizeBytes', i32(48000000)),
  el(0x10, 'maxWriteBatchSize', i32(100000)),
  el(0x09, 'localTime', i64(1795243459000n)),
  el(0x10, 'logicalSessionTimeoutMinutes', i32(30)),
  el(0x10, 'connectionId', i32(5)),
  el(0x10, 'minWireVersion', i32(0)),
  el(0x10, 'maxWireVersion', i32(21)),
  el(0x08, 'readOnly', [0]),
  el(0x01, 'ok', dbl(1)),
);

const BUILD_INFO_705 = rawDoc(
  el(0x02, 'version', bstr('7.0.5')),
  el(0x02, 'gitVersion', bstr('7809d71e84e314b497f282ea8aa06d7ded3eb205')),
  el(0x04, 'modules', rawDoc()),
  el(0x02, 'allocator', bstr('tcmalloc')),
  el(0x04, 'versionArray', rawDoc(el(0x10, '0', i32(7)), el(0x10, '1', i32(0)), el(0x10, '2', i32(5)), el(0x10, '3', i32(0)))),
  el(0x03, 'openssl', rawDoc(el(0x02, 'running', bstr('OpenSSL 3.0.2 15 Mar 2022')))),
  el(0x03, 'buildEnvironment', rawDoc(el(0x02, 'distmod', bstr('ubuntu2204')), el(0x02, 'distarch', bstr('x86_64')), el(0x02, 'target_os', bstr('linux')))),
  el(0x10, 'bits', i32(64)),
  el(0x08, 'debug', [0]),
  el(0x05, 'binary', Buffer.concat([i32(3), Buffer.from([0]), Buffer.from('abc')])),
  el(0x11, 'ts', i64(7n)),
  el(0x13, 'dec', Buffer.alloc(16)),
  el(0x0a, 'nothing', []),
  el(0x0b, 'rx', Buffer.from('^a\0i\0')),
  el(0x01, 'ok', dbl(1)),
);

const LIST_OK = encodeBson({ databases: [{ name: 'admin' }, { name: 'config' }, { name: 'local' }], totalSize: 0, ok: 1 });
const UNAUTHORIZED = encodeBson({ ok: 0, errmsg: 'command listDatabases requires authentication', code: 13, codeName: 'Unauthorized' });

/** Wrap a document as the server's reply to `requestId`: OP_REPLY for OP_QUERY, OP_MSG for OP_MSG. */
function reply(requestId: number, doc: Buffer, asMsg: boolean): Buffer {
  const body = asMsg ? Buffer.concat([i32(0), Buffer.from([0]), doc]) : Buffer.concat([i32(8), i64(0n), i32(0), i32(1), doc]);
  return Buffer.concat([i32(16 + body.length), i32(777), i32(requestId), i32(asMsg ? 2013 : 1), body]);
}

/** The command name of a request our detector sent (OP_QUERY or OP_MSG). */
function commandOf(sent: Buffer): { requestId: number; asMsg: boolean; name: string } {
  const asMsg = sent.readInt32LE(12) === 2013;
  const docAt = asMsg ? 21 : 20 + 'admin.$cmd\0'.length + 8;
  const doc = decodeBson(sent, docAt)!.doc;
  return { requestId: sent.readInt32LE(4), asMsg, name: Object.keys(doc)[0]! };
}

/** A scripted mongod: answers by command name; `answers[name]` is the reply document. */
function mongod(answers: Record<string, Buffer | 'close'>) {
  return new ScriptedSession({
    reply: (sent) => {
      const c = commandOf(sent);
      const a = answers[c.name];
      if (a === undefined) return undefined;
      return a === 'close' ? 'close' : reply(c.requestId, a, c.asMsg);
    },
  });
}

function ctx(session: Session): ProbeContext {
  return { session, timing: { replyMs: 1500, settleMs: 100 }, intensity: 7 };
}

describe('BSON encoder and request bytes', () => {
  it('encodes {ok: 1.5} and {isMaster: 1} byte-exactly', () => {
    expect(encodeBson({ ok: 1.5 }).toString('hex')).toBe('11000000016f6b00000000000000f83f00');
    expect(encodeBson({ isMaster: 1 }).toString('hex')).toBe('130000001069734d61737465720001000000' + '00');
  });

  it('OP_QUERY isMaster on admin.$cmd, byte-exact', () => {
    expect(opQuery(1, { isMaster: 1 }).toString('hex')).toBe(
      ['3a000000', '01000000', '00000000', 'd4070000', '00000000', '61646d696e2e24636d6400', '00000000', 'ffffffff', '130000001069734d6173746572000100000000'].join(''),
    );
  });

  it('OP_MSG carries $db admin in one body section', () => {
    const m = opMsg(9, { buildInfo: 1 });
    expect(m.readInt32LE(0)).toBe(m.length);
    expect(m.readInt32LE(12)).toBe(2013);
    expect(m[20]).toBe(0);
    expect({ ...decodeBson(m, 21)!.doc }).toEqual({ buildInfo: 1, $db: 'admin' });
  });
});

describe('decodeBson', () => {
  it('reads every type a server reply uses', () => {
    const hello = decodeBson(HELLO_70)!.doc;
    expect(hello.maxWireVersion).toBe(21);
    expect(hello.ismaster).toBe(true);
    expect(hello.localTime).toBe(1795243459000);
    const tv = hello.topologyVersion as BsonDocument;
    expect(tv.processId).toBeInstanceOf(BsonOpaque);
    expect((tv.processId as BsonOpaque).bytes.toString('hex')).toBe('65a1b2c3d4e5f60718293a4b');
    const bi = decodeBson(BUILD_INFO_705)!.doc;
    expect(bi.versionArray).toEqual([7, 0, 5, 0]);
    expect(bi.modules).toEqual([]);
    expect(bi.nothing).toBeNull();
    expect(bi.ok).toBe(1);
  });

  it('keeps __proto__ keys as data', () => {
    const d = decodeBson(rawDoc(el(0x02, '__proto__', bstr('x')), el(0x10, 'a', i32(1))))!.doc;
    expect(d.__proto__).toBe('x');
    expect(({} as Record<string, unknown>).a).toBeUndefined();
  });

  it('rejects lying lengths, truncation, garbage and unknown types', () => {
    const ok = encodeBson({ a: 'hello', b: { c: 1 } });
    const set = (b: Buffer, at: number, v: number): Buffer => {
      const c = Buffer.from(b);
      c.writeInt32LE(v, at);
      return c;
    };
    const hostile: Buffer[] = [
      Buffer.alloc(0),
      Buffer.from([5, 0, 0]),
      ok.subarray(0, ok.length - 1),
      set(ok, 0, ok.length + 10), // document longer than the bytes
      set(ok, 0, ok.length - 2), // shorter than its elements
      set(ok, 0, -1),
      set(ok, 0, 0x7fffffff),
      set(ok, 7, 1000), // string length past the document
      set(ok, 7, -20), // negative string length
      set(ok, 7, 0),
      set(ok, 20, 9999), // embedded document longer than its parent
      set(ok, 20, 2),
      Buffer.concat([ok.subarray(0, ok.length - 1), Buffer.from([1])]), // no terminating NUL
      rawDoc(el(0x02, 's', Buffer.concat([i32(3), Buffer.from('abc')]))), // string without its NUL
      rawDoc(el(0x08, 'b', [2])),
      rawDoc(el(0x42, 'x', [0, 0, 0, 0])), // unknown type
      rawDoc(el(0x10, 'i', [1, 2])), // int32 cut short
      rawDoc(el(0x05, 'bin', Buffer.concat([i32(-1), Buffer.from([0])]))),
      rawDoc(el(0x05, 'bin', Buffer.concat([i32(50), Buffer.from([0, 1, 2])]))),
      rawDoc(el(0x0f, 'code', i32(3))),
      Buffer.from([0x07, 0, 0, 0, 0x10, 0x61, 0x00]), // key without value, no terminator
      Buffer.alloc(1 << 20, 0xff),
      (() => {
        const b = Buffer.alloc(1 << 20, 0x41);
        b.writeInt32LE(b.length, 0);
        b[b.length - 1] = 0;
        return b;
      })(),
    ];
    for (let i = 0; i < 300; i++) {
      const g = Buffer.from(Array.from({ length: 48 }, (_v, j) => (i * 61 + j * 7) & 0xff));
      g.writeInt32LE(48, 0);
      hostile.push(g);
    }
    for (const b of hostile) expect(() => decodeBson(b)).not.toThrow();
    for (const b of hostile.slice(0, 23)) expect(decodeBson(b)).toBeUndefined();
  });

  it('caps nesting depth and element count', () => {
    const nest = (depth: number): Buffer => {
      let d = rawDoc();
      for (let i = 1; i < depth; i++) d = rawDoc(el(0x03, 'd', d));
      return d;
    };
    expect(decodeBson(nest(BSON_MAX_DEPTH))).toBeDefined();
    expect(decodeBson(nest(BSON_MAX_DEPTH + 1))).toBeUndefined();
    expect(decodeBson(nest(2000))).toBeUndefined();
    const arrays = (depth: number): Buffer => {
      let d = rawDoc();
      for (let i = 1; i < depth; i++) d = rawDoc(el(0x04, '0', d));
      return d;
    };
    expect(decodeBson(arrays(2000))).toBeUndefined();
    const many = rawDoc(...Array.from({ length: 5000 }, (_v, i) => el(0x0a, `k${i}`, [])));
    expect(decodeBson(many)).toBeUndefined();
  });
});

describe('wire messages', () => {
  it('parseReply matches responseTo and reads OP_REPLY and OP_MSG', () => {
    expect(parseReply(reply(42, HELLO_70, false), 42)?.maxWireVersion).toBe(21);
    expect(parseReply(reply(42, HELLO_70, true), 42)?.maxWireVersion).toBe(21);
    expect(parseReply(reply(42, HELLO_70, false), 43)).toBeUndefined();
  });

  it('OP_MSG with a kind-1 section first and a checksum trailer', () => {
    const seq = Buffer.concat([Buffer.from([1]), i32(4 + 2 + 5), Buffer.from('d\0'), encodeBson({})]);
    const body = Buffer.concat([i32(1), seq, Buffer.from([0]), HELLO_70, Buffer.from('crc!')]);
    const msg = Buffer.concat([i32(16 + body.length), i32(1), i32(5), i32(2013), body]);
    expect(parseReply(msg, 5)?.maxWireVersion).toBe(21);
  });

  it('rejects hostile messages', () => {
    const good = reply(7, HELLO_70, false);
    const set = (at: number, v: number): Buffer => {
      const c = Buffer.from(good);
      c.writeInt32LE(v, at);
      return c;
    };
    const hostile = [
      Buffer.alloc(0),
      good.subarray(0, 30),
      set(0, good.length + 100), // claims more than arrived
      set(0, -1),
      set(0, 12),
      set(0, 0x7fffffff),
      set(12, 2012), // OP_COMPRESSED: never asked for
      set(32, 0), // numberReturned 0
      set(36, 99999), // document length beyond the message
      Buffer.concat([i32(30), i32(0), i32(7), i32(2013), i32(0), Buffer.from([1]), i32(9999), Buffer.alloc(1)]),
      Buffer.concat([i32(26), i32(0), i32(7), i32(2013), i32(0), Buffer.from([9]), Buffer.alloc(5)]),
      Buffer.alloc(1 << 20, 0x20),
    ];
    for (const b of hostile) expect(parseReply(b, 7)).toBeUndefined();
    expect(messageComplete(good)).toBe(true);
    expect(messageComplete(good.subarray(0, 40))).toBe(false);
    expect(messageComplete(set(0, -5))).toBe(true);
    expect(messageComplete(set(0, 64 << 20))).toBe(true);
    expect(messageComplete(Buffer.from([1, 2]))).toBe(false);
  });
});

describe('identification', () => {
  it('hello: product and release line from maxWireVersion', () => {
    const id = identifyHello(decodeBson(HELLO_70)!.doc)!;
    expect(id).toMatchObject({ service: 'mongodb', product: 'MongoDB', confidence: 8, extrainfo: 'wire version 21: 7.0' });
    expect(id.version).toBeUndefined();
    expect(releaseForWire(6)).toBe('3.6');
    expect(releaseForWire(17)).toBe('6.0');
    expect(releaseForWire(25)).toBe('8.0');
    expect(releaseForWire(40)).toBe('newer than 8.0');
    expect(releaseForWire(0)).toBe('2.4 or earlier');
    expect(releaseForWire(-1)).toBeUndefined();
    expect(releaseForWire(2.5)).toBeUndefined();
    const mongos = identifyHello(decodeBson(encodeBson({ ismaster: true, msg: 'isdbgrid', maxWireVersion: 17, ok: 1 }))!.doc)!;
    expect(mongos.extrainfo).toBe('mongos; wire version 17: 6.0');
  });

  it('hello: documents that are not a handshake claim nothing', () => {
    expect(identifyHello(decodeBson(encodeBson({ ok: 1 }))!.doc)).toBeUndefined();
    expect(identifyHello(decodeBson(encodeBson({ ismaster: true, ok: 0 }))!.doc)).toBeUndefined();
    expect(identifyHello(decodeBson(encodeBson({ hello: 'world' }))!.doc)).toBeUndefined();
    const refused = identifyHello(decodeBson(encodeBson({ ok: 0, errmsg: 'no', code: 352 }))!.doc)!;
    expect(refused.confidence).toBe(7);
  });

  it('buildInfo: version, CPE, OS and distribution build', () => {
    const base = identifyHello(decodeBson(HELLO_70)!.doc)!;
    const id = identifyBuildInfo(decodeBson(BUILD_INFO_705)!.doc, base);
    expect(id).toMatchObject({ product: 'MongoDB', version: '7.0.5', confidence: 10, ostype: 'Linux', distro: 'Ubuntu', cpe: ['cpe:2.3:a:mongodb:mongodb:7.0.5:*:*:*:*:*:*:*'], extrainfo: 'wire version 21: 7.0' });
    const ent = identifyBuildInfo(decodeBson(encodeBson({ version: '6.0.13', modules: ['enterprise'], ok: 1 }))!.doc, base);
    expect(ent.extrainfo).toBe('Enterprise; wire version 21: 7.0');
    const ferret = identifyBuildInfo(decodeBson(encodeBson({ version: '7.0.42', ferretdb: { version: 'v1.24.0' }, ok: 1 }))!.doc, base);
    expect(ferret).toMatchObject({ product: 'FerretDB', version: '1.24.0' });
    expect(identifyBuildInfo(decodeBson(encodeBson({ version: '7.0.5\u001b[2J', ok: 1 }))!.doc, base).version).toBeUndefined();
    expect(identifyBuildInfo(decodeBson(encodeBson({ version: '7.0.5', ok: 0 }))!.doc, base)).toBe(base);
    expect(identifyBuildInfo(decodeBson(encodeBson({ version: 7, buildEnvironment: 'x', ok: 1 }))!.doc, base).version).toBeUndefined();
  });

  it('listDatabases: evidence on success only', () => {
    expect(noAuthEvidence(decodeBson(LIST_OK)!.doc)).toEqual({ id: 'mongodb-no-auth', detail: 'MongoDB listed 3 databases without authentication' });
    expect(noAuthEvidence(decodeBson(UNAUTHORIZED)!.doc)).toBeUndefined();
    expect(noAuthEvidence(decodeBson(encodeBson({ ok: 1 }))!.doc)).toBeUndefined();
  });
});

describe('detector', () => {
  it('OP_QUERY handshake, then OP_MSG buildInfo and listDatabases (no auth)', async () => {
    const s = mongod({ isMaster: HELLO_70, buildInfo: BUILD_INFO_705, listDatabases: LIST_OK });
    const first = (await detector.probe!(ctx(s)))!;
    expect(first.extrainfo).toBe('wire version 21: 7.0');
    expect(commandOf(s.sent).asMsg).toBe(false);
    const id = await detector.followUp!({ ...ctx(s), previous: first });
    expect(id).toMatchObject({ version: '7.0.5', confidence: 10 });
    expect(id.evidence).toEqual([{ id: 'mongodb-no-auth', detail: 'MongoDB listed 3 databases without authentication' }]);
    // The listDatabases request asked for names only.
    const last = s.sent.subarray(s.sent.length - opMsg(1, { listDatabases: 1, nameOnly: true }).length);
    expect({ ...decodeBson(last, 21)!.doc }).toEqual({ listDatabases: 1, nameOnly: true, $db: 'admin' });
  });

  it('auth enabled: version still, no evidence', async () => {
    const s = mongod({ isMaster: HELLO_70, buildInfo: BUILD_INFO_705, listDatabases: UNAUTHORIZED });
    const id = await detector.followUp!({ ...ctx(s), previous: (await detector.probe!(ctx(s)))! });
    expect(id.version).toBe('7.0.5');
    expect(id.evidence).toBeUndefined();
  });

  it('an old server (wire 5) gets OP_QUERY follow-ups', async () => {
    const hello = encodeBson({ ismaster: true, maxWireVersion: 5, minWireVersion: 0, ok: 1 });
    const s = mongod({ isMaster: hello, buildInfo: encodeBson({ version: '3.4.24', ok: 1 }), listDatabases: LIST_OK });
    const first = (await detector.probe!(ctx(s)))!;
    expect(first.extrainfo).toBe('wire version 5: 3.4');
    const id = await detector.followUp!({ ...ctx(s), previous: first });
    expect(id).toMatchObject({ version: '3.4.24' });
    expect(s.sent.readInt32LE(s.sent.length - opQuery(1, { listDatabases: 1, nameOnly: true }).length + 12)).toBe(2004);
  });

  it('hostile or foreign replies: no identification, no crash', async () => {
    const answers: (string | Buffer)[] = ['HTTP/1.0 400 Bad Request\r\n\r\n', Buffer.alloc(1 << 16, 0xff), Buffer.from([0x10, 0, 0, 0, 1, 2, 3, 4])];
    for (const a of answers) expect(await detector.probe!(ctx(new ScriptedSession({ reply: () => a })))).toBeUndefined();
    expect(await detector.probe!(ctx(new ScriptedSession({})))).toBeUndefined();
    expect(await detector.probe!(ctx(mongod({ isMaster: 'close' })))).toBeUndefined();
    const s = mongod({ isMaster: HELLO_70, buildInfo: 'close' });
    const first = (await detector.probe!(ctx(s)))!;
    expect(await detector.followUp!({ ...ctx(s), previous: first })).toEqual(first);
  });

  it('greeting(): the HTTP-on-driver-port answer', () => {
    const http = 'HTTP/1.0 200 OK\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: 85\r\n\r\nIt looks like you are trying to access MongoDB over HTTP on the native driver port.\r\n';
    expect(detector.greeting!(Buffer.from(http), { address: '127.0.0.1', port: 27017 })).toMatchObject({ service: 'mongodb', product: 'MongoDB' });
    expect(detector.greeting!(Buffer.from('HTTP/1.0 200 OK\r\n\r\nhello'), { address: '127.0.0.1', port: 27017 })).toBeUndefined();
    expect(detector.greeting!(Buffer.alloc(1 << 20), { address: '127.0.0.1', port: 27017 })).toBeUndefined();
  });
});
