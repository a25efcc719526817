import { describe, expect, it } from 'vitest';
import { fixture, fuzz, garbage, hugeLine, importError, run } from '../../test/helpers/import-checks.js';
import { importer } from './rustscan.js';

const many = fixture('rustscan/many.txt');

describe('RustScan greppable importer', () => {
  it('sniffs its own lines only', () => {
    expect(importer.sniff(many)).toBe(10);
    expect(importer.sniff(fixture('rustscan/one.txt'))).toBe(10);
    expect(importer.sniff(Buffer.alloc(0))).toBe(0);
    expect(importer.sniff(fixture('naabu/plain.txt'))).toBe(0);
    expect(importer.sniff(fixture('masscan-list/many.txt'))).toBe(0);
  });

  it('reads a 0-byte file as no results', async () => {
    expect((await run(importer, fixture('rustscan/zero.txt'))).observations).toEqual([]);
  });

  it('reads one host', async () => {
    const r = await run(importer, fixture('rustscan/one.txt'));
    expect(r.observations).toHaveLength(1);
    expect(r.observations[0]!.source).toBe('rustscan');
    expect(r.observations[0]!.host).toMatchObject({ address: '192.0.2.30', family: 4, status: 'up', ports: [{ protocol: 'tcp', port: 22, state: 'open', reason: 'syn-ack', tries: 1 }] });
  });

  it('reads many hosts, IPv6 included; an empty list adds nothing', async () => {
    const r = await run(importer, many, 16);
    expect(r.observations.map((o) => [o.host.address, o.host.family, o.host.ports.map((p) => p.port)])).toEqual([
      ['192.0.2.30', 4, [22, 80, 443]],
      ['192.0.2.31', 4, [3389]],
      ['2001:db8::30', 6, [80, 8080]],
    ]);
  });

  it('merges a host repeated on adjacent lines and de-duplicates ports', async () => {
    const r = await run(importer, '192.0.2.1 -> [80, 22]\n192.0.2.1 -> [22,443]\n');
    expect(r.observations.map((o) => o.host.ports.map((p) => p.port))).toEqual([[22, 80, 443]]);
  });

  it('refuses bad lines, naming the line', async () => {
    expect((await importError(run(importer, '192.0.2.1 -> [22]\n192.0.2.1 -> [65536]\n192.0.2.2 -> [1]\n'))).line).toBe(2);
    await importError(run(importer, 'host.example -> [22]\n'));
    await importError(run(importer, 'Open 192.0.2.1:22\n'));
    await importError(run(importer, garbage()));
    await importError(run(importer, fixture('naabu/many.jsonl')));
    expect((await importError(run(importer, hugeLine('192.0.2.1 -> [22]')))).line).toBe(2);
  });

  it('warns about a cut last line and keeps the hosts before it', async () => {
    const r = await run(importer, '192.0.2.1 -> [22]\n192.0.2.2 -> [80,44');
    expect(r.observations.map((o) => o.host.address)).toEqual(['192.0.2.1']);
    expect(r.warnings.join()).toMatch(/line 2.*truncated/);
  });

  it('survives 10 000 mutants: each parses or throws ImportError', async () => {
    const { parsed, rejected } = await fuzz(importer, many);
    expect(parsed).toBeGreaterThan(100);
    expect(rejected).toBeGreaterThan(100);
  });
});
