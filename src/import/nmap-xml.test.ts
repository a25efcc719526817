import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { fromCpe22 } from '../core/cpe.js';
import { mutants } from '../../test/helpers/fuzz.js';
import { importBytes } from '../../test/helpers/import.js';
import { ImportError } from './errors.js';
import { importer } from './nmap-xml.js';

const fixture = (name: string): Buffer => readFileSync(new URL(`../../test/fixtures/nmap-xml/${name}`, import.meta.url));

const HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE nmaprun>\n<nmaprun scanner="nmap" args="nmap -sV x" start="1700000000" version="7.94" xmloutputversion="1.05">\n';
const TAIL = '<runstats><finished time="1700000001"/></runstats>\n</nmaprun>\n';
const doc = (hosts: string): string => `${HEAD}${hosts}${TAIL}`;
const HOST = (addr: string, ports = '', extra = ''): string =>
  `<host starttime="1700000000" endtime="1700000001"><status state="up" reason="syn-ack" reason_ttl="0"/>\n<address addr="${addr}" addrtype="${addr.includes(':') ? 'ipv6' : 'ipv4'}"/>\n<hostnames></hostnames>\n<ports>${ports}</ports>${extra}\n</host>\n`;

async function rejects(data: Buffer | string, pattern: RegExp): Promise<ImportError> {
  const e: unknown = await importBytes(importer, data, 'scan.xml').then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(ImportError);
  expect((e as ImportError).message).toMatch(pattern);
  expect((e as ImportError).message).toContain('"scan.xml"');
  return e as ImportError;
}

describe('fromCpe22', () => {
  it('converts nmap URIs to CPE 2.3 names', () => {
    expect(fromCpe22('cpe:/a:openbsd:openssh:9.2p1')).toBe('cpe:2.3:a:openbsd:openssh:9.2p1:*:*:*:*:*:*:*');
    expect(fromCpe22('cpe:/o:linux:linux_kernel')).toBe('cpe:2.3:o:linux:linux_kernel:*:*:*:*:*:*:*:*');
    expect(fromCpe22('cpe:/a:mariadb:mariadb:5.5.5-10.11.19-mariadb-0%2Bdeb12u1')).toBe('cpe:2.3:a:mariadb:mariadb:5.5.5-10.11.19-mariadb-0\\+deb12u1:*:*:*:*:*:*:*');
    expect(fromCpe22('cpe:/a:x:y:1:-:~~~win~~')).toBe('cpe:2.3:a:x:y:1:-:*:*:*:win:*:*');
  });
  it('refuses what is not a CPE 2.2 URI', () => {
    for (const bad of ['', 'cpe:/', 'cpe:/z:a:b', 'cpe:2.3:a:b:c', 'cpe:/a:b:c:d:e:f:g:h', 'cpe:/a:b%zz', 'cpe:/a:b:c:d:e:~bad', 'x'.repeat(2000)]) {
      expect(fromCpe22(bad), bad).toBeUndefined();
    }
  });
});

describe('nmap XML importer', () => {
  it('sniffs nmap and portolan files, not masscan ones', () => {
    expect(importer.sniff(fixture('many.xml'))).toBe(10);
    expect(importer.sniff(fixture('portolan.xml'))).toBe(10);
    expect(importer.sniff(Buffer.from('<?xml version="1.0"?><nmaprun scanner="masscan" start="1">'))).toBeLessThan(5);
    expect(importer.sniff(Buffer.from('Host: 1.2.3.4 ()\tStatus: Up'))).toBe(0);
    expect(importer.sniff(Buffer.alloc(0))).toBe(0);
  });

  it('imports zero hosts from a scan that found nothing', async () => {
    const run = await importBytes(importer, fixture('zero.xml'));
    expect(run.observations).toEqual([]);
    expect(run.warnings).toEqual([]);
    expect(run.meta).toMatchObject({ source: 'nmap', toolVersion: '7.93', startedAt: 1795247323000 });
    expect(run.meta.args?.slice(0, 4)).toEqual(['nmap', '-sT', '-Pn', '-p']);
  });

  it('imports one host with versions, CPEs and a banner (nmap -sV --script banner)', async () => {
    const run = await importBytes(importer, fixture('one-sv.xml'));
    expect(run.observations).toHaveLength(1);
    const o = run.observations[0]!;
    expect(o.source).toBe('nmap');
    expect(o.host).toMatchObject({ address: '127.0.0.1', family: 4, status: 'up', statusReason: 'user-set', hostnames: [{ name: 'localhost', type: 'PTR' }] });
    expect(o.host.startedAt).toBe(1795247323000);
    expect(o.host.ports.map((p) => `${p.port}/${p.state}`)).toEqual(['9/closed', '1883/open', '3306/open', '4222/open', '5432/open', '5672/open', '6379/open']);
    const mysql = o.host.ports.find((p) => p.port === 3306)!;
    expect(mysql.reason).toBe('syn-ack');
    expect(mysql.service).toMatchObject({ name: 'mysql', product: 'MySQL', version: '5.5.5-10.11.19-MariaDB-0+deb12u1', method: 'probed', confidence: 10 });
    expect(mysql.service?.cpe).toEqual(['cpe:2.3:a:mariadb:mariadb:5.5.5-10.11.19-mariadb-0\\+deb12u1:*:*:*:*:*:*:*']);
    expect(mysql.service?.banner).toMatch(/^d\\x00\\x00\\x00\\x0A5\.5\.5-10\.11\.19-MariaDB/);
    expect(o.host.ports.find((p) => p.port === 9)?.service).toMatchObject({ name: 'discard', method: 'table', confidence: 3 });
    expect(o.host.ports.find((p) => p.port === 9)?.reason).toBe('conn-refused');
    expect(o.host.srttUs).toBeGreaterThan(0);
  });

  it('imports many hosts; extraports are counted by nmap, not expanded', async () => {
    const run = await importBytes(importer, fixture('many.xml'));
    expect(run.observations.map((o) => o.host.address)).toEqual(['127.0.0.1', '127.0.0.2', '127.0.0.3']);
    expect(run.observations[0]!.host.ports.map((p) => p.port)).toEqual([1883, 3306, 4222, 4369, 5432, 5672, 6379]);
    expect(run.observations[1]!.host.ports).toEqual([]);
  });

  it('imports IPv6 hosts', async () => {
    const run = await importBytes(importer, fixture('v6.xml'));
    expect(run.observations).toHaveLength(1);
    expect(run.observations[0]!.host).toMatchObject({ address: '::1', family: 6 });
    expect(run.observations[0]!.host.ports.find((p) => p.port === 6379)?.service?.cpe).toEqual(['cpe:2.3:a:redislabs:redis:7.0.15:*:*:*:*:*:*:*']);
  });

  it("reads portolan's own -oX as portolan's", async () => {
    const run = await importBytes(importer, fixture('portolan.xml'));
    expect(run.meta.source).toBe('portolan');
    expect(run.observations.map((o) => [o.source, o.host.address])).toEqual([
      ['portolan', '::1'],
      ['portolan', '127.0.0.1'],
    ]);
    const pg = run.observations[1]!.host.ports.find((p) => p.port === 5432)!;
    expect(pg.service).toMatchObject({ name: 'postgresql', product: 'PostgreSQL DB', method: 'probed', confidence: 8 });
    expect(pg.service?.extrainfo).toContain('protocol 3.0');
  });

  it('imports the complete hosts of a truncated file and warns', async () => {
    const run = await importBytes(importer, fixture('truncated.xml'));
    expect(run.observations.map((o) => o.host.address)).toEqual(['127.0.0.1']);
    expect(run.warnings).toEqual([expect.stringMatching(/^truncated after 1 host\b/)]);
  });

  it('maps states, reasons, tunnels, OS matches and skips what the model cannot hold', async () => {
    const ports =
      '<port protocol="udp" portid="53"><state state="open|filtered" reason="no-response"/></port>' +
      '<port protocol="tcp" portid="443"><state state="open" reason="syn-ack"/><service name="http" tunnel="ssl" method="probed" conf="10"><cpe>cpe:/a:nginx:nginx:1.22.1</cpe><cpe>bogus</cpe></service></port>' +
      '<port protocol="tcp" portid="80"><state state="unfiltered" reason="reset"/></port>' +
      '<port protocol="sctp" portid="80"><state state="open" reason="init-ack"/></port>' +
      '<port protocol="udp" portid="161"><state state="open" reason="udp-response"/><service name="snmp" method="table" conf="3"/></port>';
    const os = '<os><osmatch name="Linux 5.0 - 5.14" accuracy="96"/><osmatch name="Linux 4.15" accuracy="98"/></os>';
    const run = await importBytes(importer, doc(HOST('192.0.2.1', ports, os) + HOST('2001:DB8:0::1')));
    const [a, b] = run.observations;
    expect(a!.osHint).toBe('Linux 4.15');
    expect(a!.host.ports.map((p) => `${p.port}/${p.protocol}/${p.state}/${p.reason}`)).toEqual(['53/udp/filtered/no-response', '161/udp/open/syn-ack', '443/tcp/open/syn-ack']);
    expect(a!.host.ports[2]!.service).toMatchObject({ tunnel: 'ssl', cpe: ['cpe:2.3:a:nginx:nginx:1.22.1:*:*:*:*:*:*:*'] });
    expect(b!.host.address).toBe('2001:db8::1');
    expect(run.warnings).toEqual(['sctp ports skipped (portolan stores tcp and udp)']);
  });

  it('keeps down hosts without ports and drops never-scanned ones', async () => {
    const down = '<host><status state="down" reason="no-response"/><address addr="192.0.2.9" addrtype="ipv4"/></host>';
    const skipped = '<host><status state="skipped" reason="x"/><address addr="192.0.2.8" addrtype="ipv4"/></host>';
    const run = await importBytes(importer, doc(down + skipped));
    expect(run.observations.map((o) => [o.host.address, o.host.status, o.host.statusReason])).toEqual([['192.0.2.9', 'down', 'no-response']]);
  });

  it('reads records split at every byte boundary', async () => {
    const data = fixture('one-sv.xml');
    const whole = await importBytes(importer, data);
    for (const size of [1, 7, 100]) expect((await importBytes(importer, data, 'x', size)).observations).toEqual(whole.observations);
  });
});

describe('nmap XML importer on hostile input', () => {
  it('rejects an empty file, garbage and the wrong XML', async () => {
    await rejects('', /empty file/);
    await rejects(Buffer.from([0x00, 0xff, 0x13, 0x37, 0x80]), /not well-formed|not nmap XML/);
    await rejects('Host: 1.2.3.4 ()\tStatus: Up\n', /not well-formed|not nmap XML/);
    await rejects('<?xml version="1.0"?><NessusClientData_v2></NessusClientData_v2>', /root element is <NessusClientData_v2>/);
    await rejects('<?xml version="1.0"?>\n<!-- only a comment -->\n', /no <nmaprun> element/);
  });

  it('refuses DOCTYPE internal subsets, entities and billion laughs without expanding them', async () => {
    const laughs = `<?xml version="1.0"?><!DOCTYPE nmaprun [<!ENTITY a "aaaaaaaaaa">${Array.from({ length: 9 }, (_, i) => `<!ENTITY ${String.fromCharCode(98 + i)} "${`&${String.fromCharCode(97 + i)};`.repeat(10)}">`).join('')}]><nmaprun>&j;</nmaprun>`;
    await rejects(laughs, /DOCTYPE with an internal subset/);
    await rejects('<?xml version="1.0"?><!DOCTYPE nmaprun [<!ENTITY x SYSTEM "file:///etc/passwd">]><nmaprun>&x;</nmaprun>', /DOCTYPE/);
    await rejects(doc('<host><address addr="&x;" addrtype="ipv4"/></host>'), /line 4: not well-formed nmap XML: .*entity/i);
  });

  it('rejects bad values with the line number', async () => {
    await rejects(doc(HOST('192.0.2.1', '<port protocol="tcp" portid="70000"><state state="open"/></port>')), /line 7: bad portid/);
    await rejects(doc(HOST('192.0.2.1', '<port protocol="tcp" portid="1"><state state="ajar"/></port>')), /unknown port state "ajar"/);
    await rejects(doc(HOST('999.1.1.1')), /bad IPv4 address/);
    await rejects(doc('<host><status state="up"/></host>'), /without an IPv4 or IPv6 address/);
  });

  it('bounds a 10 MB attribute, deep nesting and a 10 MB text run', async () => {
    await rejects(`${HEAD}<host comment="${'A'.repeat(20 * 1024 * 1024)}`, /XML token longer than 16 MiB/);
    await rejects(`${HEAD}${'<a>'.repeat(100)}`, /nested deeper than 64/);
    const long = await importBytes(importer, doc(`<verbose>${'x'.repeat(10 * 1024 * 1024)}</verbose>${HOST('192.0.2.1')}`));
    expect(long.observations).toHaveLength(1);
  });

  it('surfaces a failing stream as an ImportError', async () => {
    const broken = new Readable({
      read() {
        this.destroy(new Error('EIO'));
      },
    });
    await expect(importer.read(broken, { file: 'f', warn: () => {} }, { source: 'nmap' })[Symbol.asyncIterator]().next()).rejects.toBeInstanceOf(ImportError);
  });

  it('either imports or throws ImportError for 10 000 mutants', async () => {
    // Real nmap -sV output (IPv6, closed and open ports, a CPE) as the seed.
    const seed = fixture('v6.xml');
    let parsed = 0;
    for (const m of mutants(seed, 10_000, 4)) {
      try {
        await importBytes(importer, m, 'm.xml', 64);
        parsed++;
      } catch (e) {
        if (!(e instanceof ImportError)) throw new Error(`non-ImportError for mutant ${JSON.stringify(m.toString('latin1'))}: ${String(e)}`);
      }
    }
    expect(parsed).toBeGreaterThan(100);
  }, 60_000);
});
