/**
 * The store from the command line: import every fixture format, query it back with every filter
 * and format, re-imports that merge, bad files that leave nothing, scans that persist (or not),
 * and the local listener audit. Loopback only; every run uses its own database file.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IMPORTERS } from '../src/import/registry.js';
import { openStore } from '../src/store/index.js';
import { BIN, collect, runCli, TEST_ENV, type RunResult } from './helpers/cli.js';
import { importBytes } from './helpers/import.js';
import { loopbackServers } from './helpers/loopback-server.js';
import { BACKENDS, Locations } from './helpers/store.js';

const dir = mkdtempSync(join(tmpdir(), 'portolan-store-'));
const FIXTURES = new URL('./fixtures/', import.meta.url).pathname;
let dbCount = 0;
/** A fresh database path (not created until a command opens it). */
function freshDb(): string {
  return join(dir, `db-${++dbCount}.db`);
}

const server = loopbackServers();
let port = 0;
beforeAll(async () => {
  port = await server.serve((s) => {
    s.resume();
    s.end();
  });
});
const locations = new Locations();
afterAll(async () => {
  await server.closeAll();
  await locations.cleanup();
});

function ok(r: RunResult): RunResult {
  expect(r.stderr, r.stderr).not.toMatch(/internal error/);
  expect(r.code, r.stderr).toBe(0);
  return r;
}

/** Expect exactly one `portolan: …` line on stderr and exit 2. */
function refused(r: RunResult, pattern: RegExp): void {
  expect(r.stderr).not.toMatch(/internal error/);
  expect(r.code, r.stderr).toBe(2);
  expect(r.stderr.trim().split('\n'), r.stderr).toHaveLength(1);
  expect(r.stderr).toMatch(/^portolan: /);
  expect(r.stderr).toMatch(pattern);
}

async function queryJson<T = Record<string, unknown>>(what: 'scans' | 'hosts' | 'services', db: string, ...filters: string[]): Promise<T[]> {
  const r = ok(await runCli([what, '--db', db, '--json', ...filters]));
  return JSON.parse(r.stdout) as T[];
}

interface ServiceJson {
  address: string;
  port: number;
  protocol: string;
  state: string;
  name?: string;
  source: string;
  lastSeen: number;
}

/** Fixture files per importer id: test/fixtures/<id>/*, without generator scripts. */
function fixtureFiles(): { id: string; file: string; kind: 'zero' | 'one' | 'many' | 'other' }[] {
  const out: { id: string; file: string; kind: 'zero' | 'one' | 'many' | 'other' }[] = [];
  for (const importer of IMPORTERS) {
    const folder = join(FIXTURES, importer.id);
    if (!existsSync(folder)) continue;
    for (const name of readdirSync(folder).sort()) {
      if (/\.(sh|py|mjs|ts|md)$/.test(name) || name.startsWith('.')) continue;
      const kind = name.startsWith('zero') ? 'zero' : name.startsWith('one') ? 'one' : name.startsWith('many') ? 'many' : 'other';
      out.push({ id: importer.id, file: join(folder, name), kind });
    }
  }
  return out;
}

describe('portolan import: every fixture format', () => {
  const files = fixtureFiles();
  it('has fixtures to import', () => {
    expect(files.length).toBeGreaterThan(0);
  });
  for (const importer of IMPORTERS) {
    const mine = files.filter((f) => f.id === importer.id);
    if (mine.length === 0) continue;
    it(`imports every ${importer.id} fixture, one transaction per file`, async () => {
      // one-/many- files are sniffed; zero-result files of the bare line formats carry too little
      // to sniff, and variant files (old masscan shapes, localized netstat) are about parsing, so
      // --format says what they are. Two runs, one database: re-imports merge there too.
      const sniffed = mine.filter((f) => f.kind === 'one' || f.kind === 'many').map((f) => f.file);
      const forced = mine.filter((f) => f.kind !== 'one' && f.kind !== 'many').map((f) => f.file);
      const db = freshDb();
      let stdout = '';
      if (sniffed.length > 0) stdout += ok(await runCli(['import', '--db', db, ...sniffed])).stdout;
      if (forced.length > 0) stdout += ok(await runCli(['import', '--db', db, '--format', importer.id, ...forced])).stdout;
      const entering = new Set<string>();
      const sources = new Set<string>();
      for (const file of [...sniffed, ...forced]) {
        const expected = await importBytes(importer, readFileSync(file), file);
        const hosts = expected.observations.length;
        const ports = expected.observations.reduce((n, o) => n + o.host.ports.length, 0);
        expect(stdout).toContain(`imported ${hosts} host${hosts === 1 ? '' : 's'}, ${ports} port${ports === 1 ? '' : 's'} from ${file} (${importer.id})\n`);
        // A service row is an open port or a probed service; a closed port, even with a
        // port-table guess at its name, is history only.
        for (const o of expected.observations) {
          sources.add(o.source);
          for (const p of o.host.ports) if (p.state === 'open' || p.service?.method === 'probed') entering.add(`${o.host.address}|${p.protocol}|${p.port}`);
        }
      }
      const store = await openStore(db);
      try {
        const scans = await store.scans();
        expect(scans.map((x) => x.file).sort()).toEqual([...sniffed, ...forced].sort());
        for (const x of scans) expect(x).toMatchObject({ kind: 'import', source: importer.source, status: 'done' });
        const services = await store.services();
        expect(services.map((x) => `${x.address}|${x.protocol}|${x.port}`).sort()).toEqual([...entering].sort());
        for (const x of services) expect(sources).toContain(x.source);
      } finally {
        await store.close();
      }
    });
  }
});

describe('portolan services/hosts/scans: filters and formats', () => {
  const db = freshDb();
  let all: ServiceJson[] = [];
  const nmapXml = join(FIXTURES, 'nmap-xml', 'many.xml');
  const grepable = join(FIXTURES, 'nmap-grepable', 'many.gnmap');

  beforeAll(async () => {
    ok(await runCli(['import', '--db', db, nmapXml, grepable]));
    all = await queryJson<ServiceJson>('services', db);
  });

  it('returns what was imported', () => {
    expect(all.length).toBeGreaterThan(1);
  });

  it('filters by port, service, source, state, host and time', async () => {
    const first = all.find((s) => s.name !== undefined)!;
    for (const [flag, value, check] of [
      ['--port', String(first.port), (s: ServiceJson) => s.port === first.port],
      ['--service', first.name!, (s: ServiceJson) => s.name === first.name],
      ['--source', 'nmap', (s: ServiceJson) => s.source === 'nmap'],
      ['--state', first.state, (s: ServiceJson) => s.state === first.state],
      ['--host', first.address, (s: ServiceJson) => s.address === first.address],
    ] as const) {
      const rows = await queryJson<ServiceJson>('services', db, flag, value);
      expect(rows.length, `${flag} ${value}`).toBeGreaterThan(0);
      expect(rows.every(check), `${flag} ${value}`).toBe(true);
      expect(rows.length).toBe(all.filter(check).length);
    }
    expect(await queryJson('services', db, '--source', 'masscan')).toEqual([]);
    expect(await queryJson('services', db, '--port', '1', '--state', 'open')).toEqual(all.filter((s) => s.port === 1 && s.state === 'open'));
    expect((await queryJson('services', db, '--since', '1d')).length).toBe(all.length);
    expect(await queryJson('services', db, '--since', '2999-01-01')).toEqual([]);
    expect((await queryJson('hosts', db, '--since', '2000-01-01T00:00Z')).length).toBeGreaterThan(0);
    expect(await queryJson('hosts', db, '--since', '2999-01-01')).toEqual([]);
    expect(await queryJson('services', db, '--host', '192.0.2.99')).toEqual([]);
    expect((await queryJson('services', db, '--limit', '1')).length).toBe(1);
  });

  it('prints a table, CSV and JSON with the same rows', async () => {
    const table = ok(await runCli(['services', '--db', db])).stdout.trimEnd().split('\n');
    expect(table[0]).toMatch(/^HOST +PORT +STATE +SERVICE +SOURCE +CONF +LAST SEEN +VERSION$/);
    expect(table).toHaveLength(all.length + 1);
    const csv = ok(await runCli(['services', '--db', db, '--format', 'csv'])).stdout;
    expect(csv.split('\r\n').filter((l) => l !== '')).toHaveLength(all.length + 1);
    expect(csv.startsWith('HOST,PORT,STATE,SERVICE,SOURCE,CONF,LAST SEEN,VERSION\r\n')).toBe(true);
    expect(ok(await runCli(['services', '--db', db, '--csv'])).stdout).toBe(csv);
    expect(JSON.parse(ok(await runCli(['services', '--db', db, '--format', 'json'])).stdout)).toEqual(all);

    const hosts = await queryJson<{ address: string }>('hosts', db);
    const addresses = new Set(hosts.map((h) => h.address));
    expect(hosts.length).toBe(addresses.size);
    for (const s of all) expect(addresses).toContain(s.address);
    expect(ok(await runCli(['hosts', '--db', db])).stdout).toMatch(/^ADDRESS +OPEN +FIRST SEEN/);
    expect(ok(await runCli(['hosts', '--db', db, '--csv'])).stdout.split('\r\n')[0]).toBe('ADDRESS,OPEN,FIRST SEEN,LAST SEEN,HOSTNAMES,OS');

    const scans = await queryJson<{ kind: string; file: string }>('scans', db);
    expect(scans.map((s) => s.file).sort()).toEqual([grepable, nmapXml].sort());
    expect(ok(await runCli(['scans', '--db', db])).stdout).toMatch(/^ID +KIND +SOURCE +STATUS/);
    expect(ok(await runCli(['scans', '--db', db, '--csv'])).stdout).toMatch(/^ID,KIND,SOURCE,STATUS,STARTED,HOSTS,PORTS,FILE\/ARGS\r\n/);
  });

  it('re-importing merges: no service is duplicated', async () => {
    ok(await runCli(['import', '--db', db, nmapXml]));
    ok(await runCli(['import', '--db', db, grepable]));
    expect((await queryJson<ServiceJson>('services', db)).length).toBe(all.length);
    expect(await queryJson('scans', db)).toHaveLength(4);
  });

  it('refuses bad filters with one line and exit 2', async () => {
    for (const [args, pattern] of [
      [['services', '--port', 'x'], /--port "x"/],
      [['services', '--port', '70000'], /--port "70000"/],
      [['services', '--since', 'yesterday'], /--since "yesterday"/],
      [['services', '--source', 'foo'], /--source "foo"/],
      [['services', '--state', 'up'], /--state "up"/],
      [['services', '--host', 'not-an-ip'], /--host "not-an-ip"/],
      [['services', '--format', 'xml'], /--format "xml"/],
      [['hosts', '--json', '--csv'], /choose one/],
      [['scans', '--limit', '0'], /--limit "0"/],
    ] as const) {
      refused(await runCli([...args, '--db', db]), pattern);
    }
  });

  it('says so when the store is empty', async () => {
    const empty = freshDb();
    expect(ok(await runCli(['services', '--db', empty])).stdout).toBe('no services in the store\n');
    expect(ok(await runCli(['services', '--db', empty, '--json'])).stdout).toBe('[]\n');
  });
});

describe('portolan import: bad input leaves no rows', () => {
  const gnmap = readFileSync(join(FIXTURES, 'nmap-grepable', 'many.gnmap'), 'utf8');

  async function counts(db: string): Promise<number[]> {
    return [(await queryJson('scans', db)).length, (await queryJson('hosts', db)).length, (await queryJson('services', db)).length];
  }

  it('a file that fails after some hosts is rolled back whole; other files still import', async () => {
    const db = freshDb();
    const good = join(FIXTURES, 'nmap-xml', 'one-sv.xml');
    ok(await runCli(['import', '--db', db, good]));
    const before = await counts(db);
    // Good hosts first, then a 10 MB line: the importer has yielded hosts before it fails.
    const bad = join(dir, 'bad.gnmap');
    const lines = gnmap.split('\n');
    writeFileSync(bad, `${lines.slice(0, 5).join('\n')}\n${'A'.repeat(10 * 1024 * 1024)}\n${lines.slice(5).join('\n')}`);
    const r = await runCli(['import', '--db', db, bad]);
    refused(r, /bad\.gnmap" line 6/);
    expect(await counts(db)).toEqual(before);

    const r2 = await runCli(['import', '--db', db, bad, join(FIXTURES, 'nmap-grepable', 'many.gnmap')]);
    expect(r2.code).toBe(2);
    expect(r2.stderr).toMatch(/bad\.gnmap" line 6/);
    expect(r2.stderr).toMatch(/1 of 2 files not imported/);
    expect(r2.stdout).toMatch(/^imported \d+ hosts, \d+ ports from .*many\.gnmap \(nmap-grepable\)\n$/);
    expect((await counts(db))[0]).toBe(before[0]! + 1);
  });

  it('0-byte, garbage, wrong-format, DOCTYPE and missing files: one line each, exit 2, nothing stored', async () => {
    const db = freshDb();
    const cases: [string, Buffer | string, string[], RegExp][] = [
      ['empty.xml', '', [], /empty\.xml": empty file: no content to tell its format from; masscan writes an empty file when it found nothing: pass --format masscan-list/],
      ['garbage.bin', Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256)), [], /garbage\.bin": unrecognised format; use --format \(one of nmap-xml/],
      ['wrong.xml', gnmap, ['--format', 'nmap-xml'], /wrong\.xml"/],
      ['laughs.xml', '<?xml version="1.0"?>\n<!DOCTYPE nmaprun [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]>\n<nmaprun scanner="nmap">&b;</nmaprun>\n', [], /laughs\.xml"/],
    ];
    for (const [name, data, extra, pattern] of cases) {
      const file = join(dir, name);
      writeFileSync(file, data);
      refused(await runCli(['import', '--db', db, ...extra, file]), pattern);
    }
    refused(await runCli(['import', '--db', db, join(dir, 'no-such-file.xml')]), /no-such-file\.xml": cannot read \(ENOENT\)/);
    refused(await runCli(['import', '--db', db, dir]), /cannot read \(EISDIR\)/);
    refused(await runCli(['import', '--db', db, '--format', 'nope', join(FIXTURES, 'nmap-xml', 'many.xml')]), /--format "nope": unknown import format/);
    expect(await counts(db)).toEqual([0, 0, 0]);
  });

  it('reads standard input and writes -oJ - as a scan would', async () => {
    const db = freshDb();
    const r = ok(await runCli(['import', '--db', db, '-', '-oJ', '-'], { input: gnmap }));
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string });
    expect(lines[0]?.type).toBe('begin');
    expect(lines.at(-1)?.type).toBe('end');
    expect(lines.filter((l) => l.type === 'host').length).toBe(3);
    expect(r.stderr).toMatch(/^imported 3 hosts, \d+ ports from - \(nmap-grepable\)\n$/);
  });

  it('--no-store reads and checks but writes nothing', async () => {
    const db = freshDb();
    const r = ok(await runCli(['import', '--db', db, '--no-store', join(FIXTURES, 'nmap-xml', 'many.xml')]));
    expect(r.stdout).toMatch(/^read \d+ hosts?, \d+ ports? from .* \(nmap-xml\); not stored \(--no-store\)\n$/);
    expect(existsSync(db)).toBe(false);
  });
});

describe('portolan scan: persisted by default', () => {
  it('stores a scan in the default location ($XDG_DATA_HOME) and with --db', async () => {
    const before = server.accepted;
    ok(await runCli(['scan', '--ports-only', '-Pn', '--no-progress', '-p', String(port), '127.0.0.1']));
    expect(server.accepted).toBeGreaterThan(before);
    const defaultDb = join(TEST_ENV.XDG_DATA_HOME, 'portolan', 'portolan.db');
    expect(existsSync(defaultDb)).toBe(true);
    const db = freshDb();
    ok(await runCli(['scan', '--db', db, '--ports-only', '-Pn', '--no-progress', '-p', `${port},1`, '127.0.0.1']));
    const scans = await queryJson<{ kind: string; source: string; status: string; hosts: number }>('scans', db);
    expect(scans).toHaveLength(1);
    expect(scans[0]).toMatchObject({ kind: 'scan', source: 'portolan', status: 'done', hosts: 1 });
    const services = await queryJson<ServiceJson>('services', db, '--source', 'portolan', '--port', String(port));
    expect(services).toHaveLength(1);
    expect(services[0]).toMatchObject({ address: '127.0.0.1', port, state: 'open', protocol: 'tcp' });
    // Closed port 1 carries only nmap's port-table name: history, not a service.
    expect(await queryJson('services', db, '--port', '1')).toHaveLength(0);
  });

  it('--no-store persists nothing', async () => {
    const db = freshDb();
    ok(await runCli(['scan', '--db', db, '--no-store', '--ports-only', '-Pn', '--no-progress', '-p', String(port), '127.0.0.1']));
    expect(existsSync(db)).toBe(false);
  });

  it('a bad --db fails before anything is sent', async () => {
    const before = server.accepted;
    const blocker = join(dir, 'a-file');
    writeFileSync(blocker, 'x');
    refused(await runCli(['scan', '--db', join(blocker, 'sub', 'x.db'), '--ports-only', '-Pn', '-p', String(port), '127.0.0.1']), /cannot create the store folder/);
    expect(server.accepted).toBe(before);
  });

  it('a running scan holds no write lock: an import and other scans store meanwhile', async () => {
    const db = freshDb();
    // A scan of about three seconds; JSON Lines on stdout says when it has begun sending.
    const args = ['scan', '--db', db, '--ports-only', '-Pn', '--no-progress', '--max-rate', '100', '-p', `1-300,${port}`, '127.0.0.1', '-oJ', '-'];
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...TEST_ENV } });
    const begun = new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
    const slow = collect(child, 60_000);
    let slowEnded = false;
    void slow.then(() => (slowEnded = true));
    await begun;
    ok(await runCli(['import', '--db', db, join(FIXTURES, 'nmap-xml', 'many.xml')]));
    ok(await runCli(['scan', '--db', db, '--ports-only', '-Pn', '--no-progress', '-p', String(port), '127.0.0.2']));
    // Both finished while the slow scan was still running: neither waited for it.
    expect(slowEnded).toBe(false);
    ok(await slow);
    const scans = await queryJson<{ kind: string; status: string }>('scans', db);
    expect(scans.map((x) => x.kind).sort()).toEqual(['import', 'scan', 'scan']);
    expect(await queryJson('services', db, '--source', 'portolan', '--port', String(port), '--state', 'open')).toHaveLength(1);
  });

  it('an interrupted scan leaves no rows, even for the hosts it had finished', async () => {
    const db = freshDb();
    // One host at a time, slowly: the first is reported (and handed to the store) well before Ctrl-C.
    // JSON Lines on stdout is written as it happens, so the test sees the first host finish.
    const args = ['scan', '--db', db, '--ports-only', '-Pn', '--no-progress', '--max-hostgroup', '1', '--max-rate', '300', '-p', '1-300', '127.0.0.1', '127.0.0.2', '127.0.0.3', '127.0.0.4', '-oJ', '-'];
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...TEST_ENV } });
    const firstHost = new Promise<void>((resolve) => {
      let seen = '';
      child.stdout.on('data', (d: Buffer) => {
        seen += d.toString();
        if (/"type":"host","ip":"127\.0\.0\.1"/.test(seen)) resolve();
      });
    });
    const done = collect(child, 60_000);
    await Promise.race([firstHost, new Promise((r) => setTimeout(r, 20_000))]);
    child.kill('SIGINT');
    const r = await done;
    expect(r.stdout).toMatch(/"type":"host","ip":"127\.0\.0\.1"/);
    expect(r.stdout).not.toMatch(/"type":"host","ip":"127\.0\.0\.4"/);
    expect(r.code, r.stderr).toBe(130);
    expect(r.stderr).toMatch(/portolan: interrupted scan not stored/);
    expect(await queryJson('scans', db)).toEqual([]);
    expect(await queryJson('hosts', db)).toEqual([]);
    expect(await queryJson('services', db)).toEqual([]);
  });
});

describe('portolan listeners', () => {
  it('lists and stores a socket this test opened, with its process and scope', async () => {
    const db = freshDb();
    const r = ok(await runCli(['listeners', '--db', db, '--json']));
    const rows = JSON.parse(r.stdout) as { protocol: string; address: string; port: number; scope: string; pid?: number }[];
    const mine = rows.find((x) => x.protocol === 'tcp' && x.port === port && x.address === '127.0.0.1');
    expect(mine, r.stdout).toBeDefined();
    expect(mine?.scope).toBe('loopback');
    if (mine?.pid !== undefined) expect(mine.pid).toBe(process.pid);

    const table = ok(await runCli(['listeners', '--no-store'])).stdout;
    expect(table.split('\n')[0]).toMatch(/^PROTO +ADDRESS:PORT +SCOPE +PID\/PROCESS +USER +SERVICE$/);
    expect(table).toContain(`127.0.0.1:${port}`);

    const scans = await queryJson<{ kind: string; source: string }>('scans', db);
    expect(scans).toHaveLength(1);
    expect(scans[0]).toMatchObject({ kind: 'listeners', source: 'local' });
    const stored = await queryJson<ServiceJson>('services', db, '--source', 'local', '--port', String(port));
    expect(stored.length).toBeGreaterThan(0);
  });

  it('refuses SSH options without --ssh, and a bad --ssh target', async () => {
    refused(await runCli(['listeners', '--no-store', '-i', '/nonexistent']), /-i needs --ssh/);
    refused(await runCli(['listeners', '--no-store', '--ssh', 'nouser']), /--ssh "nouser"/);
  });
});

describe.each(BACKENDS)('the same commands on %s', (backend) => {
  it('import, re-import, a bad file, a scan and the queries all go through --db', async () => {
    const db = locations.next(backend);
    const xml = join(FIXTURES, 'nmap-xml', 'many.xml');
    ok(await runCli(['import', '--db', db, xml]));
    const first = await queryJson<ServiceJson>('services', db);
    expect(first.length).toBeGreaterThan(0);
    ok(await runCli(['import', '--db', db, xml]));
    expect(await queryJson('services', db)).toHaveLength(first.length);
    const bad = join(dir, `bad-${backend}.gnmap`);
    writeFileSync(bad, `${readFileSync(join(FIXTURES, 'nmap-grepable', 'many.gnmap'), 'utf8').split('\n').slice(0, 4).join('\n')}\n${'B'.repeat(10 * 1024 * 1024)}\n`);
    refused(await runCli(['import', '--db', db, bad]), /line 5/);
    expect(await queryJson('scans', db)).toHaveLength(2);
    ok(await runCli(['scan', '--db', db, '--ports-only', '-Pn', '--no-progress', '-p', String(port), '127.0.0.1']));
    expect(await queryJson('services', db, '--source', 'portolan', '--port', String(port), '--state', 'open')).toHaveLength(1);
    expect(ok(await runCli(['scans', '--db', db, '--csv'])).stdout.split('\r\n').filter((l) => l !== '')).toHaveLength(4);
  });
});
