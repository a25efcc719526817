import { describe, expect, it } from 'vitest';
import { INJECTION, everyTierAndStatus, finding } from '../../test/fixtures/report/findings.js';
import { RAW_CONTROL } from '../../test/fixtures/report/hosts.js';
import { FINDINGS_FORMATS, findFindingsFormat } from './findings-registry.js';

const CTX = { toolVersion: '0.1.0', informationUri: 'https://example.org/portolan', generatedAt: Date.UTC(2026, 0, 1) };

describe('findings registry', () => {
  it('lists SARIF and Markdown with unique ids and extensions', () => {
    expect(FINDINGS_FORMATS.map((f) => [f.id, f.extension])).toEqual([
      ['sarif', '.sarif'],
      ['markdown', '.md'],
    ]);
    for (const key of ['id', 'extension'] as const) expect(new Set(FINDINGS_FORMATS.map((f) => f[key])).size).toBe(FINDINGS_FORMATS.length);
    expect(findFindingsFormat('markdown')?.extension).toBe('.md');
    expect(findFindingsFormat('nope')).toBeUndefined();
  });

  it('every format renders empty, full and hostile inputs as one inert document ending in a newline', () => {
    for (const f of FINDINGS_FORMATS) {
      for (const input of [[], everyTierAndStatus(), [finding({ title: INJECTION, address: INJECTION, statusReason: INJECTION })]]) {
        const text = f.render(input, CTX);
        expect(text.endsWith('\n')).toBe(true);
        expect(text).not.toMatch(RAW_CONTROL);
        // SARIF message text is plain text (raw `<` is data there); Markdown would render HTML
        if (f.id === 'markdown') expect(text).not.toContain('<script');
      }
    }
  });

  it('passes the tool version and date through', () => {
    expect(findFindingsFormat('sarif')?.render([], CTX)).toContain('"informationUri": "https://example.org/portolan"');
    expect(findFindingsFormat('markdown')?.render([], CTX)).toContain('Generated 2026-01-01T00:00:00.000Z.');
  });
});
