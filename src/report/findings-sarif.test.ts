import { readFileSync } from 'node:fs';
import AjvDraft04 from 'ajv-draft-04';
import AjvFormats from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { finding, INJECTION, everyTierAndStatus, vulnFinding } from '../../test/fixtures/report/findings.js';
import { RAW_CONTROL } from '../../test/fixtures/report/hosts.js';
import { mutants } from '../../test/helpers/fuzz.js';
import type { Finding } from '../core/finding.js';
import { SARIF_FINGERPRINT, SARIF_SCHEMA_URI, findingsToSarif, renderSarif, type SarifLog, type SarifResult } from './findings-sarif.js';

// The official OASIS schema (errata01, JSON Schema draft-04), vendored as test data.
const schema = JSON.parse(readFileSync(new URL('../../test/fixtures/sarif/sarif-schema-2.1.0.json', import.meta.url), 'utf8')) as object;
// Both packages are CommonJS with `exports.default`; under NodeNext the default import is the module.
const ajv = new AjvDraft04.default({ allErrors: true });
AjvFormats.default(ajv);
const validate = ajv.compile(schema);

const TOOL = { name: 'portolan', version: '0.1.0', informationUri: 'https://example.org/portolan' } as const;

/** Validates against the schema and returns the log as a consumer would read it (through JSON). */
function check(findings: readonly Finding[]): SarifLog {
  const text = renderSarif(findings, TOOL);
  const log = JSON.parse(text) as SarifLog;
  const ok = validate(log);
  expect(ok ? [] : validate.errors).toEqual([]);
  expect(text).not.toMatch(RAW_CONTROL);
  return log;
}

function results(log: SarifLog): SarifResult[] {
  return log.runs[0].results;
}

describe('findingsToSarif', () => {
  it('rejects an invalid log, so the schema check has teeth', () => {
    const bad = findingsToSarif([finding()], TOOL) as unknown as { runs: { results: { level: string }[] }[] };
    const r = bad.runs[0]?.results[0];
    if (r !== undefined) r.level = 'fatal';
    expect(validate(bad)).toBe(false);
    expect(validate({ version: '2.1.0', runs: [{ tool: { driver: {} } }] })).toBe(false);
  });

  it('writes a valid log for every tier, status and kind', () => {
    const input = everyTierAndStatus();
    const log = check(input);
    expect(log.$schema).toBe(SARIF_SCHEMA_URI);
    expect(log.version).toBe('2.1.0');
    expect(log.runs).toHaveLength(1);
    expect(log.runs[0].tool.driver).toMatchObject({ name: 'portolan', version: '0.1.0', informationUri: 'https://example.org/portolan' });
    // fixed findings are left out, everything else is a result
    expect(results(log)).toHaveLength(input.filter((f) => f.status !== 'fixed').length);
    const levels = Object.fromEntries(results(log).filter((r) => r.suppressions === undefined && r.properties.kind === 'exposure').map((r) => [r.properties.tier as string, r.level]));
    expect(levels).toEqual({ critical: 'error', high: 'error', medium: 'warning', low: 'note', info: 'note' });
  });

  it('writes an empty but valid run for no findings, or only fixed ones', () => {
    for (const input of [[], [finding({ status: 'fixed' })]]) {
      const log = check(input);
      expect(results(log)).toEqual([]);
      expect(log.runs[0].tool.driver.rules).toEqual([]);
    }
  });

  it('uses a logical location and the finding key as a stable fingerprint', () => {
    const f = finding();
    const [r] = results(check([f]));
    expect(r?.locations).toEqual([{ logicalLocations: [{ fullyQualifiedName: '192.0.2.10:22/tcp', kind: 'resource' }] }]);
    expect(r?.partialFingerprints).toEqual({ [SARIF_FINGERPRINT]: '192.0.2.10/tcp/22/exposure' });
    const again = results(check([{ ...f, lastSeen: f.lastSeen + 86_400_000, score: 70, title: 'changed title' }]))[0];
    expect(again?.partialFingerprints).toEqual(r?.partialFingerprints);
    const v6 = results(check([finding({ address: '2001:db8::7', port: 3389 })]))[0];
    expect(v6?.locations[0]?.logicalLocations[0]?.fullyQualifiedName).toBe('[2001:db8::7]:3389/tcp');
  });

  it('has one rule per CVE with an NVD link, one per check and one per leading exposure reason', () => {
    const input = [
      vulnFinding('CVE-2024-6387'),
      vulnFinding('cve-2024-6387', { port: 2222 }),
      vulnFinding('CVE-2023-48795', { cve: { id: 'CVE-2023-48795', cvss: 5.9, confidence: 'confirmed' }, tier: 'medium' }),
      finding({ kind: 'check', ref: 'ftp-anonymous', port: 21 }),
      finding(),
      finding({ port: 2222 }),
      finding({ port: 6379, reasons: [{ rule: 'database', text: 'Redis is a database or cache', weight: 25 }, { rule: 'unauthenticated-access', text: 'no auth', weight: 40 }] }),
      finding({ port: 9, reasons: [{ rule: 'loopback-only', text: 'loopback', weight: -20 }] }),
    ];
    const log = check(input);
    const rules = log.runs[0].tool.driver.rules;
    expect(rules.map((r) => r.id)).toEqual(['CVE-2024-6387', 'CVE-2023-48795', 'check/ftp-anonymous', 'exposure/remote-admin', 'exposure/unauthenticated-access', 'exposure/open-service']);
    expect(rules[0]).toMatchObject({ helpUri: 'https://nvd.nist.gov/vuln/detail/CVE-2024-6387', properties: { 'security-severity': '9.8' } });
    expect(rules[0]?.fullDescription?.text).toContain('race condition');
    expect(rules[1]?.properties).toEqual({ 'security-severity': '5.9', tags: ['security'] });
    expect(results(log).map((r) => [r.ruleId, r.ruleIndex])).toEqual([
      ['CVE-2024-6387', 0], ['CVE-2024-6387', 0], ['CVE-2023-48795', 1], ['check/ftp-anonymous', 2],
      ['exposure/remote-admin', 3], ['exposure/remote-admin', 3], ['exposure/unauthenticated-access', 4], ['exposure/open-service', 5],
    ]);
  });

  it('carries tier, score, CVSS, KEV, EPSS, confidence and status as properties', () => {
    const [r] = results(check([vulnFinding('CVE-2024-6387')]));
    expect(r?.properties).toMatchObject({ tier: 'critical', score: 92, cvss: 9.8, kev: true, epss: 0.9731, confidence: 'banner-based', status: 'open', kind: 'vulnerability', port: 22, protocol: 'tcp', service: 'OpenSSH 9.2p1' });
    expect(r?.message.text).toContain('CVSS 9.8');
    expect(r?.message.text).toContain('EPSS 97.3%');
    expect(r?.message.text).toContain('possibly backported');
    const [e] = results(check([finding()]));
    expect(e?.properties).not.toHaveProperty('cvss');
    expect(e?.message.text).toBe([
      '192.0.2.10:22/tcp: OpenSSH 9.2p1 exposed on 22/tcp.',
      'Reasons:',
      '- reachable from the internet (public address 192.0.2.10) (+20)',
      '- OpenSSH is remote administration: exposed logins draw constant password guessing (+25)',
      '- noted, not weighed (0)',
    ].join('\n'));
  });

  it('suppresses accepted risks and false positives with their justification', () => {
    const rs = results(check(everyTierAndStatus()));
    const accepted = rs.find((r) => r.properties.status === 'accepted');
    expect(accepted?.suppressions).toEqual([{ kind: 'external', status: 'accepted', justification: 'accepted risk: jump host, owner: ops (until 2026-06-30T00:00:00.000Z)' }]);
    expect(accepted?.properties.statusExpires).toBe('2026-06-30T00:00:00.000Z');
    const fp = rs.find((r) => r.properties.status === 'false-positive');
    expect(fp?.suppressions).toEqual([{ kind: 'external', status: 'accepted', justification: 'false positive: tarpit, not a real SSH server' }]);
    const bare = results(check([finding({ status: 'accepted' })]))[0];
    expect(bare?.suppressions?.[0]?.justification).toBe('accepted risk: no reason recorded');
    expect(rs.filter((r) => r.properties.status === 'open').every((r) => r.suppressions === undefined)).toBe(true);
  });

  it('keeps hostile strings inert and the log valid', () => {
    const hostile = finding({
      address: INJECTION,
      title: INJECTION,
      statusReason: INJECTION,
      status: 'accepted',
      statusExpires: Number.NaN,
      score: Number.POSITIVE_INFINITY,
      reasons: [{ rule: INJECTION, text: INJECTION, weight: Number.NaN }],
      service: { name: INJECTION, product: INJECTION, version: INJECTION },
    });
    const vuln = vulnFinding('CVE-2024-6387', { ref: INJECTION, cve: { id: INJECTION, confidence: 'confirmed', summary: INJECTION, cvss: Number.NaN, epss: Number.NaN } });
    const check2 = finding({ kind: 'check', ref: INJECTION });
    const log = check([hostile, vuln, check2]);
    for (const rule of log.runs[0].tool.driver.rules) expect(rule.id).toMatch(/^[A-Za-z0-9._/-]+$/);
    const [r] = results(log);
    // brackets and backslashes escaped (no embedded link), braces doubled (no placeholder)
    expect(r?.message.text).toContain('\\[link\\](https://evil.example/x)');
    expect(r?.message.text).toContain('{{0}} {{{{1}}}}');
    expect(r?.message.text).not.toMatch(/(^|[^\\])\[[^\]]*\]\(/);
    // a line break in data stays a visible escape: the message keeps its own three lines
    expect(r?.message.text.split('\n')).toHaveLength(3);
    expect(r?.message.text).toContain('\\\\r\\\\nforged line');
    expect(r?.properties).not.toHaveProperty('score');
    expect(r?.properties).not.toHaveProperty('statusExpires');
    expect(results(log)[1]?.properties).not.toHaveProperty('cvss');
  });

  it('stays valid for mutated hostile strings in every text field', () => {
    for (const m of mutants(Buffer.from(INJECTION, 'utf8'), 300, 5)) {
      for (const text of [m.toString('utf8'), m.toString('latin1')]) {
        const f = finding({ address: text, title: text, statusReason: text, status: 'false-positive', reasons: [{ rule: text, text, weight: 1 }], service: { name: text, version: text } });
        check([f, vulnFinding('CVE-2024-6387', { cve: { id: text, confidence: 'confirmed', summary: text } }), finding({ kind: 'check', ref: text })]);
      }
    }
  });

  it('clips huge texts', () => {
    const huge = 'A'.repeat(1 << 20);
    const text = renderSarif([finding({ title: huge, reasons: Array.from({ length: 500 }, (_, i) => ({ rule: `r${i}`, text: huge, weight: 1 })) }), vulnFinding('CVE-2024-6387', { cve: { id: 'CVE-2024-6387', confidence: 'confirmed', summary: huge } })], TOOL);
    expect(text.length).toBeLessThan(600_000);
    expect(validate(JSON.parse(text))).toBe(true);
    expect(text).toContain('… and 400 more');
  });

  it('drops an informationUri that is not a URI and is deterministic', () => {
    const log = findingsToSarif([finding()], { name: 'portolan', version: '1.2.3', informationUri: 'not a uri' });
    expect(log.runs[0].tool.driver).not.toHaveProperty('informationUri');
    expect(validate(log)).toBe(true);
    expect(renderSarif(everyTierAndStatus(), TOOL)).toBe(renderSarif(everyTierAndStatus(), TOOL));
  });
});
