import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { mutants } from '../../../test/helpers/fuzz.js';
import { type EpssData, EpssLineParser, type EpssRow, epssRows, MAX_EPSS_LINE_CHARS, parseEpss, parseEpssLines } from './epss.js';
import { VulnDbError } from './errors.js';

const csv = readFileSync(new URL('../../../test/fixtures/epss/epss_scores.csv', import.meta.url));
const HEADER = '#model_version:v2025.03.14,score_date:2025-11-20T00:00:00+0000\ncve,epss,percentile\n';

async function* asyncLines(lines: readonly string[]): AsyncGenerator<string> {
  for (const l of lines) {
    await Promise.resolve();
    yield l;
  }
}

async function vulnDbError(f: () => unknown): Promise<VulnDbError> {
  try {
    await f();
  } catch (e) {
    expect(e, String(e)).toBeInstanceOf(VulnDbError);
    expect((e as VulnDbError).message).toContain('epss.csv');
    return e as VulnDbError;
  }
  throw new Error('expected a VulnDbError, but parsing succeeded');
}

// eslint-disable-next-line no-control-regex -- looking for control characters is the point
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

function expectSane(d: EpssData): void {
  for (const [cve, s] of d.scores) {
    if (!/^CVE-\d{4}-\d{4,19}$/.test(cve) || !(s.epss >= 0 && s.epss <= 1)) expect.fail(`${cve} ${s.epss}`);
    if (s.percentile !== undefined && !(s.percentile >= 0 && s.percentile <= 1)) expect.fail(`${cve} percentile ${s.percentile}`);
  }
  for (const w of d.warnings) if (UNSAFE.test(w)) expect.fail(`warning ${JSON.stringify(w)}`);
}

describe('EPSS CSV', () => {
  it('reads the file with its model version and score date', () => {
    const d = parseEpss(csv, 'epss.csv');
    expect(d).toMatchObject({ file: 'epss.csv', modelVersion: 'v2025.03.14', scoreDate: '2025-11-20T00:00:00.000Z', rows: 8, malformed: 0, warnings: [] });
    expect(d.scores.size).toBe(8);
    expect(d.scores.get('CVE-2014-0160')).toEqual({ epss: 0.94464, percentile: 0.99989 });
    expect(d.scores.get('CVE-2024-6387')).toEqual({ epss: 0.46342, percentile: 0.9759 });
    expect(parseEpss(csv.toString('utf8'), 'epss.csv')).toEqual(d);
  });

  it('reads the same from lines, async or not, and streams rows with the summary as return value', async () => {
    const lines = csv.toString('utf8').split('\n');
    const whole = parseEpss(csv, 'epss.csv');
    expect(await parseEpssLines(asyncLines(lines), 'epss.csv')).toEqual(whole);
    expect(await parseEpssLines(lines, 'epss.csv')).toEqual(whole);
    // Chunks that hold several lines are split too.
    expect(await parseEpssLines([csv.toString('utf8')], 'epss.csv')).toEqual(whole);

    const rows: EpssRow[] = [];
    const gen = epssRows(asyncLines(lines), 'epss.csv');
    let r = await gen.next();
    while (r.done !== true) {
      rows.push(r.value);
      r = await gen.next();
    }
    expect(rows[0]).toEqual({ cve: 'CVE-1999-0001', epss: 0.01141, percentile: 0.77868 });
    expect(rows).toHaveLength(8);
    expect(r.value).toMatchObject({ modelVersion: 'v2025.03.14', rows: 8, malformed: 0 });
  });

  it('reads CRLF, a BOM, files without the comment or the percentile column, and columns in any order', () => {
    const d = parseEpss(`\ufeff${HEADER}CVE-2024-0001,0.5,0.9\r\n`.replace(/\n/g, '\r\n'), 'epss.csv');
    expect(d.scores.get('CVE-2024-0001')).toEqual({ epss: 0.5, percentile: 0.9 });
    const old = parseEpss('cve,epss\nCVE-2021-44228,0.97565\n', 'epss.csv');
    expect(old).toMatchObject({ modelVersion: undefined, scoreDate: undefined });
    expect(old.scores.get('CVE-2021-44228')).toEqual({ epss: 0.97565, percentile: undefined });
    expect(parseEpss('percentile,cve,epss\n1.0,CVE-2024-0002,1e-5\n', 'epss.csv').scores.get('CVE-2024-0002')).toEqual({ epss: 0.00001, percentile: 1 });
    expect(parseEpss('#model_version:v1 2,score_date:yesterday\ncve,epss\n', 'epss.csv')).toMatchObject({ modelVersion: undefined, scoreDate: undefined, rows: 0 });
  });

  it('skips bad rows with one counted warning, keeps the first of duplicates', () => {
    const bad = ['CVE-2024-1,0.1,0.1', 'CVE-2024-0002,1.5,0.1', 'CVE-2024-0003,-0.1,0.1', 'CVE-2024-0004,0.1,NaN', 'CVE-2024-0005,0.1', 'CVE-2024-0006,0.1,0.2,0.3', 'cve\x1b[2J,0.1,0.1', 'CVE-2024-0007,0x1,0.1', 'CVE-2024-0008,Infinity,0.1', `CVE-2024-0009,0.1,${'9'.repeat(MAX_EPSS_LINE_CHARS)}`];
    const d = parseEpss(`${HEADER}CVE-2024-0001,0.1,0.2\n${bad.join('\n')}\nCVE-2024-0001,0.9,0.9\n\n`, 'epss.csv');
    expect([...d.scores]).toEqual([['CVE-2024-0001', { epss: 0.1, percentile: 0.2 }]]);
    expect(d.malformed).toBe(bad.length);
    expect(d.rows).toBe(2);
    expect(d.warnings[0]).toMatch(/^"epss\.csv": 10 malformed EPSS rows skipped \(line 4: "CVE-2024-1" is not a CVE id; line 5: epss "1\.5" is not a number from 0 to 1; line 6: /);
    expect(d.warnings[1]).toMatch(/1 duplicate EPSS rows skipped \(the first is kept\) \(CVE-2024-0001\)/);
    expectSane(d);
  });

  it('refuses what is not EPSS CSV, naming the file and line', async () => {
    expect((await vulnDbError(() => parseEpss('', 'epss.csv'))).message).toMatch(/is empty/);
    expect((await vulnDbError(() => parseEpss('\n\n#comment only\n', 'epss.csv'))).message).toMatch(/has no "cve,epss,percentile" header/);
    const notCsv = await vulnDbError(() => parseEpss('{"format":"NVD_CVE"}\n', 'epss.csv'));
    expect(notCsv.message).toMatch(/^"epss\.csv" line 1: expected the header "cve,epss,percentile" of a FIRST EPSS CSV, found "\{\\"format\\":\\"NVD_CVE\\"\}"/);
    expect(notCsv.line).toBe(1);
    expect((await vulnDbError(() => parseEpss(`x${'A'.repeat(10_000_000)}\n`, 'epss.csv'))).message).toMatch(/line 1: line is 10000001 characters long/);
    expect((await vulnDbError(() => parseEpss(gzipSync(csv), 'epss.csv'))).message).toMatch(/gzip/);
    expect((await vulnDbError(() => parseEpss(csv, 'epss.csv', { maxBytes: 10 }))).message).toMatch(/larger than/);
    expect((await vulnDbError(() => parseEpss(csv, 'epss.csv', { maxRows: 3 }))).message).toMatch(/line 6: more than 3 rows/);
    expect((await vulnDbError(() => parseEpssLines(asyncLines([]), 'epss.csv'))).message).toMatch(/no "cve,epss,percentile" header/);
    await vulnDbError(async () => {
      for await (const _ of epssRows(['garbage'], 'epss.csv')) void _;
    });
    const garbage = Buffer.alloc(4096);
    for (let i = 0; i < garbage.length; i++) garbage[i] = (i * 7919 + 13) & 0xff;
    await vulnDbError(() => parseEpss(garbage, 'epss.csv'));
  });

  it('keeps a 300 000-row file fast', () => {
    const rows: string[] = [];
    for (let i = 0; i < 300_000; i++) rows.push(`CVE-${1999 + (i % 27)}-${String(10_000 + i)},${(i / 300_000).toFixed(5)},${(i / 300_000).toFixed(5)}`);
    const started = performance.now();
    const d = parseEpss(HEADER + rows.join('\n'), 'epss.csv');
    expect(d.scores.size).toBe(300_000);
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  it('each of 10 000 mutants parses sanely or throws VulnDbError; the line parser alone never throws anything else', () => {
    let parsed = 0;
    let rejected = 0;
    let i = 0;
    for (const m of mutants(csv, 10_000, 5)) {
      i++;
      try {
        expectSane(parseEpss(m, 'fuzz.csv'));
        parsed++;
      } catch (e) {
        if (!(e instanceof VulnDbError)) throw new Error(`mutant ${i} threw ${String(e)}\n${JSON.stringify(m.toString('latin1'))}`);
        rejected++;
      }
    }
    expect(parsed).toBeGreaterThan(500);
    expect(rejected).toBeGreaterThan(100);
    const p = new EpssLineParser('epss.csv');
    p.line('cve,epss,percentile');
    for (const line of ['', ',', ',,,', '\u0000', 'CVE-2024-0001,,', 'CVE-2024-0001,0.1,0.1,']) expect(p.line(line)).toBeUndefined();
    expect(p.finish().malformed).toBe(5);
  });
});
