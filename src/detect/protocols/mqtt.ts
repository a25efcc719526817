/**
 * MQTT (OASIS MQTT 3.1.1): the client speaks first. The probe sends a CONNECT with a random client
 * id, a clean session and no credentials; the broker's CONNACK return code says whether it lets
 * anyone in (0) or wants credentials (4, 5). When it lets us in, the follow-up subscribes to the
 * retained `$SYS/broker/version` topic (Mosquitto publishes its version there), reads what arrives
 * for a short while, and disconnects. Nothing is ever published.
 */
import { randomBytes } from 'node:crypto';
import { matchSignatures, type Signature } from '../signature.js';
import { cleanField } from '../text.js';
import type { Detector, Identification, ProbeContext } from '../types.js';

/** The topic Mosquitto (and a few other brokers) publish their version string on, retained. */
export const VERSION_TOPIC = '$SYS/broker/version';
/** Keepalive announced in CONNECT, seconds; we are gone long before it matters. */
const KEEPALIVE_S = 30;
/** Largest packet we accept while waiting for the version topic; a real one is tiny. */
const MAX_PACKET = 4096;
/** Most packets looked at in one reply. */
const MAX_PACKETS = 32;

/** CONNACK return codes of MQTT 3.1.1 §3.2.2.3. */
const RETURN_CODES: readonly string[] = [
  'accepted',
  'unacceptable protocol version',
  'identifier rejected',
  'server unavailable',
  'bad user name or password',
  'not authorized',
];

/** Encode an MQTT "remaining length" (variable-length integer, at most 4 bytes). */
export function encodeLength(n: number): Buffer {
  const out: number[] = [];
  let x = n;
  do {
    let byte = x % 128;
    x = Math.floor(x / 128);
    if (x > 0) byte |= 0x80;
    out.push(byte);
  } while (x > 0 && out.length < 4);
  return Buffer.from(out);
}

function utf8Field(s: string): Buffer {
  const b = Buffer.from(s, 'utf8');
  const len = Buffer.alloc(2);
  len.writeUInt16BE(b.length);
  return Buffer.concat([len, b]);
}

/** A CONNECT packet: protocol level 4 (3.1.1), clean session, no will, no user name or password. */
export function buildConnect(clientId: string): Buffer {
  const variable = Buffer.concat([utf8Field('MQTT'), Buffer.from([4, 0x02, KEEPALIVE_S >> 8, KEEPALIVE_S & 0xff])]);
  const payload = utf8Field(clientId);
  const body = Buffer.concat([variable, payload]);
  return Buffer.concat([Buffer.from([0x10]), encodeLength(body.length), body]);
}

/** A SUBSCRIBE packet for one topic at QoS 0. */
export function buildSubscribe(packetId: number, topic: string): Buffer {
  const body = Buffer.concat([Buffer.from([(packetId >> 8) & 0xff, packetId & 0xff]), utf8Field(topic), Buffer.from([0])]);
  return Buffer.concat([Buffer.from([0x82]), encodeLength(body.length), body]);
}

const DISCONNECT = Buffer.from([0xe0, 0x00]);

/** A broker's answer to CONNECT. */
export interface Connack {
  sessionPresent: boolean;
  /** 0 accepted, 1–5 refused (see MQTT 3.1.1 §3.2.2.3). */
  returnCode: number;
}

/**
 * Parse a CONNACK at the start of `data`. Strict: fixed header 0x20, remaining length 2, reserved
 * flag bits zero and a return code MQTT 3.1.1 defines; anything else is not an MQTT broker.
 */
export function parseConnack(data: Buffer): Connack | undefined {
  if (data.length < 4 || data[0] !== 0x20 || data[1] !== 0x02) return undefined;
  const flags = data[2]!;
  const code = data[3]!;
  if ((flags & 0xfe) !== 0 || code >= RETURN_CODES.length) return undefined;
  return { sessionPresent: (flags & 1) === 1, returnCode: code };
}

/** One control packet split out of a byte stream. */
export interface MqttPacket {
  type: number;
  flags: number;
  body: Buffer;
}

/**
 * Split `data` into whole packets. Stops at a partial packet, a malformed length (more than four
 * length bytes), a packet larger than MAX_PACKET or after MAX_PACKETS; `bad` says the stream
 * cannot be read further, so a caller stops waiting.
 */
export function splitPackets(data: Buffer): { packets: MqttPacket[]; bad: boolean } {
  const packets: MqttPacket[] = [];
  let pos = 0;
  while (pos < data.length && packets.length < MAX_PACKETS) {
    let len = 0;
    let mult = 1;
    let i = pos + 1;
    let done = false;
    for (let n = 0; n < 4; n++, i++) {
      if (i >= data.length) return { packets, bad: false };
      const byte = data[i]!;
      len += (byte & 0x7f) * mult;
      mult *= 128;
      if ((byte & 0x80) === 0) {
        done = true;
        i++;
        break;
      }
    }
    if (!done || len > MAX_PACKET) return { packets, bad: true };
    if (i + len > data.length) return { packets, bad: false };
    const head = data[pos]!;
    packets.push({ type: head >> 4, flags: head & 0x0f, body: data.subarray(i, i + len) });
    pos = i + len;
  }
  return { packets, bad: packets.length >= MAX_PACKETS };
}

/** Topic and payload of a PUBLISH packet, or undefined when malformed. */
export function parsePublish(p: MqttPacket): { topic: string; payload: Buffer } | undefined {
  if (p.type !== 3 || p.body.length < 2) return undefined;
  const tlen = p.body.readUInt16BE(0);
  let pos = 2 + tlen;
  if (pos > p.body.length) return undefined;
  const qos = (p.flags >> 1) & 3;
  if (qos === 3) return undefined;
  if (qos > 0) pos += 2; // packet identifier
  if (pos > p.body.length) return undefined;
  return { topic: p.body.subarray(2, 2 + tlen).toString('utf8'), payload: p.body.subarray(pos) };
}

/** What the subscription produced so far. */
export interface SysVersionScan {
  /** The version topic's payload, when it arrived. */
  version?: string;
  /** SUBACK seen: true granted, false refused (0x80). */
  subscribed?: boolean;
  /** The stream cannot be read further. */
  bad: boolean;
}

/** Look through the packets after SUBSCRIBE for the SUBACK and the version PUBLISH. */
export function scanSysVersion(data: Buffer, packetId: number): SysVersionScan {
  const { packets, bad } = splitPackets(data);
  const out: SysVersionScan = { bad };
  for (const p of packets) {
    if (p.type === 9 && p.body.length >= 3 && p.body.readUInt16BE(0) === packetId) out.subscribed = p.body[2] !== 0x80;
    const pub = parsePublish(p);
    if (pub && pub.topic === VERSION_TOPIC) out.version = cleanField(pub.payload.subarray(0, 256).toString('latin1'), 200);
  }
  return out;
}

/** Built-in table over `mqtt.sys_version` (the `$SYS/broker/version` payload). */
export const MQTT_SIGNATURES: readonly Signature[] = [
  {
    service: 'mqtt',
    field: 'mqtt.sys_version',
    origin: 'builtin',
    pattern: /^mosquitto version (\d[\w.]*)/i,
    product: 'Mosquitto',
    version: '$1',
    cpe: ['cpe:2.3:a:eclipse:mosquitto:$1:*:*:*:*:*:*:*'],
  },
];

/** The identification a CONNACK gives. */
export function identifyConnack(c: Connack): Identification {
  const id: Identification = { service: 'mqtt', confidence: 8, fields: { 'mqtt.connack': String(c.returnCode) } };
  if (c.returnCode === 0) {
    id.evidence = [{ id: 'mqtt-anonymous', detail: 'MQTT broker accepts a CONNECT without user name or password' }];
  } else {
    id.extrainfo = RETURN_CODES[c.returnCode];
  }
  return id;
}

/** Fold the version string into an identification. */
export function withSysVersion(prev: Identification, version: string): Identification {
  const fields = { ...prev.fields, 'mqtt.sys_version': version };
  const hit = matchSignatures(MQTT_SIGNATURES, undefined, fields);
  if (!hit) return { ...prev, fields };
  // A version read from the broker itself is as good as it gets.
  const confidence = hit.version !== undefined ? 10 : Math.max(prev.confidence, hit.confidence);
  return { ...prev, ...hit, evidence: prev.evidence, fields, confidence };
}

function clientId(): string {
  // 23 characters at most is what every 3.1.1 broker must accept.
  return `portolan-${randomBytes(6).toString('hex')}`;
}

async function probe(ctx: ProbeContext): Promise<Identification | undefined> {
  const { session } = ctx;
  session.send(buildConnect(clientId()));
  const r = await session.read(ctx.timing.replyMs, (d) => d.length >= 4);
  const c = parseConnack(r.data);
  return c ? identifyConnack(c) : undefined;
}

async function followUp(ctx: ProbeContext & { previous: Identification }): Promise<Identification> {
  const { session, previous } = ctx;
  if (!previous.evidence?.some((e) => e.id === 'mqtt-anonymous') || session.ended) return previous;
  const packetId = 1 + (randomBytes(2).readUInt16BE(0) % 0xfffe);
  session.send(buildSubscribe(packetId, VERSION_TOPIC));
  let got = Buffer.alloc(0);
  const wait = async (ms: number, done: (s: SysVersionScan) => boolean): Promise<SysVersionScan> => {
    const r = await session.read(Math.min(ms, session.remainingMs()), (d) => done(scanSysVersion(Buffer.concat([got, d]), packetId)));
    got = Buffer.concat([got, r.data]);
    return scanSysVersion(got, packetId);
  };
  // First the SUBACK (a retained message usually rides along); then a short settle for the PUBLISH.
  let s = await wait(ctx.timing.replyMs, (x) => x.bad || x.version !== undefined || x.subscribed !== undefined);
  if (s.subscribed === true && s.version === undefined && !s.bad && !session.ended) {
    s = await wait(ctx.timing.settleMs, (x) => x.bad || x.version !== undefined);
  }
  session.send(DISCONNECT);
  session.close();
  return s.version ? withSysVersion(previous, s.version) : previous;
}

/** MQTT 3.1.1 broker detector (anonymous access check, Mosquitto version via $SYS). */
export const detector: Detector = {
  name: 'mqtt',
  ports: [1883],
  tlsPorts: [8883],
  rarity: 5,
  probe,
  followUp,
};
