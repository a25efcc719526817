import { describe, expect, it } from 'vitest';
import { fixture, fuzz, garbage, hugeLine, importError, run } from '../../test/helpers/import-checks.js';
import { importer as grepable } from './masscan-grepable.js';
import { importer as json } from './masscan-json.js';

const manyList = fixture('masscan-list/many.txt');
const manyGrep = fixture('masscan-grepable/many.gnmap');

describe('masscan grepable (-oG) importer', () => {
  it('sniffs masscan grepable output, old headerless lines too, and no nmap grepable line', () => {
    expect(grepable.sniff(manyGrep)).toBe(10);
    expect(grepable.sniff(fixture('masscan-grepable/zero-header.gnmap'))).toBe(10);
    expect(grepable.sniff(fixture('masscan-grepable/old-no-timestamp.gnmap'))).toBe(9);
    expect(grepable.sniff(Buffer.from('Host: 198.18.0.5 ()\tPorts: 80/open/tcp////\nHost: 198.18.0.6 ()\tPorts: 53/open/udp////\n'))).toBe(9);
    for (const f of ['many', 'one-sv', 'portolan', 'truncated', 'v6', 'zero']) expect(grepable.sniff(fixture(`nmap-grepable/${f}.gnmap`)), f).toBe(0);
    // nmap's lines without their header comment: a seventh slash ends every entry.
    expect(grepable.sniff(Buffer.from('Host: 192.0.2.1 ()\tPorts: 80/open/tcp//http///\n'))).toBe(0);
    expect(grepable.sniff(Buffer.from('Host: 192.0.2.1 ()\tPorts: 80/open/tcp//http//Apache httpd 2.4.57/\n'))).toBe(0);
    expect(grepable.sniff(Buffer.from('Host: 192.0.2.1 ()\tPorts: 80/open/tcp//http//\tIgnored State: closed (999)\n'))).toBe(0);
    expect(grepable.sniff(manyList)).toBe(0);
  });

  it('reads 0-byte, blank and header-only files as no results, and the header', async () => {
    expect((await run(grepable, fixture('masscan-grepable/zero.gnmap'))).observations).toEqual([]);
    expect((await run(grepable, ' \n\r\n\t\n')).observations).toEqual([]);
    const r = await run(grepable, fixture('masscan-grepable/zero-header.gnmap'));
    expect(r.observations).toEqual([]);
    expect(r.meta).toMatchObject({ toolVersion: '1.3.2', startedAt: Date.UTC(2023, 10, 14, 22, 13, 20) });
  });

  it('reads one record with its port-table service guess', async () => {
    const r = await run(grepable, fixture('masscan-grepable/one.gnmap'));
    expect(r.observations[0]!.host.ports).toEqual([{ protocol: 'tcp', port: 80, state: 'open', reason: 'syn-ack', tries: 1, service: { name: 'http', method: 'table', confidence: 3, cpe: [] } }]);
  });

  it('reads many records: banners replace table guesses, a banner line joins its UDP port', async () => {
    const r = await run(grepable, manyGrep, 100);
    const fromJson = await run(json, fixture('masscan-json/many.json'));
    expect(r.observations.map((o) => o.host.address)).toEqual(['192.0.2.10', '192.0.2.11', '2001:db8::5', '192.0.2.10']);
    // Same ports and probed services as the JSON of the same scan; only the table guesses differ.
    for (let i = 0; i < 3; i++) {
      const probed = (o: typeof r.observations[number]) => o.host.ports.map((p) => ({ ...p, service: p.service?.method === 'probed' ? p.service : undefined }));
      expect(probed(r.observations[i]!)).toEqual(probed(fromJson.observations[i]!));
    }
    expect(r.observations[1]!.host.ports[0]!.service).toEqual({ name: 'smtp', method: 'table', confidence: 3, cpe: [] });
    expect(r.observations[1]!.host.ports[1]).toMatchObject({ protocol: 'udp', port: 53, service: { name: 'domain', method: 'probed' } });
    expect(r.observations[3]!.host.ports[0]!.service).toMatchObject({ name: 'mysql', method: 'table' });
  });

  it('reads old lines without a timestamp', async () => {
    const r = await run(grepable, fixture('masscan-grepable/old-no-timestamp.gnmap'));
    expect(r.observations.map((o) => o.host.ports.map((p) => p.port))).toEqual([[80, 8443]]);
  });

  it('refuses bad records, naming the line', async () => {
    const e = await importError(run(grepable, '# Masscan 1.3.2 scan initiated x\nHost: 192.0.2.1 ()\tPorts: 80/open/tcp//http//\nHost: 192.0.2.1 ()\tPorts: 80/ajar/tcp//http//\nHost: 192.0.2.1 ()\tPorts: 81/open/tcp//http//\n'));
    expect(e.line).toBe(3);
    await importError(run(grepable, 'Host: nowhere ()\tPorts: 80/open/tcp//http//\n'));
    await importError(run(grepable, 'Timestamp: 1\tHost: 192.0.2.1 ()\n'));
    await importError(run(grepable, 'Host: 192.0.2.1 ()\tPort: 80\tBanner: x\n'));
    await importError(run(grepable, garbage()));
    await importError(run(grepable, manyList));
    expect((await importError(run(grepable, hugeLine('# Masscan')))).line).toBe(2);
  });

  it('survives 10 000 mutants: each parses or throws ImportError', async () => {
    const { parsed, rejected } = await fuzz(grepable, manyGrep.subarray(0, 720));
    expect(parsed).toBeGreaterThan(100);
    expect(rejected).toBeGreaterThan(100);
  });
});
