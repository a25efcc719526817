#!/usr/bin/env node
// Bring the lab up and down by hand (or from a benchmark script). Needs root.
//
//   node test/lab/lab-cli.mjs up [--hosts mixed,drop] [--services] [--daemons ssh,nginx] [--hours 12] [--icmp-ratelimit] [--json]
//                                     --services adds the opt-in hosts svc (real daemons) and hostile
//   node test/lab/lab-cli.mjs down [PREFIX]     no PREFIX: every persistent lab and every stale one
//   node test/lab/lab-cli.mjs status            labs on this machine, owner alive or not
//   node test/lab/lab-cli.mjs cleanup           remove labs whose owner died
//   node test/lab/lab-cli.mjs table [HOST]      the expected state/reason per port range
//   node test/lab/lab-cli.mjs expect HOST PORT [6]
//
// A lab from `up` is persistent: it outlives this command and cleanupStale() leaves it alone; its
// listeners still exit after --hours. Run the scanner in it with `ip netns exec <prefix>-scan ...`.
import {
  LAB_DEFAULT_HOSTS, LAB_HOSTS, cleanupStale, expectedState, labUnavailableReason, listLabs, startLab, teardownPrefix,
} from './lab.mjs';

const USAGE = 'usage: lab-cli.mjs up [--hosts a,b] [--services] [--daemons a,b] [--hours N] [--icmp-ratelimit] [--json] | down [PREFIX] | status | cleanup | table [HOST] | expect HOST PORT [4|6]';

function die(msg, code = 2) {
  process.stderr.write(`lab-cli: ${msg}\n`);
  process.exit(code);
}

function flag(args, name) {
  const i = args.indexOf(name);
  if (i < 0) return undefined;
  const v = args[i + 1];
  if (v === undefined || v.startsWith('--')) die(`${name} needs a value`);
  return v;
}

function describeOutcome(o) {
  const extra = [
    o.reasonIfNoIcmpDetail ? `errno-only: ${o.reasonIfNoIcmpDetail}` : '',
    o.nmapReason !== o.reason ? `nmap -sT: ${o.nmapReason}` : '',
    o.errnoOnlyAfterMs ? `errno only after ${o.errnoOnlyAfterMs} ms` : '',
    o.answerAfterMs ? `answer after ${o.answerAfterMs} ms` : '',
  ]
    .filter(Boolean)
    .join(', ');
  return `${o.state}/${o.reason}${extra ? ` (${extra})` : ''}${o.errno ? ` ${o.errno}` : ''}`;
}

function printTable(names) {
  for (const name of names) {
    const h = LAB_HOSTS[name];
    if (!h) die(`unknown host ${name}; hosts: ${Object.keys(LAB_HOSTS).join(', ')}`);
    console.log(`${h.name}  ${h.v4}  ${h.v6}  — ${h.about}`);
    for (const r of h.ranges) {
      const ports = r.from === r.to ? `${r.from}` : `${r.from}-${r.to}`;
      const same = r.v4 === r.v6;
      console.log(`  ${ports.padEnd(10)} ${same ? 'v4+v6' : 'v4   '} ${describeOutcome(r.v4)}  [${r.v4.cause}]`);
      if (!same) console.log(`  ${''.padEnd(10)} v6    ${describeOutcome(r.v6)}  [${r.v6.cause}]`);
    }
    console.log(`  ${'other'.padEnd(10)} v4+v6 ${describeOutcome(h.default)}  [${h.default.cause}]`);
  }
}

async function up(args) {
  let hosts = flag(args, '--hosts')?.split(',');
  if (args.includes('--services')) hosts = [...new Set([...(hosts ?? LAB_DEFAULT_HOSTS), 'svc', 'hostile'])];
  const daemons = flag(args, '--daemons')?.split(',');
  const hours = Number(flag(args, '--hours') ?? 12);
  if (!Number.isFinite(hours) || hours <= 0 || hours > 168) die('--hours must be in (0, 168]');
  const lab = await startLab({
    persistent: true, hosts, daemons, maxLifeS: Math.round(hours * 3600), icmpRateLimit: args.includes('--icmp-ratelimit'),
  });
  const summary = {
    prefix: lab.prefix,
    scanNs: lab.scanNs,
    namespaces: lab.namespaces,
    startupMs: Math.round(lab.startupMs),
    hosts: Object.fromEntries(Object.values(lab.hosts).map((h) => [h.name, { ns: h.ns, v4: h.v4, v6: h.v6 }])),
    services: lab.services.map((s) => ({ ...s, product: String(s.product) })),
    hostile: lab.hostile,
    serviceTimings: lab.serviceTimings,
    tmpDir: lab.tmpDir,
  };
  if (args.includes('--json')) {
    console.log(JSON.stringify(summary));
    return;
  }
  console.log(`lab ${lab.prefix} up in ${summary.startupMs} ms; scanner namespace ${lab.scanNs} (${lab.scanner.v4}, ${lab.scanner.v6})`);
  for (const h of Object.values(lab.hosts)) console.log(`  ${h.name.padEnd(7)} ${h.v4.padEnd(12)} ${h.v6.padEnd(12)} ${h.ns ?? '(no host)'}`);
  if (lab.services.length > 0) console.log(`daemons up in ${lab.serviceTimings.total} ms (files, logs: ${lab.tmpDir}):`);
  for (const s of lab.services) {
    console.log(`  ${String(s.port).padStart(5)} ${(s.tunnel ? `ssl/${s.service}` : s.service).padEnd(11)} ${s.daemon.padEnd(10)} ${s.version.padEnd(10)} ${s.packageVersion}${s.address6 ? '' : '  (v4 only)'}`);
  }
  for (const h of lab.hostile) console.log(`  ${String(h.port).padStart(5)} hostile ${h.behaviour.padEnd(10)} ${h.about}`);
  console.log(`run:  ip netns exec ${lab.scanNs} nmap -sT -Pn -n --reason -p 1-1200 198.18.0.11`);
  console.log(`stop: node test/lab/lab-cli.mjs down ${lab.prefix}`);
}

async function down(args) {
  const prefix = args[0];
  if (prefix !== undefined) {
    if (!(await teardownPrefix(prefix))) die(`no lab ${prefix} (see \`status\`)`, 1);
    console.log(`removed ${prefix}`);
    return;
  }
  const removed = await cleanupStale();
  for (const rec of listLabs()) {
    if (rec.persistent && (await teardownPrefix(rec.prefix))) removed.push(rec.prefix);
  }
  console.log(removed.length > 0 ? `removed ${removed.join(' ')}` : 'nothing to remove');
}

async function main() {
  const [cmd, ...args] = process.argv.slice(2);
  if (cmd === 'table') return printTable(args.length > 0 ? args : Object.keys(LAB_HOSTS));
  if (cmd === 'expect') {
    const [host, port, family] = args;
    if (!host || !LAB_HOSTS[host] || !port) die(USAGE);
    console.log(JSON.stringify(expectedState(host, Number(port), family === '6' ? 6 : 4), null, 2));
    return;
  }
  if (!['up', 'down', 'status', 'cleanup'].includes(cmd ?? '')) die(USAGE);
  const why = labUnavailableReason();
  if (why !== null) die(why, 1);
  if (cmd === 'up') return up(args);
  if (cmd === 'down') return down(args);
  if (cmd === 'cleanup') {
    const removed = await cleanupStale();
    console.log(removed.length > 0 ? `removed ${removed.join(' ')}` : 'nothing stale');
    return;
  }
  const labs = listLabs();
  if (labs.length === 0) console.log('no labs');
  for (const l of labs) {
    const owner = l.persistent ? 'persistent' : `owner ${l.ownerPid} ${l.ownerAlive ? 'alive' : 'DEAD (stale)'}`;
    console.log(`${l.prefix}  ${owner}  since ${l.createdAt}  listeners ${l.listeners.map((x) => x.pid).join(',') || '-'}`);
  }
}

main().catch((err) => die(err instanceof Error ? err.message : String(err), 1));
