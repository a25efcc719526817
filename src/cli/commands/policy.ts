/**
 * `portolan check --policy FILE [--scan ID]`: a stored scan against the allowed-services policy —
 * unexpected open services (with the group and the reason) and expected services the scan found
 * not open. Exit 0 when both lists are empty, 1 when not (a CI gate), 2 on an error.
 * `portolan baseline --from-scan ID [-o FILE]`: a policy that allows exactly what a known-good scan
 * found open, to review and commit; `check` of that same scan against it exits 0.
 */
import { open, writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { parseCount } from '../../core/duration.js';
import { UsageError, quoteToken } from '../../core/errors.js';
import { escapeTerminal } from '../../core/escape.js';
import type { Protocol } from '../../core/model.js';
import { baselineFrom, checkPolicy, MAX_POLICY_BYTES, parseHostEntry, parsePolicy, type BaselineOptions, type Policy, type PolicyService } from '../../assess/policy.js';
import type { ObservedPort, ScanRow, Store } from '../../store/types.js';
import { tolerateClosedStdout } from '../stdout.js';
import { addStoreOptions, openCliStore } from '../store-location.js';
import { addFormatOptions, pickFormat, renderRows, timeText, type Column } from '../tabular.js';
import type { CliCommand, CliContext } from './index.js';

/** A stored port in the shape the policy checks read, keeping what the output shows. */
interface PortService extends PolicyService {
  product?: string;
  version?: string;
}

/** One line of `check` output: an open service no rule allows, or an expected one not open. */
export interface CheckRow {
  kind: 'unexpected' | 'missing';
  address: string;
  protocol: Protocol;
  port: number;
  state: string;
  service?: string;
  product?: string;
  version?: string;
  group: string;
  /** Every group naming the host (unexpected services only). */
  groups?: string[];
  zone?: string;
  /** The rule that expects the service (missing services only). */
  rule?: string;
  reason: string;
}

const COLUMNS: readonly Column<CheckRow>[] = [
  { header: 'PROBLEM', value: (r) => r.kind },
  { header: 'HOST', value: (r) => r.address },
  { header: 'PORT', value: (r) => `${r.port}/${r.protocol}` },
  { header: 'STATE', value: (r) => r.state },
  { header: 'SERVICE', value: (r) => [r.service, r.product, r.version].filter((x) => x !== undefined && x !== '').join(' ') },
  { header: 'GROUP', value: (r) => r.group },
  { header: 'REASON', value: (r) => r.reason },
];

const SCAN_ID_MAX = 2 ** 31 - 1;

/**
 * A file's bytes, at most one byte past the policy cap (parsePolicy then refuses it by size), so
 * `--policy /dev/zero` or a 10 GB file costs 16 MiB, not all memory.
 */
async function readCapped(file: string, option: string): Promise<Buffer> {
  let handle;
  try {
    handle = await open(file, 'r');
  } catch (err) {
    throw new UsageError('E_USAGE', `${option} ${quoteToken(file)}: cannot read the file (${(err as NodeJS.ErrnoException).code ?? 'error'})`, { token: file });
  }
  try {
    const chunks: Buffer[] = [];
    let total = 0;
    while (total <= MAX_POLICY_BYTES) {
      const want = Math.min(1024 * 1024, MAX_POLICY_BYTES + 1 - total);
      const { bytesRead, buffer } = await handle.read(Buffer.alloc(want), 0, want, null);
      if (bytesRead === 0) break;
      chunks.push(buffer.subarray(0, bytesRead));
      total += bytesRead;
    }
    return Buffer.concat(chunks);
  } catch (err) {
    // A directory opens fine on Linux and fails on read (EISDIR).
    throw new UsageError('E_USAGE', `${option} ${quoteToken(file)}: cannot read the file (${(err as NodeJS.ErrnoException).code ?? 'error'})`, { token: file });
  } finally {
    await handle.close();
  }
}

/** Read and parse a policy file given to `option` (size-capped; errors are one line). */
export async function loadPolicyFile(file: string, option = '--policy'): Promise<Policy> {
  return parsePolicy(await readCapped(file, option), file);
}

/** The scan asked for, or the newest one; a missing scan is a usage error. */
async function pickScan(store: Store, id: number | undefined): Promise<ScanRow> {
  if (id === undefined) {
    const newest = (await store.scans(1))[0];
    if (newest === undefined) throw new UsageError('E_USAGE', 'no scan in the store yet; run portolan scan or portolan import first, or give --db');
    return newest;
  }
  const row = (await store.scans()).find((s) => s.id === id);
  if (row === undefined) throw new UsageError('E_USAGE', `no scan ${id} in the store; portolan scans lists them`);
  return row;
}

/** Canonical address text as the policy writes it (dotted quad, RFC 5952, IPv4-mapped folded), so `covered` matches. */
function canonAddress(address: string): string {
  const entry = parseHostEntry(address);
  return typeof entry === 'string' ? address.trim().toLowerCase() : entry.text;
}

function toPolicyService(p: ObservedPort, hostnames: ReadonlyMap<string, string>): PortService {
  const s: PortService = { address: p.address, protocol: p.protocol, port: p.port, state: p.state };
  const svc = p.service;
  if (svc?.name !== undefined) s.name = svc.name;
  if (svc?.tunnel !== undefined) s.tunnel = svc.tunnel;
  if (svc?.product !== undefined) s.product = svc.product;
  if (svc?.version !== undefined) s.version = svc.version;
  const hostname = svc?.hostname ?? hostnames.get(p.address);
  if (hostname !== undefined) s.hostname = hostname;
  return s;
}

const usesNames = (policy: Policy): boolean => policy.groups.some((g) => g.hosts.some((h) => h.kind === 'name'));

/** The ports a scan recorded, as policy services; host names only when the policy matches on names. */
async function scanServices(store: Store, scanId: number, withNames: boolean): Promise<PortService[]> {
  const ports = await store.observedPorts(scanId);
  const hostnames = new Map<string, string>();
  if (withNames) {
    // The store keeps names per host (over every scan); one name is what a policy check matches on.
    for (const h of await store.hosts()) if (h.hostnames[0] !== undefined) hostnames.set(h.address, h.hostnames[0]);
  }
  return ports.map((p) => toPolicyService(p, hostnames));
}

/** The output rows of a check: unexpected services first, then missing ones, each in host and port order. */
export function checkRows(policy: Policy, services: readonly PortService[]): { rows: CheckRow[]; allowed: number; skipped: number } {
  // What the scan looked at: every port it recorded in any state, so a port outside a partial scan's list is never "missing".
  const looked = new Set(services.map((s) => `${canonAddress(s.address)}|${s.protocol}|${s.port}`));
  const result = checkPolicy(policy, services, { covered: (address, protocol, port) => looked.has(`${address}|${protocol}|${port}`) });
  const rows: CheckRow[] = [];
  for (const u of result.unexpected) {
    rows.push({
      kind: 'unexpected', address: u.address, protocol: u.protocol, port: u.port, state: u.state,
      ...(u.name !== undefined && { service: u.name }), ...(u.product !== undefined && { product: u.product }), ...(u.version !== undefined && { version: u.version }),
      group: u.group, groups: u.groups, ...(u.zone !== undefined && { zone: u.zone }), reason: u.reason,
    });
  }
  for (const m of result.missing) {
    rows.push({ kind: 'missing', address: m.address, protocol: m.protocol, port: m.port, state: m.state, group: m.group, rule: m.rule, reason: m.reason });
  }
  return { rows, allowed: result.allowed.length, skipped: result.skipped };
}

interface CheckOptions {
  policy: string;
  scan?: string;
  db?: string;
  format?: string;
  json?: boolean;
  csv?: boolean;
}

function defineCheck(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('check')
    .description('check a stored scan against a policy: unexpected open services and expected-but-missing ones (exit 1 when any)')
    .requiredOption('--policy <file>', 'the policy file (YAML; see portolan baseline to start one)')
    .option('--scan <id>', 'the scan to check (default: the newest; see portolan scans)');
  addStoreOptions(cmd, false);
  addFormatOptions(cmd);
  cmd.action(async (o: CheckOptions) => {
    const format = pickFormat(o);
    const scanId = o.scan === undefined ? undefined : parseCount(o.scan, '--scan', 1, SCAN_ID_MAX);
    // The policy is read and validated before the store is opened: a typo in it is one line and exit 2.
    const policy = await loadPolicyFile(o.policy);
    const store = await openCliStore(o.db);
    let scan: ScanRow;
    let services: PortService[];
    try {
      scan = await pickScan(store, scanId);
      services = await scanServices(store, scan.id, usesNames(policy));
    } finally {
      await store.close();
    }
    const { rows, allowed, skipped } = checkRows(policy, services);
    if (scan.status !== 'done') process.stderr.write(`portolan: warning: scan ${scan.id} is ${scan.status}; what it did not reach is neither unexpected nor missing\n`);
    if (skipped > 0) process.stderr.write(`portolan: warning: ${skipped} stored port${skipped === 1 ? '' : 's'} with an impossible protocol or port left out\n`);
    tolerateClosedStdout();
    if (format === 'table' && rows.length === 0) {
      process.stdout.write(`scan ${scan.id} matches the policy: ${allowed} open service${allowed === 1 ? '' : 's'} allowed, nothing expected is missing\n`);
    } else {
      process.stdout.write(renderRows(format, COLUMNS, rows, (r) => ({ ...r, scan: scan.id })));
    }
    ctx.setExitCode(rows.length > 0 ? 1 : 0);
  });
}

interface BaselineCliOptions {
  fromScan: string;
  output?: string;
  force?: boolean;
  groupBy?: string;
  zone?: string;
  owner?: string;
  purpose?: string;
  db?: string;
}

function baselineOptions(o: BaselineCliOptions, scan: ScanRow): BaselineOptions {
  const opts: BaselineOptions = {};
  if (o.groupBy !== undefined) opts.groupBy = o.groupBy as 'host' | 'subnet';
  if (o.zone !== undefined) opts.zone = o.zone as 'internet' | 'dmz' | 'internal';
  if (o.owner !== undefined) opts.owner = o.owner;
  if (o.purpose !== undefined) opts.purpose = o.purpose;
  const what = `${scan.kind} by ${scan.source}${scan.file !== undefined ? ` of ${scan.file}` : ''}`;
  opts.comment = `From scan ${scan.id} (${what}), started ${timeText(scan.startedAt)}.`;
  return opts;
}

function checkChoice(value: string | undefined, option: string, choices: readonly string[]): void {
  if (value !== undefined && !choices.includes(value)) {
    throw new UsageError('E_USAGE', `${option} ${quoteToken(value)}: expected ${choices.join(', ')}`, { token: value });
  }
}

/** Write `text` to `file`; an existing file is kept unless `force` (O_EXCL: no race between a check and the write). */
async function writePolicy(file: string, text: string, force: boolean): Promise<void> {
  try {
    await writeFile(file, text, { flag: force ? 'w' : 'wx' });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    if (code === 'EEXIST') throw new UsageError('E_USAGE', `-o ${quoteToken(file)}: the file exists; give --force to overwrite it`, { token: file });
    throw new UsageError('E_USAGE', `-o ${quoteToken(file)}: cannot write the file (${code})`, { token: file });
  }
}

function defineBaseline(program: Command, _ctx: CliContext): void {
  const cmd = program
    .command('baseline')
    .description('write a policy that allows exactly what a known-good scan found open (review it, then use portolan check)')
    .requiredOption('--from-scan <id>', 'the known-good scan (see portolan scans)')
    .option('-o, --output <file>', 'write the policy to this file instead of stdout')
    .option('--force', 'overwrite the output file if it exists')
    .option('--group-by <how>', 'one group per host (default) or per subnet (IPv4 /24, IPv6 /64)')
    .option('--zone <zone>', 'default zone for hosts no group names: internet, dmz or internal')
    .option('--owner <text>', 'owner written on every group (default: unassigned)')
    .option('--purpose <text>', 'business need written on every group');
  addStoreOptions(cmd, false);
  cmd.action(async (o: BaselineCliOptions) => {
    const scanId = parseCount(o.fromScan, '--from-scan', 1, SCAN_ID_MAX);
    checkChoice(o.groupBy, '--group-by', ['host', 'subnet']);
    checkChoice(o.zone, '--zone', ['internet', 'dmz', 'internal']);
    if (o.force === true && o.output === undefined) throw new UsageError('E_USAGE', '--force only means something with -o FILE');
    const store = await openCliStore(o.db);
    let scan: ScanRow;
    let services: PortService[];
    try {
      scan = await pickScan(store, scanId);
      services = await scanServices(store, scan.id, false);
    } finally {
      await store.close();
    }
    const text = baselineFrom(services, baselineOptions(o, scan));
    // The promise of this command is that check accepts what it writes; a policy it cannot read back is a bug, not output.
    const policy = parsePolicy(text, 'baseline');
    const open = services.filter((s) => s.state === 'open').length;
    if (open === 0) process.stderr.write(`portolan: warning: scan ${scan.id} found nothing open; the baseline allows nothing\n`);
    if (o.output === undefined) {
      tolerateClosedStdout();
      process.stdout.write(text);
      return;
    }
    await writePolicy(o.output, text, o.force === true);
    process.stderr.write(`baseline: ${policy.groups.length} group${policy.groups.length === 1 ? '' : 's'} from scan ${scan.id} written to ${escapeTerminal(o.output)}\n`);
  });
}

/** `check` and `baseline`. */
export const policyCommands: CliCommand = {
  register(program, ctx) {
    defineCheck(program, ctx);
    defineBaseline(program, ctx);
  },
};
