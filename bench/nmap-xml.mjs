// A generated nmap -oX file of HOSTS hosts with PORTS ports each, every port listed (as nmap does
// with -v --reason or when states are mixed): one in five open with a probed service, the rest
// closed or filtered with nmap's port-table guess. Shared by the import benchmark and the tests.
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';

const STATES = ['closed', 'filtered', 'closed', 'closed', 'open'];

/** The document as a sequence of strings, one per host between the header and the trailer. */
export function* nmapXmlParts(hosts, portsPerHost) {
  yield '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE nmaprun>\n<nmaprun scanner="nmap" args="nmap -sT -sV -p1-1000 198.18.0.0/22" start="1763700000" startstr="Sat Nov 21 00:00:00 2026" version="7.93" xmloutputversion="1.05">\n';
  yield `<scaninfo type="connect" protocol="tcp" numservices="${portsPerHost}" services="1-${portsPerHost}"/>\n`;
  for (let h = 0; h < hosts; h++) {
    const addr = `198.18.${(h >> 8) & 255}.${h & 255}`;
    let x = `<host starttime="1763700000" endtime="1763700001"><status state="up" reason="syn-ack" reason_ttl="0"/>\n<address addr="${addr}" addrtype="ipv4"/>\n<hostnames><hostname name="h${h}.lab.example" type="user"/></hostnames>\n<ports>`;
    for (let p = 1; p <= portsPerHost; p++) {
      const state = STATES[(h + p) % STATES.length];
      const reason = state === 'open' ? 'syn-ack' : state === 'closed' ? 'conn-refused' : 'no-response';
      const svc = state === 'open' ? '<service name="http" product="nginx" version="1.22.1" method="probed" conf="10"><cpe>cpe:/a:f5:nginx:1.22.1</cpe></service>' : '<service name="unknown" method="table" conf="3"/>';
      x += `<port protocol="tcp" portid="${p}"><state state="${state}" reason="${reason}" reason_ttl="0"/>${svc}</port>\n`;
    }
    yield `${x}</ports>\n<times srtt="200" rttvar="100" to="100000"/>\n</host>\n`;
  }
  yield `<runstats><finished time="1763700100" timestr="Sat Nov 21 00:01:40 2026" elapsed="100.00" exit="success"/><hosts up="${hosts}" down="0" total="${hosts}"/>\n</runstats>\n</nmaprun>\n`;
}

/** Write the document to `path`. */
export async function writeNmapXml(path, hosts, portsPerHost) {
  const out = createWriteStream(path);
  for (const part of nmapXmlParts(hosts, portsPerHost)) if (!out.write(part)) await once(out, 'drain');
  out.end();
  await once(out, 'finish');
}
