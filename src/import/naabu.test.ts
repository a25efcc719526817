import { describe, expect, it } from 'vitest';
import { fixture, fuzz, garbage, hugeLine, importError, run } from '../../test/helpers/import-checks.js';
import { importer as masscanJson } from './masscan-json.js';
import { importer } from './naabu.js';

const many = fixture('naabu/many.jsonl');

describe('naabu importer', () => {
  it('sniffs both JSON shapes and plain host:port lines, and not masscan', () => {
    expect(importer.sniff(many)).toBe(10);
    expect(importer.sniff(fixture('naabu/old-nested.jsonl'))).toBe(10);
    expect(importer.sniff(Buffer.from('{"ip":"192.0.2.1","port":80}\n'))).toBe(8);
    expect(importer.sniff(fixture('naabu/plain.txt'))).toBe(7);
    expect(importer.sniff(fixture('masscan-ndjson/many.ndjson'))).toBe(0);
    expect(importer.sniff(fixture('masscan-json/old-no-brackets.json'))).toBe(0);
    expect(importer.sniff(fixture('rustscan/many.txt'))).toBe(0);
    expect(importer.sniff(fixture('amap/many.amap'))).toBe(0);
    expect(masscanJson.sniff(many)).toBe(0);
  });

  it('reads a 0-byte file as no results', async () => {
    expect((await run(importer, fixture('naabu/zero.jsonl'))).observations).toEqual([]);
  });

  it('reads one record of the new flat shape', async () => {
    const r = await run(importer, fixture('naabu/one.jsonl'));
    expect(r.meta.source).toBe('naabu');
    expect(r.observations).toEqual([
      {
        source: 'naabu',
        host: {
          address: '192.0.2.20',
          family: 4,
          hostnames: [{ name: 'scanme.example', type: 'user' }],
          status: 'up',
          statusReason: 'syn-ack',
          ports: [{ protocol: 'tcp', port: 80, state: 'open', reason: 'syn-ack', tries: 1 }],
          startedAt: Date.parse('2023-07-10T11:43:17.904865Z'),
          endedAt: Date.parse('2023-07-10T11:43:17.904865Z'),
        },
      },
    ]);
  });

  it('merges consecutive lines of a host; UDP, TLS and IPv6 kept', async () => {
    const r = await run(importer, many, 64);
    expect(r.observations.map((o) => [o.host.address, o.host.ports.map((p) => `${p.port}/${p.protocol}${p.service ? ` ${p.service.name}` : ''}`)])).toEqual([
      ['192.0.2.20', ['22/tcp', '80/tcp', '443/tcp ssl']],
      ['192.0.2.21', ['53/udp']],
      ['2001:db8::21', ['8080/tcp']],
      ['192.0.2.20', ['3306/tcp']],
    ]);
    expect(r.observations[0]!.host.endedAt - r.observations[0]!.host.startedAt).toBe(196);
    expect(r.observations[1]!.host.hostnames).toEqual([]);
    expect(r.observations[2]!.host).toMatchObject({ family: 6, hostnames: [{ name: 'v6.example' }] });
  });

  it('reads the old nested shape and the oldest flat one', async () => {
    const r = await run(importer, fixture('naabu/old-nested.jsonl'));
    expect(r.observations.map((o) => [o.host.address, o.host.ports.map((p) => `${p.port}/${p.protocol}${p.service ? ` ${p.service.name}` : ''}`)])).toEqual([
      ['192.0.2.22', ['22/tcp', '443/tcp ssl']],
      ['192.0.2.23', ['80/tcp']],
    ]);
    expect((await run(importer, '{"ip":"192.0.2.1","port":{"Port":53,"Protocol":1}}')).observations[0]!.host.ports[0]!.protocol).toBe('udp');
  });

  it('reads plain output, counting lines that name a host without its address', async () => {
    const r = await run(importer, fixture('naabu/plain.txt'));
    expect(r.observations.map((o) => [o.host.address, o.host.ports.map((p) => p.port)])).toEqual([
      ['192.0.2.24', [22, 80]],
      ['2001:db8::24', [443]],
    ]);
    expect(r.warnings.join()).toMatch(/1 line\(s\) skipped: they name a host but not its IP address/);
  });

  it('refuses bad lines, naming the line', async () => {
    const lines = many.toString('utf8').split('\n');
    lines[2] = lines[2]!.replace('"port":443', '"port":-443');
    expect((await importError(run(importer, lines.join('\n')))).line).toBe(3);
    await importError(run(importer, '{"ip":"192.0.2.1","port":80,"protocol":"sctp"}\n{"ip":"192.0.2.1","port":81}'));
    await importError(run(importer, '{"ip":"192.0.2.1:80","port":80}'));
    await importError(run(importer, '192.0.2.1:http\n'));
    await importError(run(importer, 'exa mple:80\n'));
    await importError(run(importer, garbage()));
    await importError(run(importer, fixture('masscan-xml/many.xml')));
    expect((await importError(run(importer, hugeLine('192.0.2.1:80')))).line).toBe(2);
  });

  it('survives 10 000 mutants of each shape: each parses or throws ImportError', async () => {
    const seeds = [Buffer.from(many.toString('utf8').split('\n').slice(0, 4).join('\n')), fixture('naabu/old-nested.jsonl'), fixture('naabu/plain.txt')];
    for (const seed of seeds) {
      const { parsed, rejected } = await fuzz(importer, seed);
      expect(parsed).toBeGreaterThan(100);
      expect(rejected).toBeGreaterThan(100);
    }
  });
});
