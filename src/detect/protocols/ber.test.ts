import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  children, decodeTree, encodeInteger, encodeLength, encodeString, encodeTlv, MAX_BER_LENGTH, readBoolean, readInteger, readString, readTlv,
} from './ber.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

describe('readTlv', () => {
  it('reads short, long and high-tag forms', () => {
    const short = readTlv(hex('04 03 616263'), 0);
    expect(short).toEqual({ kind: 'ok', tlv: { cls: 0, constructed: false, tag: 4, offset: 0, start: 2, end: 5 } });
    const long = readTlv(hex('30 81 03 020101'), 0);
    expect(long.kind === 'ok' && long.tlv).toMatchObject({ constructed: true, tag: 16, start: 3, end: 6 });
    const four = readTlv(hex('30 84 00000003 020101'), 0);
    expect(four.kind === 'ok' && four.tlv).toMatchObject({ start: 6, end: 9 });
    const app = readTlv(hex('63 00'), 0);
    expect(app.kind === 'ok' && app.tlv).toMatchObject({ cls: 1, constructed: true, tag: 3 });
    const high = readTlv(hex('5f 81 01 00'), 0);
    expect(high.kind === 'ok' && high.tlv).toMatchObject({ cls: 1, tag: 129, start: 4, end: 4 });
  });

  it('rejects indefinite lengths, oversized length fields and huge claims', () => {
    expect(readTlv(hex('30 80 0000'), 0)).toMatchObject({ kind: 'invalid', reason: 'indefinite length' });
    expect(readTlv(hex('30 80 0000'), 0, undefined, true)).toMatchObject({ kind: 'invalid' });
    expect(readTlv(hex('30 85 0000000001 00'), 0)).toMatchObject({ kind: 'invalid', reason: 'length field too long' });
    expect(readTlv(hex('30 84 7fffffff'), 0, undefined, true)).toMatchObject({ kind: 'invalid', reason: 'length too large' });
    expect(readTlv(hex('30 ff'), 0, undefined, true)).toMatchObject({ kind: 'invalid' });
    expect(readTlv(hex('1f ffffffffff 01 00'), 0)).toMatchObject({ kind: 'invalid', reason: 'tag too long' });
  });

  it('tells a lying length from a partial stream', () => {
    const lying = hex('04 10 6162');
    expect(readTlv(lying, 0)).toMatchObject({ kind: 'invalid', reason: 'length exceeds data' });
    expect(readTlv(lying, 0, undefined, true)).toEqual({ kind: 'incomplete' });
    // Inside a parent, running past the parent's end is a lie even in a stream.
    expect(readTlv(hex('30 02 0405 6162636465'), 2, 4, true)).toMatchObject({ kind: 'invalid' });
    expect(readTlv(Buffer.alloc(0), 0)).toMatchObject({ kind: 'invalid' });
    expect(readTlv(Buffer.alloc(0), 0, undefined, true)).toEqual({ kind: 'incomplete' });
    expect(readTlv(hex('30'), 0, undefined, true)).toEqual({ kind: 'incomplete' });
    expect(readTlv(hex('30 82 01'), 0, undefined, true)).toEqual({ kind: 'incomplete' });
    expect(readTlv(hex('30 82 01'), 0)).toMatchObject({ kind: 'invalid', reason: 'truncated length' });
    expect(readTlv(hex('3000'), 5)).toMatchObject({ kind: 'invalid', reason: 'bad offset' });
    expect(readTlv(hex('3000'), -1)).toMatchObject({ kind: 'invalid', reason: 'bad offset' });
  });
});

describe('children and value readers', () => {
  it('splits a constructed value into elements that tile it exactly', () => {
    const buf = hex('30 08 020101 0403616263');
    const top = readTlv(buf, 0);
    if (top.kind !== 'ok') throw new Error('parse');
    const kids = children(buf, top.tlv)!;
    expect(kids.map((k) => k.tag)).toEqual([2, 4]);
    expect(readInteger(buf, kids[0]!)).toBe(1);
    expect(readString(buf, kids[1]!)).toBe('abc');
    expect(readString(buf, kids[1]!, 2)).toBe('ab');
    expect(readString(buf, top.tlv)).toBeUndefined();
  });

  it('rejects children that overrun, primitives, and floods', () => {
    const overrun = hex('30 04 0405616263');
    const t = readTlv(overrun, 0);
    expect(t.kind).toBe('ok');
    if (t.kind === 'ok') expect(children(overrun, t.tlv)).toBeUndefined();
    const prim = readTlv(hex('0400'), 0);
    if (prim.kind === 'ok') expect(children(hex('0400'), prim.tlv)).toBeUndefined();
    const flood = encodeTlv(0x30, ...Array.from({ length: 300 }, () => hex('0500')));
    const f = readTlv(flood, 0);
    if (f.kind === 'ok') {
      expect(children(flood, f.tlv)).toBeUndefined();
      expect(children(flood, f.tlv, 300)).toHaveLength(300);
    }
  });

  it('reads integers and booleans within bounds', () => {
    const val = (h: string) => {
      const b = hex(h);
      const r = readTlv(b, 0);
      if (r.kind !== 'ok') throw new Error('parse');
      return [b, r.tlv] as const;
    };
    expect(readInteger(...val('02 01 ff'))).toBe(-1);
    expect(readInteger(...val('02 02 0080'))).toBe(128);
    expect(readInteger(...val('0a 01 35'))).toBe(53);
    expect(readInteger(...val('02 00'))).toBeUndefined();
    expect(readInteger(...val('02 07 01020304050607'))).toBeUndefined();
    expect(readBoolean(...val('01 01 ff'))).toBe(true);
    expect(readBoolean(...val('01 01 00'))).toBe(false);
    expect(readBoolean(...val('01 02 0000'))).toBeUndefined();
  });
});

describe('decodeTree', () => {
  it('decodes nested structures', () => {
    const buf = encodeTlv(0x30, encodeInteger(5), encodeTlv(0x63, encodeString('x'), encodeTlv(0x30)));
    const r = decodeTree(buf);
    expect(r.kind).toBe('ok');
    if (r.kind === 'ok') {
      expect(r.node.children?.map((c) => c.tag)).toEqual([2, 3]);
      expect(r.node.children?.[1]?.children?.map((c) => c.tag)).toEqual([4, 16]);
    }
  });

  it('stops hostile nesting depth without recursion', () => {
    let nested: Buffer = Buffer.alloc(0);
    for (let i = 0; i < 3000; i++) nested = encodeTlv(0x30, nested);
    expect(decodeTree(nested)).toEqual({ kind: 'invalid', reason: 'too deep' });
    expect(decodeTree(nested, 0, { maxDepth: 5000 }).kind).toBe('ok');
  });

  it('stops node floods and malformed children', () => {
    const flood = encodeTlv(0x30, Buffer.alloc(20000, 0));
    expect(decodeTree(flood)).toEqual({ kind: 'invalid', reason: 'too many nodes' });
    expect(decodeTree(hex('30 03 3080 00'))).toMatchObject({ kind: 'invalid', reason: 'indefinite length' });
    expect(decodeTree(hex('30 03 0405 00'))).toMatchObject({ kind: 'invalid' });
    expect(decodeTree(hex('30 05 0403'))).toMatchObject({ kind: 'invalid' });
  });

  it('never throws on garbage, truncation or a 1 MiB blob', () => {
    const big = Buffer.concat([hex('30 84 00100000'), Buffer.alloc(1024 * 1024, 0x30)]);
    expect(() => decodeTree(big)).not.toThrow();
    expect(decodeTree(big).kind).toBe('invalid');
    expect(decodeTree(Buffer.alloc(0)).kind).toBe('invalid');
    for (let i = 0; i < 500; i++) {
      const g = randomBytes(1 + (i % 200));
      if (i % 3 === 0) g[0] = 0x30;
      expect(() => decodeTree(g)).not.toThrow();
      expect(() => readTlv(g, 0, g.length, true)).not.toThrow();
    }
    const whole = encodeTlv(0x30, encodeInteger(1), encodeString('hello'));
    for (let n = 0; n < whole.length; n++) expect(decodeTree(whole.subarray(0, n)).kind).toBe('invalid');
  });
});

describe('encoders', () => {
  it('encode definite lengths and minimal integers', () => {
    expect(encodeLength(0)).toEqual(hex('00'));
    expect(encodeLength(127)).toEqual(hex('7f'));
    expect(encodeLength(128)).toEqual(hex('8180'));
    expect(encodeLength(256)).toEqual(hex('820100'));
    expect(encodeLength(65536)).toEqual(hex('83010000'));
    expect(encodeInteger(0)).toEqual(hex('020100'));
    expect(encodeInteger(127)).toEqual(hex('02017f'));
    expect(encodeInteger(128)).toEqual(hex('02020080'));
    expect(encodeInteger(0, 0x0a)).toEqual(hex('0a0100'));
    expect(encodeString('ab', 0x87)).toEqual(hex('87026162'));
    expect(MAX_BER_LENGTH).toBeGreaterThan(1024 * 1024);
  });
});
