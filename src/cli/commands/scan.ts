/**
 * `portolan scan`: options as nmap users know them, validated in full before anything is sent.
 */
import { Command, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { parseCount, parseDuration, parseRate } from '../../core/duration.js';
import { UsageError, quoteToken } from '../../core/errors.js';
import { byRank, parsePortSpec, selectPorts } from '../../core/ports.js';
import { parseExclusions, parseTargets, splitTargetList, type TargetSpec } from '../../core/targets.js';
import { REPORT_FORMATS } from '../../report/registry.js';
import { parseTemplate, timingTemplate, type TimingProfile } from '../../scan/timing.js';
import type { Checkpoint } from '../../scan/checkpoint-read.js';
import { runScanCommand } from '../scan-run.js';
import type { StoreConfig } from '../scan-store.js';
import { addStoreOptions } from '../store-location.js';
import { listTargets } from '../list-scan.js';
import type { CliCommand, CliContext } from './index.js';

/** Everything a scan needs, validated. */
export interface ScanConfig {
  argv: string[];
  targetTexts: string[];
  specs: TargetSpec[];
  excludes: TargetSpec[];
  ports: Uint16Array;
  timing: TimingProfile;
  maxRetries: number;
  minRate?: number;
  maxRate?: number;
  hostGroup?: number;
  discoveryPorts?: Uint16Array;
  noDns: boolean;
  family?: 4 | 6;
  seed?: number;
  scopeFile?: string;
  outputs: { formatId: string; path: string }[];
  openOnly: boolean;
  showReason: boolean;
  verbosity: number;
  progress: boolean;
  statsEveryMs?: number;
  checkpointPath?: string;
  detect: DetectConfig;
  resume?: { path: string; finished: Checkpoint };
  /** Where the scan is recorded (`--db`), or not at all (`--no-store`). */
  store: StoreConfig;
}

/** Service and version detection settings (on by default; --ports-only turns it off). */
export interface DetectConfig {
  enabled: boolean;
  /** 0–9 as nmap's --version-intensity. */
  intensity: number;
  /** --signatures files: JSON/YAML signature files or Recog XML databases. */
  signatureFiles: string[];
  /** --version-timeout: time one port's identification may take. */
  budgetMs?: number;
}

/** nmap's unprivileged host discovery connects to 80 and 443; 22 catches servers without a web port. */
const DEFAULT_DISCOVERY_PORTS = '80,443,22';
const MAX_FILE_BYTES = 64 * 1024 * 1024;

interface RawOptions {
  ports?: string;
  topPorts?: string;
  fast?: boolean;
  excludePorts?: string;
  inOrder?: boolean;
  inputList?: string;
  exclude?: string;
  excludefile?: string;
  dns: boolean;
  randomizeHosts?: boolean;
  seed?: string;
  listScan?: boolean;
  connectScan?: boolean;
  ping: boolean;
  pingPorts?: string;
  timing?: string;
  maxRetries?: string;
  minRate?: string;
  maxRate?: string;
  maxParallelism?: string;
  maxHostgroup?: string;
  minRttTimeout?: string;
  maxRttTimeout?: string;
  initialRttTimeout?: string;
  hostTimeout?: string;
  scanDelay?: string;
  scope?: string;
  resume?: string;
  checkpoint?: string;
  outputAll?: string;
  open?: boolean;
  reason?: boolean;
  verbose: number;
  progress: boolean;
  statsEvery?: string;
  ipv4?: boolean;
  ipv6?: boolean;
  portsOnly?: boolean;
  serviceDetection?: boolean;
  versionIntensity?: string;
  versionLight?: boolean;
  versionAll?: boolean;
  versionTimeout?: string;
  signatures?: string[];
  db?: string;
  store: boolean;
  [key: string]: unknown;
}

function readTextFile(path: string, option: string): string {
  try {
    const buf = path === '-' ? readFileSync(0) : readFileSync(path);
    if (buf.length > MAX_FILE_BYTES) throw new UsageError('E_USAGE', `${option} ${quoteToken(path)}: file larger than 64 MiB`);
    return buf.toString('utf8');
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new UsageError('E_USAGE', `${option} ${quoteToken(path)}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
}

/** Turn commander's raw options into a validated ScanConfig (throws UsageError naming the bad token). */
export function buildScanConfig(targets: string[], o: RawOptions, argv: string[]): ScanConfig {
  const family = o.ipv4 ? 4 : o.ipv6 ? 6 : undefined;
  if (o.ipv4 && o.ipv6) throw new UsageError('E_USAGE', '-4 and -6 cannot be combined');
  const targetTexts = [...targets];
  if (o.inputList !== undefined) targetTexts.push(...splitTargetList(readTextFile(o.inputList, '-iL')));
  const specs = targetTexts.length > 0 ? parseTargets(targetTexts, family === undefined ? {} : { family }) : [];
  if (specs.length === 0) throw new UsageError('E_TARGET', 'no targets given; name hosts, addresses or ranges (e.g. 127.0.0.1, 198.18.0.0/24) or use -iL FILE');
  const excludes = [
    ...(o.exclude !== undefined ? parseExclusions(o.exclude.replace(/,/g, ' ')) : []),
    ...(o.excludefile !== undefined ? parseExclusions(readTextFile(o.excludefile, '--excludefile')) : []),
  ];
  const portOptions = { ...(o.ports !== undefined && { ports: o.ports }), ...(o.topPorts !== undefined && { topPorts: o.topPorts }), ...(o.fast && { fast: true }), ...(o.excludePorts !== undefined && { excludePorts: o.excludePorts }) };
  const selected = selectPorts(portOptions);
  const ports = o.inOrder ? selected : byRank(selected);

  let timing = timingTemplate(3);
  if (o.timing !== undefined) {
    const level = parseTemplate(o.timing);
    if (level === undefined) throw new UsageError('E_USAGE', `-T ${quoteToken(o.timing)}: expected 0-5 or paranoid, sneaky, polite, normal, aggressive, insane`);
    timing = timingTemplate(level);
  }
  if (o.minRttTimeout !== undefined) timing.minRttTimeoutMs = parseDuration(o.minRttTimeout, '--min-rtt-timeout');
  if (o.maxRttTimeout !== undefined) timing.maxRttTimeoutMs = parseDuration(o.maxRttTimeout, '--max-rtt-timeout');
  if (o.initialRttTimeout !== undefined) timing.initialRttTimeoutMs = parseDuration(o.initialRttTimeout, '--initial-rtt-timeout');
  if (timing.minRttTimeoutMs > timing.maxRttTimeoutMs) throw new UsageError('E_USAGE', '--min-rtt-timeout is above --max-rtt-timeout');
  if (o.hostTimeout !== undefined) timing.hostTimeoutMs = parseDuration(o.hostTimeout, '--host-timeout');
  if (o.scanDelay !== undefined) timing.scanDelayMs = parseDuration(o.scanDelay, '--scan-delay');
  if (o.maxParallelism !== undefined) timing.maxParallelism = parseCount(o.maxParallelism, '--max-parallelism', 1, 1_000_000);
  timing.initialHostWindow = Math.min(timing.initialHostWindow, timing.maxParallelism);
  const maxRetries = o.maxRetries !== undefined ? parseCount(o.maxRetries, '--max-retries', 0, 50) : timing.maxRetries;
  const minRate = o.minRate !== undefined ? parseRate(o.minRate, '--min-rate') : undefined;
  const maxRate = o.maxRate !== undefined ? parseRate(o.maxRate, '--max-rate') : undefined;
  if (minRate !== undefined && maxRate !== undefined && minRate > maxRate) throw new UsageError('E_USAGE', '--min-rate is above --max-rate');

  const outputs: ScanConfig['outputs'] = [];
  for (const f of REPORT_FORMATS) {
    const path = o[`output${f.flag}`];
    if (typeof path === 'string') outputs.push({ formatId: f.id, path });
  }
  if (o.outputAll !== undefined) {
    for (const f of REPORT_FORMATS.filter((x) => x.inAll)) outputs.push({ formatId: f.id, path: o.outputAll + f.extension });
  }
  if (outputs.filter((x) => x.path === '-').length > 1) throw new UsageError('E_USAGE', 'only one output can go to stdout (-)');

  const config: ScanConfig = {
    detect: buildDetectConfig(o),
    argv,
    targetTexts,
    specs,
    excludes,
    ports,
    timing,
    maxRetries,
    noDns: !o.dns,
    outputs,
    openOnly: o.open === true,
    showReason: o.reason === true,
    verbosity: o.verbose,
    progress: o.progress,
    store: { enabled: o.store !== false, ...(o.db !== undefined && { location: o.db }) },
  };
  if (minRate !== undefined) config.minRate = minRate;
  if (maxRate !== undefined) config.maxRate = maxRate;
  if (family !== undefined) config.family = family;
  if (o.ping) config.discoveryPorts = parsePortSpec(o.pingPorts ?? DEFAULT_DISCOVERY_PORTS, '-PS');
  if (o.randomizeHosts || o.seed !== undefined) config.seed = o.seed !== undefined ? parseCount(o.seed, '--seed', 0, 2 ** 32 - 1) : (Date.now() >>> 0);
  if (o.scope !== undefined) config.scopeFile = o.scope;
  if (o.maxHostgroup !== undefined) config.hostGroup = parseCount(o.maxHostgroup, '--max-hostgroup', 1, 65536);
  if (o.statsEvery !== undefined) config.statsEveryMs = parseDuration(o.statsEvery, '--stats-every');
  if (o.checkpoint !== undefined) config.checkpointPath = o.checkpoint;
  return config;
}

function buildDetectConfig(o: RawOptions): DetectConfig {
  if (o.portsOnly && o.serviceDetection) throw new UsageError('E_USAGE', '--ports-only and -sV cannot be combined');
  let intensity = 7;
  if (o.versionLight) intensity = 2;
  if (o.versionAll) intensity = 9;
  if (o.versionIntensity !== undefined) intensity = parseCount(o.versionIntensity, '--version-intensity', 0, 9);
  const detect: DetectConfig = { enabled: o.portsOnly !== true, intensity, signatureFiles: o.signatures ?? [] };
  if (o.versionTimeout !== undefined) detect.budgetMs = parseDuration(o.versionTimeout, '--version-timeout');
  return detect;
}

/** Build the commander command; `run` receives validated config. */
function defineScan(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('scan')
    .description('TCP connect scan (like nmap -sT): open, closed and filtered ports with reasons')
    .argument('[targets...]', 'hosts, addresses, CIDR blocks, nmap octet ranges (198.18.0.1-20), names')
    .option('-p, --ports <spec>', 'ports: 22,80,8000-8100, - for all, names (ssh,http)')
    .option('--top-ports <n>', 'the n most common ports (default 1000)')
    .option('-F, --fast', 'the 100 most common ports')
    .option('--exclude-ports <spec>', 'ports not to scan')
    .option('-r, --in-order', 'scan ports in ascending order (default: most common first)')
    .option('--input-list <file>', 'read targets from a file, - for stdin (nmap -iL)')
    .option('--exclude <list>', 'comma-separated hosts/ranges not to scan')
    .option('--excludefile <file>', 'file of hosts/ranges not to scan')
    .option('-n, --no-dns', 'no reverse DNS (accepted for nmap habits: portolan does no reverse lookups; names you give are still resolved)')
    .option('-4, --ipv4', 'resolve names to IPv4 only')
    .option('-6, --ipv6', 'resolve names to IPv6 only')
    .option('--randomize-hosts', 'scan hosts in a shuffled order (deterministic with --seed)')
    .option('--seed <n>', 'seed for --randomize-hosts')
    .option('--list-scan', 'list targets and exit without sending anything (nmap -sL)')
    .option('--connect-scan', 'TCP connect scan (nmap -sT); the default and only scan type')
    .option('--no-ping', 'skip host discovery: treat every host as up (nmap -Pn)')
    .option('--ping-ports <ports>', `ports for connect-based host discovery (nmap -PS; default ${DEFAULT_DISCOVERY_PORTS})`)
    .option('-T, --timing <0-5>', 'timing template: 0 paranoid … 3 normal (default) … 5 insane')
    .option('--max-retries <n>', 'retransmissions per port at most')
    .option('--min-rate <n>', 'send at least n probes per second')
    .option('--max-rate <n>', 'send at most n probes per second')
    .option('--max-parallelism <n>', 'probes in flight at most')
    .option('--max-hostgroup <n>', 'hosts scanned at the same time at most')
    .option('--min-rtt-timeout <time>', 'lower bound of the probe timeout (e.g. 100ms)')
    .option('--max-rtt-timeout <time>', 'upper bound of the probe timeout')
    .option('--initial-rtt-timeout <time>', 'probe timeout before any RTT is measured')
    .option('--host-timeout <time>', 'give up on a host after this long')
    .option('--scan-delay <time>', 'wait this long between probes to a host')
    .option('--ports-only', 'skip service and version detection (on by default for open ports)')
    .option('--service-detection', 'service and version detection (nmap -sV; the default)')
    .option('--version-intensity <0-9>', 'how many probes to try on a port no hint explains: 0 fewest, 9 all (default 7)')
    .option('--version-light', 'same as --version-intensity 2')
    .option('--version-all', 'same as --version-intensity 9')
    .option('--version-timeout <time>', 'time one port\'s identification may take (default 20s)')
    .option('--signatures <file>', 'extra signatures: JSON/YAML file or Recog XML database (repeatable)', (v: string, prev: string[] | undefined) => [...(prev ?? []), v])
    .option('--scope <file>', 'refuse any target outside the hosts/CIDRs listed in this file')
    .option('--resume <file>', 'continue an interrupted scan from its checkpoint')
    .option('--checkpoint <file>', 'where to keep the resume checkpoint (default: in the state folder)')
    .option('--output-all <base>', 'write every format to BASE.nmap, BASE.xml, BASE.gnmap, BASE.jsonl (nmap -oA)')
    .option('--open', 'show only open ports')
    .option('--reason', 'show why each port has its state')
    .option('-v, --verbose', 'more output (repeat for more)', (_v: string, prev: number) => prev + 1, 0)
    .option('--no-progress', 'no progress bar on stderr')
    .option('--stats-every <time>', 'print a status line to stderr this often')
    .addHelpText('after', '\nnmap spellings work too: -sT -sV -sL -Pn -PS<ports> -iL FILE -oN/-oX/-oG/-oJ FILE -oA BASE -T0..-T5');
  addStoreOptions(cmd, true);
  for (const f of REPORT_FORMATS) {
    cmd.addOption(new Option(`--output-${f.flag} <file>`, `${f.description}; - for stdout (also -o${f.flag} FILE)`));
  }
  cmd.action(async (targets: string[], raw: RawOptions) => {
    if (raw.resume !== undefined) {
      ctx.setExitCode(await resumeScan(raw.resume));
      return;
    }
    const config = buildScanConfig(targets, raw, [...ctx.argv]);
    const resume = currentResume();
    if (resume) config.resume = resume;
    if (raw.listScan) ctx.setExitCode(await listTargets(config));
    else ctx.setExitCode(await runScanCommand(config));
  });
}

/** `--resume FILE`: re-read the original arguments from the checkpoint and continue. */
async function resumeScan(path: string): Promise<number> {
  // Loaded on demand: validation pulls in zod, which a plain scan need not pay for at start-up.
  const { readCheckpoint } = await import('../../scan/checkpoint-read.js');
  const finished = readCheckpoint(path);
  const { main } = await import('../main.js');
  resumeContext = { path, finished };
  try {
    return await main(finished.header.args);
  } finally {
    resumeContext = undefined;
  }
}

let resumeContext: ScanConfig['resume'];

/** The checkpoint being resumed, while its original arguments are re-parsed. */
export function currentResume(): ScanConfig['resume'] {
  return resumeContext;
}

export const scanCommand: CliCommand = { register: defineScan };
