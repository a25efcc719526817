import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { splitCpe23 } from '../../core/cpe.js';
import { mutants } from '../../../test/helpers/fuzz.js';
import { VulnDbError } from './errors.js';
import { MAX_DESCRIPTION_CHARS, type NvdCve, type NvdPage, parseNvdPage } from './nvd.js';

const fixture = (name: string): Buffer => readFileSync(new URL(`../../../test/fixtures/nvd/${name}`, import.meta.url));
const page1 = fixture('page-1.json');
const page2 = fixture('page-2.json');

/** A page around the given entries, the envelope as NVD writes it. */
function page(vulnerabilities: unknown[], extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ resultsPerPage: vulnerabilities.length, startIndex: 0, totalResults: vulnerabilities.length, format: 'NVD_CVE', version: '2.0', timestamp: '2025-11-20T09:41:12.487', vulnerabilities, ...extra });
}

/** A minimal valid CVE entry, with overrides. */
function entry(over: Record<string, unknown> = {}): { cve: Record<string, unknown> } {
  return {
    cve: {
      id: 'CVE-2024-0001',
      published: '2024-01-01T00:00:00.000',
      lastModified: '2024-01-02T00:00:00.000',
      vulnStatus: 'Analyzed',
      descriptions: [{ lang: 'en', value: 'A bug.' }],
      metrics: {},
      ...over,
    },
  };
}

/** The VulnDbError `f` throws; fails on success or on any other error. */
function vulnDbError(f: () => unknown, file = 'test.json'): VulnDbError {
  try {
    f();
  } catch (e) {
    expect(e, String(e)).toBeInstanceOf(VulnDbError);
    expect((e as VulnDbError).code).toBe('E_VULNDB');
    expect((e as VulnDbError).message).toContain(file);
    return e as VulnDbError;
  }
  throw new Error('expected a VulnDbError, but parsing succeeded');
}

// eslint-disable-next-line no-control-regex -- looking for control characters is the point
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

/** What every parsed record must satisfy, however hostile the file. */
function expectSane(p: NvdPage): void {
  for (const c of p.cves) {
    if (!/^CVE-\d{4}-\d{4,19}$/.test(c.id)) expect.fail(`id ${c.id}`);
    if (Number.isNaN(Date.parse(c.published)) || Number.isNaN(Date.parse(c.lastModified))) expect.fail(`dates of ${c.id}`);
    if (UNSAFE.test(c.description) || c.description.length > MAX_DESCRIPTION_CHARS) expect.fail(`description of ${c.id}`);
    if (c.cvss && !(c.cvss.score >= 0 && c.cvss.score <= 10)) expect.fail(`score ${c.cvss.score}`);
    for (const conf of c.configurations) {
      for (const n of conf.nodes) for (const m of n.cpeMatch) if (splitCpe23(m.criteria) === undefined) expect.fail(`criteria ${m.criteria}`);
    }
  }
  for (const w of p.warnings) if (UNSAFE.test(w)) expect.fail(`warning ${JSON.stringify(w)}`);
}

describe('parseNvdPage', () => {
  it('reads a page of OpenSSH CVEs with their version ranges and the preferred score', () => {
    const p = parseNvdPage(page1, 'page-1.json');
    expect(p).toMatchObject({ file: 'page-1.json', timestamp: '2025-11-20T09:41:12.487Z', startIndex: 0, resultsPerPage: 2, totalResults: 6, rejected: 0, malformed: 0, warnings: [] });
    expect(p.cves.map((c) => c.id)).toEqual(['CVE-2023-38408', 'CVE-2024-6387']);
    const [agent, regresshion] = p.cves as [NvdCve, NvdCve];
    expect(agent).toMatchObject({
      published: '2023-07-20T03:15:10.170Z',
      lastModified: '2024-11-21T08:13:26.113Z',
      cvss: { version: '3.1', score: 9.8, severity: 'critical', vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', source: 'nvd@nist.gov' },
    });
    expect(agent.description).toMatch(/^The PKCS#11 feature in ssh-agent in OpenSSH before 9\.3p2 /);
    expect(agent.configurations).toHaveLength(2);
    expect(agent.configurations[0]).toEqual({
      operator: 'OR',
      negate: false,
      nodes: [
        {
          operator: 'OR',
          negate: false,
          cpeMatch: [
            { vulnerable: true, criteria: 'cpe:2.3:a:openbsd:openssh:*:*:*:*:*:*:*:*', versionEndExcluding: '9.3' },
            { vulnerable: true, criteria: 'cpe:2.3:a:openbsd:openssh:9.3:-:*:*:*:*:*:*' },
            { vulnerable: true, criteria: 'cpe:2.3:a:openbsd:openssh:9.3:p1:*:*:*:*:*:*' },
          ],
        },
      ],
    });
    // NVD's Primary score wins over the CNA's Secondary one listed first.
    expect(regresshion.cvss).toMatchObject({ version: '3.1', score: 8.1, severity: 'high', source: 'nvd@nist.gov' });
    expect(regresshion.configurations[0]!.nodes[0]!.cpeMatch[1]).toEqual({
      vulnerable: true,
      criteria: 'cpe:2.3:a:openbsd:openssh:*:*:*:*:*:*:*:*',
      versionStartIncluding: '8.5p1',
      versionEndExcluding: '9.8p1',
    });
  });

  it('keeps AND configurations with their non-vulnerable platform, skips rejected CVEs, falls back to 3.0 and 2.0', () => {
    const p = parseNvdPage(page2, 'page-2.json');
    expect(p.cves.map((c) => c.id)).toEqual(['CVE-2023-34057', 'CVE-2010-4478', 'CVE-2016-6515']);
    expect(p).toMatchObject({ rejected: 1, malformed: 0, warnings: [], startIndex: 2 });
    const [tools, jpake, auth] = p.cves as [NvdCve, NvdCve, NvdCve];
    expect(tools.configurations).toEqual([
      {
        operator: 'AND',
        negate: false,
        nodes: [
          { operator: 'OR', negate: false, cpeMatch: [{ vulnerable: true, criteria: 'cpe:2.3:a:vmware:tools:*:*:*:*:*:*:*:*', versionStartIncluding: '11.0.0', versionEndExcluding: '12.3.5' }] },
          { operator: 'OR', negate: false, cpeMatch: [{ vulnerable: false, criteria: 'cpe:2.3:o:apple:macos:-:*:*:*:*:*:*:*' }] },
        ],
      },
    ]);
    // A no-break space and trailing newlines in NVD's text become plain single spaces.
    expect(tools.description).toBe('VMware Tools contains a local privilege escalation vulnerability. A malicious actor with local user access to a guest virtual machine may elevate privileges within the virtual machine.');
    expect(jpake.cvss).toEqual({ version: '2.0', score: 7.5, severity: 'high', vector: 'AV:N/AC:L/Au:N/C:P/I:P/A:P', source: 'nvd@nist.gov' });
    expect(jpake.configurations[0]!.nodes[0]!.cpeMatch[0]!.versionEndIncluding).toBe('5.6');
    expect(auth.cvss).toMatchObject({ version: '3.0', score: 7.5, vector: 'CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H' });
  });

  it('takes a CNA score when NVD has none, derives a missing severity, and ignores broken metrics with a warning', () => {
    const metric = (over: Record<string, unknown>): Record<string, unknown> => ({
      source: 'cna@example.org',
      type: 'Secondary',
      cvssData: { version: '3.1', vectorString: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N', baseScore: 7.5, ...over },
    });
    // 1e309 is written into the text: JSON.parse reads it as Infinity, which no score may be.
    const text = page([entry({ metrics: { cvssMetricV31: [metric({ baseScore: 'HUGE' }), metric({ baseScore: '9' }), metric({ version: '3.0' }), metric({})] } })]);
    const p = parseNvdPage(text.replace('"HUGE"', '1e309'), 'test.json');
    expect(p.cves[0]!.cvss).toEqual({ version: '3.1', score: 7.5, severity: 'high', vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N', source: 'cna@example.org' });
    expect(p.warnings).toHaveLength(1);
    expect(p.warnings[0]).toMatch(/3 malformed CVSS metrics ignored \(CVE-2024-0001 cvssMetricV31\[0\]: cvssData\.baseScore: /);
    expect(parseNvdPage(page([entry({ metrics: undefined })]), 't').cves[0]!.cvss).toBeUndefined();
  });

  it('skips malformed entries with one counted warning, and duplicates', () => {
    const bad = [
      entry({ id: 'CVE-24-1' }),
      entry({ published: 20240101 }),
      entry({ published: '2024-02-30T00:00:00' }),
      { cve: null },
      'text',
      entry({ configurations: [{ nodes: [{ operator: 'XOR', cpeMatch: [] }] }] }),
      entry({ configurations: [{ nodes: [{ cpeMatch: [{ vulnerable: 'yes', criteria: 'cpe:2.3:a:x:y:*:*:*:*:*:*:*:*' }] }] }] }),
      entry({ configurations: [{ nodes: [{ cpeMatch: [{ vulnerable: true, criteria: 'cpe:2.3:a:x:y' }] }] }] }),
      entry({ configurations: [{ nodes: [{ cpeMatch: [{ vulnerable: true, criteria: 'cpe:2.3:a:x:y:*:*:*:*:*:*:*:*', versionEndExcluding: '1 2' }] }] }] }),
    ];
    const p = parseNvdPage(page([entry(), ...bad, entry({ descriptions: [{ lang: 'en', value: 'second copy' }] })]), 'test.json');
    expect(p.cves).toHaveLength(1);
    expect(p.cves[0]!.description).toBe('A bug.');
    expect(p.malformed).toBe(bad.length);
    expect(p.warnings[0]).toMatch(/^"test\.json": 9 malformed CVE entries skipped \(vulnerabilities\[1\] "CVE-24-1": id: /);
    expect(p.warnings[1]).toMatch(/1 duplicate CVE entries skipped \(the first is kept\) \(CVE-2024-0001\)/);
  });

  it('reads defaults NVD leaves out, and other-language-only descriptions as empty', () => {
    const p = parseNvdPage(page([entry({ descriptions: [{ lang: 'es', value: 'Un fallo.' }], configurations: [{ nodes: [{ cpeMatch: [] }] }] })]), 't');
    expect(p.cves[0]!.description).toBe('');
    expect(p.cves[0]!.configurations).toEqual([{ operator: 'OR', negate: false, nodes: [{ operator: 'OR', negate: false, cpeMatch: [] }] }]);
    expect(parseNvdPage(page([]), 't').cves).toEqual([]);
  });

  it('refuses what is not an NVD 2.0 page, naming the file', () => {
    expect(vulnDbError(() => parseNvdPage('', 'test.json')).message).toMatch(/is empty/);
    expect(vulnDbError(() => parseNvdPage(Buffer.alloc(0), 'test.json')).message).toMatch(/is empty/);
    expect(vulnDbError(() => parseNvdPage(page1.subarray(0, 1000), 'test.json')).message).toMatch(/is not valid JSON/);
    expect(vulnDbError(() => parseNvdPage('[1,2]', 'test.json')).message).toMatch(/not a JSON object/);
    expect(vulnDbError(() => parseNvdPage('{"CVE_data_type":"CVE","CVE_Items":[]}', 'test.json')).message).toMatch(/legacy NVD 1\.1/);
    expect(vulnDbError(() => parseNvdPage('{"title":"CISA Catalog","catalogVersion":"1","vulnerabilities":[]}', 'test.json')).message).toMatch(/no "format" field/);
    expect(vulnDbError(() => parseNvdPage('{"format":7}', 'test.json')).message).toMatch(/has format number/);
    expect(vulnDbError(() => parseNvdPage(page([], { version: '3.0' }), 'test.json')).message).toMatch(/version "3\.0"/);
    expect(vulnDbError(() => parseNvdPage(page([], { vulnerabilities: {} }), 'test.json')).message).toMatch(/vulnerabilities: /);
    expect(vulnDbError(() => parseNvdPage(page([], { totalResults: -1 }), 'test.json')).message).toMatch(/totalResults: /);
    expect(vulnDbError(() => parseNvdPage(gzipSync(page1), 'test.json')).message).toMatch(/gzip/);
    expect(vulnDbError(() => parseNvdPage(page1, 'test.json', { maxBytes: 1000 })).message).toMatch(/larger than/);
    expect(vulnDbError(() => parseNvdPage(page([entry(), entry()]), 'test.json', { maxEntries: 1 })).message).toMatch(/more than the 1 allowed/);
    // The file name is quoted and escaped in the message.
    expect(vulnDbError(() => parseNvdPage('', 'evil\x1b[2J.json'), 'evil\\x1b[2J.json').message).not.toMatch(UNSAFE);
  });

  it('survives binary garbage, deep nesting, control characters and huge strings', () => {
    const garbage = Buffer.alloc(4096);
    for (let i = 0; i < garbage.length; i++) garbage[i] = (i * 7919 + 13) & 0xff;
    vulnDbError(() => parseNvdPage(garbage, 'test.json'));
    vulnDbError(() => parseNvdPage('['.repeat(1_000_000) + ']'.repeat(1_000_000), 'test.json'));
    vulnDbError(() => parseNvdPage('{"a":'.repeat(500_000), 'test.json'));
    // Built as text: JSON.stringify itself would overflow the stack on this.
    const deep = page([entry({ descriptions: 'DEEP' })]).replace('"DEEP"', '['.repeat(100_000) + ']'.repeat(100_000));
    expect(parseNvdPage(deep, 't').malformed).toBe(1);

    const hostile = entry({ descriptions: [{ lang: 'en', value: `a\x1b[2J\u202e\r\nb${'x'.repeat(10_000_000)}` }] });
    const p = parseNvdPage(page([hostile]), 't');
    expect(p.cves[0]!.description).toHaveLength(MAX_DESCRIPTION_CHARS);
    expect(p.cves[0]!.description.startsWith('a\\x1b[2J\\u202e bxxx')).toBe(true);
    expect(p.cves[0]!.description.endsWith('…')).toBe(true);
    expectSane(p);

    const longCpe = entry({ configurations: [{ nodes: [{ cpeMatch: [{ vulnerable: true, criteria: `cpe:2.3:a:${'v'.repeat(5_000_000)}:y:*:*:*:*:*:*:*:*` }] }] }] });
    const hugeId = { cve: { ...entry().cve, id: `CVE-2024-${'1'.repeat(5_000_000)}` } };
    const q = parseNvdPage(page([longCpe, hugeId]), 't');
    expect(q.malformed).toBe(2);
    expect(q.warnings.join('\n').length).toBeLessThan(2000);
  });

  it('does not let __proto__ keys reach the output', () => {
    const text = page([entry()]).replace('"vulnStatus"', '"__proto__":{"polluted":1},"constructor":{"prototype":{"x":1}},"vulnStatus"');
    const p = parseNvdPage(text, 't');
    expect(p.cves).toHaveLength(1);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getPrototypeOf(p.cves[0])).toBe(Object.prototype);
  });

  it('each of 10 000 mutants of both pages parses sanely or throws VulnDbError', () => {
    let parsed = 0;
    let rejected = 0;
    for (const [seed, rng] of [
      [page1, 1],
      [page2, 2],
    ] as const) {
      let i = 0;
      for (const m of mutants(seed, 5_000, rng)) {
        i++;
        try {
          expectSane(parseNvdPage(m, 'fuzz.json'));
          parsed++;
        } catch (e) {
          if (!(e instanceof VulnDbError)) throw new Error(`mutant ${i} threw ${String(e)}\n${JSON.stringify(m.toString('latin1').slice(0, 300))}`);
          rejected++;
        }
      }
    }
    expect(parsed).toBeGreaterThan(500);
    expect(rejected).toBeGreaterThan(500);
  });
});
