import { describe, expect, it } from 'vitest';
import { reachable, withLive } from '../../../test/helpers/live-session.js';
import { ScriptedSession } from '../scripted-session.js';
import type { ProbeContext, Session } from '../types.js';
import { bulkComplete, classifyReply, detector, identifyInfo, identifyReply, INFO_SERVER, parseBulk, parseInfo, PING } from './redis.js';

/** Captured from Redis 7.0.15 on 127.0.0.1:6379: the answer to INFO_SERVER. */
const INFO_7 = Buffer.from(
  [
    '243536390d0a23205365727665720d0a72656469735f76657273696f6e3a372e302e31350d0a72656469735f6769745f736861313a30303030303030300d0a72656469735f6769745f64697274793a30',
    '0d0a72656469735f6275696c645f69643a6165346437633937316139343866300d0a72656469735f6d6f64653a7374616e64616c6f6e650d0a6f733a4c696e757820362e31382e34342d66632d763539',
    '35207838365f36340d0a617263685f626974733a36340d0a6d6f6e6f746f6e69635f636c6f636b3a504f53495820636c6f636b5f67657474696d650d0a6d756c7469706c6578696e675f6170693a6570',
    '6f6c6c0d0a61746f6d69637661725f6170693a6331312d6275696c74696e0d0a6763635f76657273696f6e3a31322e322e300d0a70726f636573735f69643a323231310d0a70726f636573735f737570',
    '657276697365643a6e6f0d0a72756e5f69643a353831306232356666303563393334653730323965353336316261313065386630353362313963650d0a7463705f706f72743a363337390d0a73657276',
    '65725f74696d655f757365633a313739353234333337333438373035390d0a757074696d655f696e5f7365636f6e64733a3237360d0a757074696d655f696e5f646179733a300d0a687a3a31300d0a63',
    '6f6e666967757265645f687a3a31300d0a6c72755f636c6f636b3a38313236310d0a65786563757461626c653a2f72656469732d7365727665720d0a636f6e6669675f66696c653a0d0a696f5f746872',
    '656164735f6163746976653a300d0a0d0a',
  ].join(''),
  'hex',
);
/** Captured from Redis 7.0.15 with requirepass (a throwaway instance), and its other error wordings. */
const NOAUTH = '-NOAUTH Authentication required.\r\n';
const UNKNOWN_CMD = "-ERR unknown command 'FOOBAR', with args beginning with: 'baz' \r\n";
const WRONG_ARITY = "-ERR wrong number of arguments for 'get' command\r\n";
const DENIED =
  '-DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user. In this mode connections are only accepted from the loopback interface.\r\n';

function ctx(session: Session): ProbeContext {
  return { session, timing: { replyMs: 1500, settleMs: 100 }, intensity: 7 };
}

/** A scripted Redis: PING → `ping`, INFO server → `info`. */
function redis(ping: string, info: Buffer | string = INFO_7) {
  return new ScriptedSession({
    reply: (sent) => {
      const s = sent.toString('latin1');
      if (s === PING) return ping;
      if (s === INFO_SERVER) return ping === '+PONG\r\n' ? info : NOAUTH;
      return UNKNOWN_CMD;
    },
  });
}

function bulk(body: string): Buffer {
  return Buffer.from(`$${Buffer.byteLength(body, 'latin1')}\r\n${body}\r\n`, 'latin1');
}

describe('classifyReply', () => {
  it('knows Redis wordings', () => {
    expect(classifyReply(Buffer.from('+PONG\r\n'))?.auth).toBe('none');
    expect(classifyReply(Buffer.from(NOAUTH))?.auth).toBe('required');
    expect(classifyReply(Buffer.from('-NOAUTH Authentication required\r\n'))?.auth).toBe('required');
    expect(classifyReply(Buffer.from(DENIED))?.auth).toBe('protected');
    expect(classifyReply(Buffer.from(UNKNOWN_CMD))?.auth).toBe('unknown');
    expect(classifyReply(Buffer.from('-ERR unknown command `FOO`, with args beginning with: `bar`, \r\n'))?.auth).toBe('unknown');
    expect(classifyReply(Buffer.from(WRONG_ARITY))?.auth).toBe('unknown');
    expect(classifyReply(Buffer.from("-ERR Protocol error: expected '$', got ' '\r\n"))?.auth).toBe('unknown');
  });

  it('rejects other protocols and hostile input', () => {
    const hostile = [
      '',
      '+PONG', // no line end yet
      '+OK Dovecot ready.\r\n',
      '-ERR Unknown command.\r\n', // POP3
      '-ERR unknown command\r\n',
      '+PONG\x1b[2J\r\n',
      'HTTP/1.1 400 Bad Request\r\n\r\n',
      'SSH-2.0-OpenSSH_9.2\r\n',
      `-ERR unknown command '${'A'.repeat(1 << 20)}'\r\n`,
      `${'-'.repeat(1 << 20)}`,
    ];
    for (const h of hostile) {
      expect(classifyReply(Buffer.from(h, 'latin1'))).toBeUndefined();
      expect(detector.greeting!(Buffer.from(h, 'latin1'), { address: '127.0.0.1', port: 6379 })).toBeUndefined();
    }
    for (let i = 0; i < 100; i++) expect(classifyReply(Buffer.from(Array.from({ length: 64 }, (_v, j) => (i * 7 + j * 13) & 0xff)))).toBeUndefined();
  });
});

describe('parseBulk / parseInfo', () => {
  it('reads the captured INFO server reply', () => {
    const body = parseBulk(INFO_7)!;
    expect(body.length).toBe(569);
    const info = parseInfo(body);
    expect(info.get('redis_version')).toBe('7.0.15');
    expect(info.get('os')).toBe('Linux 6.18.44-fc-v595 x86_64');
    expect(info.get('redis_mode')).toBe('standalone');
  });

  it('rejects lying and hostile bulk lengths', () => {
    const hostile = [
      Buffer.alloc(0),
      Buffer.from('$'),
      Buffer.from('$-1\r\n'),
      Buffer.from('$-5\r\nabc\r\n'),
      Buffer.from('$10\r\nabc\r\n'), // claims more than sent
      Buffer.from('$3\r\nabcdef\r\n'), // no CRLF after the claimed length
      Buffer.from('$99999999999\r\nx\r\n'),
      Buffer.from(`$${1 << 20}\r\n${'a'.repeat(1 << 20)}\r\n`),
      Buffer.from('$1e3\r\nx\r\n'),
      Buffer.from('$3\nabc\r\n'), // bare LF
      Buffer.from(NOAUTH),
      INFO_7.subarray(0, 100),
    ];
    for (const b of hostile) expect(parseBulk(b)).toBeUndefined();
  });

  it('bulkComplete stops on whole, impossible or non-bulk replies', () => {
    expect(bulkComplete(INFO_7)).toBe(true);
    expect(bulkComplete(INFO_7.subarray(0, 300))).toBe(false);
    expect(bulkComplete(Buffer.from('$5'))).toBe(false);
    expect(bulkComplete(Buffer.from(NOAUTH))).toBe(true);
    expect(bulkComplete(Buffer.from('$99999999\r\n'))).toBe(true);
    expect(bulkComplete(Buffer.from('$-3\r\n'))).toBe(true);
    expect(bulkComplete(Buffer.alloc(40, 0x24))).toBe(true);
  });

  it('parseInfo is bounded and ignores junk lines', () => {
    const junk = parseInfo(Buffer.from(`redis_version:7.2.4\r\nnot a field\r\n\x1b[31mos:evil\r\n${'a:b\r\n'.repeat(100_000)}`, 'latin1'));
    expect(junk.get('redis_version')).toBe('7.2.4');
    expect(junk.has('os')).toBe(false);
    expect(junk.size).toBeLessThanOrEqual(256);
    expect(parseInfo(Buffer.from(`os:${'x'.repeat(1 << 20)}\r\n`)).size).toBe(0);
    expect(parseInfo(Buffer.from('redis_version:7.2.4\x07\r\n')).get('redis_version')).toBe('7.2.4');
  });
});

describe('identification', () => {
  it('version, ostype and CPE from INFO', () => {
    const base = identifyReply({ auth: 'none', line: '+PONG' });
    const id = identifyInfo(parseInfo(parseBulk(INFO_7)!), base);
    expect(id).toMatchObject({ service: 'redis', product: 'Redis key-value store', version: '7.0.15', ostype: 'Linux', confidence: 10, cpe: ['cpe:2.3:a:redis:redis:7.0.15:*:*:*:*:*:*:*'] });
    expect(id.extrainfo).toBeUndefined();
  });

  it('forks and modes', () => {
    const base = identifyReply({ auth: 'none', line: '+PONG' });
    const valkey = identifyInfo(parseInfo(parseBulk(bulk('# Server\r\nredis_version:7.2.4\r\nserver_name:valkey\r\nvalkey_version:8.0.1\r\nredis_mode:cluster\r\nos:Linux 6.1.0 x86_64\r\n'))!), base);
    expect(valkey).toMatchObject({ product: 'Valkey', version: '8.0.1', extrainfo: 'cluster mode', cpe: ['cpe:2.3:a:lfprojects:valkey:8.0.1:*:*:*:*:*:*:*'] });
    const df = identifyInfo(parseInfo(Buffer.from('redis_version:7.2.0\r\ndragonfly_version:df-v1.21.2\r\nos:Darwin 23.1.0 arm64\r\n')), base);
    expect(df).toMatchObject({ product: 'Dragonfly', version: '1.21.2', ostype: 'Mac OS X' });
    expect(df.cpe).toBeUndefined();
    const sentinel = identifyInfo(parseInfo(Buffer.from('redis_version:6.2.14\r\nredis_mode:sentinel\r\n')), base);
    expect(sentinel).toMatchObject({ version: '6.2.14', extrainfo: 'sentinel mode' });
  });
});

describe('detector', () => {
  it('no auth: PING, INFO, version and the redis-no-auth evidence', async () => {
    const s = redis('+PONG\r\n');
    const first = (await detector.probe!(ctx(s)))!;
    expect(first).toMatchObject({ service: 'redis', product: 'Redis key-value store', confidence: 8 });
    const id = await detector.followUp!({ ...ctx(s), previous: first });
    expect(id).toMatchObject({ version: '7.0.15', ostype: 'Linux', confidence: 10 });
    expect(id.evidence).toEqual([{ id: 'redis-no-auth', detail: 'Redis answered PING and INFO without authentication' }]);
    expect(s.sent.toString()).toBe(PING + INFO_SERVER);
  });

  it('INFO renamed away: still no-auth, no version', async () => {
    const s = redis('+PONG\r\n', "-ERR unknown command 'INFO', with args beginning with: 'server' \r\n");
    const id = await detector.followUp!({ ...ctx(s), previous: (await detector.probe!(ctx(s)))! });
    expect(id.version).toBeUndefined();
    expect(id.evidence?.[0]?.detail).toBe('Redis answered PING without authentication');
  });

  it('INFO with a lying length gives no version and no crash', async () => {
    for (const info of ['$900\r\nredis_version:7.0.0\r\n', '$-9\r\n', `$${1 << 20}\r\n`, Buffer.alloc(1 << 20, 0x24)]) {
      const s = redis('+PONG\r\n', info);
      const id = await detector.followUp!({ ...ctx(s), previous: (await detector.probe!(ctx(s)))! });
      expect(id.version).toBeUndefined();
    }
  });

  it('auth required or protected mode: no INFO, no evidence', async () => {
    for (const [reply, extrainfo] of [[NOAUTH, 'authentication required'], [DENIED, 'protected mode']] as const) {
      const s = redis(reply);
      const first = (await detector.probe!(ctx(s)))!;
      expect(first.extrainfo).toBe(extrainfo);
      const id = await detector.followUp!({ ...ctx(s), previous: first });
      expect(id.evidence).toBeUndefined();
      expect(s.sent.toString()).toBe(PING);
    }
  });

  it('greeting from another probe, then followUp asks PING itself', async () => {
    const g = detector.greeting!(Buffer.from(WRONG_ARITY), { address: '127.0.0.1', port: 6379 })!;
    expect(g).toMatchObject({ service: 'redis', confidence: 7 });
    const s = redis('+PONG\r\n');
    const id = await detector.followUp!({ ...ctx(s), previous: g });
    expect(id).toMatchObject({ version: '7.0.15', confidence: 10 });
    expect(id.evidence?.[0]?.id).toBe('redis-no-auth');
  });

  it('probe on something else is undefined', async () => {
    expect(await detector.probe!(ctx(new ScriptedSession({ reply: () => 'HTTP/1.1 400 Bad Request\r\n\r\n' })))).toBeUndefined();
    expect(await detector.probe!(ctx(new ScriptedSession({})))).toBeUndefined();
    expect(await detector.probe!(ctx(new ScriptedSession({ greeting: '220 ftp\r\n' })))).toBeUndefined();
  });
});

describe.skipIf(!(await reachable(6379)))('against the Redis server on 127.0.0.1:6379', () => {
  it('PING, INFO server, version and the no-auth fact', async () => {
    await withLive(6379, async (s) => {
      const first = (await detector.probe!(ctx(s)))!;
      expect(first.service).toBe('redis');
      const id = await detector.followUp!({ ...ctx(s), previous: first });
      if (first.fields?.['redis.auth'] === 'none') {
        expect(id.version).toMatch(/^\d+\.\d+\.\d+$/);
        expect(id.ostype).toBe('Linux');
        expect(id.evidence?.map((e) => e.id)).toEqual(['redis-no-auth']);
      } else {
        expect(id.evidence).toBeUndefined();
      }
    });
  });
});
