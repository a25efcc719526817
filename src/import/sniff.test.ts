import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../core/errors.js';
import { ImportError } from './errors.js';
import { IMPORTERS } from './registry.js';
import { chooseImporter, peekStream, sniffFormat, SNIFF_BYTES } from './sniff.js';
import type { Importer } from './types.js';

function fake(id: string, score: (head: Buffer) => number): Importer {
  return {
    id,
    description: id,
    source: 'nmap',
    sniff: score,
    read: async function* () {
      // Not read in these tests.
    },
  };
}

describe('sniff', () => {
  const a = fake('a', (h) => (h.toString().startsWith('A') ? 5 : 0));
  const b = fake('b', (h) => (h.toString().startsWith('AB') ? 9 : 0));
  const tie = fake('tie', (h) => (h.toString().startsWith('A') ? 5 : 0));
  const broken = fake('broken', () => {
    throw new Error('bug');
  });
  const silly = fake('silly', () => Number.NaN);

  it('picks the highest score, ties to registry order', () => {
    expect(sniffFormat(Buffer.from('AB'), [a, b])?.importer.id).toBe('b');
    expect(sniffFormat(Buffer.from('AX'), [a, tie])?.importer.id).toBe('a');
    expect(sniffFormat(Buffer.from('AX'), [tie, a])?.importer.id).toBe('tie');
  });

  it('treats a throwing or nonsensical importer as "not mine"', () => {
    expect(sniffFormat(Buffer.from('AX'), [broken, silly, a])?.importer.id).toBe('a');
    expect(sniffFormat(Buffer.from('zz'), [broken, silly])).toBeUndefined();
  });

  it('says "unrecognised format" with the list of formats, naming the file', () => {
    expect(() => chooseImporter('x.txt', Buffer.from('zz'), undefined, [a, b])).toThrow(ImportError);
    expect(() => chooseImporter('x.txt', Buffer.from('zz'), undefined, [a, b])).toThrow(/"x\.txt": unrecognised format; use --format \(one of a, b\)/);
    expect(() => chooseImporter('e', Buffer.alloc(0), undefined, [a])).toThrow(/empty file/);
  });

  it('--format forces the importer, and an unknown id is a usage error', () => {
    expect(chooseImporter('x', Buffer.from('zz'), 'b', [a, b]).id).toBe('b');
    expect(() => chooseImporter('x', Buffer.from('zz'), 'nope', [a, b])).toThrow(UsageError);
  });

  it('every registered importer has a unique id and survives hostile heads', () => {
    const ids = IMPORTERS.map((i) => i.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const head of [Buffer.alloc(0), Buffer.alloc(SNIFF_BYTES, 0), Buffer.from('\xff\xfe<?xml'), Buffer.alloc(SNIFF_BYTES, 'A')]) {
      expect(() => sniffFormat(head)).not.toThrow();
    }
  });
});

describe('peekStream', () => {
  it('returns the head and then the whole stream again', async () => {
    const data = Buffer.alloc(200_000);
    for (let i = 0; i < data.length; i++) data[i] = i % 251;
    const chunks: Buffer[] = [];
    for (let i = 0; i < data.length; i += 7000) chunks.push(data.subarray(i, i + 7000));
    const { head, rest } = await peekStream(Readable.from(chunks));
    expect(head.length).toBe(SNIFF_BYTES);
    expect(head.equals(data.subarray(0, SNIFF_BYTES))).toBe(true);
    const back: Buffer[] = [];
    for await (const c of rest) back.push(c as Buffer);
    expect(Buffer.concat(back).equals(data)).toBe(true);
  });

  it('handles short and empty streams', async () => {
    const short = await peekStream(Readable.from([Buffer.from('hi')]));
    expect(short.head.toString()).toBe('hi');
    const back: Buffer[] = [];
    for await (const c of short.rest) back.push(c as Buffer);
    expect(Buffer.concat(back).toString()).toBe('hi');
    const empty = await peekStream(Readable.from([]));
    expect(empty.head.length).toBe(0);
    for await (const _ of empty.rest) throw new Error('nothing expected');
  });
});
