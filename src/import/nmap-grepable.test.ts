import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { mutants } from '../../test/helpers/fuzz.js';
import { importBytes } from '../../test/helpers/import.js';
import { ImportError } from './errors.js';
import { importer, splitVersionText } from './nmap-grepable.js';

const fixture = (name: string): Buffer => readFileSync(new URL(`../../test/fixtures/nmap-grepable/${name}`, import.meta.url));

const HEADER = '# Nmap 7.94 scan initiated Tue Nov 14 22:13:20 2023 as: nmap -sV -oG - 192.0.2.0/30\n';
const FOOTER = '# Nmap done at Tue Nov 14 22:13:40 2023 -- 4 IP addresses (2 hosts up) scanned in 20.00 seconds\n';

async function rejects(data: Buffer | string, pattern: RegExp): Promise<ImportError> {
  const e: unknown = await importBytes(importer, data, 'scan.gnmap').then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(ImportError);
  expect((e as ImportError).message).toMatch(pattern);
  expect((e as ImportError).message).toContain('"scan.gnmap"');
  return e as ImportError;
}

describe('splitVersionText', () => {
  it('splits product, version and extra info by shape', () => {
    expect(splitVersionText('OpenSSH 9.2p1 Debian 2+deb12u3 (protocol 2.0)')).toEqual({ product: 'OpenSSH', version: '9.2p1 Debian 2+deb12u3', extrainfo: 'protocol 2.0' });
    expect(splitVersionText('PostgreSQL DB 9.6.0 or later')).toEqual({ product: 'PostgreSQL DB', version: '9.6.0 or later' });
    expect(splitVersionText('Apache httpd 2.4.57 ((Debian))')).toEqual({ product: 'Apache httpd', version: '2.4.57', extrainfo: '(Debian)' });
    expect(splitVersionText('Erlang Port Mapper Daemon')).toEqual({ product: 'Erlang Port Mapper Daemon' });
    expect(splitVersionText('3Com switch http config')).toEqual({ product: '3Com switch http config' });
    expect(splitVersionText('')).toEqual({});
  });
});

describe('nmap grepable importer', () => {
  it('sniffs nmap grepable output, not masscan or normal output', () => {
    expect(importer.sniff(fixture('many.gnmap'))).toBe(10);
    expect(importer.sniff(fixture('zero.gnmap'))).toBeGreaterThan(0);
    expect(importer.sniff(Buffer.from('# Masscan 1.3.2 scan initiated Sun Nov  5 10:00:00 2023\nTimestamp: 1699178400\tHost: 192.0.2.1 ()\tPorts: 80/open/tcp////\n'))).toBe(0);
    expect(importer.sniff(Buffer.from('# Nmap 7.93 scan initiated Sat Nov 21 07:48:43 2026 as: nmap x\nNmap scan report for localhost (127.0.0.1)\nPORT   STATE SERVICE\n'))).toBe(0);
    expect(importer.sniff(Buffer.from('<?xml version="1.0"?><nmaprun>'))).toBe(0);
  });

  it('sniffs nmap host lines without the header, and not masscan lines without theirs', () => {
    // `grep -v '^#'` of nmap output: Status lines, entries with nmap's trailing seventh slash.
    expect(importer.sniff(Buffer.from('Host: 192.0.2.1 ()\tStatus: Up\n'))).toBe(8);
    expect(importer.sniff(Buffer.from('Host: 192.0.2.1 ()\tPorts: 80/open/tcp//http///\n'))).toBe(8);
    expect(importer.sniff(Buffer.from('Host: 192.0.2.1 ()\tPorts: 80/open/tcp//http//Apache httpd 2.4.57/\r\n'))).toBe(8);
    expect(importer.sniff(Buffer.from('Host: 192.0.2.1 ()\tPorts: \tIgnored State: closed (1000)\n'))).toBe(8);
    // masscan -oG: one entry of six slashes per line, with or without the old missing Timestamp.
    expect(importer.sniff(Buffer.from('Host: 198.18.0.5 ()\tPorts: 80/open/tcp////\n'))).toBe(0);
    expect(importer.sniff(Buffer.from('Host: 192.0.2.16 ()\tPorts: 80/open/tcp//http//\nHost: 192.0.2.16 ()\tPort: 80\tService: http\tBanner: x\n'))).toBe(0);
    expect(importer.sniff(Buffer.from('Timestamp: 1700000000\tHost: 192.0.2.1 ()\tPorts: 80/open/tcp//http//\n'))).toBe(0);
  });

  it('imports zero hosts', async () => {
    const run = await importBytes(importer, fixture('zero.gnmap'));
    expect(run.observations).toEqual([]);
    expect(run.warnings).toEqual([]);
    expect(run.meta).toMatchObject({ source: 'nmap', toolVersion: '7.93', startedAt: Date.UTC(2026, 10, 21, 7, 48, 43) });
    expect(run.meta.args?.at(-1)).toBe('127.0.0.1');
  });

  it('imports one host with versions from -sV', async () => {
    const run = await importBytes(importer, fixture('one-sv.gnmap'));
    expect(run.observations).toHaveLength(1);
    const h = run.observations[0]!.host;
    expect(h).toMatchObject({ address: '127.0.0.1', family: 4, status: 'up', hostnames: [{ name: 'localhost', type: 'PTR' }] });
    expect(h.ports.map((p) => `${p.port}/${p.state}/${p.service?.name}`)).toEqual([
      '9/closed/discard',
      '1883/open/mosquitto version 2.0.11',
      '3306/open/mysql',
      '4222/open/vrml-multi-use',
      '5432/open/postgresql',
      '5672/open/amqp',
      '6379/open/redis',
    ]);
    expect(h.ports.find((p) => p.port === 3306)?.service).toMatchObject({ product: 'MySQL', version: '5.5.5-10.11.19-MariaDB-0+deb12u1', method: 'probed', confidence: 10 });
    // `?`: nmap's table guess after version detection found nothing.
    expect(h.ports.find((p) => p.port === 4222)?.service).toMatchObject({ method: 'table', confidence: 3 });
    expect(h.ports.find((p) => p.port === 5672)?.service).toMatchObject({ product: 'RabbitMQ', version: '3.10.8', extrainfo: '0-9' });
  });

  it('imports many hosts and IPv6', async () => {
    const many = await importBytes(importer, fixture('many.gnmap'));
    expect(many.observations.map((o) => [o.host.address, o.host.ports.length])).toEqual([
      ['127.0.0.1', 7],
      ['127.0.0.2', 0],
      ['127.0.0.3', 0],
    ]);
    expect(many.observations[0]!.host.ports[0]!.service).toMatchObject({ name: 'mqtt', method: 'table', confidence: 3 });
    const v6 = await importBytes(importer, fixture('v6.gnmap'));
    expect(v6.observations[0]!.host).toMatchObject({ address: '::1', family: 6, hostnames: [] });
    expect(v6.observations[0]!.host.ports.find((p) => p.port === 4369)?.service).toMatchObject({ product: 'Erlang Port Mapper Daemon', method: 'probed' });
  });

  it("reads portolan's own -oG as portolan's", async () => {
    const run = await importBytes(importer, fixture('portolan.gnmap'));
    expect(run.meta.source).toBe('portolan');
    expect(run.observations.map((o) => o.source)).toEqual(['portolan', 'portolan']);
    expect(run.observations.find((o) => o.host.address === '127.0.0.1')?.host.ports.find((p) => p.port === 6379)?.service?.product).toBe('Redis key-value store');
  });

  it('imports the complete hosts of a file cut mid-line and warns', async () => {
    const run = await importBytes(importer, fixture('truncated.gnmap'));
    expect(run.observations[0]!.host.ports.map((p) => p.port)).toEqual([9, 1883, 3306, 4222]);
    expect(run.warnings).toEqual([expect.stringMatching(/^truncated after 1 host/)]);
  });

  it('tolerates "/" and ", " inside version text, tunnels, states and OS fields', async () => {
    const line =
      'Host: 192.0.2.1 (web.example)\tPorts: 53/open|filtered/udp//domain///, 80/open/tcp//http//Acme httpd 1.0 (a/b, c)/, 443/open/tcp//ssl|http//nginx 1.22.1/, 8080/unfiltered/tcp//http-proxy///, 9/open/sctp//discard///\tIgnored State: closed (995)\tOS: Linux 5.X\tSeq Index: 260\n';
    const down = 'Host: 192.0.2.2 ()\tStatus: Down\n';
    const run = await importBytes(importer, HEADER + line + down + FOOTER);
    const [a, b] = run.observations;
    expect(a!.osHint).toBe('Linux 5.X');
    expect(a!.host.ports.map((p) => `${p.port}/${p.protocol}/${p.state}`)).toEqual(['53/udp/filtered', '80/tcp/open', '443/tcp/open']);
    expect(a!.host.ports[1]!.service).toMatchObject({ product: 'Acme httpd', version: '1.0', extrainfo: 'a/b, c' });
    expect(a!.host.ports[2]!.service).toMatchObject({ name: 'http', tunnel: 'ssl', product: 'nginx', version: '1.22.1' });
    expect(b!.host).toMatchObject({ address: '192.0.2.2', status: 'down', ports: [] });
    expect(run.warnings).toEqual(['sctp ports skipped (portolan stores tcp and udp)']);
  });
});

describe('nmap grepable importer on hostile input', () => {
  it('rejects an empty file, garbage and other formats with file and line', async () => {
    await rejects('', /empty file/);
    await rejects(Buffer.from([0x00, 0xff, 0x13, 0x0a, 0x80]), /line 1: not nmap grepable output/);
    await rejects(`${HEADER}<?xml version="1.0"?>\n${FOOTER}`, /line 2: not nmap grepable output/);
    await rejects(`${HEADER}Timestamp: 1\tHost: 192.0.2.1 ()\tPorts: 80/open/tcp////\n${FOOTER}`, /line 2/);
  });

  it('rejects bad addresses and ports', async () => {
    await rejects(`${HEADER}Host: 999.0.2.1 ()\tStatus: Up\n${FOOTER}`, /line 2: bad address/);
    await rejects(`${HEADER}Host: 192.0.2.1 ()\tPorts: 99999/open/tcp//x///\n${FOOTER}`, /line 2: bad port number 99999/);
    await rejects(`${HEADER}Host: 192.0.2.1 ()\tPorts: garbage\n${FOOTER}`, /line 2: Ports field without/);
    await rejects(`${HEADER}Host: 192.0.2.1 ()\tPorts: 22/open/tcp//ssh\n${FOOTER}`, /does not end with "\/"/);
  });

  it('rejects a 10 MB line naming its number', async () => {
    await rejects(`${HEADER}Host: 192.0.2.1 ()\tPorts: ${'x'.repeat(10 * 1024 * 1024)}\n`, /line 2: line longer than 8 MiB/);
  });

  it('either imports or throws ImportError for 10 000 mutants', async () => {
    const seed = fixture('one-sv.gnmap');
    let parsed = 0;
    for (const m of mutants(seed, 10_000, 7)) {
      try {
        await importBytes(importer, m, 'm.gnmap', 64);
        parsed++;
      } catch (e) {
        if (!(e instanceof ImportError)) throw new Error(`non-ImportError for mutant ${JSON.stringify(m.toString('latin1'))}: ${String(e)}`);
      }
    }
    expect(parsed).toBeGreaterThan(100);
  }, 60_000);
});
