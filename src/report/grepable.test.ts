import { describe, expect, it } from 'vitest';
import type { HostResult } from '../core/model.js';
import * as F from '../../test/fixtures/report/hosts.js';
import { grepableFormat } from './grepable.js';
import type { RunInfo } from './types.js';

function render(hosts: HostResult[], info: Partial<RunInfo> = {}, summary = F.summary()): string {
  const w = grepableFormat.create();
  let out = w.begin(F.plan(), F.info(info));
  for (const h of hosts) out += w.host(h);
  return out + w.end(summary);
}

describe('grepable output', () => {
  it('writes nmap -oG lines', () => {
    const lines = render([F.v4Host(), F.downHost(), F.timedOutHost()]).split('\n');
    expect(lines).toEqual([
      '# portolan 0.1.0 scan initiated Sat Nov 21 05:40:00 2026 as: portolan scan -p 1-1000 web.example.com 2001:db8::1 192.0.2.0/24',
      '# Ports scanned: TCP(1000;1-1000) UDP(0;) SCTP(0;) PROTOCOLS(0;)',
      'Host: 192.0.2.10 (web.example.com)\tStatus: Up',
      'Host: 192.0.2.10 (web.example.com)\tPorts: 22/open/tcp//ssh//OpenSSH 9.6p1 Ubuntu 3ubuntu13 (Ubuntu Linux; protocol 2.0)/, 80/open/tcp//http///, ' +
        '135/filtered/tcp/////, 137/filtered/tcp/////, 139/filtered/tcp/////, 443/open/tcp//ssl|http//nginx 1.24.0/, 445/filtered/tcp/////, ' +
        '593/filtered/tcp/////, 600/filtered/tcp/////, 700/filtered/tcp/////, 800/filtered/tcp/////\tIgnored State: closed (989)',
      'Host: 192.0.2.50 (slow.example.com)\tStatus: Timeout',
      '# portolan done at Sat Nov 21 05:40:02 2026 -- 4 IP addresses (3 hosts up) scanned in 2.05 seconds',
      '',
    ]);
  });

  it('lists down hosts with -v and only open ports with --open', () => {
    expect(render([F.downHost()], { verbosity: 1 })).toContain('Host: 192.0.2.99 ()\tStatus: Down\n');
    const open = render([F.v6Host()], { openOnly: true });
    expect(open).toContain('Host: 2001:db8::1 (v6.example.org)\tPorts: 53/open/tcp//domain///, 443/open/tcp//https///\tIgnored State: filtered (938)\n');
  });

  it('keeps one Ignored State and lists the ports of a second large state', () => {
    const out = render([F.v6Host()]);
    expect(out).toMatch(/\tPorts: 53\/open\/tcp\/\/domain\/\/\/, 443\/open\/tcp\/\/https\/\/\/, 900\/closed\/tcp\/\/\/\/\/, .*959\/closed\/tcp\/\/\/\/\/\tIgnored State: filtered \(938\)\n/);
  });

  it('summarises a 65,535-port host on one line', () => {
    const out = render([F.bigHost()]);
    expect(out).toContain('Host: 10.0.0.1 ()\tPorts: 22/open/tcp//ssh///, 8080/filtered/tcp/////\tIgnored State: closed (65533)\n');
  });

  it('keeps hostile fields inside their field and line', () => {
    const out = render([F.hostileHost()], { verbosity: 1 }, F.summary({ exit: 'error', message: F.HOSTILE }));
    expect(F.RAW_CONTROL.test(out)).toBe(false);
    const lines = out.split('\n').filter((l) => l !== '');
    for (const line of lines) expect(line).toMatch(/^(# |Host: )/);
    const ports = lines.find((l) => l.includes('\tPorts: ')) ?? '';
    // Exactly the fields nmap writes: Host, Ports, Ignored State (none here).
    expect(ports.split('\t')).toHaveLength(2);
    const entries = ports.split('\tPorts: ')[1]?.split(', ') ?? [];
    expect(entries).toHaveLength(3);
    // Each entry keeps its 7 slash-separated subfields: `/` became `|`, `,` became `;`.
    for (const e of entries) expect(e.split('/')).toHaveLength(8);
    expect(entries[0]).toContain('<|script>');
    expect(lines[2]).toMatch(/^Host: 198\.51\.100\.7 \([^()]*\)\tStatus: Up$/);
  });
});
