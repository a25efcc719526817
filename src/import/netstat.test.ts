import { describe, expect, it } from 'vitest';
import { importFails, listenerSummary as summary, SOCKETS_PY_MANY_NETSTAT as MANY, tableListenerPort } from '../../test/helpers/host-text.js';
import { importBytes } from '../../test/helpers/import.js';
import { fixture as anyFixture } from '../../test/helpers/import-checks.js';
import { importer } from './netstat.js';

const fixture = (name: string): Buffer => anyFixture(`netstat/${name}`);

const HEADER = 'Active Internet connections (only servers)\nProto Recv-Q Send-Q Local Address           Foreign Address         State       PID/Program name\n';

describe('netstat importer on real netstat output', () => {
  it('zero results: -tulnp and -an with nothing listening', async () => {
    for (const f of ['zero.txt', 'zero-an.txt']) expect((await importBytes(importer, fixture(f), f)).observations).toEqual([]);
  });

  it('one result', async () => {
    const r = await importBytes(importer, fixture('one.txt'));
    const pid = Number(/(\d+)\/python3/.exec(fixture('one.txt').toString())?.[1]);
    expect(r.meta.source).toBe('netstat');
    expect(r.observations).toHaveLength(1);
    expect(r.observations[0]).toMatchObject({ source: 'netstat', host: { address: '127.0.0.1', family: 4, status: 'up', statusReason: 'user-set', hostnames: [] } });
    expect(r.observations[0]?.host.ports).toEqual([tableListenerPort('tcp', 6379, 'redis', { bindAddress: '127.0.0.1', scope: 'loopback', pid, process: 'python3' })]);
  });

  it('many results from -tulnp, and the same listeners from -tulnpe and -an', async () => {
    const many = (await importBytes(importer, fixture('many.txt'))).observations[0];
    expect(many?.host.address).toBe('192.0.2.10');
    expect(summary(many)).toEqual(MANY);
    const ext = (await importBytes(importer, fixture('many-extended.txt'), 'x', 9)).observations[0];
    expect(summary(ext)).toEqual(MANY);
    expect(ext?.host.ports.every((p) => p.listener?.user === '0')).toBe(true);
    // -an has no programs, connected rows (skipped, but they name the host) and a UNIX section (skipped).
    const an = (await importBytes(importer, fixture('many-an.txt'))).observations[0];
    expect(summary(an)).toEqual(MANY.map((l) => l.replace(/ python3$/, ' -')));
    expect(an?.host.address).toBe('192.0.2.10');
  });
});

describe('netstat importer details', () => {
  const run = async (text: string) => (await importBytes(importer, text)).observations[0]?.host.ports ?? [];

  it('keeps a program column cut to width as written, and "-" as unknown', async () => {
    const ports = await run(`${HEADER}tcp 0 0 127.0.0.1:6379 0.0.0.0:* LISTEN 2211/redis-server 1\ntcp 0 0 0.0.0.0:2024 0.0.0.0:* LISTEN -\n`);
    expect(ports.map((p) => p.listener)).toEqual([
      { bindAddress: '0.0.0.0', scope: 'all' },
      { bindAddress: '127.0.0.1', scope: 'loopback', pid: 2211, process: 'redis-server 1' },
    ]);
  });

  it('reads UDP rows with and without -e, and skips connected UDP and raw rows', async () => {
    const ports = await run(
      [
        'Active Internet connections (servers and established)',
        'Proto Recv-Q Send-Q Local Address Foreign Address State User Inode PID/Program name',
        'udp 0 0 0.0.0.0:68 0.0.0.0:* 0 1234 812/dhclient',
        'udp 0 0 192.0.2.7:41000 198.51.100.1:53 ESTABLISHED 0 1235 900/resolver',
        'raw6 0 0 :::58 :::* 7 0 1236 -',
        'udp6 0 0 :::5353 :::* 108 1237 -',
      ].join('\n'),
    );
    expect(ports.map((p) => [p.protocol, p.port, p.listener])).toEqual([
      ['udp', 68, { bindAddress: '0.0.0.0', scope: 'all', pid: 812, process: 'dhclient', user: '0' }],
      ['udp', 5353, { bindAddress: '::', scope: 'all', user: '108' }],
    ]);
  });

  it('tolerates the non-root note and a localised title', async () => {
    const note = '(Not all processes could be identified, non-owned process info\n will not be shown, you would have to be root to see it all.)\n';
    expect((await run(`${note}${HEADER}tcp 0 0 0.0.0.0:22 0.0.0.0:* LISTEN -\n`)).length).toBe(1);
    expect(importer.sniff(Buffer.from(`${note}${HEADER}`))).toBe(10);
    const de = 'Aktive Internetverbindungen (Nur Server)\nProto Recv-Q Send-Q Local Address Foreign Address State\ntcp 0 0 0.0.0.0:22 0.0.0.0:* LISTEN\n';
    expect((await run(de)).length).toBe(1);
    expect(importer.sniff(Buffer.from('Aktive Internetverbindungen (Nur Server)\nProto Recv-Q Send-Q Lokale Adresse Gegenadresse Status\ntcp 0 0 0.0.0.0:22 0.0.0.0:* LISTEN\n'))).toBe(7);
  });

  it('keeps an IPv6 address netstat cut to its column, with one warning', async () => {
    const r = await importBytes(importer, `${HEADER}tcp6 0 0 2001:db8:aaaa:bbbb:c:443 :::* LISTEN -\ntcp6 0 0 2001:db8:aaaa:bbbb:d:80 :::* LISTEN -\n`);
    expect(r.observations[0]?.host.ports.map((p) => p.listener?.bindAddress)).toEqual(['2001:db8:aaaa:bbbb:d', '2001:db8:aaaa:bbbb:c']);
    expect(r.warnings).toEqual([expect.stringMatching(/line 3: address "2001:db8:aaaa:bbbb:c" is not a whole IPv6 address.*-W/)]);
  });

  it('skips every line of the UNIX, Bluetooth and other sections', async () => {
    const ports = await run(
      `${HEADER}tcp 0 0 0.0.0.0:22 0.0.0.0:* LISTEN -\nActive UNIX domain sockets (servers and established)\nProto RefCnt Flags Type State I-Node Path\nunix  2 [ ACC ] STREAM LISTENING 5 /run/tcp 0 0 0.0.0.0:1 0.0.0.0:* LISTEN\nActive Bluetooth connections (servers and established)\nProto Destination Source State PSM DCID SCID IMTU OMTU Security\n`,
    );
    expect(ports.map((p) => p.port)).toEqual([22]);
  });
});

describe('netstat importer on bad input', () => {
  const fails = importFails(importer);

  it('0-byte and blank files are not netstat output', async () => {
    await fails('', /bad\.txt": not netstat output/);
    await fails('\n\n  \n', /not netstat output/);
  });

  it('service names instead of numbers: says to use -n', async () => {
    await fails(`${HEADER}tcp 0 0 0.0.0.0:ssh 0.0.0.0:* LISTEN -\n`, /line 3: local port "ssh" .*-n/);
  });

  it('a file of another format, binary garbage', async () => {
    await fails('Host: 127.0.0.1 ()\tStatus: Up\nHost: 127.0.0.1 ()\tPorts: 22/open/tcp//ssh///\nx\ny\n', /line 4: not netstat output/);
    await fails(`${HEADER}\u0000\u00ff\u0013garbage\n`, /line 3: not netstat output/);
    await fails(fixture('../ss/many.txt'), /line 4: not netstat output/);
  });

  it('a truncated file fails at the cut row', async () => {
    const text = fixture('many.txt').toString();
    const cut = text.indexOf('127.0.0.1:8001') + 3;
    await fails(text.slice(0, cut), new RegExp(`line ${text.slice(0, cut).split('\n').length}: not netstat output`));
  });

  it('a 10 MB line', async () => {
    await fails(`${HEADER}tcp 0 0 0.0.0.0:22 0.0.0.0:* LISTEN ${'x'.repeat(10 * 1024 * 1024)}\n`, /line 3: line longer than 1 MiB/);
  });

  it('a bad address in a listening row', async () => {
    await fails(`${HEADER}tcp 0 0 evil\u001b]0;x:22 0.0.0.0:* LISTEN -\n`, /line 3: local address "evil\\x1b\]0;x" is not an IP address/);
  });

  it('is not sniffed from ss or Windows output', () => {
    expect(importer.sniff(fixture('../ss/many.txt'))).toBe(0);
    expect(importer.sniff(fixture('../ss/many-noheader.txt'))).toBe(0);
    expect(importer.sniff(fixture('../netstat-windows/many.txt'))).toBe(0);
    expect(importer.sniff(Buffer.alloc(0))).toBe(0);
  });
});
