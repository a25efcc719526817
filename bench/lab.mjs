// Lab benchmarks, inside network namespaces this script creates (198.18.0.0/24):
//  - a default-DROP host (1,000 dropped ports and one open): portolan vs nmap -sT -T4, same states;
//  - the top 1,000 ports on every lab host: portolan vs nmap -sT -T4, same states.
import { startLab, labUnavailableReason } from '../test/lab/lab.mjs';
import { BIN, median, nmapPorts, nmapStates, portolanStates, ratioLine, stateDiff } from './lib.mjs';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const why = labUnavailableReason();
if (why) {
  console.log(`lab benchmarks skipped: ${why}`);
  process.exit(0);
}

const lab = await startLab({ hosts: ['mixed', 'drop', 'closed'] });
export const results = [];
try {
  const run = async (argv) => {
    const r = await lab.exec(argv, { timeoutMs: 600_000 });
    if (r.code !== 0) throw new Error(`${argv.join(' ')} exited ${r.code}: ${r.stderr.slice(0, 2000)}`);
    return r;
  };
  const compare = async (name, nmapArgs, ourArgs, target) => {
    const t = { nmap: [], portolan: [] };
    let xml = '';
    let jsonl = '';
    for (let i = 0; i < RUNS; i++) {
      const n = await run(['nmap', '-sT', '-T4', '-n', '-Pn', '-oX', '-', ...nmapArgs]);
      t.nmap.push(n.durationMs / 1000);
      xml = n.stdout;
      const p = await run([process.execPath, BIN, 'scan', '--no-store', '--ports-only', '-T4', '-n', '-Pn', '--no-progress', '-oJ', '-', ...ourArgs]);
      t.portolan.push(p.durationMs / 1000);
      jsonl = p.stdout;
    }
    const ours = portolanStates(jsonl);
    const theirs = nmapStates(xml, nmapPorts(xml));
    const diff = stateDiff(ours, theirs);
    const same = diff.length === 0 && ours.size === theirs.size;
    const [p, n] = [median(t.portolan), median(t.nmap)];
    const fmt = (xs) => xs.map((x) => x.toFixed(2)).join('/');
    const line = ratioLine(name, `portolan ${p.toFixed(3)} s, nmap ${n.toFixed(3)} s (runs ${fmt(t.portolan)} vs ${fmt(t.nmap)}); ${ours.size} port states, ${same ? 'identical' : `DIFFERENT: ${diff.join('; ')}`}`, p / n, target);
    results.push({ ...line, ok: line.ok && same });
  };
  const drop = lab.hosts.drop.v4;
  // 1-1001 holds 22 (open) and 1,000 dropped ports.
  await compare('lab-default-drop-1000', ['-p', '1-1001', drop], ['-p', '1-1001', drop], 0.1);
  const all = [lab.hosts.mixed.v4, lab.hosts.drop.v4, lab.hosts.closed.v4];
  await compare('lab-top1000-every-host', ['--top-ports', '1000', ...all], ['--top-ports', '1000', ...all], 0.5);
} finally {
  await lab.teardown();
}
