// Service/version detection benchmark on the service lab (real Debian daemons in a network
// namespace this script creates, 198.18.0.0/24): `nmap -sT -sV` against `portolan scan`, both
// writing nmap-format XML, scored per port against the lab's ground truth (versions read from dpkg)
// on four columns: state, service, product, version. Fails when portolan gets fewer right than nmap
// in any column or takes more than a third of nmap's wall time.
//
//   node bench/detect.mjs [-v]            -v: the per-port table even when everything matches
//   BENCH_RUNS=3                           repeats; times are medians, scores from the last run
//   BENCH_HOSTILE=1                        also the hostile host, each tool stopped after 4 min: nmap -sV
//                                          took 2 min to over 6 min there (it keeps the endless stream in
//                                          memory: 800 MB and growing); a stopped run scores 0
//   BENCH_PORTOLAN_ARGS="--flag x"         extra portolan arguments (split on spaces)
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { readFileSync, rmSync } from 'node:fs';
import { labUnavailableReason, startLab } from '../test/lab/lab.mjs';
import { which } from '../test/lab/sys.mjs';
import { BIN, OUT, median, ratioLine } from './lib.mjs';
import { COLUMNS, diffTable, parseServiceXml, scoreTool } from './detect-score.mjs';

const RUNS = Math.max(1, Number(process.env.BENCH_RUNS ?? 1) || 1);
const VERBOSE = process.argv.includes('-v') || process.env.BENCH_VERBOSE === '1';
const HOSTILE = process.env.BENCH_HOSTILE === '1';
const EXTRA = (process.env.BENCH_PORTOLAN_ARGS ?? '').split(' ').filter(Boolean);
const TIME_TARGET = 0.33;
const SCAN_TIMEOUT_MS = 900_000;
const HOSTILE_TIMEOUT_MS = 240_000;

export const results = [];

/** `a-b` runs of a sorted port list, nmap -p syntax. */
function portSpec(ports) {
  const s = [...new Set(ports)].sort((a, b) => a - b);
  const parts = [];
  for (let i = 0; i < s.length; ) {
    let j = i;
    while (j + 1 < s.length && s[j + 1] === s[j] + 1) j++;
    parts.push(i === j ? `${s[i]}` : `${s[i]}-${s[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}

/** Run one tool in the scanner namespace, timed; its XML (or '' when it failed) and wall seconds. */
async function runTool(lab, label, argv, xmlPath, timeoutMs) {
  rmSync(xmlPath, { force: true });
  const r = await lab.exec(argv, { timeoutMs });
  let xml = '';
  try {
    xml = readFileSync(xmlPath, 'utf8');
  } catch {
    // no file: reported below
  }
  if (r.code !== 0 || xml === '') {
    const how = r.timedOut ? `stopped after ${timeoutMs / 1000} s; its time is a lower bound` : `exit ${r.code}`;
    console.log(`  ${label} FAILED (${how}): ${r.stderr.trim().slice(-800) || '(no stderr)'}`);
  }
  return { seconds: r.durationMs / 1000, xml };
}

function safeParse(label, xml) {
  try {
    return parseServiceXml(xml);
  } catch (err) {
    console.log(`  ${label}: unreadable XML: ${err instanceof Error ? err.message : String(err)}`);
    return new Map();
  }
}

/** nmap and portolan on the same targets and ports, `RUNS` times; prints the score table and diffs. */
async function compare(lab, name, truth, columns, timeoutMs = SCAN_TIMEOUT_MS) {
  const addresses = [...new Set(truth.map((t) => t.address))];
  const spec = portSpec(truth.map((t) => t.port));
  const files = { nmap: join(OUT, `${name}-nmap.xml`), portolan: join(OUT, `${name}-portolan.xml`) };
  const argv = {
    nmap: ['nmap', '-sT', '-sV', '-Pn', '-n', '-p', spec, '-oX', files.nmap, ...addresses],
    portolan: [process.execPath, BIN, 'scan', '--no-store', '-Pn', '-n', '--no-progress', '-p', spec, '-oX', files.portolan, ...EXTRA, ...addresses],
  };
  const times = { nmap: [], portolan: [] };
  const xml = { nmap: '', portolan: '' };
  for (let i = 0; i < RUNS; i++) {
    for (const tool of ['nmap', 'portolan']) {
      const r = await runTool(lab, tool, argv[tool], files[tool], timeoutMs);
      times[tool].push(r.seconds);
      xml[tool] = r.xml;
    }
  }
  const scored = {
    nmap: scoreTool(truth, safeParse('nmap', xml.nmap)),
    portolan: scoreTool(truth, safeParse('portolan', xml.portolan)),
  };
  const [tp, tn] = [median(times.portolan), median(times.nmap)];
  const cell = (t) => `${t.correct}/${t.total}`.padStart(8);
  console.log(`${name}: ${truth.length} ports on ${addresses.join(' ')}`);
  console.log(`  ${'tool'.padEnd(9)}${columns.map((c) => c.padStart(8)).join('')}${'time'.padStart(10)}`);
  for (const [tool, t] of [['nmap', tn], ['portolan', tp]]) {
    console.log(`  ${tool.padEnd(9)}${columns.map((c) => cell(scored[tool].totals[c])).join('')}${`${t.toFixed(2)} s`.padStart(10)}`);
  }
  const tools = [{ label: 'nmap', scored: scored.nmap }, { label: 'portolan', scored: scored.portolan }];
  const diff = diffTable(tools, VERBOSE);
  if (diff.length > 0) console.log(`  per port (truth, then each tool):\n${diff.join('\n')}`);
  for (const c of columns) {
    const [p, n] = [scored.portolan.totals[c], scored.nmap.totals[c]];
    const ok = p.correct >= n.correct;
    const line = `${name}-${c}: portolan ${p.correct}/${p.total}, nmap ${n.correct}/${n.total} ${ok ? 'ok' : 'FAIL'}`;
    console.log(line);
    results.push({ name: `${name}-${c}`, ok, line });
  }
  const fmt = (xs) => xs.map((x) => x.toFixed(2)).join('/');
  const ratio = tn > 0 ? tp / tn : Infinity;
  results.push(ratioLine(`${name}-time`, `portolan ${tp.toFixed(3)} s, nmap -sV ${tn.toFixed(3)} s (runs ${fmt(times.portolan)} vs ${fmt(times.nmap)})`, ratio, TIME_TARGET));
}

async function main() {
  const why = labUnavailableReason() ?? (which('nmap') === null ? '`nmap` is not installed' : null);
  if (why) {
    console.log(`detection benchmark skipped: ${why}`);
    return;
  }
  const lab = await startLab({ hosts: HOSTILE ? ['svc', 'hostile'] : ['svc'] });
  try {
    console.log(`service lab up in ${(lab.startupMs / 1000).toFixed(1)} s (daemons: ${lab.serviceTimings.total} ms)`);
    await compare(lab, 'detect', lab.services, COLUMNS);
    if (HOSTILE) await compare(lab, 'detect-hostile', lab.hostile, ['state', 'service'], HOSTILE_TIMEOUT_MS);
  } finally {
    await lab.teardown();
  }
}

await main();
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.exitCode = results.every((r) => r.ok) ? 0 : 1;
}
