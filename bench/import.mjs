// Import: a generated 1,000,000-port nmap XML file through `portolan import`, into SQLite and into
// PostgreSQL (127.0.0.1:5432, a schema of its own, dropped afterwards). Targets: >= 100,000 ports/s
// and peak RSS <= 300 MB for each. The file is written once per run into bench/out/.
import { createWriteStream, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { once } from 'node:events';
import { execFileSync } from 'node:child_process';
import { BIN, OUT, peakRss, ratioLine } from './lib.mjs';

export const results = [];
const HOSTS = Number(process.env.BENCH_IMPORT_HOSTS ?? 1000);
const PORTS_PER_HOST = 1000;
const TOTAL = HOSTS * PORTS_PER_HOST;
const STATES = ['closed', 'filtered', 'closed', 'closed', 'open'];

/** nmap -oX shaped, every port listed (as nmap does with -v --reason or when states are mixed). */
async function writeXml(path) {
  const out = createWriteStream(path);
  const write = async (s) => {
    if (!out.write(s)) await once(out, 'drain');
  };
  await write('<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE nmaprun>\n<nmaprun scanner="nmap" args="nmap -sT -sV -p1-1000 198.18.0.0/22" start="1763700000" startstr="Sat Nov 21 00:00:00 2026" version="7.93" xmloutputversion="1.05">\n');
  await write('<scaninfo type="connect" protocol="tcp" numservices="1000" services="1-1000"/>\n');
  for (let h = 0; h < HOSTS; h++) {
    const addr = `198.18.${(h >> 8) & 255}.${h & 255}`;
    let x = `<host starttime="1763700000" endtime="1763700001"><status state="up" reason="syn-ack" reason_ttl="0"/>\n<address addr="${addr}" addrtype="ipv4"/>\n<hostnames><hostname name="h${h}.lab.example" type="user"/></hostnames>\n<ports>`;
    for (let p = 1; p <= PORTS_PER_HOST; p++) {
      const state = STATES[(h + p) % STATES.length];
      const reason = state === 'open' ? 'syn-ack' : state === 'closed' ? 'conn-refused' : 'no-response';
      const svc = state === 'open' ? `<service name="http" product="nginx" version="1.22.1" method="probed" conf="10"><cpe>cpe:/a:f5:nginx:1.22.1</cpe></service>` : `<service name="unknown" method="table" conf="3"/>`;
      x += `<port protocol="tcp" portid="${p}"><state state="${state}" reason="${reason}" reason_ttl="0"/>${svc}</port>\n`;
    }
    await write(`${x}</ports>\n<times srtt="200" rttvar="100" to="100000"/>\n</host>\n`);
  }
  await write(`<runstats><finished time="1763700100" timestr="Sat Nov 21 00:01:40 2026" elapsed="100.00" exit="success"/><hosts up="${HOSTS}" down="0" total="${HOSTS}"/>\n</runstats>\n</nmaprun>\n`);
  out.end();
  await once(out, 'finish');
}

function pgReachable() {
  try {
    execFileSync('psql', ['-h', '127.0.0.1', '-U', 'postgres', '-d', 'test', '-Atc', 'select 1'], { stdio: 'pipe', timeout: 5000 });
    return true;
  } catch {
    return false;
  }
}

const xml = join(OUT, 'import-1m.xml');
await writeXml(xml);
console.log(`import: ${TOTAL} ports in ${(statSync(xml).size / 1048576).toFixed(0)} MiB of nmap XML`);

function run(name, db) {
  const r = peakRss([process.execPath, BIN, 'import', '--db', db, xml], { timeoutMs: 600_000 });
  const rate = TOTAL / r.seconds;
  console.log(`  ${name}: ${r.stdout.trim().split('\n').pop()}`);
  results.push(ratioLine(`import-${name}-1m-rate`, `${TOTAL} ports in ${r.seconds.toFixed(2)} s = ${Math.round(rate)} ports/s`, 100_000 / rate, 1));
  results.push(ratioLine(`import-${name}-1m-rss`, `peak RSS ${(r.rssKb / 1024).toFixed(1)} MiB`, r.rssKb / 1024 / 300, 1));
}

const sqlite = join(OUT, 'import-bench.db');
rmSync(sqlite, { force: true });
rmSync(`${sqlite}-wal`, { force: true });
rmSync(`${sqlite}-shm`, { force: true });
run('sqlite', sqlite);

if (pgReachable()) {
  const schema = `ptl_bench_${process.pid}`;
  try {
    run('postgres', `postgres://postgres@127.0.0.1:5432/test?schema=${schema}`);
  } finally {
    execFileSync('psql', ['-h', '127.0.0.1', '-U', 'postgres', '-d', 'test', '-qc', `drop schema if exists ${schema} cascade`], { stdio: 'pipe' });
  }
} else {
  console.log('  postgres: 127.0.0.1:5432 not reachable; skipped');
}
rmSync(xml, { force: true });
