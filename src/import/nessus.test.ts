import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { mutants } from '../../test/helpers/fuzz.js';
import { importBytes } from '../../test/helpers/import.js';
import { ImportError } from './errors.js';
import { importer } from './nessus.js';

const fixture = (name: string): Buffer => readFileSync(new URL(`../../test/fixtures/nessus/${name}`, import.meta.url));

const doc = (hosts: string): string => `<?xml version="1.0" ?>\n<NessusClientData_v2>\n<Report name="t">\n${hosts}</Report>\n</NessusClientData_v2>\n`;
const item = (attrs: string, body = ''): string => `<ReportItem ${attrs}>${body}</ReportItem>\n`;
const host = (name: string, items: string, ip = name): string => `<ReportHost name="${name}"><HostProperties><tag name="host-ip">${ip}</tag></HostProperties>\n${items}</ReportHost>\n`;

async function rejects(data: Buffer | string, pattern: RegExp): Promise<ImportError> {
  const e: unknown = await importBytes(importer, data, 'scan.nessus').then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(ImportError);
  expect((e as ImportError).message).toMatch(pattern);
  expect((e as ImportError).message).toContain('"scan.nessus"');
  return e as ImportError;
}

describe('Nessus v2 importer', () => {
  it('sniffs Nessus v2 files', () => {
    expect(importer.sniff(fixture('one.nessus'))).toBe(10);
    expect(importer.sniff(Buffer.from('<?xml version="1.0"?><NessusClientData><Report>'))).toBe(3);
    expect(importer.sniff(Buffer.from('<?xml version="1.0"?><nmaprun scanner="nmap">'))).toBe(0);
  });

  it('imports zero hosts', async () => {
    const run = await importBytes(importer, fixture('zero.nessus'));
    expect(run.observations).toEqual([]);
    expect(run.warnings).toEqual([]);
    expect(run.meta.source).toBe('nessus');
  });

  it('imports one host: ports from items with a port, findings from every item', async () => {
    const run = await importBytes(importer, fixture('one.nessus'));
    expect(run.observations).toHaveLength(1);
    const o = run.observations[0]!;
    expect(o.source).toBe('nessus');
    expect(o.osHint).toBe('Linux Kernel 6.1.0-13-amd64 on Debian 12');
    expect(o.host).toMatchObject({ address: '192.0.2.10', family: 4, status: 'up', startedAt: 1700000000000, endedAt: 1700001011000, hostnames: [{ name: 'web01.example.test', type: 'PTR' }] });
    expect(run.meta.startedAt).toBe(1700000000000);
    expect(o.host.ports.map((p) => `${p.port}/${p.protocol}/${p.state}/${p.service?.name}/${p.service?.method}/${p.service?.confidence}`)).toEqual([
      '22/tcp/open/ssh/probed/8',
      '443/tcp/open/http/probed/8',
      // `sip?`: Nessus guessed the name.
      '5060/udp/open/sip/table/3',
    ]);
    const f = o.findings!;
    expect(f).toHaveLength(10);
    expect(f.filter((x) => x.port === 0).map((x) => x.pluginId)).toEqual(['19506', '11936', '10114']);
    expect(f.find((x) => x.pluginId === '187315')).toEqual({
      protocol: 'tcp',
      port: 22,
      pluginId: '187315',
      pluginName: 'SSH Terrapin Prefix Truncation Weakness (CVE-2023-48795)',
      severity: 2,
      cves: ['CVE-2023-48795'],
      cvss2: 5.4,
      cvss3: 5.9,
      synopsis: 'The remote SSH server is vulnerable to a mitm prefix truncation attack.',
    });
    expect(f.find((x) => x.pluginId === '183890')).toMatchObject({ pluginName: 'Apache 2.4.x < 2.4.58 Multiple Vulnerabilities', severity: 3, cves: ['CVE-2023-31122', 'CVE-2023-43622', 'CVE-2023-45802'], cvss3: 7.5 });
    expect(f.find((x) => x.pluginId === '10114')).toMatchObject({ port: 0, severity: 1, cves: ['CVE-1999-0524'], cvss2: 2.1 });
  });

  it('imports many hosts: names, IPv6, service-name mapping, port-0-only hosts', async () => {
    const run = await importBytes(importer, fixture('many.nessus'));
    expect(run.observations.map((o) => o.host.address)).toEqual(['192.0.2.21', '2001:db8::20', '192.0.2.30']);
    const [db, files, bare] = run.observations;
    expect(db!.host.hostnames).toEqual([{ name: 'db01.example.test', type: 'user' }]);
    expect(db!.host.ports.map((p) => `${p.port}/${p.service?.name}`)).toEqual(['3306/mysql', '5432/postgresql']);
    expect(db!.findings?.find((x) => x.severity === 4)).toMatchObject({ cvss2: 10, cvss3: 9.8, cves: ['CVE-2022-47015'] });
    expect(files!.host).toMatchObject({ family: 6, hostnames: [] });
    expect(files!.host.ports.map((p) => `${p.port}/${p.service?.name}`)).toEqual(['135/msrpc', '445/microsoft-ds', '3389/ms-wbt-server']);
    expect(files!.osHint).toBe('Microsoft Windows Server 2022');
    expect(bare!.host.ports).toEqual([]);
    expect(bare!.findings?.map((x) => x.pluginId)).toEqual(['10180']);
  });

  it('imports the complete hosts of a truncated file and warns', async () => {
    const run = await importBytes(importer, fixture('truncated.nessus'));
    expect(run.observations.map((o) => o.host.address)).toEqual(['192.0.2.21']);
    expect(run.warnings).toEqual([expect.stringMatching(/^truncated after 1 host\b/)]);
  });

  it('keeps the best service name among items on one port and ignores junk CVEs and scores', async () => {
    const items =
      item('port="8080" svc_name="www?" protocol="tcp" severity="0" pluginID="1" pluginName="a"') +
      item('port="8080" svc_name="www" protocol="tcp" severity="0" pluginID="2" pluginName="b"', '<cve>not-a-cve</cve><cve>cve-2024-0001</cve><cvss_base_score>11</cvss_base_score><cvss3_base_score>abc</cvss3_base_score>') +
      item('port="7" svc_name="echo" protocol="icmp" severity="0" pluginID="3" pluginName="c"');
    const run = await importBytes(importer, doc(host('192.0.2.5', items)));
    const o = run.observations[0]!;
    expect(o.host.ports.map((p) => [p.port, p.service?.name, p.service?.method])).toEqual([[8080, 'http', 'probed']]);
    expect(o.findings?.[1]).toEqual({ protocol: 'tcp', port: 8080, pluginId: '2', pluginName: 'b', severity: 0, cves: ['CVE-2024-0001'] });
  });
});

describe('Nessus v2 importer on hostile input', () => {
  it('rejects empty, garbage, v1 and other XML', async () => {
    await rejects('', /empty file/);
    await rejects(Buffer.from([0xde, 0xad, 0xbe, 0xef, 0x00]), /not well-formed|not Nessus/);
    await rejects('<?xml version="1.0"?><NessusClientData><Report/></NessusClientData>', /root element is <NessusClientData>, expected <NessusClientData_v2>/);
    await rejects('<?xml version="1.0"?><nmaprun scanner="nmap"></nmaprun>', /not Nessus v2/);
  });

  it('refuses DOCTYPE subsets and undeclared entities', async () => {
    await rejects('<?xml version="1.0"?><!DOCTYPE NessusClientData_v2 [<!ENTITY a "x"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]><NessusClientData_v2>&b;</NessusClientData_v2>', /DOCTYPE/);
    await rejects(doc('<ReportHost name="&xxe;"></ReportHost>'), /line 4: .*entity/i);
  });

  it('rejects bad items with the line number', async () => {
    await rejects(doc(host('192.0.2.5', item('port="99999" protocol="tcp" severity="0" pluginID="1"'))), /line 5: ReportItem port/);
    await rejects(doc(host('192.0.2.5', item('port="22" protocol="tcp" severity="9" pluginID="1"'))), /severity is not 0-4/);
    await rejects(doc(host('192.0.2.5', item('port="22" protocol="tcp" severity="1" pluginID="x; drop"'))), /numeric pluginID/);
    await rejects(doc(host('web.example', '', 'not-an-ip')), /ReportHost without an IP address/);
  });

  it('bounds huge text and attributes', async () => {
    const run = await importBytes(importer, doc(host('192.0.2.5', item('port="0" protocol="tcp" severity="0" pluginID="1" pluginName="p"', `<synopsis>${'s'.repeat(5 * 1024 * 1024)}</synopsis>`))));
    expect(run.observations[0]!.findings?.[0]?.synopsis).toHaveLength(2048);
    await rejects(`<NessusClientData_v2><Report><ReportHost name="${'1'.repeat(20 * 1024 * 1024)}`, /token longer than 16 MiB/);
  });

  it('either imports or throws ImportError for 10 000 mutants', async () => {
    const seed = Buffer.from(
      doc(
        `<ReportHost name="192.0.2.7"><HostProperties><tag name="host-ip">192.0.2.7</tag><tag name="host-fqdn">a.example</tag><tag name="operating-system">Linux</tag></HostProperties>\n` +
          item('port="22" svc_name="ssh" protocol="tcp" severity="2" pluginID="187315" pluginName="Terrapin"', '<cvss3_base_score>5.9</cvss3_base_score><cve>CVE-2023-48795</cve><synopsis>weak</synopsis>') +
          item('port="0" svc_name="general" protocol="tcp" severity="0" pluginID="19506" pluginName="info"') +
          '</ReportHost>\n',
      ),
    );
    let parsed = 0;
    for (const m of mutants(seed, 10_000, 11)) {
      try {
        await importBytes(importer, m, 'm.nessus', 64);
        parsed++;
      } catch (e) {
        if (!(e instanceof ImportError)) throw new Error(`non-ImportError for mutant ${JSON.stringify(m.toString('latin1'))}: ${String(e)}`);
      }
    }
    expect(parsed).toBeGreaterThan(100);
  }, 60_000);
});
