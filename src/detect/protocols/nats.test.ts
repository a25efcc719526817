import { describe, expect, it } from 'vitest';
import { reachable, withLive } from '../../../test/helpers/live-session.js';
import { ScriptedSession } from '../scripted-session.js';
import { hasLine } from '../text.js';
import type { Identification, TlsInfo } from '../types.js';
import { detector, identifyNats, MAX_INFO_LINE, parseNatsInfo } from './nats.js';

const timing = { replyMs: 2000, settleMs: 300 };
const target = { address: '127.0.0.1', port: 4222 };
const b = (s: string): Buffer => Buffer.from(s, 'latin1');

/** NATS 2.9.10 INFO line, captured from 127.0.0.1:4222. */
const NATS_INFO = b(
  'INFO {"server_id":"NB2DOSFNOZIN5C4POH4RFMZCOEVUNS4OEREITWDKTZO7OSWPWH4T3WGA","server_name":"NB2DOSFNOZIN5C4POH4RFMZCOEVUNS4OEREITWDKTZO7OSWPWH4T3WGA","version":"2.9.10","proto":1,"go":"go1.19.8","host":"127.0.0.1","port":4222,"headers":true,"max_payload":1048576,"jetstream":true,"client_id":5,"client_ip":"127.0.0.1"} \r\n',
);

const info = (o: Record<string, unknown>): Buffer => b(`INFO ${JSON.stringify({ server_id: 'NABC', ...o })}\r\n`);

describe('parseNatsInfo', () => {
  it('identifies the captured INFO line', () => {
    const id = detector.greeting!(NATS_INFO, target)!;
    expect(id).toMatchObject({
      service: 'nats',
      product: 'NATS server',
      version: '2.9.10',
      extrainfo: 'go1.19.8',
      confidence: 10,
      cpe: ['cpe:2.3:a:nats:nats_server:2.9.10:*:*:*:*:*:*:*'],
      fields: { 'nats.jetstream': 'true', 'nats.go': 'go1.19.8' },
      evidence: [{ id: 'nats-no-auth' }],
    });
    expect(id.startTls).toBeUndefined();
    expect(id.evidence?.[0]?.detail).toContain('absent');
  });

  it('reports auth and TLS requirements', () => {
    const auth = identifyNats(parseNatsInfo(info({ version: '2.10.4', go: 'go1.21.3', auth_required: true, tls_required: true }))!);
    expect(auth.extrainfo).toBe('go1.21.3; auth required; TLS required');
    expect(auth.evidence).toBeUndefined();
    expect(auth.startTls).toBe(true);
    const open = identifyNats(parseNatsInfo(info({ version: '2.10.4', auth_required: false }))!);
    expect(open.evidence?.[0]?.detail).toContain('false');
    const mtls = identifyNats(parseNatsInfo(info({ version: '2.10.4', tls_required: true, tls_verify: true }))!);
    expect(mtls.evidence).toBeUndefined();
    expect(identifyNats(parseNatsInfo(info({ version: '2.10.4', tls_available: true }))!).startTls).toBe(true);
  });

  it('accepts a tab, a v prefix and pre-release versions; ignores wrongly typed fields', () => {
    expect(parseNatsInfo(b('INFO\t{"server_id":"x","version":"v2.11.0-RC.1"}\n'))?.version).toBe('2.11.0-RC.1');
    const odd = parseNatsInfo(info({ version: 2.9, go: 7, auth_required: 'yes', proto: 'x' }))!;
    expect(odd).toEqual({ serverId: 'NABC' });
    expect(identifyNats(odd)).toMatchObject({ product: 'NATS server', confidence: 8, cpe: ['cpe:2.3:a:nats:nats_server:*:*:*:*:*:*:*:*'] });
  });

  it('waits for the whole line', () => {
    for (let n = 0; n < NATS_INFO.length; n++) expect(parseNatsInfo(NATS_INFO.subarray(0, n))).toBeUndefined();
    expect(parseNatsInfo(NATS_INFO)?.version).toBe('2.9.10');
    expect(parseNatsInfo(Buffer.concat([NATS_INFO, b('PING\r\n')]))?.version).toBe('2.9.10');
  });

  it('rejects hostile and foreign input without throwing', () => {
    const bad = [
      Buffer.alloc(0),
      b('INFO\r\n'),
      b('INFO {not json}\r\n'),
      b('INFO []\r\n'),
      b('INFO {"a":1}\r\n'),
      b('INFO null\r\n'),
      b('INFO "x"\r\n'),
      b('+OK\r\n'),
      b('-ERR \'Authorization Violation\'\r\n'),
      b('HTTP/1.1 200 OK\r\n'),
      b('SSH-2.0-OpenSSH_9.2\r\n'),
      b(`INFO {"version":"${'9'.repeat(50)}"\r\n`),
      b(`INFO ${'['.repeat(100_000)}\r\n`),
      b(`INFO {"server_id":"${'a'.repeat(1024 * 1024)}"}\r\n`),
      Buffer.concat([b('INFO {'), Buffer.alloc(1024 * 1024, 0x20)]),
      Buffer.from(Array.from({ length: 65536 }, (_, i) => (i * 7919) & 0xff)),
    ];
    for (const x of bad) {
      expect(() => parseNatsInfo(x)).not.toThrow();
      expect(parseNatsInfo(x)).toBeUndefined();
      expect(detector.greeting!(x, target)).toBeUndefined();
    }
  });

  it('keeps control characters and ANSI escapes out of fields', () => {
    const id = identifyNats(parseNatsInfo(info({ version: '2.9.10\u001b[31m', go: 'go1.19\u0000\u001b[2J', server_name: 'evil\r\nname' }))!);
    expect(id.version).toBeUndefined();
    expect(id.extrainfo).toBe('go1.19[2J');
    expect(id.fields?.['nats.server_name']).toBe('evilname');
  });

  it('caps the line it reads', () => {
    const long = Buffer.concat([b('INFO {"server_id":"x","version":"2.9.10","pad":"'), Buffer.alloc(MAX_INFO_LINE, 0x61), b('"}\r\n')]);
    expect(parseNatsInfo(long)).toBeUndefined();
  });
});

describe('probe and followUp (scripted)', () => {
  it('reads a greeting that arrives after the first wait', async () => {
    const s = new ScriptedSession({ greeting: NATS_INFO });
    expect(await detector.probe!({ session: s, timing, intensity: 7 })).toMatchObject({ version: '2.9.10' });
    expect(s.sentBytes).toBe(0);
  });

  it('returns undefined for silence and other protocols', async () => {
    for (const greeting of [undefined, '220 ftp ready\r\n', '-ERR no\r\n', 'INFO {broken\r\n']) {
      const s = new ScriptedSession(greeting === undefined ? {} : { greeting });
      expect(await detector.probe!({ session: s, timing, intensity: 7 })).toBeUndefined();
    }
  });

  it('hangs up without sending anything when TLS is not offered', async () => {
    const s = new ScriptedSession({ greeting: NATS_INFO });
    await s.read(100);
    const previous = detector.greeting!(s.received, target)!;
    expect(await detector.followUp!({ session: s, timing, intensity: 7, previous })).toBe(previous);
    expect(s.sentBytes).toBe(0);
    expect(s.ended).toBe(true);
  });

  it('performs the in-protocol TLS handshake when offered', async () => {
    const tls: TlsInfo = { protocol: 'TLSv1.3', cipher: 'TLS_AES_128_GCM_SHA256' };
    const greeting = info({ version: '2.10.4', tls_required: true });
    const s = new ScriptedSession({ greeting, tls });
    await s.read(100);
    const previous: Identification = detector.greeting!(s.received, target)!;
    const id = await detector.followUp!({ session: s, timing, intensity: 7, previous });
    expect(id).toMatchObject({ startTls: true, tls });
    const failing = new ScriptedSession({ greeting });
    expect(await detector.followUp!({ session: failing, timing, intensity: 7, previous })).toBe(previous);
  });
});

const natsUp = await reachable(4222);

describe.skipIf(!natsUp)('against the real NATS server on 127.0.0.1:4222', () => {
  it('identifies the greeting and hangs up', async () => {
    const id = await withLive(4222, async (session) => {
      await session.read(2000, hasLine);
      const found = detector.greeting!(session.received, session.target);
      expect(found).toBeDefined();
      const after = await detector.followUp!({ session, timing, intensity: 7, previous: found! });
      expect(session.ended).toBe(true);
      expect(session.sentBytes).toBe(0);
      return after;
    });
    expect(id).toMatchObject({ service: 'nats', product: 'NATS server' });
    expect(id.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(id.extrainfo).toMatch(/^go\d/);
  });

  it('identifies through the probe when the greeting was not awaited', async () => {
    const id = await withLive(4222, (session) => detector.probe!({ session, timing, intensity: 7 }));
    expect(id?.product).toBe('NATS server');
  });
});
