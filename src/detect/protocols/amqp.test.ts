import { describe, expect, it } from 'vitest';
import { reachable, withLive } from '../../../test/helpers/live-session.js';
import { ScriptedSession } from '../scripted-session.js';
import { amqpReplyComplete, detector, HEADER_091, headerProtocol, identifyHeader, parseAmqpReply, parseConnectionStart, parseFieldTable, type AmqpValue } from './amqp.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const timing = { replyMs: 2000, settleMs: 300 };
const MIB = Buffer.alloc(1024 * 1024, 0x41);
const target = { address: '127.0.0.1', port: 5672 };

/** RabbitMQ 3.10.8 (Erlang/OTP 25.2.3) Connection.Start, captured from 127.0.0.1:5672. */
const RABBIT_START = hex(
  '010000000001f0000a000a0009000001cb0c6361706162696c697469657346000000c7127075626c69736865725f636f6e6669726d7374011a65786368616e67655f65786368616e67655f62696e64696e677374010a62617369632e6e61636b740116636f6e73756d65725f63616e63656c5f6e6f74696679740112636f6e6e656374696f6e2e626c6f636b6564740113636f6e73756d65725f7072696f72697469657374011c61757468656e7469636174696f6e5f6661696c7572655f636c6f73657401107065725f636f6e73756d65725f716f7374010f6469726563745f7265706c795f746f74010c636c75737465725f6e616d65530000000972616262697440766d09636f707972696768745300000037436f707972696768742028632920323030372d3230323220564d776172652c20496e632e206f722069747320616666696c69617465732e0b696e666f726d6174696f6e53000000394c6963656e73656420756e64657220746865204d504c20322e302e20576562736974653a2068747470733a2f2f7261626269746d712e636f6d08706c6174666f726d530000001145726c616e672f4f54502032352e322e330770726f6475637453000000085261626269744d510776657273696f6e5300000006332e31302e380000000e504c41494e20414d51504c41494e00000005656e5f5553ce',
);

// Field-table builders for synthetic input.
const u32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
};
const short = (s: string): Buffer => Buffer.concat([Buffer.from([Buffer.byteLength(s)]), Buffer.from(s)]);
const long = (s: string | Buffer): Buffer => {
  const b = Buffer.from(s);
  return Buffer.concat([u32(b.length), b]);
};
const entry = (name: string, type: string, value: Buffer): Buffer => Buffer.concat([short(name), Buffer.from(type), value]);
const table = (...entries: Buffer[]): Buffer => long(Buffer.concat(entries));

/** A Connection.Start frame around a server-properties table. */
function startFrame(props: Buffer, mechanisms = 'PLAIN AMQPLAIN', locales = 'en_US'): Buffer {
  const payload = Buffer.concat([hex('000a000a0009'), props, long(mechanisms), long(locales)]);
  return Buffer.concat([hex('010000'), u32(payload.length), payload, hex('ce')]);
}

describe('Connection.Start', () => {
  it('reads the captured RabbitMQ Start', () => {
    const s = parseConnectionStart(RABBIT_START)!;
    expect(s.complete).toBe(true);
    expect([s.versionMajor, s.versionMinor]).toEqual([0, 9]);
    expect(s.mechanisms).toEqual(['PLAIN', 'AMQPLAIN']);
    expect(s.locales).toEqual(['en_US']);
    const caps = s.properties.get('capabilities') as Map<string, AmqpValue>;
    expect(caps.get('publisher_confirms')).toBe(true);
    expect(caps.size).toBe(9);
    const id = parseAmqpReply(RABBIT_START)!;
    expect(id).toMatchObject({
      service: 'amqp',
      product: 'RabbitMQ',
      version: '3.10.8',
      extrainfo: 'AMQP 0-9-1',
      confidence: 10,
      cpe: ['cpe:2.3:a:vmware:rabbitmq:3.10.8:*:*:*:*:*:*:*'],
      fields: { 'amqp.platform': 'Erlang/OTP 25.2.3', 'amqp.mechanisms': 'PLAIN AMQPLAIN', 'amqp.cluster_name': 'rabbit@vm' },
    });
    expect(id.evidence).toBeUndefined();
  });

  it('never throws on any truncation and keeps what was whole', () => {
    for (let n = 0; n <= RABBIT_START.length; n++) {
      const cut = RABBIT_START.subarray(0, n);
      expect(() => parseAmqpReply(cut)).not.toThrow();
      const id = parseAmqpReply(cut);
      if (n >= 13) expect(id?.service).toBe('amqp');
    }
    // Cut right after the product entry: product known, version not.
    const at = RABBIT_START.indexOf(Buffer.from('RabbitMQ')) + 8;
    expect(parseAmqpReply(RABBIT_START.subarray(0, at))).toMatchObject({ product: 'RabbitMQ', confidence: 8 });
  });

  it('rejects other frames and foreign bytes', () => {
    const wrongEnd = Buffer.from(RABBIT_START);
    wrongEnd[wrongEnd.length - 1] = 0;
    const wrongMethod = Buffer.from(RABBIT_START);
    wrongMethod[10] = 11;
    const wrongChannel = Buffer.from(RABBIT_START);
    wrongChannel[2] = 1;
    for (const bad of [Buffer.alloc(0), wrongEnd, wrongMethod, wrongChannel, MIB, Buffer.from('HTTP/1.1 400 Bad Request\r\n\r\n'), hex('0100000000000000ce'), Buffer.from('\x1b[0m\x01\x00\x00')]) {
      expect(parseAmqpReply(bad)).toBeUndefined();
    }
  });

  it('keeps unknown brokers by their own words, cleaned, without CPE', () => {
    const props = table(entry('product', 'S', long('Odd\x1b[31mBroker\x00')), entry('version', 'S', long('1.2.3')));
    const id = parseAmqpReply(startFrame(props, 'PLAIN ANONYMOUS'))!;
    expect(id).toMatchObject({ product: 'Odd[31mBroker', version: '1.2.3', evidence: [{ id: 'amqp-anonymous-mechanism' }] });
    expect(id.cpe).toBeUndefined();
  });
});

describe('parseFieldTable (hostile input)', () => {
  it('decodes every value type', () => {
    // Fixed-size values, each in an entry named after its type letter.
    const fixed = { t: '01', b: 'ff', B: 'ff', s: 'fffe', u: 'fffe', I: 'ffffffff', i: 'ffffffff', l: 'ffffffffffffffff', T: '0000000060000000', f: '3fc00000', d: '3ff8000000000000', D: '0200000bb8' };
    const t = table(
      ...Object.entries(fixed).map(([type, value]) => entry(type, type, hex(value))),
      entry('S', 'S', long('text')),
      entry('x', 'x', long(hex('0001'))),
      entry('V', 'V', Buffer.alloc(0)),
      entry('A', 'A', long(Buffer.concat([Buffer.from('t'), hex('00'), Buffer.from('S'), long('a')]))),
      entry('F', 'F', table(entry('in', 't', hex('01')))),
    );
    const r = parseFieldTable(t);
    expect(r.complete).toBe(true);
    expect(r.end).toBe(t.length);
    const m = r.table;
    expect([m.get('t'), m.get('b'), m.get('B'), m.get('s'), m.get('u'), m.get('I'), m.get('i')]).toEqual([true, -1, 255, -2, 65534, -1, 4294967295]);
    expect([m.get('l'), m.get('T'), m.get('f'), m.get('d'), m.get('D'), m.get('S'), m.get('V')]).toEqual([-1n, 0x60000000n, 1.5, 1.5, 30, 'text', null]);
    expect(m.get('x')).toEqual(hex('0001'));
    expect(m.get('A')).toEqual([false, 'a']);
    expect((m.get('F') as Map<string, AmqpValue>).get('in')).toBe(true);
  });

  it('handles empty and truncated tables', () => {
    expect(parseFieldTable(Buffer.alloc(0))).toEqual({ table: new Map(), complete: false });
    expect(parseFieldTable(u32(0))).toMatchObject({ complete: true, end: 4 });
    expect(parseFieldTable(hex('000000'))).toMatchObject({ complete: false });
  });

  it('reads what is there when a length lies', () => {
    const body = Buffer.concat([entry('product', 'S', long('RabbitMQ')), entry('version', 'S', Buffer.concat([u32(0xffffffff), Buffer.from('3.1')]))]);
    const r = parseFieldTable(Buffer.concat([u32(0xffffffff), body]));
    expect(r.complete).toBe(false);
    expect(r.table.get('product')).toBe('RabbitMQ');
    expect(r.table.has('version')).toBe(false);
  });

  it('stops at an unknown type and keeps earlier entries', () => {
    const r = parseFieldTable(table(entry('product', 'S', long('X')), entry('odd', 'Z', hex('0102')), entry('version', 'S', long('1'))));
    expect(r.complete).toBe(false);
    expect([...r.table.keys()]).toEqual(['product']);
  });

  it('caps nesting depth of tables and arrays', () => {
    let nested = table(entry('leaf', 't', hex('01')));
    for (let i = 0; i < 300; i++) nested = table(entry('n', 'F', nested));
    const r = parseFieldTable(nested);
    expect(r.complete).toBe(false);
    let arr = long(Buffer.concat([Buffer.from('t'), hex('01')]));
    for (let i = 0; i < 300; i++) arr = long(Buffer.concat([Buffer.from('A'), arr]));
    expect(parseFieldTable(table(entry('a', 'A', arr))).complete).toBe(false);
  });

  it('caps the number of values read', () => {
    const many = Buffer.concat(Array.from({ length: 20_000 }, () => entry('k', 't', hex('01'))));
    const r = parseFieldTable(long(many));
    expect(r.complete).toBe(false);
    const arr = Buffer.concat(Array.from({ length: 20_000 }, () => Buffer.from('V')));
    expect(parseFieldTable(table(entry('a', 'A', long(arr)))).complete).toBe(false);
  });

  it('treats keys as data (no prototype pollution)', () => {
    const r = parseFieldTable(table(entry('__proto__', 'F', table(entry('polluted', 't', hex('01')))), entry('constructor', 'S', long('x'))));
    expect(r.complete).toBe(true);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(r.table.get('constructor')).toBe('x');
  });

  it('is bounded on 1 MiB of garbage and a 1 MiB string', () => {
    expect(() => parseFieldTable(MIB)).not.toThrow();
    const big = parseFieldTable(table(entry('product', 'S', long(Buffer.alloc(1024 * 1024, 0x61)))));
    expect((big.table.get('product') as string).length).toBe(1024);
    const noise = Buffer.from(Array.from({ length: 65536 }, (_, i) => (i * 7919) & 0xff));
    expect(() => parseFieldTable(noise)).not.toThrow();
  });
});

describe('protocol headers', () => {
  it('names the versions brokers announce', () => {
    expect(headerProtocol(hex('414d515000010000'))).toBe('AMQP 1.0');
    expect(headerProtocol(hex('414d515003010000'))).toBe('AMQP 1.0');
    expect(headerProtocol(hex('414d515002010000'))).toBe('AMQP 1.0');
    expect(headerProtocol(HEADER_091)).toBe('AMQP 0-9-1');
    expect(headerProtocol(hex('414d515001010009'))).toBe('AMQP 0-9');
    expect(headerProtocol(hex('414d515001010800'))).toBe('AMQP 0-8');
    for (const bad of [hex('414d5158000000901'), hex('414d5150'), hex('414d5150ffffffff'), Buffer.alloc(0), MIB]) expect(headerProtocol(bad)).toBeUndefined();
  });

  it('recognises an unprompted 8-byte header as a greeting, nothing else', () => {
    expect(detector.greeting!(hex('414d515000000901'), target)).toMatchObject({ service: 'amqp', extrainfo: 'AMQP 0-9-1' });
    expect(detector.greeting!(hex('414d51500000090100'), target)).toBeUndefined();
    expect(detector.greeting!(Buffer.from('SSH-2.0-OpenSSH_9.2\r\n'), target)).toBeUndefined();
    expect(detector.greeting!(Buffer.from('AMQPAMQP'), target)).toBeUndefined();
  });

  it('knows when the reply is whole', () => {
    expect(amqpReplyComplete(Buffer.from('AM'))).toBe(false);
    expect(amqpReplyComplete(HEADER_091)).toBe(true);
    expect(amqpReplyComplete(RABBIT_START.subarray(0, 100))).toBe(false);
    expect(amqpReplyComplete(RABBIT_START)).toBe(true);
    expect(amqpReplyComplete(hex('01000000ffffffff'))).toBe(true);
    expect(amqpReplyComplete(Buffer.from('HTTP/1.1'))).toBe(true);
    expect(amqpReplyComplete(Buffer.alloc(0))).toBe(false);
  });
});

describe('probe and followUp (scripted)', () => {
  it('sends the 0-9-1 header and reads the Start', async () => {
    const s = new ScriptedSession({ reply: () => RABBIT_START });
    const id = await detector.probe!({ session: s, timing, intensity: 7 });
    expect(s.sent).toEqual(HEADER_091);
    expect(id).toMatchObject({ product: 'RabbitMQ', version: '3.10.8' });
    const after = await detector.followUp!({ session: s, timing, intensity: 7, previous: id! });
    expect(after).toBe(id);
    expect(s.ended).toBe(true);
    expect(s.sent).toEqual(HEADER_091);
  });

  it('reports an AMQP 1.0 broker by its header', async () => {
    for (const reply of [hex('414d515000010000'), hex('414d515003010000')]) {
      const s = new ScriptedSession({ reply: () => reply });
      expect(await detector.probe!({ session: s, timing, intensity: 7 })).toMatchObject({ service: 'amqp', extrainfo: 'AMQP 1.0' });
    }
  });

  it('returns undefined on silence, close and hostile replies', async () => {
    for (const reply of [undefined, 'close' as const, 'reset' as const, MIB, 'HTTP/1.1 400 Bad Request\r\n\r\n', hex('01000000ff00ffff000a'), Buffer.from('\x1b[2J\x00\x00')]) {
      const s = new ScriptedSession({ reply: () => reply });
      expect(await detector.probe!({ session: s, timing, intensity: 7 })).toBeUndefined();
    }
  });

  it('claims a Start whose frame size lies, with only what arrived', async () => {
    const lying = Buffer.concat([hex('010000ffffffff000a000a0009'), u32(0xffffff), entry('product', 'S', long('RabbitMQ'))]);
    const s = new ScriptedSession({ reply: () => lying });
    expect(await detector.probe!({ session: s, timing, intensity: 7 })).toMatchObject({ service: 'amqp', product: 'RabbitMQ', confidence: 8 });
  });

  it('asks properly on a fresh connection after a 0-9-1 header greeting', async () => {
    const s = new ScriptedSession({ greeting: undefined, reply: (sent) => (sent.equals(HEADER_091) ? RABBIT_START : hex('414d515000000901')) });
    s.send('GET / HTTP/1.0\r\n\r\n');
    await s.read(100);
    const previous = identifyHeader(s.received)!;
    expect(previous.extrainfo).toBe('AMQP 0-9-1');
    const id = await detector.followUp!({ session: s, timing, intensity: 7, previous });
    expect(s.reconnects).toBe(1);
    expect(id).toMatchObject({ product: 'RabbitMQ', version: '3.10.8' });
  });

  it('keeps the header identification when the fresh connection fails', async () => {
    const s = new ScriptedSession({ reply: () => undefined, reconnect: 'fail' });
    s.send('x');
    const previous = identifyHeader(HEADER_091)!;
    expect(await detector.followUp!({ session: s, timing, intensity: 7, previous })).toBe(previous);
  });
});

const rabbitUp = await reachable(5672);

describe.skipIf(!rabbitUp)('against the real RabbitMQ on 127.0.0.1:5672', () => {
  it('reads product, version and platform', async () => {
    const id = await withLive(5672, async (session) => {
      const found = await detector.probe!({ session, timing, intensity: 7 });
      return found && detector.followUp!({ session, timing, intensity: 7, previous: found });
    });
    expect(id).toMatchObject({ service: 'amqp', product: 'RabbitMQ', extrainfo: 'AMQP 0-9-1' });
    expect(id?.version).toMatch(/^\d+\.\d+\.\d+$/);
    expect(id?.fields?.['amqp.platform']).toMatch(/^Erlang\/OTP /);
    expect(id?.fields?.['amqp.mechanisms']).toContain('PLAIN');
  });

  it('recognises the header RabbitMQ sends back to a foreign protocol', async () => {
    const reply = await withLive(5672, async (session) => {
      session.send(hex('414d515000010000'));
      return (await session.read(2000, (d) => d.length >= 8)).data;
    });
    expect(detector.greeting!(reply, target)).toMatchObject({ service: 'amqp', extrainfo: 'AMQP 0-9-1' });
  });
});
