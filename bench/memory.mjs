// Memory: peak RSS sweeping 127.0.0.0/16 on one port (65,536 loopback hosts), and -sL -n over
// 127.0.0.0/8 (16,777,216 targets, no packets, no DNS) in constant memory.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, OUT, peakRss, ratioLine, timed } from './lib.mjs';

export const results = [];
const sweep = peakRss([process.execPath, BIN, 'scan', '--no-store', '--ports-only', '-Pn', '-n', '-T4', '-p', '80', '--no-progress', '-oX', '/dev/null', '127.0.0.0/16'], { timeoutMs: 600_000 });
const up = /\((\d+) hosts? up\)/.exec(sweep.stdout)?.[1];
results.push(ratioLine('rss-sweep-127.0.0.0/16', `peak RSS ${(sweep.rssKb / 1024).toFixed(1)} MiB in ${sweep.seconds.toFixed(2)} s (${up ?? '?'} hosts up)`, sweep.rssKb / 1024 / 150, 1));

/** -sL through a pipe that counts lines, so 16 M lines never sit in this process's memory. */
function listScan(range) {
  const rssFile = join(OUT, 'list-rss.txt');
  const awk = `awk '/^portolan scan report for/{n++} /^portolan done/{d=$0} END{print n; print d}'`;
  const r = timed(['bash', '-c', `/usr/bin/time -f %M -o ${rssFile} "$0" "$@" | ${awk}`, process.execPath, BIN, 'scan', '-sL', '-n', range], { timeoutMs: 600_000 });
  const [lines, done] = r.stdout.trim().split('\n');
  return { ...r, lines: Number(lines), done: done ?? '', rssKb: Number(readFileSync(rssFile, 'utf8').trim().split('\n').pop()) };
}
const small = listScan('127.0.0.0/16');
const big = listScan('127.0.0.0/8');
const count = /portolan done: (\d+) IP addresses/.exec(big.done)?.[1];
const lines = big.lines;
const ok = count === '16777216' && lines === 16777216;
const r = ratioLine('list-scan-127.0.0.0/8', `${lines} targets listed (${count} counted) in ${big.seconds.toFixed(2)} s, peak RSS ${(big.rssKb / 1024).toFixed(1)} MiB vs ${(small.rssKb / 1024).toFixed(1)} MiB for a /16 (256 times the targets; constant memory: ratio of the two peaks)`, big.rssKb / small.rssKb, 1.5);
results.push({ ...r, ok: r.ok && ok });
