/** The detection benchmark's XML reader and scorer (bench/detect-score.mjs). No network. */
import { describe, expect, it } from 'vitest';
import { diffTable, parseServiceXml, scoreTool, serviceMatches, versionMatches, type ParsedPort, type TruthPort } from '../bench/detect-score.mjs';

const XML = `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE nmaprun [ <!ENTITY boom "BOOMBOOMBOOM"> ]>
<nmaprun scanner="nmap">
<host><status state="up"/><address addr="198.18.0.20" addrtype="ipv4"/><ports>
<extraports state="closed" count="3"><extrareasons reason="conn-refused" count="3" ports="1-3"/></extraports>
<port protocol="tcp" portid="22"><state state="open" reason="syn-ack"/><service name="ssh" product="OpenSSH" version="9.2p1 Debian 2+deb12u10" extrainfo="protocol 2.0" method="probed" conf="10"><cpe>cpe:/a:openbsd:openssh:9.2p1</cpe></service></port>
<port protocol="tcp" portid="443"><state state="open" reason="syn-ack"/><service name="http" product="nginx" version="1.22.1" tunnel="ssl" method="probed" conf="10"/></port>
<port protocol="tcp" portid="3306"><state state="open" reason="syn-ack"/><service name="mysql" product="MySQL" version="5.5.5-10.11.19-MariaDB-0+deb12u1" method="probed" conf="10"/></port>
<port protocol="tcp" portid="8080"><state state="open" reason="syn-ack"/><service name="http-proxy" method="table" conf="3"/></port>
<port protocol="tcp" portid="25"><state state="open" reason="syn-ack"/><service name="smtp" product="&amp;boom; &lt;x&gt; &#65;&#x42;" method="probed" conf="10"/></port>
</ports></host>
</nmaprun>`;

const truth = (t: Partial<TruthPort> & { port: number }): TruthPort => ({ address: '198.18.0.20', service: null, ...t });
const got = (g: Partial<ParsedPort>): ParsedPort => ({
  ip: '198.18.0.20', port: 1, state: 'open', name: null, product: null, version: null, extrainfo: null, tunnel: null, method: 'probed', conf: 10, ...g,
});

describe('parseServiceXml', () => {
  it('reads listed ports with service attributes, decodes only predefined and numeric entities', () => {
    const ports = parseServiceXml(XML);
    expect(ports.get('198.18.0.20 22')).toMatchObject({ state: 'open', name: 'ssh', product: 'OpenSSH', version: '9.2p1 Debian 2+deb12u10', conf: 10 });
    expect(ports.get('198.18.0.20 443')).toMatchObject({ name: 'http', tunnel: 'ssl' });
    expect(ports.get('198.18.0.20 25')?.product).toBe('&boom; <x> AB');
    expect(ports.has('198.18.0.20 1')).toBe(false);
  });
  it('survives empty and foreign documents', () => {
    expect(parseServiceXml('').size).toBe(0);
    expect(parseServiceXml('<other><host/></other>').size).toBe(0);
    expect(parseServiceXml('<nmaprun><host><address addr="1.2.3.4" addrtype="ipv4"/><ports><port protocol="tcp" portid="x"/></ports></host></nmaprun>').size).toBe(0);
  });
});

describe('scoring', () => {
  it('counts ssl/http, https and http over an ssl tunnel the same', () => {
    const t = truth({ port: 443, service: 'http', tunnel: 'ssl' });
    expect(serviceMatches(t, got({ name: 'http', tunnel: 'ssl' }))).toBe(true);
    expect(serviceMatches(t, got({ name: 'https' }))).toBe(true);
    expect(serviceMatches(t, got({ name: 'ssl/http' }))).toBe(true);
    expect(serviceMatches(t, got({ name: 'http' }))).toBe(false);
    expect(serviceMatches(t, got({ name: 'https', method: 'table' }))).toBe(false);
    expect(serviceMatches(truth({ port: 80, service: 'http' }), got({ name: 'http', tunnel: 'ssl' }))).toBe(false);
  });
  it('treats "nothing to identify" as right only when the tool claims nothing', () => {
    const t = truth({ port: 40001, service: null });
    expect(serviceMatches(t, null)).toBe(false); // not even listed
    expect(serviceMatches(t, got({ name: 'unknown' }))).toBe(true);
    expect(serviceMatches(t, got({ name: 'afs3-callback', method: 'table' }))).toBe(true);
    expect(serviceMatches(t, got({ name: 'ftp' }))).toBe(false);
  });
  it('accepts a version equal to upstream or followed by a non-alphanumeric character', () => {
    const t = truth({ port: 22, version: '9.2p1' });
    expect(versionMatches(t, got({ version: '9.2p1' }))).toBe(true);
    expect(versionMatches(t, got({ version: '9.2p1 Debian 2+deb12u10' }))).toBe(true);
    expect(versionMatches(t, got({ version: '9.2p10' }))).toBe(false);
    expect(versionMatches(t, got({ version: '9.2' }))).toBe(false);
    expect(versionMatches(truth({ port: 3306, version: '10.11.19' }), got({ version: '5.5.5-10.11.19-MariaDB' }))).toBe(false);
    expect(versionMatches(t, null)).toBe(false);
  });
  it('totals the columns that apply and lists the misses', () => {
    const rows: TruthPort[] = [
      truth({ port: 22, service: 'ssh', product: /^OpenSSH$/, version: '9.2p1' }),
      truth({ port: 3306, service: 'mysql', product: /MariaDB/, version: '10.11.19' }),
      truth({ port: 8080, service: 'http', product: /^Apache httpd$/, version: '2.4.71' }),
      truth({ port: 9999, service: null }),
    ];
    const scored = scoreTool(rows, parseServiceXml(XML));
    expect(scored.totals).toEqual({
      state: { correct: 3, total: 4 },
      service: { correct: 2, total: 4 },
      product: { correct: 1, total: 3 },
      version: { correct: 1, total: 3 },
    });
    const diff = diffTable([{ label: 'nmap', scored }]);
    expect(diff.join('\n')).toMatch(/3306 mysql \/MariaDB\/ 10\.11\.19\n\s+nmap\s+open mysql MySQL 5\.5\.5-10\.11\.19-MariaDB-0\+deb12u1\s+\[wrong: product, version\]/);
    expect(diff.join('\n')).toContain('http-proxy?');
    expect(diff.join('\n')).not.toContain(' 22 ssh');
    expect(diffTable([{ label: 'nmap', scored }], true).join('\n')).toContain(' 22 ssh');
  });
});
