// Shared helpers for the benchmarks: timing child processes, reading results, printing ratio lines.
// Benchmarks only ever target loopback or the namespace lab (198.18.0.0/24, 2001:2::/64).
import { spawnSync, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const BIN = join(ROOT, 'bin', 'portolan.js');
export const OUT = join(ROOT, 'bench', 'out');
mkdirSync(OUT, { recursive: true });

/** Run a command to completion; returns wall seconds and output. Throws on a non-zero exit. */
export function timed(argv, { timeoutMs = 600_000, allowFail = false } = {}) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', maxBuffer: 1 << 30, timeout: timeoutMs });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (!allowFail && r.status !== 0) throw new Error(`${argv.join(' ')} exited ${r.status}: ${r.stderr?.slice(0, 2000)}`);
  return { seconds, stdout: r.stdout ?? '', stderr: r.stderr ?? '', status: r.status };
}

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/**
 * Port states from nmap XML: Map "ip port" → state. Collapsed ports come from each `<extraports>`'s
 * `<extrareasons ports="…">` lists; a remaining unlisted port takes the state of an extraports
 * element without port lists (older nmap), given the caller's port list.
 */
export function nmapStates(xmlText, ports) {
  const states = new Map();
  for (const host of xmlText.split('<host ').slice(1)) {
    const ip = /<address addr="([^"]+)"/.exec(host)?.[1];
    if (!ip) continue;
    for (const m of host.matchAll(/<port protocol="tcp" portid="(\d+)"><state state="([a-z|]+)"/g)) states.set(`${ip} ${m[1]}`, m[2]);
    let fallback;
    for (const ex of host.matchAll(/<extraports state="([a-z|]+)"[^>]*>([\s\S]*?)<\/extraports>/g)) {
      let listed = false;
      for (const r of ex[2].matchAll(/<extrareasons [^>]*ports="([^"]+)"/g)) {
        listed = true;
        for (const part of r[1].split(',')) {
          const [a, b] = part.split('-').map(Number);
          for (let p = a; p <= (b ?? a); p++) states.set(`${ip} ${p}`, ex[1]);
        }
      }
      if (!listed) fallback = ex[1];
    }
    if (fallback) for (const p of ports) if (!states.has(`${ip} ${p}`)) states.set(`${ip} ${p}`, fallback);
  }
  return states;
}

/** Port states from portolan JSON Lines. */
export function portolanStates(jsonl) {
  const states = new Map();
  for (const line of jsonl.split('\n')) {
    if (!line.includes('"type":"port"')) continue;
    const r = JSON.parse(line);
    states.set(`${r.ip} ${r.port}`, r.state);
  }
  return states;
}

/** The ports nmap scanned, from its scaninfo. */
export function nmapPorts(xmlText) {
  const services = /<scaninfo [^>]*services="([^"]+)"/.exec(xmlText)?.[1] ?? '';
  const ports = [];
  for (const part of services.split(',')) {
    const [a, b] = part.split('-').map(Number);
    for (let p = a; p <= (b ?? a); p++) ports.push(p);
  }
  return ports;
}

/** Differences between two state maps, as readable lines (at most `max`). */
export function stateDiff(a, b, max = 10) {
  const out = [];
  for (const key of new Set([...a.keys(), ...b.keys()])) {
    if (a.get(key) !== b.get(key)) out.push(`${key}: ${a.get(key)} vs ${b.get(key)}`);
    if (out.length >= max) break;
  }
  return out;
}

/** One result line: `name: what, ratio R (target ≤ T) ok|MISSED`. */
export function ratioLine(name, detail, ratio, target) {
  const verdict = ratio <= target ? 'ok' : 'MISSED';
  const line = `${name}: ${detail}; ratio ${ratio.toFixed(3)} (target <= ${target}) ${verdict}`;
  console.log(line);
  return { name, ratio, target, ok: ratio <= target, line };
}

/** Build the C reference sweeper if needed. */
export function cSweeper() {
  const bin = join(ROOT, 'bench', 'bin', 'c-sweeper');
  mkdirSync(dirname(bin), { recursive: true });
  if (!existsSync(bin)) execFileSync('cc', ['-O2', '-o', bin, join(ROOT, 'bench', 'c-sweeper.c')]);
  return bin;
}

/** Peak RSS (KiB) of a command, via GNU time. */
export function peakRss(argv, opts) {
  const r = timed(['/usr/bin/time', '-f', '%M', ...argv], opts);
  const kb = Number(r.stderr.trim().split('\n').pop());
  return { ...r, rssKb: kb };
}

export function readText(path) {
  return readFileSync(path, 'utf8');
}
