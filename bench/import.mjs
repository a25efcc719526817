// Import: a generated 1,000,000-port nmap XML file through `portolan import`, into SQLite and into
// PostgreSQL (127.0.0.1:5432, a schema of its own, dropped afterwards). Targets: >= 100,000 ports/s
// and peak RSS <= 300 MB for each. The file is written once per run into bench/out/.
import { rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { BIN, OUT, peakRss, ratioLine } from './lib.mjs';
import { writeNmapXml } from './nmap-xml.mjs';

export const results = [];
const HOSTS = Number(process.env.BENCH_IMPORT_HOSTS ?? 1000);
const PORTS_PER_HOST = 1000;
const TOTAL = HOSTS * PORTS_PER_HOST;

function pgReachable() {
  try {
    execFileSync('psql', ['-h', '127.0.0.1', '-U', 'postgres', '-d', 'test', '-Atc', 'select 1'], { stdio: 'pipe', timeout: 5000 });
    return true;
  } catch {
    return false;
  }
}

const xml = join(OUT, 'import-1m.xml');
await writeNmapXml(xml, HOSTS, PORTS_PER_HOST);
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
