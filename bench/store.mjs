// Store ingest: 1 000 000 ports (1 000 hosts × 1 000 ports, mostly closed/filtered, 2 % open with
// services) generated in memory and pushed through Ingest.add() into a fresh SQLite file and a
// fresh PostgreSQL schema. Targets: >= 100 000 ports/s and <= 300 MB peak RSS on each backend.
// Each backend runs in its own child process, so its peak RSS is its own.
// PostgreSQL: $PORTOLAN_BENCH_PG (default postgres://postgres@127.0.0.1:5432/test); skipped if unreachable.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ratioLine } from './lib.mjs';

const HOSTS = 1000;
const PORTS = 1000;
const PG_URL = process.env.PORTOLAN_BENCH_PG ?? 'postgres://postgres@127.0.0.1:5432/test';

/** Observations, generated lazily so the input itself costs no memory. */
function* observations(startedAt) {
  for (let h = 0; h < HOSTS; h++) {
    const ports = [];
    for (let p = 1; p <= PORTS; p++) {
      const roll = (h * 7919 + p * 104729) % 100;
      if (roll < 2) {
        const probed = roll === 0;
        ports.push({
          protocol: 'tcp', port: p, state: 'open', reason: 'syn-ack', tries: 1,
          service: probed
            ? { name: 'http', product: 'nginx', version: '1.22.1', method: 'probed', confidence: 10, cpe: ['cpe:2.3:a:f5:nginx:1.22.1:*:*:*:*:*:*:*'], banner: 'HTTP/1.1 200 OK\\r\\nServer: nginx/1.22.1' }
            : { name: 'unknown', method: 'table', confidence: 3, cpe: [] },
        });
      } else if (roll < 10) ports.push({ protocol: 'tcp', port: p, state: 'closed', reason: 'conn-refused', tries: 1 });
      else ports.push({ protocol: 'tcp', port: p, state: 'filtered', reason: 'no-response', tries: 2 });
    }
    const address = `10.${(h >> 16) & 255}.${(h >> 8) & 255}.${h & 255}`;
    yield {
      source: 'portolan',
      host: { address, family: 4, hostnames: [{ name: `h${h}.bench.test`, type: 'PTR' }], status: 'up', statusReason: 'syn-ack', ports, startedAt, endedAt: startedAt + 1000 },
    };
  }
}

/** Child: ingest into one backend and print one JSON line. */
async function child(kind) {
  const { openStore } = await import(pathToFileURL(join(process.env.PORTOLAN_DIST ?? join(fileURLToPath(import.meta.url), '../../dist'), 'store', 'index.js')).href);
  let location;
  let cleanup = async () => {};
  if (kind === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'portolan-bench-store-'));
    location = join(dir, 'bench.db');
    cleanup = async () => rmSync(dir, { recursive: true, force: true });
  } else {
    const schema = `ptl_bench_${process.pid}`;
    location = `${PG_URL}${PG_URL.includes('?') ? '&' : '?'}schema=${schema}`;
    cleanup = async () => {
      const pg = (await import('pg')).default;
      const client = new pg.Client({ connectionString: PG_URL });
      await client.connect();
      await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await client.end();
    };
  }
  try {
    const store = await openStore(location);
    const startedAt = Date.now();
    const t0 = process.hrtime.bigint();
    const ingest = await store.begin({ kind: 'scan', source: 'portolan', args: ['bench'], startedAt });
    for (const o of observations(startedAt)) await ingest.add(o);
    const row = await ingest.commit({ endedAt: Date.now(), status: 'done' });
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const rssKb = process.resourceUsage().maxRSS;
    const open = (await store.services({ state: 'open' })).length;
    await store.close();
    console.log(JSON.stringify({ seconds, ports: row.ports, hosts: row.hosts, open, rssKb }));
  } finally {
    await cleanup();
  }
}

async function reachable(url) {
  const pg = (await import('pg')).default;
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.end();
    return undefined;
  } catch (err) {
    return err.message;
  }
}

export const results = [];

async function parent() {
  for (const kind of ['sqlite', 'postgres']) {
    const name = `store-${kind}-1m`;
    if (kind === 'postgres') {
      const why = await reachable(PG_URL);
      if (why !== undefined) {
        console.log(`${name}: skipped, PostgreSQL at ${PG_URL} not reachable (${why})`);
        continue;
      }
    }
    const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--child', kind], { encoding: 'utf8', timeout: 600_000 });
    const last = r.stdout.trim().split('\n').pop() ?? '';
    if (r.status !== 0 || !last.startsWith('{')) {
      console.log(`${name}: failed (exit ${r.status}): ${r.stderr.slice(0, 2000)}`);
      results.push({ name, ratio: Infinity, target: 1, ok: false, line: `${name}: failed` });
      continue;
    }
    const m = JSON.parse(last);
    const rate = m.ports / m.seconds;
    const mib = m.rssKb / 1024;
    const complete = m.ports === HOSTS * PORTS && m.hosts === HOSTS;
    const speed = ratioLine(name, `${m.ports} ports in ${m.seconds.toFixed(1)} s = ${Math.round(rate)} ports/s, peak RSS ${mib.toFixed(0)} MiB (${m.hosts} hosts, ${m.open} open)`, 100_000 / rate, 1);
    results.push({ ...speed, ok: speed.ok && complete });
    results.push(ratioLine(`${name}-rss`, `peak RSS ${mib.toFixed(0)} MiB ingesting ${m.ports} ports`, (m.rssKb * 1024) / 300e6, 1));
  }
}

const childAt = process.argv.indexOf('--child');
if (childAt >= 0) await child(process.argv[childAt + 1]);
else await parent();
