/**
 * `portolan import` of empty files and of old masscan grepable output, through the built CLI: a
 * 0-byte masscan file is a scan that found nothing (with --format), an empty file without --format
 * is refused with a hint, and headerless masscan -oG lines are not taken for nmap's.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli, type RunResult } from './helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'portolan-import-empty-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let dbCount = 0;
function freshDb(): string {
  return join(dir, `db-${++dbCount}.db`);
}

function file(name: string, data: string): string {
  const path = join(dir, name);
  writeFileSync(path, data);
  return path;
}

interface ScanRow {
  kind: string;
  source: string;
  status: string;
  file: string;
  hosts: number;
  ports: number;
}

async function scans(db: string): Promise<ScanRow[]> {
  const r = await runCli(['scans', '--db', db, '--format', 'json']);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as ScanRow[];
}

function refused(r: RunResult, pattern: RegExp): void {
  expect(r.stderr).not.toMatch(/internal error/);
  expect(r.code, r.stderr).toBe(2);
  expect(r.stderr.trim().split('\n'), r.stderr).toHaveLength(1);
  expect(r.stderr).toMatch(pattern);
}

describe('portolan import: empty files', () => {
  for (const format of ['masscan-list', 'masscan-json', 'masscan-xml', 'masscan-grepable']) {
    it(`--format ${format}: a 0-byte file is a stored scan with no results`, async () => {
      const db = freshDb();
      const empty = file(`empty-${format}.out`, '');
      const r = await runCli(['import', '--db', db, '--format', format, empty]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toBe('');
      expect(r.stdout).toBe(`imported 0 hosts, 0 ports from ${empty} (${format})\n`);
      expect(await scans(db)).toMatchObject([{ kind: 'import', source: 'masscan', status: 'done', file: empty, hosts: 0, ports: 0 }]);
    });
  }

  it('--format masscan-list: a whitespace-only file is no results too', async () => {
    const db = freshDb();
    const blank = file('blank.txt', '\n \r\n\t\n');
    const r = await runCli(['import', '--db', db, '--format', 'masscan-list', blank]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`imported 0 hosts, 0 ports from ${blank} (masscan-list)\n`);
    expect(await scans(db)).toMatchObject([{ source: 'masscan', status: 'done', hosts: 0, ports: 0 }]);
  });

  it('without --format: refused naming the file, with the masscan hint; nothing stored', async () => {
    const db = freshDb();
    const empty = file('found-nothing.txt', '');
    refused(
      await runCli(['import', '--db', db, empty]),
      /^portolan: ".*found-nothing\.txt": empty file: no content to tell its format from; masscan writes an empty file when it found nothing: pass --format masscan-list .*to record an empty scan\n$/,
    );
    refused(await runCli(['import', '--db', db, file('blank.gnmap', ' \n\n')]), /"[^"]*blank\.gnmap": blank file \(whitespace only\): no content to tell its format from; .*--format masscan-list/);
    // Standard input is a file like any other.
    refused(await runCli(['import', '--db', db, '-'], { input: '' }), /^portolan: "-": empty file: .*--format masscan-list/);
    expect(await scans(db)).toEqual([]);
  });

  it('formats whose tools never write an empty file still refuse one under --format', async () => {
    const db = freshDb();
    const empty = file('empty.xml', '');
    for (const format of ['nmap-xml', 'nmap-grepable', 'nessus']) {
      refused(await runCli(['import', '--db', db, '--format', format, empty]), /"[^"]*empty\.xml": empty file\n$/);
    }
    expect(await scans(db)).toEqual([]);
  });
});

describe('portolan import: old masscan grepable output', () => {
  it('sniffs headerless masscan -oG lines as masscan, not nmap', async () => {
    const db = freshDb();
    const old = file('old.gnmap', 'Host: 198.18.0.5 ()\tPorts: 80/open/tcp////\nHost: 198.18.0.5 ()\tPorts: 443/open/tcp////\nHost: 198.18.0.6 ()\tPorts: 22/open/tcp////\n');
    const r = await runCli(['import', '--db', db, old]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`imported 2 hosts, 3 ports from ${old} (masscan-grepable)\n`);
    expect(await scans(db)).toMatchObject([{ source: 'masscan', status: 'done', hosts: 2, ports: 3 }]);
  });
});
