import { describe, expect, it } from 'vitest';
import { cleanText, jsonText, optText, parseJson, serviceCols } from './rows.js';
import { copyField, numArray, parsePgLocation, textArray } from './postgres.js';
import { SERVICE_CONFLICT } from './merge.js';

describe('store values', () => {
  it('makes any string storable and bounded', () => {
    expect(cleanText('plain')).toBe('plain');
    expect(cleanText('a\0b')).toBe('a\ufffdb');
    expect(cleanText('x\ud800y\udc00z')).toBe('x\ufffdy\ufffdz');
    expect(cleanText('ok \ud83d\ude00')).toBe('ok \ud83d\ude00');
    expect(cleanText('y'.repeat(10_000))).toHaveLength(4096);
    expect(optText('')).toBeNull();
    expect(optText(42)).toBeNull();
  });

  it('bounds JSON strings and arrays and reads bad JSON as undefined', () => {
    const text = jsonText({ s: 'q'.repeat(9000), a: Array.from({ length: 1000 }, (_, i) => i), n: 'a\0' }) ?? '';
    const back = JSON.parse(text) as { s: string; a: number[]; n: string };
    expect(back.s).toHaveLength(4096);
    expect(back.a).toHaveLength(256);
    expect(back.n).toBe('a\ufffd');
    expect(jsonText(undefined)).toBeNull();
    expect(parseJson('{bad')).toBeUndefined();
    expect(parseJson('[1]')).toEqual([1]);
    expect(parseJson({ already: true })).toEqual({ already: true });
    expect(parseJson(null)).toBeUndefined();
  });

  it('clamps confidence and defaults a missing name', () => {
    expect(serviceCols({ name: '', method: 'probed', confidence: 99, cpe: [] })).toMatchObject({ name: 'unknown', confidence: 10, method: 'probed' });
    expect(serviceCols({ name: 'x', method: 'table', confidence: Number.NaN, cpe: [] }).confidence).toBe(0);
  });

  it('writes PostgreSQL array literals that survive quotes, braces, commas and NULL-looking text', () => {
    expect(textArray(['a', null, 'NULL', 'x,y', '{z}', 'q"r', 'b\\s', ''])).toBe('{"a",NULL,"NULL","x,y","{z}","q\\"r","b\\\\s",""}');
    expect(numArray([1, null, 2.5])).toBe('{1,NULL,2.5}');
    expect(numArray([])).toBe('{}');
  });

  it('takes the schema off a PostgreSQL URL and refuses one that is not a plain identifier', () => {
    expect(parsePgLocation('postgres://u@h/db?schema=ptl_1&sslmode=disable')).toEqual({ connectionString: 'postgres://u@h/db?sslmode=disable', schema: 'ptl_1' });
    expect(parsePgLocation('postgres://u@h/db')).toEqual({ connectionString: 'postgres://u@h/db' });
    expect(parsePgLocation('postgresql://u@h/db?schema=Ptl_X')).toEqual({ connectionString: 'postgresql://u@h/db', schema: 'ptl_x' });
    for (const bad of ['x;drop', 'a b', '"q"', '1abc', 'x'.repeat(64), '']) expect(() => parsePgLocation(`postgres://u@h/db?schema=${encodeURIComponent(bad)}`)).toThrow(/plain identifier/);
  });

  it('has one merge clause for both dialects', () => {
    expect(SERVICE_CONFLICT).toMatch(/^ON CONFLICT \(host_id, protocol, port\) DO UPDATE SET/);
    expect(SERVICE_CONFLICT).not.toMatch(/greatest|least|max\(|min\(/i);
  });

  it('writes COPY text fields with NULL, backslash, tab and line ends escaped', () => {
    expect(copyField(null)).toBe('\\N');
    expect(copyField(undefined)).toBe('\\N');
    expect(copyField('\\N')).toBe('\\\\N');
    expect(copyField('a\tb\nc\rd\\e')).toBe('a\\tb\\nc\\rd\\\\e');
    expect(copyField(42)).toBe('42');
    expect(copyField('plain "quoted" {x,y}')).toBe('plain "quoted" {x,y}');
  });
});
