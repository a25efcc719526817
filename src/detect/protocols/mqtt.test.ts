import { describe, expect, it } from 'vitest';
import { reachable, withLive } from '../../../test/helpers/live-session.js';
import { ScriptedSession } from '../scripted-session.js';
import type { Identification } from '../types.js';
import {
  buildConnect,
  buildSubscribe,
  detector,
  encodeLength,
  identifyConnack,
  parseConnack,
  parsePublish,
  scanSysVersion,
  splitPackets,
  VERSION_TOPIC,
  withSysVersion,
} from './mqtt.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const timing = { replyMs: 2000, settleMs: 300 };
const MIB = Buffer.alloc(1024 * 1024, 0x41);

/** Mosquitto 2.0.11 after SUBSCRIBE (packet id 1) to $SYS/broker/version: SUBACK, retained PUBLISH. */
const MOSQUITTO_SYS = hex('9003000100 312d0013245359532f62726f6b65722f76657273696f6e 6d6f7371756974746f2076657273696f6e20322e302e3131');

/** A PUBLISH of `payload` on `topic` (QoS 0, retained). */
function publish(topic: string, payload: string): Buffer {
  const t = Buffer.from(topic);
  const body = Buffer.concat([Buffer.from([t.length >> 8, t.length & 0xff]), t, Buffer.from(payload)]);
  return Buffer.concat([Buffer.from([0x31]), encodeLength(body.length), body]);
}

/** The packet id of the SUBSCRIBE at the end of what the client sent. */
function subscribeId(sent: Buffer): number | undefined {
  const at = sent.indexOf(0x82);
  return at >= 0 && at + 4 <= sent.length ? sent.readUInt16BE(at + 2) : undefined;
}

describe('packet building', () => {
  it('encodes remaining lengths as MQTT varints', () => {
    expect(encodeLength(0).toString('hex')).toBe('00');
    expect(encodeLength(127).toString('hex')).toBe('7f');
    expect(encodeLength(128).toString('hex')).toBe('8001');
    expect(encodeLength(16383).toString('hex')).toBe('ff7f');
    expect(encodeLength(268_435_455).toString('hex')).toBe('ffffff7f');
  });

  it('builds a 3.1.1 CONNECT with clean session, keepalive 30 and no credentials', () => {
    expect(buildConnect('abc').toString('hex')).toBe('100f' + '00044d515454' + '04' + '02' + '001e' + '0003616263');
  });

  it('builds a QoS 0 SUBSCRIBE', () => {
    const b = buildSubscribe(0x1234, VERSION_TOPIC);
    expect(b[0]).toBe(0x82);
    expect(b.readUInt16BE(2)).toBe(0x1234);
    expect(b.subarray(6, 6 + VERSION_TOPIC.length).toString()).toBe(VERSION_TOPIC);
    expect(b[b.length - 1]).toBe(0);
  });
});

describe('parseConnack', () => {
  it('reads return codes and the session-present flag', () => {
    expect(parseConnack(hex('20020000'))).toEqual({ sessionPresent: false, returnCode: 0 });
    expect(parseConnack(hex('20020100'))).toEqual({ sessionPresent: true, returnCode: 0 });
    expect(parseConnack(hex('20020005'))?.returnCode).toBe(5);
    expect(parseConnack(hex('20020004'))?.returnCode).toBe(4);
  });

  it('rejects hostile or foreign input', () => {
    for (const bad of [Buffer.alloc(0), hex('2002'), hex('200200'), hex('20030000'), hex('20020200'), hex('20020006'), hex('90020000'), Buffer.from('HTTP/1.1 400 Bad Request\r\n'), MIB, Buffer.from('\x1b[31m\x00\x01')]) {
      expect(parseConnack(bad)).toBeUndefined();
    }
  });

  it('turns return codes into identifications', () => {
    expect(identifyConnack({ sessionPresent: false, returnCode: 0 }).evidence?.[0]?.id).toBe('mqtt-anonymous');
    const refused = identifyConnack({ sessionPresent: false, returnCode: 5 });
    expect(refused).toMatchObject({ service: 'mqtt', extrainfo: 'not authorized' });
    expect(refused.evidence).toBeUndefined();
    expect(identifyConnack({ sessionPresent: false, returnCode: 4 }).extrainfo).toBe('bad user name or password');
  });
});

describe('packet stream', () => {
  it('finds the SUBACK and the version in captured Mosquitto bytes', () => {
    expect(scanSysVersion(MOSQUITTO_SYS, 1)).toEqual({ bad: false, subscribed: true, version: 'mosquitto version 2.0.11' });
    expect(scanSysVersion(MOSQUITTO_SYS, 2).subscribed).toBeUndefined();
  });

  it('reads the version string into product, version and CPE', () => {
    const prev = identifyConnack({ sessionPresent: false, returnCode: 0 });
    const id = withSysVersion(prev, 'mosquitto version 2.0.11');
    expect(id).toMatchObject({ service: 'mqtt', product: 'Mosquitto', version: '2.0.11', confidence: 10, cpe: ['cpe:2.3:a:eclipse:mosquitto:2.0.11:*:*:*:*:*:*:*'] });
    expect(id.evidence?.[0]?.id).toBe('mqtt-anonymous');
    expect(withSysVersion(prev, 'SomeBroker 1.0')).toMatchObject({ fields: { 'mqtt.sys_version': 'SomeBroker 1.0' } });
    expect(withSysVersion(prev, 'SomeBroker 1.0').product).toBeUndefined();
  });

  it('waits on partial packets and gives up on malformed ones', () => {
    for (let n = 0; n < MOSQUITTO_SYS.length; n++) expect(() => scanSysVersion(MOSQUITTO_SYS.subarray(0, n), 1)).not.toThrow();
    expect(splitPackets(MOSQUITTO_SYS.subarray(0, 7))).toEqual({ packets: [expect.objectContaining({ type: 9 })], bad: false });
    expect(splitPackets(hex('30ffffffff7f')).bad).toBe(true); // five length bytes
    expect(splitPackets(hex('30ffffff7f')).bad).toBe(true); // 256 MiB declared
    expect(splitPackets(hex('30ff')).bad).toBe(false); // incomplete length: wait
    expect(splitPackets(Buffer.alloc(0))).toEqual({ packets: [], bad: false });
  });

  it('is bounded on 1 MiB of zero-length packets and garbage', () => {
    const zeros = splitPackets(Buffer.alloc(1024 * 1024));
    expect(zeros.packets.length).toBeLessThanOrEqual(32);
    expect(zeros.bad).toBe(true);
    expect(scanSysVersion(MIB, 1).version).toBeUndefined();
    expect(() => scanSysVersion(Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 131) & 0xff)), 1)).not.toThrow();
  });

  it('rejects PUBLISH packets whose topic length lies', () => {
    expect(parsePublish({ type: 3, flags: 0, body: hex('ffff41') })).toBeUndefined();
    expect(parsePublish({ type: 3, flags: 6, body: hex('000141') })).toBeUndefined(); // QoS 3
    expect(parsePublish({ type: 3, flags: 2, body: hex('000141') })).toBeUndefined(); // QoS 1, no packet id
    expect(parsePublish({ type: 3, flags: 2, body: hex('0001410001ff') })?.payload.toString('hex')).toBe('ff');
  });

  it('cleans control characters and ANSI escapes out of the version payload', () => {
    const s = scanSysVersion(Buffer.concat([hex('9003000100'), publish(VERSION_TOPIC, '\x1b[2Jmosquitto version 2.0.18\x00\r\n')]), 1);
    expect(s.version).toBe('[2Jmosquitto version 2.0.18');
  });
});

describe('probe (scripted)', () => {
  it('sends a well-formed CONNECT with a random client id and reads CONNACK 0', async () => {
    const s = new ScriptedSession({ reply: () => hex('20020000') });
    const id = await detector.probe!({ session: s, timing, intensity: 7 });
    expect(id).toMatchObject({ service: 'mqtt', evidence: [{ id: 'mqtt-anonymous' }] });
    const sent = s.sent;
    expect(sent.subarray(0, 12).toString('hex')).toBe(`10${sent[1]!.toString(16)}00044d515454040200 1e`.replace(/ /g, ''));
    const cid = sent.subarray(14).toString();
    expect(cid).toMatch(/^portolan-[0-9a-f]{12}$/);
    expect(cid.length).toBeLessThanOrEqual(23);
    const again = new ScriptedSession({ reply: () => hex('20020000') });
    await detector.probe!({ session: again, timing, intensity: 7 });
    expect(again.sent.subarray(14).toString()).not.toBe(cid);
  });

  it('reports a broker that wants credentials', async () => {
    const s = new ScriptedSession({ reply: () => Buffer.concat([hex('20020005')]) });
    expect(await detector.probe!({ session: s, timing, intensity: 7 })).toMatchObject({ service: 'mqtt', extrainfo: 'not authorized' });
  });

  it('returns undefined for silence, a close, other protocols and garbage', async () => {
    for (const reply of [undefined, 'close' as const, 'reset' as const, 'HTTP/1.1 400 Bad Request\r\n\r\n', '220 smtp ready\r\n', MIB]) {
      const s = new ScriptedSession({ reply: () => reply });
      expect(await detector.probe!({ session: s, timing, intensity: 7 })).toBeUndefined();
    }
  });
});

describe('followUp (scripted)', () => {
  const anon: Identification = identifyConnack({ sessionPresent: false, returnCode: 0 });

  it('subscribes to $SYS/broker/version, reads the version and disconnects', async () => {
    const s = new ScriptedSession({
      reply: (sent) => {
        const pid = subscribeId(sent);
        if (sent[0] !== 0x82 || pid === undefined) return undefined;
        return Buffer.concat([Buffer.from([0x90, 3, pid >> 8, pid & 0xff, 0]), publish(VERSION_TOPIC, 'mosquitto version 2.0.18')]);
      },
    });
    const id = await detector.followUp!({ session: s, timing, intensity: 7, previous: anon });
    expect(id).toMatchObject({ product: 'Mosquitto', version: '2.0.18', evidence: [{ id: 'mqtt-anonymous' }] });
    expect(s.sent.subarray(-2).toString('hex')).toBe('e000');
    // Only SUBSCRIBE and DISCONNECT went out: never a PUBLISH.
    expect(s.sent[0]).toBe(0x82);
    expect(s.sent.length).toBe(buildSubscribe(1, VERSION_TOPIC).length + 2);
  });

  it('keeps the identification when the subscription is refused or nothing arrives', async () => {
    const refused = new ScriptedSession({ reply: (sent) => (sent[0] === 0x82 ? Buffer.from([0x90, 3, sent[2]!, sent[3]!, 0x80]) : undefined) });
    expect(await detector.followUp!({ session: refused, timing, intensity: 7, previous: anon })).toEqual(anon);
    const quiet = new ScriptedSession({ reply: (sent) => (sent[0] === 0x82 ? Buffer.from([0x90, 3, sent[2]!, sent[3]!, 0]) : undefined) });
    expect(await detector.followUp!({ session: quiet, timing, intensity: 7, previous: anon })).toEqual(anon);
  });

  it('survives hostile replies', async () => {
    for (const reply of [MIB, hex('30ffffffff7f'), hex('31ffffff7f'), Buffer.concat([hex('9003'), Buffer.alloc(5000)]), 'close' as const]) {
      const s = new ScriptedSession({ reply: () => reply });
      expect(await detector.followUp!({ session: s, timing, intensity: 7, previous: anon })).toEqual(anon);
    }
  });

  it('does nothing when the broker did not let us in', async () => {
    const s = new ScriptedSession({ reply: () => MOSQUITTO_SYS });
    const refused = identifyConnack({ sessionPresent: false, returnCode: 5 });
    expect(await detector.followUp!({ session: s, timing, intensity: 7, previous: refused })).toBe(refused);
    expect(s.sentBytes).toBe(0);
  });
});

const mosquittoUp = await reachable(1883);

describe.skipIf(!mosquittoUp)('against the real Mosquitto on 127.0.0.1:1883', () => {
  it('finds anonymous access and the version', async () => {
    const id = await withLive(1883, async (session) => {
      const found = await detector.probe!({ session, timing, intensity: 7 });
      expect(found).toBeDefined();
      return detector.followUp!({ session, timing, intensity: 7, previous: found! });
    });
    expect(id).toMatchObject({ service: 'mqtt', product: 'Mosquitto' });
    expect(id.version).toMatch(/^\d+\.\d+\.\d+$/);
    expect(id.cpe?.[0]).toBe(`cpe:2.3:a:eclipse:mosquitto:${id.version!}:*:*:*:*:*:*:*`);
    expect(id.evidence?.map((e) => e.id)).toEqual(['mqtt-anonymous']);
  });
});
