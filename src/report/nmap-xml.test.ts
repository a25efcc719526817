import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { HostResult, ScanPlan } from '../core/model.js';
import * as F from '../../test/fixtures/report/hosts.js';
import { NMAP_DTD, hasTool, run, tempFile, tempPath } from '../../test/fixtures/report/tools.js';
import { escapeTerminal } from '../core/escape.js';
import { xmlFormat } from './nmap-xml.js';
import type { ReportOptions, RunInfo } from './types.js';

const haveXmllint = hasTool('xmllint');
const haveNdiff = hasTool('ndiff');
const REAL_NMAP = fileURLToPath(new URL('../../test/fixtures/report/nmap-7.93-127.0.0.1-1-1024.xml', import.meta.url));

function render(hosts: HostResult[], info: Partial<RunInfo> = {}, opts: ReportOptions = {}, summary = F.summary(), plan: ScanPlan = F.plan()): string {
  const w = xmlFormat.create(opts);
  let out = w.begin(plan, F.info(info));
  for (const h of hosts) out += w.host(h);
  return out + w.end(summary);
}

function validate(xml: string, name = 'scan.xml'): { status: number | null; stderr: string } {
  const r = run('xmllint', ['--noout', '--nonet', '--dtdvalid', NMAP_DTD, tempFile(name, xml)]);
  return { status: r.status, stderr: r.stderr };
}

/** The host nmap 7.93 reported in the stored fixture: 127.0.0.1, ports 1–1024, 22/80/443 open. */
function localhostLikeNmap(): HostResult {
  const names: Record<number, string> = { 22: 'ssh', 80: 'http', 443: 'https' };
  return {
    address: '127.0.0.1',
    family: 4,
    hostnames: [],
    status: 'up',
    statusReason: 'user-set',
    ports: F.range(1, 1024).map((p) => {
      const name = names[p];
      return name === undefined ? F.port(p, 'closed', 'conn-refused') : F.port(p, 'open', 'syn-ack', { service: F.tableService(name) });
    }),
    startedAt: F.T0,
    endedAt: F.T0 + 40,
    srttUs: 88,
    rttvarUs: 90,
    timeoutUs: 100_000,
  };
}

const oneHost = F.summary({ hostsUp: 1, hostsDown: 0, hostsTotal: 1, elapsedMs: 40, endedAt: F.T0 + 40 });

describe('nmap XML', () => {
  it('writes nmap 1.05 structure', () => {
    const xml = render([F.v4Host(), F.v6Host(), F.downHost(), F.timedOutHost()], { verbosity: 1, showReason: true });
    const lines = xml.split('\n');
    expect(lines.slice(0, 2)).toEqual(['<?xml version="1.0" encoding="UTF-8"?>', '<!DOCTYPE nmaprun>']);
    expect(xml).toContain(
      '<nmaprun scanner="nmap" args="portolan scan -p 1-1000 web.example.com 2001:db8::1 192.0.2.0/24" start="1795239600" startstr="Sat Nov 21 05:40:00 2026" version="0.1.0" xmloutputversion="1.05">\n' +
        '<scaninfo type="connect" protocol="tcp" numservices="1000" services="1-1000"/>\n<verbose level="1"/>\n<debugging level="0"/>\n',
    );
    expect(xml).toContain(
      '<extraports state="closed" count="989">\n' +
        '<extrareasons reason="conn-refused" count="988" proto="tcp" ports="1-21,23-79,81-112,114-134,136,138,140-442,444,446-592,594-599,601-699,701-799,801-1000"/>\n' +
        '<extrareasons reason="port-unreach" count="1" proto="tcp" ports="113"/>\n</extraports>\n',
    );
    expect(xml).toContain(
      '<port protocol="tcp" portid="22"><state state="open" reason="syn-ack" reason_ttl="0"/><service name="ssh" product="OpenSSH" version="9.6p1 Ubuntu 3ubuntu13" extrainfo="Ubuntu Linux; protocol 2.0" ostype="Linux" method="probed" conf="10"><cpe>cpe:/a:openbsd:openssh:9.6p1</cpe><cpe>cpe:/o:linux:linux_kernel</cpe></service><script id="banner" output="SSH-2.0-OpenSSH_9.6p1 Ubuntu-3ubuntu13"/></port>\n',
    );
    expect(xml).toContain('<service name="http" product="nginx" version="1.24.0" method="probed" conf="10" tunnel="ssl"><cpe>cpe:/a:igor_sysoev:nginx:1.24.0</cpe></service>');
    expect(xml).toContain('<port protocol="tcp" portid="800"><state state="filtered" reason="error" reason_ttl="0"/></port>\n');
    expect(xml).toContain('<address addr="2001:db8::1" addrtype="ipv6"/>\n<hostnames>\n<hostname name="v6.example.org" type="PTR"/>\n</hostnames>\n');
    expect(xml).toContain('<host starttime="1795239600" endtime="1795239603"><status state="down" reason="no-response" reason_ttl="0"/>\n');
    expect(xml).toContain(
      '<host starttime="1795239600" endtime="1795240500" timedout="true"><status state="up" reason="syn-ack" reason_ttl="0"/>\n<address addr="192.0.2.50" addrtype="ipv4"/>\n<hostnames>\n<hostname name="slow.example.com" type="user"/>\n</hostnames>\n<times srtt="250000" rttvar="90000" to="610000"/>\n</host>\n',
    );
    expect(xml).toContain('<times srtt="120" rttvar="40" to="100000"/>\n</host>\n');
    expect(xml.endsWith(
      '<runstats><finished time="1795239602" timestr="Sat Nov 21 05:40:02 2026" summary="portolan done at Sat Nov 21 05:40:02 2026; 4 IP addresses (3 hosts up) scanned in 2.05 seconds" elapsed="2.05" exit="success"/><hosts up="3" down="1" total="4"/>\n</runstats>\n</nmaprun>\n',
    )).toBe(true);
  });

  it('leaves down hosts out unless -v, as nmap does', () => {
    expect(render([F.downHost()])).not.toContain('<host ');
    expect(render([F.downHost()], { verbosity: 1 })).toContain('<status state="down"');
  });

  it('collapses non-open ports with --open', () => {
    const xml = render([F.v4Host()], { openOnly: true });
    expect(xml.match(/<port /g)).toHaveLength(3);
    expect(xml).toContain('<extraports state="filtered" count="8">');
  });

  it('breaks up "--" in the leading comment', () => {
    const xml = render([], {}, {}, F.summary(), F.plan(F.range(1, 10), ['scan', '--reason', '---x', '127.0.0.1']));
    const comment = /<!--(.*)-->/.exec(xml)?.[1] ?? '';
    expect(comment).not.toContain('--');
    expect(comment).toContain('-&#45;reason -&#45;-x');
    expect(xml).toContain('args="portolan scan --reason ---x 127.0.0.1"');
  });

  describe.skipIf(!haveXmllint)('validates against nmap.dtd (xmllint)', () => {
    it('a full scan with every kind of host', () => {
      const r = validate(render([F.v4Host(), F.v6Host(), F.downHost(), F.timedOutHost()], { verbosity: 2 }, { xmlStylesheet: 'file:///usr/share/nmap/nmap.xsl' }));
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
    });

    it('a 65,535-port host', () => {
      const xml = render([F.bigHost()], {}, {}, oneHost, F.plan(F.range(1, 65535)));
      expect(xml).toContain('<scaninfo type="connect" protocol="tcp" numservices="65535" services="1-65535"/>');
      expect(xml).toContain('<extrareasons reason="conn-refused" count="65533" proto="tcp" ports="1-21,23-8079,8081-65535"/>');
      expect(xml.length).toBeLessThan(3000);
      expect(validate(xml).status).toBe(0);
    });

    it('an interrupted scan, with and without hosts', () => {
      const interrupted = F.summary({ exit: 'error', message: 'interrupted by SIGINT after 3 hosts' });
      for (const hosts of [[], [F.v4Host()]]) {
        const xml = render(hosts, {}, {}, interrupted);
        expect(xml).toContain('exit="error" errormsg="interrupted by SIGINT after 3 hosts"/>');
        expect(validate(xml).status).toBe(0);
      }
    });

    it('hostile names, banners and messages', () => {
      const hostilePlan = F.plan(F.range(80, 82), ['scan', F.HOSTILE, '--', '127.0.0.1']);
      const xml = render([F.hostileHost()], { verbosity: 2 }, {}, F.summary({ exit: 'error', message: F.HOSTILE }), hostilePlan);
      const r = validate(xml, 'hostile.xml');
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(F.RAW_CONTROL.test(xml)).toBe(false);
      // A parser reads back exactly the visible escape the terminal would show.
      const name = run('xmllint', ['--xpath', 'string(//hostname[@type="user"]/@name)', tempFile('hostile.xml', xml)]);
      expect(name.stdout.replace(/\n$/, '')).toBe(escapeTerminal(F.HOSTILE));
      const cpe = run('xmllint', ['--xpath', 'string(//cpe[1])', tempFile('hostile.xml', xml)]);
      expect(cpe.stdout.replace(/\n$/, '')).toBe(escapeTerminal(`cpe:/a:${F.HOSTILE}`));
    });

    it('stays well-formed when an imported result carries hostile values in typed fields', () => {
      const evil = '"/><injected a="' as never;
      const host = { ...F.v4Host(), statusReason: evil, hostnames: [{ name: 'x', type: evil }] };
      host.ports = [{ ...F.port(1, 'open', 'syn-ack'), state: evil, reason: evil, protocol: evil }];
      const xml = render([host], {}, {}, F.summary({ exit: 'error', message: '' }));
      expect(xml).not.toContain('<injected');
      expect(run('xmllint', ['--noout', tempFile('evil.xml', xml)]).status).toBe(0);
    });

    it('nmap 7.93 own output validates too (sanity check of the harness)', () => {
      expect(validate(readFileSync(REAL_NMAP, 'utf8'), 'real.xml').status).toBe(0);
    });
  });

  describe.skipIf(!haveNdiff)('ndiff', () => {
    it('finds no difference between identical scans', () => {
      const xml = render([F.v4Host(), F.v6Host()]);
      const r = run('ndiff', [tempFile('a.xml', xml), tempFile('b.xml', xml)]);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
    });

    it('shows the port that changed between two of our scans', () => {
      const before = F.v4Host();
      const after = F.v4Host();
      after.ports = after.ports.map((p) => (p.port === 80 ? F.port(80, 'closed', 'conn-refused') : p.port === 8 ? F.port(8, 'open', 'syn-ack', { service: F.tableService('unknown') }) : p));
      const r = run('ndiff', [tempFile('before.xml', render([before])), tempFile('after.xml', render([after]))]);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(1);
      expect(r.stdout).toContain('web.example.com');
      expect(r.stdout).toMatch(/^-80\/tcp +open +http/m);
      expect(r.stdout).toMatch(/^\+8\/tcp +open/m);
    });

    it('reads a host appearing and disappearing, including IPv6', () => {
      const r = run('ndiff', [tempFile('a.xml', render([F.v4Host()])), tempFile('b.xml', render([F.v4Host(), F.v6Host()]))]);
      expect(r.status).toBe(1);
      expect(r.stdout).toContain('+v6.example.org (2001:db8::1):');
    });

    it('compares our rendering with a real nmap 7.93 scan of the same ports', () => {
      const ours = render([localhostLikeNmap()], {}, {}, oneHost, F.plan(F.range(1, 1024), ['scan', '-p', '1-1024', '127.0.0.1']));
      const same = run('ndiff', [REAL_NMAP, tempFile('ours.xml', ours)]);
      expect(same.stderr).toBe('');
      expect(same.status).toBe(0);
      const changed = localhostLikeNmap();
      changed.ports = changed.ports.filter((p) => p.port !== 443).concat(F.port(443, 'filtered', 'no-response'));
      const diff = run('ndiff', [REAL_NMAP, tempFile('ours2.xml', render([changed], {}, {}, oneHost, F.plan(F.range(1, 1024))))]);
      expect(diff.status).toBe(1);
      expect(diff.stdout).toMatch(/^-443\/tcp +open +https/m);
      expect(diff.stdout).toMatch(/^\+443\/tcp +filtered/m);
    });

    it('accepts scanner="portolan" (not DTD-valid, but ndiff reads it)', () => {
      const a = render([F.v4Host()], {}, { xmlScanner: 'portolan' });
      expect(a).toContain('<nmaprun scanner="portolan"');
      const r = run('ndiff', [tempFile('p.xml', a), tempFile('n.xml', render([F.v4Host()]))]);
      expect(r.status).toBe(0);
    });

    it('reads hostile files without crashing', () => {
      const xml = render([F.hostileHost()], {}, {}, F.summary({ exit: 'error', message: F.HOSTILE }));
      const r = run('ndiff', [tempFile('h1.xml', xml), tempFile('h2.xml', render([F.v4Host()]))]);
      expect(r.status).toBe(1);
      expect(F.RAW_CONTROL.test(r.stdout)).toBe(false);
    });
  });

  describe.skipIf(!haveNdiff || !hasTool('nmap'))('against a live nmap scan of 127.0.0.1', () => {
    it('ndiff reads nmap and portolan files side by side', () => {
      // The only traffic these tests send: nmap's connect scan of the loopback address.
      const nmapXml = tempPath('live-nmap.xml');
      const scan = run('nmap', ['-sT', '-p', '1-1024', '-n', '-Pn', '-oX', nmapXml, '127.0.0.1']);
      expect(scan.status).toBe(0);
      const text = readFileSync(nmapXml, 'utf8');
      const open = [...text.matchAll(/<port protocol="tcp" portid="(\d+)"><state state="open"/g)].map((m) => Number(m[1]));
      const host = localhostLikeNmap();
      host.ports = F.range(1, 1024).map((p) => (open.includes(p) ? F.port(p, 'open', 'syn-ack', { service: F.tableService('unknown') }) : F.port(p, 'closed', 'conn-refused')));
      const ours = tempFile('live-ours.xml', render([host], {}, {}, oneHost, F.plan(F.range(1, 1024))));
      const r = run('ndiff', [nmapXml, ours]);
      expect(r.stderr).toBe('');
      expect([0, 1]).toContain(r.status);
    });
  });
});
