import { describe, expect, it } from 'vitest';
import type { HostResult } from '../core/model.js';
import * as F from '../../test/fixtures/report/hosts.js';
import { normalFormat } from './table.js';
import type { ReportOptions, RunInfo } from './types.js';

function render(hosts: HostResult[], info: Partial<RunInfo> = {}, opts: ReportOptions = {}, summary = F.summary()): string {
  const w = normalFormat.create(opts);
  let out = w.begin(F.plan(), F.info(info));
  for (const h of hosts) out += w.host(h);
  return out + w.end(summary);
}

describe('normal output', () => {
  it('renders a scan like nmap does', () => {
    expect(render([F.v4Host(), F.v6Host(), F.downHost(), F.timedOutHost()], { homepage: 'https://portolan.dev' })).toBe(
      [
        'Starting portolan 0.1.0 ( https://portolan.dev ) at 2026-11-21 05:40 UTC',
        'portolan scan report for web.example.com (192.0.2.10)',
        'Host is up (0.00012s latency).',
        'rDNS record for 192.0.2.10: edge-1.example.net',
        'Not shown: 989 closed tcp ports (988 conn-refused, 1 port-unreach)',
        'PORT    STATE    SERVICE  VERSION',
        '22/tcp  open     ssh      OpenSSH 9.6p1 Ubuntu 3ubuntu13 (Ubuntu Linux; protocol 2.0)',
        '80/tcp  open     http',
        '135/tcp filtered unknown',
        '137/tcp filtered unknown',
        '139/tcp filtered unknown',
        '443/tcp open     ssl/http nginx 1.24.0',
        '445/tcp filtered unknown',
        '593/tcp filtered unknown',
        '600/tcp filtered unknown',
        '700/tcp filtered unknown',
        '800/tcp filtered unknown',
        'Service Info: OS: Linux; CPE: cpe:/o:linux:linux_kernel',
        '',
        'portolan scan report for v6.example.org (2001:db8::1)',
        'Host is up (0.015s latency).',
        'Not shown: 938 filtered tcp ports (928 no-response, 10 admin-prohibited), 60 closed tcp ports (conn-refused)',
        'PORT    STATE SERVICE',
        '53/tcp  open  domain',
        '443/tcp open  https',
        '',
        'Skipping host slow.example.com (192.0.2.50) due to host timeout',
        'portolan done: 4 IP addresses (3 hosts up) scanned in 2.05 seconds',
        '',
      ].join('\n'),
    );
  });

  it('adds the REASON column, reasons, down hosts, timing and banners with -vv --reason', () => {
    const out = render([F.v4Host(), F.downHost()], { verbosity: 2, showReason: true });
    expect(out).toContain('Host is up, received syn-ack (0.00012s latency).');
    expect(out).toContain('PORT    STATE    SERVICE  REASON           VERSION\n22/tcp  open     ssh      syn-ack          OpenSSH 9.6p1');
    expect(out).toContain('|_banner: SSH-2.0-OpenSSH_9.6p1 Ubuntu-3ubuntu13\n80/tcp  open     http     syn-ack\n');
    for (const reason of ['no-response', 'admin-prohibited', 'host-unreach', 'net-unreach', 'proto-unreach', 'error']) {
      expect(out).toMatch(new RegExp(`^\\d+/tcp +filtered unknown +${reason}$`, 'm'));
    }
    expect(out).toContain('Scanned 1000 ports in 2.05s (5 retransmissions).');
    expect(out).toContain('portolan scan report for 192.0.2.99 [host down, received no-response]\n');
    expect(out).toContain('Connect probes sent: 4321\n');
    // -v without --reason: down host listed without the reason
    expect(render([F.downHost()], { verbosity: 1 })).toContain('portolan scan report for 192.0.2.99 [host down]\n');
  });

  it('summarises a 65,535-port host in a few lines', () => {
    const out = render([F.bigHost()], {}, {}, F.summary({ hostsTotal: 1, hostsUp: 1, hostsDown: 0, elapsedMs: 8000 }));
    expect(out).toBe(
      [
        'Starting portolan 0.1.0 at 2026-11-21 05:40 UTC',
        'portolan scan report for 10.0.0.1',
        'Host is up (0.000080s latency).',
        'Not shown: 65533 closed tcp ports (conn-refused)',
        'PORT     STATE    SERVICE',
        '22/tcp   open     ssh',
        '8080/tcp filtered unknown',
        '',
        'portolan done: 1 IP address (1 host up) scanned in 8.00 seconds',
        '',
      ].join('\n'),
    );
  });

  it('lists only open ports with --open and counts the rest', () => {
    const out = render([F.v4Host()], { openOnly: true });
    expect(out).toContain('Not shown: 989 closed tcp ports (988 conn-refused, 1 port-unreach), 8 filtered tcp ports (3 no-response, 1 admin-prohibited, 1 error, 1 host-unreach, 1 net-unreach, 1 proto-unreach)\n');
    expect(out).not.toMatch(/^\d+\/tcp +(closed|filtered)/m);
    expect(out.match(/^\d+\/tcp +open/gm)).toHaveLength(3);
  });

  it('says when every port is in an ignored state', () => {
    const host = F.v4Host({ hostnames: [], ports: F.range(1, 1024).map((p) => F.port(p, 'closed', 'conn-refused')) });
    expect(render([host])).toContain('All 1024 scanned ports on 192.0.2.10 are in ignored states.\nNot shown: 1024 closed tcp ports (conn-refused)\n\n');
  });

  it('writes -oN with comment header and footer', () => {
    const out = render([F.v4Host()], {}, { destination: 'file' });
    expect(out.split('\n')[0]).toBe('# portolan 0.1.0 scan initiated Sat Nov 21 05:40:00 2026 as: portolan scan -p 1-1000 web.example.com 2001:db8::1 192.0.2.0/24');
    expect(out.endsWith('# portolan done at Sat Nov 21 05:40:02 2026 -- 4 IP addresses (3 hosts up) scanned in 2.05 seconds\n')).toBe(true);
  });

  it('renders times in the requested zone', () => {
    const w = normalFormat.create({ timeZone: 'Asia/Tokyo' });
    expect(w.begin(F.plan(), F.info())).toBe('Starting portolan 0.1.0 at 2026-11-21 14:40 GMT+9\n');
  });

  it('reports an interrupted scan', () => {
    const out = render([F.v4Host()], {}, {}, F.summary({ exit: 'error', message: 'interrupted by SIGINT' }));
    expect(out).toMatch(/Scan interrupted: interrupted by SIGINT\nportolan done: 4 IP addresses \(3 hosts up\) scanned in 2\.05 seconds\n$/);
  });

  it('passes each port row through the colour hook', () => {
    const out = render([F.v6Host()], {}, { color: (state, text) => `<${state}>${text}</${state}>` });
    expect(out).toContain('<open>53/tcp  open  domain</open>\n<open>443/tcp open  https</open>\n');
  });

  it('never lets a raw control or bidi character through', () => {
    const out = render([F.hostileHost()], { verbosity: 2, showReason: true }, {}, F.summary({ exit: 'error', message: F.HOSTILE }));
    expect(F.RAW_CONTROL.test(out)).toBe(false);
    expect(out).not.toContain('\t');
    expect(out).toContain('\\x1b[31mred\\x1b[0m\\x1b]0;pwned\\x07\\x00nul\\rcr\\x08bs\\x7fdel\\x9b2J\\u202eevil');
    // Every line is one of ours: the injected "\nforged line" stayed inside its field.
    expect(out.split('\n').filter((l) => l.startsWith('forged line'))).toEqual([]);
    // A megabyte-long field is cut to a bounded cell instead of widening every row.
    expect(Math.max(...out.split('\n').map((l) => l.length))).toBeLessThan(2000);
  });

  it('refuses hosts before begin()', () => {
    expect(() => normalFormat.create().host(F.v4Host())).toThrow(/begin/);
  });
});
