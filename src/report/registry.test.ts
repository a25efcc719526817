import { describe, expect, it } from 'vitest';
import * as F from '../../test/fixtures/report/hosts.js';
import { REPORT_FORMATS, allFormats, findFormat, formatByFlag, type ReportFormatId } from './registry.js';

describe('report registry', () => {
  it('lists the four formats with their -oA extensions', () => {
    expect(REPORT_FORMATS.map((f) => [f.id, f.flag, f.extension])).toEqual([
      ['normal', 'N', '.nmap'],
      ['xml', 'X', '.xml'],
      ['grepable', 'G', '.gnmap'],
      ['jsonl', 'J', '.jsonl'],
    ]);
    expect(allFormats().map((f) => f.extension)).toEqual(['.nmap', '.xml', '.gnmap', '.jsonl']);
    const id: ReportFormatId = 'xml';
    expect(findFormat(id)?.extension).toBe('.xml');
    expect(formatByFlag('G')?.id).toBe('grepable');
    expect(findFormat('nope')).toBeUndefined();
  });

  it('has unique ids, flags and extensions', () => {
    for (const key of ['id', 'flag', 'extension'] as const) {
      expect(new Set(REPORT_FORMATS.map((f) => f[key])).size).toBe(REPORT_FORMATS.length);
    }
  });

  it('every writer survives an empty, interrupted scan and refuses hosts before begin()', () => {
    for (const f of REPORT_FORMATS) {
      const w = f.create();
      expect(() => w.host(F.v4Host())).toThrow(/begin/);
      const text = w.begin(F.plan([]), F.info()) + w.end(F.summary({ hostsUp: 0, hostsDown: 0, hostsTotal: 0, exit: 'error', message: 'no targets' }));
      expect(text.endsWith('\n')).toBe(true);
      expect(text).toMatch(/0 IP addresses \(0 hosts up\)|"total":0/);
    }
  });
});
