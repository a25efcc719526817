import { describe, expect, it } from 'vitest';
import { INJECTION, everyTierAndStatus, finding, vulnFinding } from '../../test/fixtures/report/findings.js';
import { RAW_CONTROL } from '../../test/fixtures/report/hosts.js';
import { mutants } from '../../test/helpers/fuzz.js';
import { findingsToMarkdown } from './findings-markdown.js';

/** Pipes that split table cells: not preceded by an odd number of backslashes. */
function cellSeparators(line: string): number {
  return (line.match(/(?<!\\)(?:\\\\)*\|/g) ?? []).length;
}

/** Every table row in the text has as many cell separators as its header. */
function expectWellFormedTables(md: string): void {
  const lines = md.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (!lines[i]?.startsWith('| ') || lines[i - 1]?.startsWith('|')) continue;
    const width = cellSeparators(lines[i] ?? '');
    for (let j = i; j < lines.length && lines[j]?.startsWith('|'); j++) expect(cellSeparators(lines[j] ?? '')).toBe(width);
  }
}

describe('findingsToMarkdown', () => {
  it('summarises counts per tier, then one section per tier with a table and the reasons', () => {
    const md = findingsToMarkdown([finding(), vulnFinding('CVE-2024-6387'), finding({ port: 80, tier: 'low', score: 10, title: 'nginx exposed on 80/tcp', service: { name: 'http', product: 'nginx' } })], { generatedAt: Date.UTC(2026, 0, 2, 3, 4, 5) });
    expect(md).toBe(`# portolan findings

Generated 2026-01-02T03:04:05.000Z.

| Tier | Open | Accepted or false positive |
| --- | --- | --- |
| Critical | 1 | 0 |
| High | 1 | 0 |
| Medium | 0 | 0 |
| Low | 1 | 0 |
| Info | 0 | 0 |
| **Total** | **3** | **0** |

## Critical (1)

| Host | Port | Service | Title |
| --- | --- | --- | --- |
| 192.0.2.10 | 22/tcp | OpenSSH 9.2p1 | CVE-2024-6387 in OpenSSH 9.2p1 (by banner version, possibly backported) |

**192.0.2.10 22/tcp** — CVE-2024-6387 in OpenSSH 9.2p1 (by banner version, possibly backported)

CVE-2024-6387 · CVSS 9.8 · in CISA's Known Exploited Vulnerabilities catalog (exploited in the wild) · EPSS 97.3% · matched on the version banner, possibly backported

Summary: A race condition in sshd signal handling allows remote code execution.

- critical-severity CVE: CVE-2024-6387 (CVSS 9.8) (+45)
- in CISA's Known Exploited Vulnerabilities catalog: CVE-2024-6387 (+25)

## High (1)

| Host | Port | Service | Title |
| --- | --- | --- | --- |
| 192.0.2.10 | 22/tcp | OpenSSH 9.2p1 | OpenSSH 9.2p1 exposed on 22/tcp |

**192.0.2.10 22/tcp** — OpenSSH 9.2p1 exposed on 22/tcp

- reachable from the internet (public address 192.0.2.10) (+20)
- OpenSSH is remote administration: exposed logins draw constant password guessing (+25)
- noted, not weighed (0)

## Low (1)

| Host | Port | Service | Title |
| --- | --- | --- | --- |
| 192.0.2.10 | 80/tcp | nginx | nginx exposed on 80/tcp |

**192.0.2.10 80/tcp** — nginx exposed on 80/tcp

- reachable from the internet (public address 192.0.2.10) (+20)
- OpenSSH is remote administration: exposed logins draw constant password guessing (+25)
- noted, not weighed (0)
`);
  });

  it('covers every tier and status: fixed counted only, accepted and false positives in their own section', () => {
    const input = everyTierAndStatus();
    const md = findingsToMarkdown(input);
    expectWellFormedTables(md);
    expect(md).toContain('| Critical | 3 | 2 |');
    expect(md).toContain('| Info | 1 | 2 |');
    expect(md).toContain('| **Total** | **8** | **10** |');
    expect(md).toContain('5 fixed findings are not listed.');
    for (const t of ['Critical (3)', 'High (1)', 'Medium (2)', 'Low (1)', 'Info (1)']) expect(md).toContain(`## ${t}`);
    expect(md).toContain('## Accepted risks and false positives (10)');
    expect(md).toContain('| accepted risk | jump host, owner: ops (until 2026-06-30T00:00:00.000Z) |');
    expect(md).toContain('| false positive | tarpit, not a real SSH server |');
    expect(md).not.toMatch(/\b10(01|05|09|13|17)\/tcp/); // the fixed ones
    expect(md).toContain('2001:db8::7');
  });

  it('says so when there is nothing to report', () => {
    const md = findingsToMarkdown([]);
    expect(md).toContain('| **Total** | **0** | **0** |');
    expect(md.trimEnd().endsWith('No findings.')).toBe(true);
    expect(findingsToMarkdown([finding({ status: 'fixed' })])).toContain('1 fixed finding is not listed.');
  });

  it('keeps hostile text from breaking tables, lines or injecting HTML and links', () => {
    const hostile = finding({ address: INJECTION, title: INJECTION, reasons: [{ rule: INJECTION, text: INJECTION, weight: 5 }], service: { name: INJECTION, product: INJECTION, version: INJECTION } });
    const vuln = vulnFinding('CVE-2024-6387', { address: INJECTION, cve: { id: INJECTION, confidence: 'confirmed', summary: INJECTION, cvss: Number.NaN } });
    const accepted = finding({ status: 'accepted', address: INJECTION, title: INJECTION, statusReason: INJECTION, statusExpires: Number.NaN });
    const md = findingsToMarkdown([hostile, vuln, accepted], { title: INJECTION });
    expectWellFormedTables(md);
    expect(md).not.toMatch(RAW_CONTROL);
    expect(md).not.toMatch(/<|(?<!\\)\[link|(?<!\\)`|forged line\n|^forged/m);
    expect(md).not.toContain('&lt;entity'); // the source's entity text is shown, not decoded
    expect(md).toContain('&amp;lt;entity&amp;gt;');
    // every data line keeps our own structure: headings, tables, bullets, bold lines or prose
    for (const line of md.split('\n')) expect(line).toMatch(/^(|# |## |\| |- |\*\*|CVE|\\\[|Summary: |Generated |\d+ )/);
    expect(md.split('\n').filter((l) => l.startsWith('## '))).toEqual(['## Critical (1)', '## High (1)', '## Accepted risks and false positives (1)']);
  });

  it('keeps tables and lines intact for mutated hostile strings', () => {
    for (const m of mutants(Buffer.from(INJECTION, 'utf8'), 300, 9)) {
      for (const text of [m.toString('utf8'), m.toString('latin1')]) {
        const md = findingsToMarkdown([finding({ address: text, title: text, reasons: [{ rule: text, text, weight: 1 }], service: { name: text, product: text } }), finding({ status: 'accepted', statusReason: text, title: text })]);
        expectWellFormedTables(md);
        expect(md).not.toMatch(RAW_CONTROL);
        expect(md).not.toMatch(/[<\r\t]/);
        expect(md.split('\n').filter((l) => l.startsWith('## '))).toEqual(['## High (1)', '## Accepted risks and false positives (1)']);
      }
    }
  });

  it('clips huge texts and long reason lists', () => {
    const huge = 'B'.repeat(1 << 20);
    const md = findingsToMarkdown([finding({ title: huge, address: huge, reasons: Array.from({ length: 300 }, (_, i) => ({ rule: `r${i}`, text: huge, weight: 1 })) })]);
    expect(md.length).toBeLessThan(250_000);
    expect(md).toContain('- … and 200 more');
    expect(md).toContain('more characters)');
  });

  it('is deterministic', () => {
    expect(findingsToMarkdown(everyTierAndStatus())).toBe(findingsToMarkdown(everyTierAndStatus()));
  });
});
