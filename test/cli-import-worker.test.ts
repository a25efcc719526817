/**
 * Large files are parsed in a worker thread while the main thread writes the store. The result
 * must be the same as an in-thread read (standard input is always read in-thread), and warnings,
 * errors with their line, rollback and Ctrl-C must behave as they do there.
 */
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nmapXmlParts, writeNmapXml } from '../bench/nmap-xml.mjs';
import { WORKER_MIN_BYTES } from '../src/import/threaded.js';
import { BIN, TEST_ENV, TEST_HOME, collect, runCli, type RunResult } from './helpers/cli.js';
import { Locations } from './helpers/store.js';

const where = new Locations();
const big = join(TEST_HOME, 'big.xml');
const HOSTS = 300;
const PORTS = 60;

beforeAll(async () => {
  await writeNmapXml(big, HOSTS, PORTS);
  expect(statSync(big).size).toBeGreaterThan(WORKER_MIN_BYTES);
});
afterAll(() => where.cleanup());

function ok(r: RunResult): RunResult {
  expect(r.stderr, r.stderr).not.toMatch(/internal error|worker failed/);
  expect(r.code, r.stderr).toBe(0);
  return r;
}

async function dump(db: string): Promise<{ hosts: unknown[]; services: unknown[]; scans: { hosts: number; ports: number; args: string[] }[] }> {
  const get = async (what: string) => JSON.parse(ok(await runCli([what, '--db', db, '--json'])).stdout) as unknown[];
  return { hosts: await get('hosts'), services: await get('services'), scans: (await get('scans')) as { hosts: number; ports: number; args: string[] }[] };
}

describe('import of a large file through the worker thread', () => {
  it('stores exactly what an in-thread read of the same bytes stores', async () => {
    const threaded = where.next('sqlite');
    const inline = where.next('sqlite');
    expect(ok(await runCli(['import', '--db', threaded, big])).stdout).toMatch(`imported ${HOSTS} hosts, ${HOSTS * PORTS} ports`);
    expect(ok(await runCli(['import', '--db', inline, '-'], { input: readFileSync(big, 'utf8') })).stdout).toMatch(`imported ${HOSTS} hosts, ${HOSTS * PORTS} ports`);
    const a = await dump(threaded);
    const b = await dump(inline);
    expect(a.hosts).toEqual(b.hosts);
    expect(a.services).toEqual(b.services);
    // One open port in five enters services; the file's own command line is the scan's args.
    expect(a.services).toHaveLength((HOSTS * PORTS) / 5);
    expect(a.scans[0]).toMatchObject({ hosts: HOSTS, ports: HOSTS * PORTS, args: ['nmap', '-sT', '-sV', '-p1-1000', '198.18.0.0/22'] });
  });

  it('imports the complete hosts of a truncated file and warns once', async () => {
    const cut = join(TEST_HOME, 'cut.xml');
    const text = readFileSync(big, 'utf8');
    writeFileSync(cut, text.slice(0, Math.floor(text.length * 0.8)));
    const db = where.next('sqlite');
    const r = ok(await runCli(['import', '--db', db, cut]));
    const warned = r.stderr.trim().split('\n');
    expect(warned, r.stderr).toHaveLength(1);
    expect(warned[0]).toMatch(/^portolan: warning: .*cut\.xml.*: truncated after (\d+) hosts/);
    const hosts = Number(/truncated after (\d+) hosts/.exec(warned[0]!)![1]);
    expect(hosts).toBeGreaterThan(HOSTS / 2);
    expect(hosts).toBeLessThan(HOSTS);
    expect((await dump(db)).scans[0]).toMatchObject({ hosts, ports: hosts * PORTS });
  });

  it('a bad port deep in the file: one line naming file and line, exit 2, nothing stored', async () => {
    const parts = [...nmapXmlParts(HOSTS, PORTS)];
    const at = parts.length - 5;
    parts[at] = parts[at]!.replace('portid="7"', 'portid="70000"');
    const bad = join(TEST_HOME, 'bad-port.xml');
    writeFileSync(bad, parts.join(''));
    const line = parts.slice(0, at).join('').split('\n').length + parts[at].slice(0, parts[at].indexOf('portid="70000"')).split('\n').length - 1;
    const db = where.next('sqlite');
    const r = await runCli(['import', '--db', db, bad]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain(`bad-port.xml" line ${line}: bad portid`);
    expect((await dump(db)).scans).toEqual([]);
  });

  it('Ctrl-C stops the worker and stores nothing', async () => {
    const huge = join(TEST_HOME, 'huge.xml');
    await writeNmapXml(huge, 400, 1000);
    const db = where.next('sqlite');
    const child = spawn(process.execPath, [BIN, 'import', '--db', db, huge], { env: { ...process.env, ...TEST_ENV } });
    // Interrupt once the import is under way: batches are in the write-ahead log.
    const started = Date.now();
    while (Date.now() - started < 10_000) {
      await new Promise((r) => setTimeout(r, 50));
      try {
        if (statSync(`${db}-wal`).size > 1 << 20) break;
      } catch {
        // not yet
      }
    }
    child.kill('SIGINT');
    const r = await collect(child, 30_000);
    expect(r.code, r.stderr).toBe(130);
    expect(r.stderr).toMatch(/interrupted; import of .*huge\.xml.* not stored/);
    expect((await dump(db)).scans).toEqual([]);
  });
});
