import { describe, expect, it } from 'vitest';
import { reachable, withLive } from '../../../test/helpers/live-session.js';
import { ScriptedSession } from '../scripted-session.js';
import type { ProbeContext, Session } from '../types.js';
import { detector, firstPacketComplete, identifyMysql, mysqlDistro, parseErrorPacket, parseHandshake, sslRequestPacket } from './mysql.js';

/** Captured from MariaDB 10.11.19 (Debian 12 package) on 127.0.0.1:3306. */
const MARIADB_GREETING = Buffer.from(
  '640000000a352e352e352d31302e31312e31392d4d6172696144422d302b64656231327531000800000058417a635f362d7e00fef72d0200ff81150000000000001d000000556b3d2f727265262836756d006d7973716c5f6e61746976655f70617373776f726400',
  'hex',
);

/** Build a protocol-10 handshake the way MySQL 5.5+ lays it out. */
function handshake(version: string, caps = 0xffff | (0x81ff << 16), plugin = 'caching_sha2_password'): Buffer {
  const body = Buffer.concat([
    Buffer.from([10]),
    Buffer.from(`${version}\0`, 'latin1'),
    Buffer.from([7, 0, 0, 0]), // connection id
    Buffer.from('abcdefgh'), // auth data part 1
    Buffer.from([0]),
    Buffer.from([caps & 0xff, (caps >>> 8) & 0xff]),
    Buffer.from([0xff, 2, 0]), // collation, status
    Buffer.from([(caps >>> 16) & 0xff, (caps >>> 24) & 0xff]),
    Buffer.from([21]),
    Buffer.alloc(10),
    Buffer.from('ijklmnopqrst\0'),
    Buffer.from(`${plugin}\0`),
  ]);
  const head = Buffer.from([body.length & 0xff, (body.length >> 8) & 0xff, body.length >> 16, 0]);
  return Buffer.concat([head, body]);
}

/** Build an error packet as a refusing server sends it before the handshake. */
function errorPacket(code: number, message: string, seq = 0): Buffer {
  const body = Buffer.concat([Buffer.from([0xff, code & 0xff, code >> 8]), Buffer.from(message, 'latin1')]);
  return Buffer.concat([Buffer.from([body.length & 0xff, (body.length >> 8) & 0xff, body.length >> 16, seq]), body]);
}

function ctx(session: Session): ProbeContext {
  return { session, timing: { replyMs: 1500, settleMs: 100 }, intensity: 7 };
}

describe('parseHandshake', () => {
  it('reads the captured MariaDB greeting', () => {
    const hs = parseHandshake(MARIADB_GREETING)!;
    expect(hs.protocol).toBe(10);
    expect(hs.serverVersion).toBe('5.5.5-10.11.19-MariaDB-0+deb12u1');
    expect(hs.connectionId).toBe(8);
    expect(hs.authPlugin).toBe('mysql_native_password');
    expect(hs.charset).toBe(45);
    expect((hs.capabilities! & 0x0800) !== 0).toBe(false);
  });

  it('reads a MySQL 8 handshake with upper capability flags', () => {
    const hs = parseHandshake(handshake('8.0.36'))!;
    expect(hs.serverVersion).toBe('8.0.36');
    expect(hs.authPlugin).toBe('caching_sha2_password');
    expect(hs.capabilities! >>> 16).toBe(0x81ff);
  });

  it('rejects hostile and foreign input without throwing', () => {
    const hostile: Buffer[] = [
      Buffer.alloc(0),
      MARIADB_GREETING.subarray(0, 3),
      MARIADB_GREETING.subarray(0, 20), // version cut before its NUL
      Buffer.alloc(1 << 20, 0x41),
      Buffer.from('SSH-2.0-OpenSSH_9.2p1\r\n'),
      Buffer.from('HTTP/1.1 400 Bad Request\r\n\r\n'),
      Buffer.from([0xff, 0xff, 0xff, 0x00, 0x0a, 0x35, 0x00]), // lying 16 MiB length
      Buffer.from([0x05, 0x00, 0x00, 0x00, 0x0a, 0x35, 0x00, 0x00, 0x00]), // length shorter than the fields
      Buffer.concat([Buffer.from([0x64, 0, 0, 1]), MARIADB_GREETING.subarray(4)]), // wrong sequence
      handshake('8.0.36\x1b[31m'), // ANSI escape in the version
      handshake('abc'), // version must start with a digit
    ];
    for (let i = 0; i < 200; i++) hostile.push(Buffer.from(Array.from({ length: 64 }, (_v, j) => (i * 131 + j * 17) & 0xff)));
    for (const b of hostile) {
      expect(() => identifyMysql(b)).not.toThrow();
      expect(parseHandshake(b)).toBeUndefined();
    }
  });

  it('tolerates a truncated tail (fixed fields present, optional ones cut)', () => {
    const cut = MARIADB_GREETING.subarray(0, 4 + 1 + 33 + 15);
    const hs = parseHandshake(cut)!;
    expect(hs.serverVersion).toBe('5.5.5-10.11.19-MariaDB-0+deb12u1');
    expect(hs.authPlugin).toBeUndefined();
  });

  it('bounds the version string', () => {
    expect(parseHandshake(handshake(`5${'1'.repeat(200)}`))).toBeUndefined();
  });
});

describe('identifyMysql', () => {
  it('MariaDB from the Debian package', () => {
    const id = identifyMysql(MARIADB_GREETING)!;
    expect(id).toMatchObject({
      service: 'mysql',
      product: 'MariaDB',
      version: '10.11.19',
      distro: 'Debian',
      packageRevision: '0+deb12u1',
      ostype: 'Linux',
      confidence: 10,
      cpe: ['cpe:2.3:a:mariadb:mariadb:10.11.19:*:*:*:*:*:*:*'],
    });
    expect(id.fields?.['mysql.banner']).toBe('5.5.5-10.11.19-MariaDB-0+deb12u1');
    expect(id.startTls).toBeUndefined();
  });

  it('MySQL 8.0 (Oracle, Ubuntu package) and TLS capability', () => {
    const id = identifyMysql(handshake('8.0.36-0ubuntu0.22.04.1'))!;
    expect(id).toMatchObject({ product: 'MySQL', version: '8.0.36', distro: 'Ubuntu', packageRevision: '0ubuntu0.22.04.1', startTls: true });
    expect(id.cpe).toEqual(['cpe:2.3:a:oracle:mysql:8.0.36:*:*:*:*:*:*:*']);
    expect(identifyMysql(handshake('5.7.44-log'))).toMatchObject({ product: 'MySQL', version: '5.7.44' });
    expect(identifyMysql(handshake('5.7.44-log'))!.distro).toBeUndefined();
  });

  it('Percona Server build numbers', () => {
    expect(identifyMysql(handshake('8.0.35-27'))).toMatchObject({ product: 'Percona Server', version: '8.0.35-27', cpe: ['cpe:2.3:a:percona:percona_server:8.0.35-27:*:*:*:*:*:*:*'] });
    expect(identifyMysql(handshake('5.7.44-48-log'))).toMatchObject({ product: 'Percona Server', version: '5.7.44-48' });
  });

  it('MariaDB from its own repository, other look-alikes', () => {
    expect(identifyMysql(handshake('5.5.5-10.11.6-MariaDB-1:10.11.6+maria~ubu2204-log'))).toMatchObject({ product: 'MariaDB', version: '10.11.6', distro: 'Ubuntu', packageRevision: '1:10.11.6+maria~ubu2204' });
    expect(identifyMysql(handshake('11.4.2-MariaDB'))).toMatchObject({ product: 'MariaDB', version: '11.4.2' });
    expect(identifyMysql(handshake('5.7.25-TiDB-v7.5.0'))).toMatchObject({ product: 'TiDB', version: '7.5.0' });
    expect(identifyMysql(handshake('8.0.30-Vitess'))).toMatchObject({ product: 'Vitess' });
    expect(identifyMysql(handshake('5.5.30 (ProxySQL)'))).toMatchObject({ product: 'ProxySQL' });
  });

  it('error packets: host not allowed, too many connections, blocked', () => {
    const notAllowed = identifyMysql(errorPacket(1130, "Host '192.0.2.7' is not allowed to connect to this MariaDB server"))!;
    expect(notAllowed).toMatchObject({ service: 'mysql', product: 'MariaDB', extrainfo: 'unauthorized', cpe: ['cpe:2.3:a:mariadb:mariadb:*:*:*:*:*:*:*:*'] });
    expect(identifyMysql(errorPacket(1130, "Host '192.0.2.7' is not allowed to connect to this MySQL server"))).toMatchObject({ product: 'MySQL' });
    const tooMany = identifyMysql(errorPacket(1040, 'Too many connections'))!;
    expect(tooMany).toMatchObject({ service: 'mysql', extrainfo: 'too many connections' });
    expect(tooMany.product).toBeUndefined();
    const blocked = identifyMysql(errorPacket(1129, "#HY000Host '192.0.2.7' is blocked because of many connection errors; unblock with 'mariadb-admin flush-hosts'"))!;
    expect(blocked).toMatchObject({ product: 'MariaDB', extrainfo: 'host blocked' });
    expect(blocked.fields?.['mysql.error']).toMatch(/^Host '192\.0\.2\.7' is blocked/);
  });

  it('error packets with a SQL state marker and hostile ones', () => {
    const withState = Buffer.from('21000001ff8404233038533031476f74207061636b657473206f7574206f66206f72646572', 'hex');
    expect(parseErrorPacket(withState)).toEqual({ code: 1156, sqlState: '08S01', message: 'Got packets out of order' });
    expect(parseErrorPacket(errorPacket(1040, 'Too many\x1b[2J connections'))).toBeUndefined();
    expect(parseErrorPacket(errorPacket(5, 'x'))).toBeUndefined();
    expect(parseErrorPacket(errorPacket(1040, ''))).toBeUndefined();
    expect(parseErrorPacket(Buffer.from([0xff, 0xff, 0xff, 0, 0xff, 0x10, 0x04, 0x41]))).toBeUndefined();
    expect(parseErrorPacket(errorPacket(1040, 'x'.repeat(600)))).toBeUndefined();
  });
});

describe('mysqlDistro', () => {
  it('reads only distribution-looking suffixes', () => {
    expect(mysqlDistro('5.5.62-0+deb8u1')).toEqual({ distro: 'Debian', revision: '0+deb8u1' });
    expect(mysqlDistro('10.5.21-MariaDB-0+deb11u1-log')).toEqual({ distro: 'Debian', revision: '0+deb11u1' });
    expect(mysqlDistro('8.0.36')).toBeUndefined();
    expect(mysqlDistro('10.6.12-MariaDB-log')).toBeUndefined();
    expect(mysqlDistro(`8.0.1-${'9'.repeat(100_000)}`)).toBeUndefined();
  });
});

describe('detector', () => {
  it('greeting() is strict', () => {
    expect(detector.greeting!(MARIADB_GREETING, { address: '127.0.0.1', port: 3306 })?.product).toBe('MariaDB');
    expect(detector.greeting!(Buffer.from('220 mail ESMTP Postfix\r\n'), { address: '127.0.0.1', port: 25 })).toBeUndefined();
    expect(detector.greeting!(Buffer.from('+PONG\r\n'), { address: '127.0.0.1', port: 6379 })).toBeUndefined();
  });

  it('probe() waits for a greeting split across reads and sends nothing', async () => {
    const s = new ScriptedSession({ greeting: MARIADB_GREETING });
    const id = await detector.probe!(ctx(s));
    expect(id?.version).toBe('10.11.19');
    expect(s.sentBytes).toBe(0);
    expect(firstPacketComplete(MARIADB_GREETING.subarray(0, 50))).toBe(false);
    expect(firstPacketComplete(Buffer.from([0xff, 0xff, 0xff, 0]))).toBe(true);
  });

  it('probe() on a silent or foreign server is undefined', async () => {
    expect(await detector.probe!(ctx(new ScriptedSession({})))).toBeUndefined();
    expect(await detector.probe!(ctx(new ScriptedSession({ greeting: 'SSH-2.0-OpenSSH_9.2\r\n' })))).toBeUndefined();
  });

  it('followUp() upgrades to TLS when offered, and only then', async () => {
    const tls = { protocol: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384' };
    const s = new ScriptedSession({ greeting: handshake('8.0.36'), tls });
    const first = await detector.probe!(ctx(s));
    expect(first?.startTls).toBe(true);
    const after = await detector.followUp!({ ...ctx(s), previous: first! });
    expect(after.tls).toEqual(tls);
    expect(s.sent).toEqual(sslRequestPacket());
    expect(s.sent.length).toBe(36);

    const plain = new ScriptedSession({ greeting: MARIADB_GREETING });
    const id = (await detector.probe!(ctx(plain)))!;
    expect(await detector.followUp!({ ...ctx(plain), previous: id })).toBe(id);
    expect(plain.sentBytes).toBe(0);
  });
});

describe.skipIf(!(await reachable(3306)))('against the MariaDB server on 127.0.0.1:3306', () => {
  it('identifies product, version and package from the live greeting', async () => {
    await withLive(3306, async (s) => {
      await s.read(3000, firstPacketComplete);
      const fromGreeting = detector.greeting!(s.received, s.target)!;
      const id = (await detector.probe!(ctx(s)))!;
      expect(id).toEqual(fromGreeting);
      expect(id.service).toBe('mysql');
      expect(id.product).toBe('MariaDB');
      expect(id.version).toMatch(/^\d+\.\d+\.\d+$/);
      expect(id.confidence).toBe(10);
      expect(id.cpe?.[0]).toBe(`cpe:2.3:a:mariadb:mariadb:${id.version!}:*:*:*:*:*:*:*`);
      const after = await detector.followUp!({ ...ctx(s), previous: id });
      expect(after.service).toBe('mysql');
    });
  });
});
