import { describe, expect, it } from 'vitest';
import { reachable, withLive } from '../../../test/helpers/live-session.js';
import { ScriptedSession, type Script } from '../scripted-session.js';
import type { ProbeContext, Session } from '../types.js';
import { detector, errorComplete, identifyError, identifyPostgresql, parseErrorResponse, protocolRange, SSL_REQUEST, sslAnswerComplete, STARTUP_V4 } from './postgresql.js';

/** Captured from PostgreSQL 15.20 (Debian) on 127.0.0.1:5432: the answer to STARTUP_V4. */
const PG15_REJECT = Buffer.from(
  '450000008353464154414c0056464154414c00433041303030004d756e737570706f727465642066726f6e74656e642070726f746f636f6c20342e303a2073657276657220737570706f72747320332e3020746f20332e300046706f73746d61737465722e63004c32323230005250726f63657373537461727475705061636b65740000',
  'hex',
);
/** Same server, answer to protocol 1.0: the protocol-2 style text error. */
const PG15_LEGACY = Buffer.from('45464154414c3a2020756e737570706f727465642066726f6e74656e642070726f746f636f6c20312e303a2073657276657220737570706f72747320332e3020746f20332e300a00', 'hex');

/** Build a v3 ErrorResponse from [code, value] pairs. */
function errorResponse(fields: [string, string][]): Buffer {
  const body = Buffer.concat([...fields.map(([c, v]) => Buffer.from(`${c}${v}\0`, 'latin1')), Buffer.from([0])]);
  const head = Buffer.alloc(5);
  head[0] = 0x45;
  head.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([head, body]);
}

function ctx(session: Session): ProbeContext {
  return { session, timing: { replyMs: 1500, settleMs: 100 }, intensity: 7 };
}

/** A scripted PostgreSQL: answers the SSLRequest with `ssl` and the startup with `reject`. */
function pgScript(ssl: 'S' | 'N', reject: Buffer = PG15_REJECT, extra: Partial<Script> = {}): Script {
  return {
    reply: (sent) => {
      if (sent.equals(SSL_REQUEST)) return ssl;
      if (sent.equals(STARTUP_V4)) return reject;
      return undefined;
    },
    ...extra,
  };
}

describe('parseErrorResponse', () => {
  it('reads the captured PostgreSQL 15 rejection', () => {
    const err = parseErrorResponse(PG15_REJECT)!;
    expect(err.legacy).toBe(false);
    expect(err.fields).toEqual({
      S: 'FATAL',
      V: 'FATAL',
      C: '0A000',
      M: 'unsupported frontend protocol 4.0: server supports 3.0 to 3.0',
      F: 'postmaster.c',
      L: '2220',
      R: 'ProcessStartupPacket',
    });
  });

  it('reads the protocol-2 style text error', () => {
    expect(parseErrorResponse(PG15_LEGACY)).toEqual({ legacy: true, fields: { S: 'FATAL', M: 'unsupported frontend protocol 1.0: server supports 3.0 to 3.0' } });
  });

  it('rejects hostile input without throwing', () => {
    const lying = Buffer.from(PG15_REJECT);
    lying.writeInt32BE(0x7fff, 1);
    const negative = Buffer.from(PG15_REJECT);
    negative.writeInt32BE(-5, 1);
    const short = Buffer.from(PG15_REJECT);
    short.writeInt32BE(40, 1); // ends inside a field
    const hostile: Buffer[] = [
      Buffer.alloc(0),
      Buffer.from('E'),
      PG15_REJECT.subarray(0, PG15_REJECT.length - 1),
      lying,
      negative,
      short,
      Buffer.alloc(1 << 20, 0x45),
      Buffer.concat([Buffer.from([0x45, 0, 0x10, 0, 0]), Buffer.alloc(1 << 20, 0x53)]),
      Buffer.concat([Buffer.from('E'), Buffer.alloc(1 << 20, 0x41)]), // text error without its NUL
      errorResponse([['S', 'FATAL'], ['C', '0A000']]), // no message
      errorResponse([['S', 'FATAL'], ['C', 'bad'], ['M', 'x']]),
      errorResponse([['S', 'FATAL'], ['C', '0A000'], ['M', 'x\x1b[31m']]), // ANSI escape
      errorResponse([['S', 'FATAL'], ['C', '0A000'], ['M', 'x'], ['Z', 'unknown code']]),
      errorResponse([['S', 'FATAL'], ['S', 'FATAL'], ['C', '0A000'], ['M', 'x']]), // repeated field
      errorResponse([['S', 'FATAL'], ['C', '0A000'], ['M', 'x'], ['L', 'twelve']]),
      errorResponse(Array.from({ length: 40 }, (_v, i): [string, string] => ['SVCMDHPpqWstcdnFLR'[i % 18]!, 'x'])),
      Buffer.concat([errorResponse([['S', 'FATAL'], ['C', '0A000'], ['M', 'x']]).subarray(0, -1), Buffer.from('X')]), // no terminator
      Buffer.from('EFATAL: one space only\n\0'),
      Buffer.from('HTTP/1.1 400 Bad Request\r\n\r\n'),
    ];
    for (let i = 0; i < 200; i++) hostile.push(Buffer.concat([Buffer.from('E'), Buffer.from(Array.from({ length: 80 }, (_v, j) => (i * 37 + j * 101) & 0xff))]));
    for (const b of hostile) {
      expect(() => identifyPostgresql(b)).not.toThrow();
      expect(parseErrorResponse(b)).toBeUndefined();
    }
  });

  it('completeness predicates stop on whole or impossible messages', () => {
    expect(errorComplete(PG15_REJECT)).toBe(true);
    expect(errorComplete(PG15_REJECT.subarray(0, 30))).toBe(false);
    expect(errorComplete(PG15_LEGACY)).toBe(true);
    expect(errorComplete(PG15_LEGACY.subarray(0, 20))).toBe(false);
    expect(errorComplete(Buffer.from([0x45, 0, 0, 0xff, 0xff]))).toBe(true); // length beyond our bound
    expect(errorComplete(Buffer.from('R'))).toBe(true);
    expect(sslAnswerComplete(Buffer.from('N'))).toBe(true);
    expect(sslAnswerComplete(Buffer.alloc(0))).toBe(false);
  });
});

describe('identification', () => {
  it('product, protocol range and measured source line', () => {
    const id = identifyPostgresql(PG15_REJECT)!;
    expect(id).toMatchObject({
      service: 'postgresql',
      product: 'PostgreSQL DB',
      confidence: 8,
      extrainfo: 'protocol 3.0; versions 14-17; postmaster.c:2220 as in 15.20',
      cpe: ['cpe:2.3:a:postgresql:postgresql:*:*:*:*:*:*:*:*'],
    });
    expect(id.version).toBeUndefined();
    expect(id.fields).toMatchObject({ 'postgresql.error.file': 'postmaster.c', 'postgresql.error.line': '2220', 'postgresql.error.routine': 'ProcessStartupPacket' });
  });

  it('older and newer protocol ranges, unknown lines claim no build', () => {
    const old = errorResponse([['S', 'FATAL'], ['C', '0A000'], ['M', 'unsupported frontend protocol 4.0: server supports 1.0 to 3.0'], ['F', 'postmaster.c'], ['L', '1990'], ['R', 'ProcessStartupPacket']]);
    expect(identifyPostgresql(old)?.extrainfo).toBe('protocol 1.0-3.0; versions 7.4-9.6');
    const v96 = errorResponse([['S', 'FATAL'], ['V', 'FATAL'], ['C', '0A000'], ['M', 'unsupported frontend protocol 4.0: server supports 1.0 to 3.0'], ['F', 'postmaster.c'], ['L', '2030'], ['R', 'ProcessStartupPacket']]);
    expect(identifyPostgresql(v96)?.extrainfo).toBe('protocol 1.0-3.0; versions 9.6');
    const pg18 = errorResponse([['S', 'FATAL'], ['V', 'FATAL'], ['C', '0A000'], ['M', 'unsupported frontend protocol 4.0: server supports 3.0 to 3.2'], ['F', 'backend_startup.c'], ['L', '777'], ['R', 'ProcessStartupPacket']]);
    expect(identifyPostgresql(pg18)?.extrainfo).toBe('protocol 3.0-3.2; versions 18+');
    // Localised message: the numbers still give the range.
    const de = errorResponse([['S', 'FATAL'], ['V', 'FATAL'], ['C', '0A000'], ['M', 'nicht unterstuetztes Frontend-Protokoll 4.0: Server unterstuetzt 2.0 bis 3.0'], ['F', 'postmaster.c'], ['L', '2100'], ['R', 'ProcessStartupPacket']]);
    expect(identifyPostgresql(de)?.extrainfo).toBe('protocol 2.0-3.0; versions 10-13');
  });

  it('a pooler without source fields is postgresql without a product', () => {
    const bouncer = errorResponse([['S', 'FATAL'], ['C', '08P01'], ['M', 'unsupported startup parameter']]);
    const id = identifyPostgresql(bouncer)!;
    expect(id.service).toBe('postgresql');
    expect(id.product).toBeUndefined();
    expect(protocolRange('no numbers here')).toBeUndefined();
    // Only the first 512 characters are looked at, so a huge message costs nothing.
    expect(protocolRange(`${'x'.repeat(1 << 20)} server supports 3.0 to 3.0`)).toBeUndefined();
  });

  it('greeting() ignores bare text errors and other protocols', () => {
    expect(detector.greeting!(PG15_LEGACY, { address: '127.0.0.1', port: 5432 })).toBeUndefined();
    expect(detector.greeting!(Buffer.from('-ERR unknown command\r\n'), { address: '127.0.0.1', port: 5432 })).toBeUndefined();
    expect(detector.greeting!(PG15_REJECT, { address: '127.0.0.1', port: 5432 })?.product).toBe('PostgreSQL DB');
    expect(identifyError({ legacy: true, fields: { S: 'FATAL', M: 'unsupported frontend protocol 4.0: server supports 2.0 to 3.0' } }).extrainfo).toBe('protocol 2.0-3.0; versions 10-13');
  });
});

describe('detector', () => {
  it("probe(): `N`, then the startup on the same connection", async () => {
    const s = new ScriptedSession(pgScript('N'));
    const id = await detector.probe!(ctx(s));
    expect(id).toMatchObject({ product: 'PostgreSQL DB', extrainfo: 'protocol 3.0; versions 14-17; postmaster.c:2220 as in 15.20' });
    expect(id?.startTls).toBeUndefined();
    expect(s.sent).toEqual(Buffer.concat([SSL_REQUEST, STARTUP_V4]));
    expect(s.reconnects).toBe(0);
    // Nothing in the startup packet but its length and version: no user, no database.
    expect(STARTUP_V4.length).toBe(8);
  });

  it('probe(): `N` and then silence is a weak match; `N` plus other text is none', async () => {
    expect(await detector.probe!(ctx(new ScriptedSession({ reply: (sent) => (sent.equals(SSL_REQUEST) ? 'N' : undefined) })))).toMatchObject({ product: 'PostgreSQL DB', confidence: 5 });
    expect(await detector.probe!(ctx(new ScriptedSession({ reply: () => 'Not Found\r\n' })))).toBeUndefined();
    expect(await detector.probe!(ctx(new ScriptedSession({ reply: (sent) => (sent.equals(SSL_REQUEST) ? 'N' : 'HTTP/1.0 400\r\n\r\n') })))).toBeUndefined();
    expect(await detector.probe!(ctx(new ScriptedSession({})))).toBeUndefined();
    expect(await detector.probe!(ctx(new ScriptedSession({ greeting: 'SSH-2.0-x\r\n' })))).toBeUndefined();
  });

  it('probe() + followUp(): `S`, TLS upgrade, startup inside TLS', async () => {
    const tls = { protocol: 'TLSv1.3', cipher: 'TLS_AES_128_GCM_SHA256' };
    const s = new ScriptedSession(pgScript('S', PG15_REJECT, { tls }));
    const first = (await detector.probe!(ctx(s)))!;
    expect(first).toMatchObject({ product: 'PostgreSQL DB', startTls: true, confidence: 5 });
    const after = await detector.followUp!({ ...ctx(s), previous: first });
    expect(after).toMatchObject({ confidence: 8, startTls: true, tls, extrainfo: 'protocol 3.0; versions 14-17; postmaster.c:2220 as in 15.20' });
    expect(s.reconnects).toBe(0);
  });

  it('followUp(): TLS fails, so the startup goes over a fresh plaintext connection', async () => {
    const s = new ScriptedSession(pgScript('S'));
    const first = (await detector.probe!(ctx(s)))!;
    const after = await detector.followUp!({ ...ctx(s), previous: first });
    expect(after).toMatchObject({ confidence: 8, startTls: true });
    expect(after.tls).toBeUndefined();
    expect(s.reconnects).toBe(1);
    const failing = new ScriptedSession(pgScript('S', PG15_REJECT, { reconnect: 'fail' }));
    const weak = (await detector.probe!(ctx(failing)))!;
    expect(await detector.followUp!({ ...ctx(failing), previous: weak })).toEqual(weak);
  });

  it('probe() inside a TLS tunnel sends the startup directly', async () => {
    const s = new ScriptedSession(pgScript('N'), { tunnel: 'ssl', port: 5432 });
    expect((await detector.probe!(ctx(s)))?.product).toBe('PostgreSQL DB');
    expect(s.sent).toEqual(STARTUP_V4);
  });

  it('probe(): an error answer to the SSLRequest itself', async () => {
    const s = new ScriptedSession({ reply: () => PG15_REJECT });
    expect((await detector.probe!(ctx(s)))?.product).toBe('PostgreSQL DB');
  });
});

describe.skipIf(!(await reachable(5432)))('against the PostgreSQL server on 127.0.0.1:5432', () => {
  it('identifies PostgreSQL from its startup rejection without logging in', async () => {
    await withLive(5432, async (s) => {
      const id = (await detector.probe!(ctx(s)))!;
      expect(id.service).toBe('postgresql');
      expect(id.product).toBe('PostgreSQL DB');
      expect(id.extrainfo).toMatch(/^protocol 3\.\d/);
      expect(id.fields?.['postgresql.error.routine']).toBe('ProcessStartupPacket');
      const after = await detector.followUp!({ ...ctx(s), previous: id });
      expect(after).toEqual(id);
    });
  });
});
