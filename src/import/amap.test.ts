import { describe, expect, it } from 'vitest';
import { fixture, fuzz, garbage, hugeLine, importError, run } from '../../test/helpers/import-checks.js';
import { amapService, importer, splitBanners } from './amap.js';

const many = fixture('amap/many.amap');

describe('amap -m importer', () => {
  it('sniffs amap machine output only', () => {
    expect(importer.sniff(many)).toBe(10);
    expect(importer.sniff(fixture('amap/zero.amap'))).toBe(10);
    expect(importer.sniff(Buffer.from('192.0.2.1:22:tcp:open::ssh:SSH-2.0-x:"SSH-2.0-x"\n'))).toBe(9);
    expect(importer.sniff(fixture('naabu/plain.txt'))).toBe(0);
    expect(importer.sniff(fixture('masscan-list/many.txt'))).toBe(0);
  });

  it('reads a header-only file and a 0-byte file as no results, and the version', async () => {
    const r = await run(importer, fixture('amap/zero.amap'));
    expect(r.observations).toEqual([]);
    expect(r.meta.toolVersion).toBe('5.4');
    expect((await run(importer, '')).observations).toEqual([]);
  });

  it('reads one identification with its banner', async () => {
    const r = await run(importer, fixture('amap/one.amap'));
    expect(r.observations).toHaveLength(1);
    expect(r.observations[0]!.host).toMatchObject({ address: '192.0.2.40', family: 4 });
    expect(r.observations[0]!.host.ports).toEqual([
      {
        protocol: 'tcp',
        port: 22,
        state: 'open',
        reason: 'syn-ack',
        tries: 1,
        service: { name: 'ssh', method: 'probed', confidence: 5, cpe: [], banner: 'SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\\r\\n', fields: { 'amap.id': 'ssh', 'amap.ids': 'ssh' } },
      },
    ]);
  });

  it('reads many: several ids per port, SSL, hex banners, colons and quotes in banners, IPv6, unidentified', async () => {
    const r = await run(importer, many, 100);
    expect(r.observations.map((o) => [o.host.address, o.host.ports.map((p) => `${p.port}/${p.protocol} ${p.state} ${p.service?.name ?? '-'}${p.service?.tunnel ? '/ssl' : ''}`)])).toEqual([
      ['192.0.2.40', ['22/tcp open ssh', '80/tcp open http', '443/tcp open http/ssl', '3306/tcp open mysql']],
      ['192.0.2.41', ['53/udp open domain']],
      ['2001:db8::40', ['25/tcp open smtp']],
      ['192.0.2.41', ['23/tcp closed -', '9999/tcp open unknown']],
    ]);
    const [ssh, http, https, mysql] = r.observations[0]!.host.ports;
    // The more specific id wins; both are kept.
    expect(ssh!.service!.fields).toEqual({ 'amap.id': 'ssh-openssh', 'amap.ids': 'ssh,ssh-openssh' });
    // The full banner keeps the colons and quotes the printable one lost.
    expect(http!.service!.banner).toBe('HTTP/1.1 200 OK\\r\\nServer: nginx/1.22.1\\r\\nDate: Tue, 14 Nov 2023 22:13:20 GMT\\r\\nX-Note: "a":"b"\\r\\n');
    expect(https!.service).toMatchObject({ name: 'http', tunnel: 'ssl', fields: { 'amap.id': 'http-apache-2', 'amap.ids': 'ssl,http-apache-2' } });
    expect(mysql!.service!.banner).toBe('J\\x00\\x00\\x00\\n5.5.5-10.11.4-MariaDB\\x00:\\x00');
    expect(r.observations[3]!.host.ports[0]).toMatchObject({ state: 'closed', reason: 'conn-refused' });
    expect(r.observations[3]!.host.ports[1]!.service).toEqual({ name: 'unknown', method: 'probed', confidence: 0, cpe: [], banner: 'hello\\x00' });
  });

  it('splits banners by the full banner shape, not by counting colons', () => {
    expect(splitBanners(':')).toEqual({ printable: '', full: '' });
    expect(splitBanners('abc:"x:y"')).toEqual({ printable: 'abc', full: '"x:y"' });
    expect(splitBanners('a:b:"a:b"')).toEqual({ printable: 'a:b', full: '"a:b"' });
    expect(splitBanners('a:b:0x613a62')).toEqual({ printable: 'a:b', full: '0x613a62' });
    expect(splitBanners('no full')).toEqual({ printable: 'no full', full: '' });
  });

  it('maps amap ids to nmap service names', () => {
    expect(['http-apache-2', 'ssh-openssh', 'ms-ds', 'netbios-session', 'dns-bind9', 'dameware remote control', 'ms-remote-desktop-protocol'].map(amapService)).toEqual(['http', 'ssh', 'microsoft-ds', 'netbios-ssn', 'domain', 'dameware-remote-control', 'ms-wbt-server']);
  });

  it('reads IPv6 targets amap wrapped twice, portscan lines and old printable banners with colons', async () => {
    const r = await run(importer, '[[2001:db8::1]]:22:tcp:open::unidentified::\n[2001:db8::1]:161:udp:open or filtered::unidentified::\n192.0.2.9:80:tcp:open::http:Server: x:"Server: x"\n');
    expect(r.observations.map((o) => [o.host.address, o.host.ports.map((p) => `${p.port}/${p.protocol} ${p.state}`)])).toEqual([
      ['2001:db8::1', ['22/tcp open', '161/udp filtered']],
      ['192.0.2.9', ['80/tcp open']],
    ]);
    expect(r.observations[1]!.host.ports[0]!.service!.banner).toBe('Server: x');
  });

  it('refuses bad lines, naming the line', async () => {
    const e = await importError(run(importer, '192.0.2.1:22:tcp:open::ssh::\n192.0.2.1:22:tcp:open::ssh\n192.0.2.1:23:tcp:open::ssh::\n'));
    expect(e.line).toBe(2);
    await importError(run(importer, '192.0.2.1:70000:tcp:open::ssh::\n'));
    await importError(run(importer, '192.0.2.1:22:sctp:open::ssh::\n'));
    await importError(run(importer, '192.0.2.1:22:tcp:ajar::ssh::\n'));
    await importError(run(importer, '192.0.2.1:22:tcp:open:TLS:ssh::\n'));
    await importError(run(importer, 'host.example:22:tcp:open::ssh::\n'));
    await importError(run(importer, 'Protocol on 192.0.2.1:22/tcp matches ssh\n'));
    await importError(run(importer, garbage()));
    await importError(run(importer, fixture('rustscan/many.txt')));
    expect((await importError(run(importer, hugeLine('# amap v5.4 (x)')))).line).toBe(2);
  });

  it('survives 10 000 mutants: each parses or throws ImportError', async () => {
    const seed = Buffer.from(many.toString('utf8').split('\n').slice(2, 11).join('\n'));
    const { parsed, rejected } = await fuzz(importer, seed);
    expect(parsed).toBeGreaterThan(100);
    expect(rejected).toBeGreaterThan(100);
  });
});
