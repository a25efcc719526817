import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { mutants } from '../../../test/helpers/fuzz.js';
import { VulnDbError } from './errors.js';
import { type KevCatalog, MAX_KEV_NAME_CHARS, parseKev } from './kev.js';

const catalog = readFileSync(new URL('../../../test/fixtures/kev/known_exploited_vulnerabilities.json', import.meta.url));
const nvdPage = readFileSync(new URL('../../../test/fixtures/nvd/page-1.json', import.meta.url));

/** A catalog around the given entries. */
function kev(vulnerabilities: unknown[], extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ title: 'CISA Catalog of Known Exploited Vulnerabilities', catalogVersion: '2025.11.20', dateReleased: '2025-11-20T15:00:43.3015Z', count: vulnerabilities.length, vulnerabilities, ...extra });
}

function item(over: Record<string, unknown> = {}): Record<string, unknown> {
  return { cveID: 'CVE-2024-0001', vendorProject: 'V', product: 'P', vulnerabilityName: 'V P Bug', dateAdded: '2024-05-01', dueDate: '2024-05-22', knownRansomwareCampaignUse: 'Unknown', ...over };
}

function vulnDbError(f: () => unknown): VulnDbError {
  try {
    f();
  } catch (e) {
    expect(e, String(e)).toBeInstanceOf(VulnDbError);
    expect((e as VulnDbError).message).toContain('kev.json');
    return e as VulnDbError;
  }
  throw new Error('expected a VulnDbError, but parsing succeeded');
}

// eslint-disable-next-line no-control-regex -- looking for control characters is the point
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

function expectSane(c: KevCatalog): void {
  for (const e of c.entries) {
    if (!/^CVE-\d{4}-\d{4,19}$/.test(e.cve) || !/^\d{4}-\d{2}-\d{2}$/.test(e.dateAdded)) expect.fail(`entry ${JSON.stringify(e)}`);
    if (UNSAFE.test(e.name) || e.name.length > MAX_KEV_NAME_CHARS || typeof e.ransomware !== 'boolean') expect.fail(`entry ${JSON.stringify(e)}`);
  }
  for (const w of c.warnings) if (UNSAFE.test(w)) expect.fail(`warning ${JSON.stringify(w)}`);
}

describe('parseKev', () => {
  it('reads the catalog', () => {
    const c = parseKev(catalog, 'kev.json');
    expect(c).toMatchObject({ file: 'kev.json', catalogVersion: '2025.11.20', dateReleased: '2025-11-20T15:00:43.301Z', malformed: 0, warnings: [] });
    expect(c.entries).toHaveLength(5);
    expect(c.entries[0]).toEqual({ cve: 'CVE-2023-4966', dateAdded: '2023-10-18', dueDate: '2023-11-08', ransomware: true, name: 'Citrix NetScaler ADC and NetScaler Gateway Buffer Overflow Vulnerability' });
    expect(c.entries.filter((e) => e.ransomware).map((e) => e.cve)).toEqual(['CVE-2023-4966', 'CVE-2018-13379']);
    expect(c.entries.find((e) => e.cve === 'CVE-2021-41773')).toMatchObject({ dateAdded: '2021-11-03', dueDate: '2021-11-17', name: 'Apache HTTP Server Path Traversal Vulnerability' });
  });

  it('skips malformed entries and duplicates, tolerates odd ransomware values and missing due dates', () => {
    const c = parseKev(
      kev([
        item(),
        item({ cveID: 'CVE-2024-1' }),
        item({ cveID: 'CVE-2024-0002', dateAdded: '2024-13-01' }),
        item({ cveID: 'CVE-2024-0003', dateAdded: 20240501 }),
        null,
        item({ cveID: 'CVE-2024-0004', knownRansomwareCampaignUse: ' known ', dueDate: undefined, vulnerabilityName: `x\n\x1b[31m${'y'.repeat(1_000_000)}` }),
        item({ cveID: 'CVE-2024-0005', knownRansomwareCampaignUse: 'Maybe' }),
        item({ vulnerabilityName: 'second copy' }),
      ]),
      'kev.json',
    );
    expect(c.entries.map((e) => e.cve)).toEqual(['CVE-2024-0001', 'CVE-2024-0004', 'CVE-2024-0005']);
    expect(c.entries[0]!.name).toBe('V P Bug');
    expect(c.entries[1]).toMatchObject({ ransomware: true, dueDate: undefined });
    expect(c.entries[1]!.name.startsWith('x \\x1b[31myyy')).toBe(true);
    expect(c.entries[1]!.name).toHaveLength(MAX_KEV_NAME_CHARS);
    expect(c.entries[2]!.ransomware).toBe(false);
    expect(c.malformed).toBe(4);
    expect(c.warnings[0]).toMatch(/^"kev\.json": 4 malformed KEV entries skipped \(vulnerabilities\[1\] "CVE-2024-1": cveID: /);
    expect(c.warnings[1]).toMatch(/1 duplicate KEV entries skipped/);
    expectSane(c);
  });

  it('warns when the count disagrees with the list, reads a catalog without dateReleased', () => {
    const c = parseKev(kev([item()], { count: 1400, dateReleased: undefined }), 'kev.json');
    expect(c.dateReleased).toBeUndefined();
    expect(c.warnings).toEqual(['"kev.json": the catalog says it holds 1400 entries but lists 1; the download may be incomplete']);
  });

  it('refuses what is not the catalog, naming the file', () => {
    expect(vulnDbError(() => parseKev('', 'kev.json')).message).toMatch(/is empty/);
    expect(vulnDbError(() => parseKev(catalog.subarray(0, 700), 'kev.json')).message).toMatch(/not valid JSON/);
    expect(vulnDbError(() => parseKev(nvdPage, 'kev.json')).message).toMatch(/is an NVD CVE page/);
    expect(vulnDbError(() => parseKev('"text"', 'kev.json')).message).toMatch(/not a JSON object/);
    expect(vulnDbError(() => parseKev('{"vulnerabilities":[]}', 'kev.json')).message).toMatch(/no "catalogVersion"/);
    expect(vulnDbError(() => parseKev(kev([], { vulnerabilities: 'x' }), 'kev.json')).message).toMatch(/vulnerabilities: /);
    expect(vulnDbError(() => parseKev(kev([], { catalogVersion: 'a b' }), 'kev.json')).message).toMatch(/catalogVersion: /);
    expect(vulnDbError(() => parseKev(gzipSync(catalog), 'kev.json')).message).toMatch(/gzip/);
    expect(vulnDbError(() => parseKev(catalog, 'kev.json', { maxBytes: 100 })).message).toMatch(/larger than/);
    expect(vulnDbError(() => parseKev(kev([item(), item()]), 'kev.json', { maxEntries: 1 })).message).toMatch(/more than the 1 allowed/);
    vulnDbError(() => parseKev('{"catalogVersion":'.repeat(300_000), 'kev.json'));
    vulnDbError(() => parseKev('['.repeat(1_000_000), 'kev.json'));
  });

  it('each of 10 000 mutants parses sanely or throws VulnDbError', () => {
    let parsed = 0;
    let rejected = 0;
    let i = 0;
    for (const m of mutants(catalog, 10_000, 3)) {
      i++;
      try {
        expectSane(parseKev(m, 'fuzz.json'));
        parsed++;
      } catch (e) {
        if (!(e instanceof VulnDbError)) throw new Error(`mutant ${i} threw ${String(e)}\n${JSON.stringify(m.toString('latin1').slice(0, 300))}`);
        rejected++;
      }
    }
    expect(parsed).toBeGreaterThan(500);
    expect(rejected).toBeGreaterThan(500);
  });
});
