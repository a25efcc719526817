/**
 * The CLI end to end, as a user runs it, against loopback only (127.0.0.0/8 and ::1).
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, collect, jsonLines, portLines, runCli } from './helpers/cli.js';
import { listeningPorts } from './helpers/listening.js';
import { loopbackServers } from './helpers/loopback-server.js';

const dir = mkdtempSync(join(tmpdir(), 'portolan-cli-'));
const server = loopbackServers();
let port = 0;

beforeAll(async () => {
  port = await server.serve((s) => {
    // Read (and drop) what a client sends, so its FIN is seen.
    s.resume();
    s.end('SSH-2.0-Test\r\n');
  });
});
afterAll(() => server.closeAll());

function openSet(jsonl: string): number[] {
  return jsonLines(jsonl)
    .filter((r) => r.type === 'port' && r.state === 'open')
    .map((r) => Number(r.port))
    .sort((a, b) => a - b);
}

/**
 * Other processes may open or close listeners while a sweep runs, so the truth is bracketed: every
 * port reported open was listening before or after the sweep (no false open), and every port
 * listening both before and after was found (no miss).
 */
function expectOpenSetMatches(open: number[], before: Set<number>, after: Set<number>): void {
  const falseOpens = open.filter((p) => !before.has(p) && !after.has(p));
  const missed = [...before].filter((p) => after.has(p) && !open.includes(p));
  expect({ falseOpens, missed }).toEqual({ falseOpens: [], missed: [] });
  expect(open).toContain(port);
}

describe('portolan scan: input errors', () => {
  const cases: [string[], RegExp][] = [
    [['10.0.0.300'], /"10\.0\.0\.300"/],
    [['1.2.3.4/33'], /"1\.2\.3\.4\/33"/],
    [['-p', '70000', '127.0.0.1'], /"70000"/],
    [['-p', 'nosuchservice', '127.0.0.1'], /"nosuchservice"/],
    [['-p', '', '127.0.0.1'], /empty port list/],
    [[], /no targets/],
    [['-T', '9', '127.0.0.1'], /-T "9"/],
    [['--max-retries', 'x', '127.0.0.1'], /--max-retries "x"/],
    [['-sS', '127.0.0.1'], /connect scans only/],
    [['--version-intensity', '12', '127.0.0.1'], /--version-intensity "12"/],
    [['--ports-only', '-sV', '127.0.0.1'], /--ports-only and -sV/],
    [['--signatures', '/nonexistent/sigs.yaml', '127.0.0.1'], /sigs\.yaml/],
  ];
  for (const [args, pattern] of cases) {
    it(`refuses ${JSON.stringify(args)} with one line and exit 2, sending nothing`, async () => {
      const before = server.accepted;
      const r = await runCli(['scan', ...args, '-p', String(port), '127.0.0.1'].slice(0, args.length + 1).concat(args.includes('-p') ? [] : []));
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/^portolan: /);
      expect(r.stderr).toMatch(pattern);
      expect(r.stdout).toBe('');
      expect(server.accepted).toBe(before);
    });
  }

  it('names the bad token even when good targets come first, and sends nothing', async () => {
    const before = server.accepted;
    const r = await runCli(['scan', '-p', String(port), '127.0.0.1', '127.0.0.1/33']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/127\.0\.0\.1\/33/);
    expect(server.accepted).toBe(before);
  });
});

describe('portolan scan: outputs', () => {
  it('-sL -n lists targets without sending anything', async () => {
    const before = server.accepted;
    const r = await runCli(['scan', '-sL', '-n', '127.0.0.0/30', '127.0.1.1-3', '--exclude', '127.0.1.2']);
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n').filter((l) => l.startsWith('portolan scan report for'));
    expect(lines.map((l) => l.split(' ').pop())).toEqual(['127.0.0.0', '127.0.0.1', '127.0.0.2', '127.0.0.3', '127.0.1.1', '127.0.1.3']);
    expect(r.stdout).toMatch(/portolan done: 6 IP addresses/);
    expect(server.accepted).toBe(before);
  });

  it('-oA writes normal, XML (DTD-valid, ndiff-readable), grepable and JSON Lines', async () => {
    const base = join(dir, 'all');
    const r = await runCli(['scan', '-Pn', '-p', `1-1024,${port}`, '127.0.0.1', '-oA', base, '--reason']);
    expect(r.code).toBe(0);
    for (const ext of ['.nmap', '.xml', '.gnmap', '.jsonl']) expect(existsSync(base + ext)).toBe(true);
    execFileSync('xmllint', ['--noout', '--dtdvalid', '/usr/share/nmap/nmap.dtd', `${base}.xml`]);
    expect(readFileSync(`${base}.nmap`, 'utf8')).toMatch(new RegExp(`${port}/tcp\\s+open`));
    expect(readFileSync(`${base}.gnmap`, 'utf8')).toMatch(new RegExp(`${port}/open/tcp`));
    expect(openSet(readFileSync(`${base}.jsonl`, 'utf8'))).toContain(port);
    // The terminal table still goes to stdout.
    expect(r.stdout).toMatch(/syn-ack/);
    // ndiff: identical scans → exit 0.
    const r2 = await runCli(['scan', '-Pn', '-p', `1-1024,${port}`, '127.0.0.1', '-oX', `${base}-2.xml`]);
    expect(r2.code).toBe(0);
    execFileSync('ndiff', [`${base}.xml`, `${base}-2.xml`]);
  });

  it('-oJ - streams JSON Lines on stdout and nothing else', async () => {
    const r = await runCli(['scan', '-Pn', '-p', `${port},1-100`, '127.0.0.1', '-oJ', '-']);
    expect(r.code).toBe(0);
    const rows = jsonLines(r.stdout);
    expect(rows[0]!.type).toBe('begin');
    expect(rows.at(-1)!.type).toBe('end');
    expect(rows.filter((x) => x.type === 'port')).toHaveLength(101);
    expect(openSet(r.stdout)).toEqual([port]);
  });

  it('--open shows only open ports', async () => {
    const r = await runCli(['scan', '-Pn', '--open', '-p', `${port},1-100`, '127.0.0.1']);
    expect(r.stdout).toMatch(new RegExp(`${port}/tcp\\s+open`));
    expect(r.stdout).not.toMatch(/\/tcp\s+closed/);
  });

  it('IPv6 loopback', async () => {
    const r = await runCli(['scan', '-Pn', '-p', '1-100', '::1', '-oJ', '-']);
    expect(r.code).toBe(0);
    expect(jsonLines(r.stdout).filter((x) => x.type === 'port' && x.family === 6)).toHaveLength(100);
  });
});

describe('portolan scan: limits and correctness', () => {
  it('sweeps all 65535 ports under ulimit -n 256 with the right open set', async () => {
    const before = listeningPorts('127.0.0.1');
    const r = await runCli(['scan', '--ports-only', '-Pn', '-T4', '-p-', '127.0.0.1', '-oJ', '-'], { shellPrefix: 'ulimit -n 256;', timeoutMs: 120_000 });
    expect(r.stderr).not.toMatch(/internal error/);
    expect(r.code).toBe(0);
    expectOpenSetMatches(openSet(r.stdout), before, listeningPorts('127.0.0.1'));
    expect(jsonLines(r.stdout).filter((x) => x.type === 'port')).toHaveLength(65535);
  });

  it('repeated full loopback sweeps: zero false opens, zero missed listeners', async () => {
    for (let i = 0; i < 3; i++) {
      const before = listeningPorts('127.0.0.1');
      const r = await runCli(['scan', '--ports-only', '-Pn', '-T4', '-p-', '127.0.0.1', '-oJ', '-'], { timeoutMs: 120_000 });
      expect(r.code).toBe(0);
      expectOpenSetMatches(openSet(r.stdout), before, listeningPorts('127.0.0.1'));
    }
  });

  it('leaves no TIME_WAIT behind', async () => {
    await runCli(['scan', '-Pn', '-p', `${port},1-2000`, '127.0.0.1']);
    const tw = execFileSync('ss', ['-Htan', 'state', 'time-wait', `( dport = :${port} )`]).toString().trim();
    expect(tw).toBe('');
  });
});

describe('portolan scan: scope, interruption, resume', () => {
  it('refuses targets outside --scope before sending anything', async () => {
    const scope = join(dir, 'scope.txt');
    writeFileSync(scope, '# lab\n127.0.0.2\n127.0.1.0/24\n');
    const before = server.accepted;
    const r = await runCli(['scan', '--scope', scope, '-Pn', '-p', String(port), '127.0.0.1']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/outside the scope/);
    expect(r.stderr).toMatch(/"127\.0\.0\.1"/);
    expect(server.accepted).toBe(before);
    const ok = await runCli(['scan', '--scope', scope, '-Pn', '-p', '1-10', '127.0.1.0/30']);
    expect(ok.code).toBe(0);
  });

  it('Ctrl-C stops and still writes valid XML', async () => {
    const xml = join(dir, 'int.xml');
    const child = spawn(process.execPath, [BIN, 'scan', '--ports-only', '-Pn', '--max-rate', '300', '-p-', '127.0.0.1', '127.0.0.2', '-oX', xml, '--checkpoint', join(dir, 'int.ckpt')]);
    setTimeout(() => child.kill('SIGINT'), 1500);
    const r = await collect(child, 30_000);
    expect(r.code).toBe(130);
    expect(r.stderr).toMatch(/--resume/);
    execFileSync('xmllint', ['--noout', '--dtdvalid', '/usr/share/nmap/nmap.dtd', xml]);
    expect(readFileSync(xml, 'utf8')).toMatch(/exit="error"/);
  });

  it('--resume after kill -9 continues without rescanning finished hosts; the merge equals a clean run', async () => {
    const targets = ['127.0.2.1-24'];
    const args = ['scan', '--ports-only', '-Pn', '-p', `1-300,${port}`, '--max-rate', '1500', '--max-hostgroup', '2', ...targets];
    const clean = await runCli([...args, '-oJ', '-'], { timeoutMs: 60_000 });
    expect(clean.code).toBe(0);

    const ckpt = join(dir, 'kill.ckpt');
    const out = join(dir, 'kill.jsonl');
    const child = spawn(process.execPath, [BIN, ...args, '--checkpoint', ckpt, '-oJ', out]);
    await new Promise((r) => setTimeout(r, 3000));
    child.kill('SIGKILL');
    await collect(child, 10_000);
    const saved = readFileSync(ckpt, 'utf8').split('\n').filter((l) => l.includes('"type":"host"')).length;
    expect(saved).toBeGreaterThan(0);
    expect(saved).toBeLessThan(24);

    const resumed = await runCli(['scan', '--resume', ckpt], { timeoutMs: 60_000 });
    expect(resumed.stderr).not.toMatch(/internal error/);
    expect(resumed.code).toBe(0);
    const merged = readFileSync(out, 'utf8');
    expect(portLines(merged)).toEqual(portLines(clean.stdout));
    // Finished hosts were not scanned again: the resumed run sent probes only for the rest.
    const end = jsonLines(merged).find((x) => x.type === 'end');
    expect(Number(end?.probes_sent)).toBeGreaterThan(0);
    expect(Number(end?.probes_sent)).toBeLessThanOrEqual((24 - saved) * 301);
  });
});
