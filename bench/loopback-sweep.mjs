// Full 65,535-port connect sweep of 127.0.0.1: portolan vs nmap -sT and vs a plain C epoll sweeper,
// measured in the same run, alternating, median of N runs each.
import { BIN, OUT, cSweeper, median, nmapStates, ratioLine, stateDiff, timed } from './lib.mjs';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const c = cSweeper();
const times = { portolan: [], nmap: [], c: [] };
let last = {};
for (let i = 0; i < RUNS; i++) {
  const xml = join(OUT, 'sweep-nmap.xml');
  const n = timed(['nmap', '-sT', '-p-', '-T4', '-n', '-Pn', '-oX', xml, '127.0.0.1']);
  times.nmap.push(n.seconds);
  // Same work as nmap: the terminal table on stdout and XML to a file.
  const ourXml = join(OUT, 'sweep-portolan.xml');
  const p = timed([process.execPath, BIN, 'scan', '--no-store', '--ports-only', '-p-', '-T4', '-n', '-Pn', '--no-progress', '-oX', ourXml, '127.0.0.1']);
  times.portolan.push(p.seconds);
  const r = timed([c, '-c', '2000', '-p', '1-65535', '-l', '127.0.0.1']);
  times.c.push(r.seconds);
  last = { nmapXml: readFileSync(xml, 'utf8'), portolanXml: readFileSync(ourXml, 'utf8'), cOpen: r.stderr };
}
const all = Array.from({ length: 65535 }, (_, i) => i + 1);
const ours = nmapStates(last.portolanXml, all);
const theirs = nmapStates(last.nmapXml, all);
const openOurs = [...ours].filter(([, s]) => s === 'open').map(([k]) => Number(k.split(' ')[1])).sort((a, b) => a - b);
const openC = last.cOpen.split('\n').filter(Boolean).map(Number).sort((a, b) => a - b);
const diff = stateDiff(ours, theirs);
console.log(`loopback-sweep: open ports portolan [${openOurs.join(',')}] c-sweeper [${openC.join(',')}]; state differences vs nmap: ${diff.length === 0 ? 'none' : diff.join('; ')}`);
const [p, n, cc] = [median(times.portolan), median(times.nmap), median(times.c)];
const fmt = (xs) => xs.map((x) => x.toFixed(2)).join('/');
export const results = [
  ratioLine('loopback-sweep-vs-nmap', `portolan ${p.toFixed(3)} s, nmap -sT -p- -T4 ${n.toFixed(3)} s (runs ${fmt(times.portolan)} vs ${fmt(times.nmap)})`, p / n, 0.7),
  ratioLine('loopback-sweep-vs-c', `portolan ${p.toFixed(3)} s, C epoll sweeper ${cc.toFixed(3)} s (runs ${fmt(times.c)})`, p / cc, 1.3),
];
