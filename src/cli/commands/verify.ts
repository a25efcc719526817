/**
 * `portolan verify [KEY…] [--since SCAN]`: prove a fix held. Re-scans exactly the host:ports
 * behind the chosen findings (all open ones by default) with a real `portolan scan` — the same
 * scope file, detection and store — then assesses the store again and says, per finding, fixed
 * (the port is closed or filtered now, or the CVE no longer matches) or still open, with what the
 * scan saw. Verifying twice with nothing changed changes nothing. Exit 0 when nothing is still
 * open, 1 when something is, 2 on an error.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { portKey, type Finding } from '../../core/finding.js';
import { UsageError, quoteToken } from '../../core/errors.js';
import { escapeTerminal } from '../../core/escape.js';
import { assessStore } from '../assess-run.js';
import { findingsByKey } from '../finding-select.js';
import { tolerateClosedStdout } from '../stdout.js';
import { addStoreOptions, openCliStore } from '../store-location.js';
import { addFormatOptions, pickFormat, renderRows, type Column } from '../tabular.js';
import type { CliCommand, CliContext } from './index.js';

const BIN = fileURLToPath(new URL('../../../bin/portolan.js', import.meta.url));

/** What a verification needs: the store, and the scope the re-scan must keep to. */
export interface VerifyOptions {
  db?: string;
  since?: string;
  scope?: string;
}

interface Options extends VerifyOptions {
  format?: string;
  json?: boolean;
  csv?: boolean;
}

interface Seen {
  state: string;
  reason: string;
  service?: string;
}

export interface Verdict {
  key: string;
  result: 'fixed' | 'still open' | 'accepted' | 'false positive';
  evidence: string;
  tier: string;
  title: string;
}

/** The verdict table's columns (shared with `remediate --apply`). */
export const VERDICT_COLUMNS: readonly Column<Verdict>[] = [
  { header: 'RESULT', value: (v) => v.result },
  { header: 'KEY', value: (v) => v.key },
  { header: 'EVIDENCE', value: (v) => v.evidence },
  { header: 'TITLE', value: (v) => v.title },
];

/** Run `portolan scan` on `hosts` × `ports`; resolves to what it saw per `address/protocol/port`. */
function rescan(hosts: string[], ports: number[], o: VerifyOptions, seen: Map<string, Seen>): Promise<void> {
  const args = [BIN, 'scan', ...hosts, '-p', ports.join(','), '-Pn', '--no-progress', '-oJ', '-'];
  if (o.db !== undefined) args.push('--db', o.db);
  if (o.scope !== undefined) args.push('--scope', o.scope);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      if (out.length < 64 * 1024 * 1024) out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      if (err.length < 64 * 1024) err += d.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) {
        // The scan's own one-line message (out of scope, bad --db, …) is the user's answer.
        const line = err.trim().split('\n').pop() ?? '';
        reject(new UsageError('E_VERIFY', `the verification scan failed (exit ${code ?? 'signal'}): ${line.replace(/^portolan: /, '')}`));
        return;
      }
      for (const text of out.split('\n')) {
        if (!text.startsWith('{"type":"port"')) continue;
        let p: { ip: string; port: number; proto: string; state: string; reason: string; service?: { name?: string; product?: string; version?: string } };
        try {
          p = JSON.parse(text) as typeof p;
        } catch {
          continue;
        }
        const svc = p.service === undefined ? undefined : [p.service.product ?? p.service.name, p.service.version].filter((x) => x !== undefined && x !== '').join(' ');
        // A closed port's service is only the port table's guess: not evidence of anything.
        const named = p.state === 'open' && svc !== undefined && svc !== '';
        seen.set(portKey({ address: p.ip, protocol: p.proto, port: p.port }), { state: p.state, reason: p.reason, ...(named && { service: svc }) });
      }
      resolve();
    });
  });
}

/** Re-scan the findings behind `keys` (all open ones when empty) and say, per finding, fixed or still open. */
export async function verifyFindings(keys: string[], o: VerifyOptions): Promise<{ verdicts: Verdict[]; stillOpen: number }> {
  let chosen: Finding[];
  const store = await openCliStore(o.db);
  try {
    if (keys.length > 0) {
      chosen = await findingsByKey(store, keys);
    } else {
      chosen = await store.findings({ status: ['open'] });
      if (o.since !== undefined) {
        const id = Number(o.since);
        const scan = (await store.scans()).find((s) => s.id === id);
        if (!Number.isInteger(id) || scan === undefined) throw new UsageError('E_USAGE', `--since ${quoteToken(o.since)}: no such scan in the store; portolan scans lists them`, { token: o.since });
        chosen = chosen.filter((f) => f.firstSeen >= scan.startedAt);
      }
    }
  } finally {
    await store.close();
  }
  if (chosen.length === 0) return { verdicts: [], stillOpen: 0 };
  // Hosts that need the same ports share one scan.
  const portsByHost = new Map<string, Set<number>>();
  for (const f of chosen) {
    if (f.protocol !== 'tcp') continue;
    const set = portsByHost.get(f.address) ?? new Set<number>();
    set.add(f.port);
    portsByHost.set(f.address, set);
  }
  const groups = new Map<string, { hosts: string[]; ports: number[] }>();
  for (const [host, set] of portsByHost) {
    const ports = [...set].sort((a, b) => a - b);
    const g = groups.get(ports.join(',')) ?? { hosts: [], ports };
    g.hosts.push(host);
    groups.set(ports.join(','), g);
  }
  const seen = new Map<string, Seen>();
  for (const g of groups.values()) await rescan(g.hosts, g.ports, o, seen);
  const after = await openCliStore(o.db);
  let now: Finding[];
  try {
    await assessStore(after);
    now = await after.findings({ keys: chosen.map((f) => f.key) });
  } finally {
    await after.close();
  }
  const verdicts: Verdict[] = chosen.map((f) => {
    const current = now.find((x) => x.key === f.key) ?? f;
    const s = seen.get(portKey(f));
    const evidence = s === undefined ? (f.protocol === 'tcp' ? 'not scanned' : 'udp is not re-scanned') : `${s.state} (${s.reason})${s.service !== undefined ? `: ${escapeTerminal(s.service)}` : ''}`;
    const result: Verdict['result'] = current.status === 'fixed' ? 'fixed' : current.status === 'accepted' ? 'accepted' : current.status === 'false-positive' ? 'false positive' : 'still open';
    return { key: f.key, result, evidence, tier: current.tier, title: current.title };
  });
  return { verdicts, stillOpen: verdicts.filter((v) => v.result === 'still open').length };
}

function defineVerify(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('verify')
    .description('re-scan the host:ports behind findings (all open ones by default) and mark each fixed or still open (exit 1 if any is)')
    .argument('[keys...]', 'finding keys (portolan findings --format json lists them)')
    .option('--since <scan-id>', 'without keys: only open findings first seen since this scan')
    .option('--scope <file>', 'the scope file the verification scan must stay within (as portolan scan --scope)');
  addStoreOptions(cmd, false);
  addFormatOptions(cmd);
  cmd.action(async (keys: string[], o: Options) => {
    const format = pickFormat(o);
    const { verdicts, stillOpen } = await verifyFindings(keys, o);
    tolerateClosedStdout();
    if (format === 'table' && verdicts.length === 0) process.stdout.write('nothing to verify: no open findings\n');
    else process.stdout.write(renderRows(format, VERDICT_COLUMNS, verdicts));
    if (stillOpen > 0) process.stderr.write(`portolan: ${stillOpen} finding${stillOpen === 1 ? '' : 's'} still open\n`);
    ctx.setExitCode(stillOpen > 0 ? 1 : 0);
  });
}

export const verifyCommand: CliCommand = { register: defineVerify };
