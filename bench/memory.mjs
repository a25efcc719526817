// Memory: peak RSS sweeping 127.0.0.0/16 on one port (65,536 loopback hosts), and -sL -n over
// 127.0.0.0/8 (16,777,216 targets, no packets, no DNS) in constant memory.
import { BIN, peakRss, ratioLine } from './lib.mjs';

export const results = [];
const sweep = peakRss([process.execPath, BIN, 'scan', '-Pn', '-n', '-T4', '-p', '80', '--no-progress', '-oX', '/dev/null', '127.0.0.0/16'], { timeoutMs: 600_000 });
const up = /\((\d+) hosts? up\)/.exec(sweep.stdout)?.[1];
results.push(ratioLine('rss-sweep-127.0.0.0/16', `peak RSS ${(sweep.rssKb / 1024).toFixed(1)} MiB in ${sweep.seconds.toFixed(2)} s (${up ?? '?'} hosts up)`, sweep.rssKb / 1024 / 150, 1));

const small = peakRss([process.execPath, BIN, 'scan', '-sL', '-n', '127.0.0.0/16'], { timeoutMs: 600_000 });
const big = peakRss([process.execPath, BIN, 'scan', '-sL', '-n', '127.0.0.0/8'], { timeoutMs: 600_000 });
const count = /portolan done: (\d+) IP addresses/.exec(big.stdout)?.[1];
const lines = big.stdout.split('\n').filter((l) => l.startsWith('portolan scan report for')).length;
const ok = count === '16777216' && lines === 16777216;
const r = ratioLine('list-scan-127.0.0.0/8', `${lines} targets listed (${count} counted) in ${big.seconds.toFixed(2)} s, peak RSS ${(big.rssKb / 1024).toFixed(1)} MiB vs ${(small.rssKb / 1024).toFixed(1)} MiB for a /16 (constant memory: ratio of the two)`, big.rssKb / small.rssKb, 1.25);
results.push({ ...r, ok: r.ok && ok });
