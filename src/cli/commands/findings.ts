/**
 * `portolan findings`: assess what the store knows and list the findings, most urgent first, each
 * with its reasons. `--fail-on TIER` makes it a CI gate (exit 1 when an open finding is at or
 * above TIER, 0 otherwise, 2 on an error). `--accept KEY`, `--false-positive KEY` and `--reopen
 * KEY` record a decision about one finding, with `--reason` and, for an accepted risk, `--until`.
 */
import type { Command } from 'commander';
import { TIERS, type Finding, type FindingStatus } from '../../core/finding.js';
import { UsageError, quoteToken } from '../../core/errors.js';
import { FINDINGS_FORMATS, findFindingsFormat } from '../../report/findings-registry.js';
import { assessStore } from '../assess-run.js';
import { noFinding, parseTier } from '../finding-select.js';
import { tolerateClosedStdout } from '../stdout.js';
import { addStoreOptions, openCliStore } from '../store-location.js';
import { pickFormat, renderRows, timeText, type Column, type TableFormat } from '../tabular.js';
import type { FindingEvent } from '../../store/findings.js';
import { VERSION } from '../version.js';
import type { CliCommand, CliContext } from './index.js';
import { loadPolicyFile } from './policy.js';
import { parseSince } from './query.js';

const STATUSES: readonly FindingStatus[] = ['open', 'fixed', 'accepted', 'false-positive'];

interface Options {
  db?: string;
  format?: string;
  json?: boolean;
  csv?: boolean;
  minPriority?: string;
  host?: string;
  status?: string;
  failOn?: string;
  policy?: string;
  accept?: string;
  falsePositive?: string;
  reopen?: string;
  history?: string;
  reason?: string;
  until?: string;
  limit?: string;
}

function parseStatuses(token: string): FindingStatus[] {
  const out: FindingStatus[] = [];
  for (const part of token.split(',')) {
    const s = STATUSES.find((x) => x === part.trim());
    if (s === undefined) throw new UsageError('E_USAGE', `--status ${quoteToken(token)}: expected a comma-separated list of ${STATUSES.join(', ')}`, { token });
    out.push(s);
  }
  return out;
}

const COLUMNS: readonly Column<Finding>[] = [
  { header: 'TIER', value: (f) => f.tier },
  { header: 'SCORE', value: (f) => f.score },
  { header: 'HOST', value: (f) => f.address },
  { header: 'PORT', value: (f) => `${f.port}/${f.protocol}` },
  { header: 'STATUS', value: (f) => f.status },
  { header: 'TITLE', value: (f) => f.title },
  { header: 'WHY', value: (f) => f.reasons.map((r) => r.text).join('; ') },
  { header: 'KEY', value: (f) => f.key },
  { header: 'LAST SEEN', value: (f) => timeText(f.lastSeen) },
];

/** table, json, csv, or the id of a format in FINDINGS_FORMATS. */
type Format = string;

function pickFindingsFormat(o: Options): Format {
  if (o.json === true) return 'json';
  if (o.csv === true) return 'csv';
  const f = o.format ?? 'table';
  if (f === 'table' || f === 'json' || f === 'csv' || findFindingsFormat(f) !== undefined) return f;
  throw new UsageError('E_USAGE', `--format ${quoteToken(f)}: expected table, json, csv, ${FINDINGS_FORMATS.map((x) => x.id).join(', ')}`, { token: f });
}

/** `--until`: an ISO date or time, or a duration from now (`30d`). */
function parseUntil(token: string, now = Date.now()): number {
  const at = parseSince(token, now);
  return /^\d{1,9}[smhdw]$/.test(token.trim()) ? now + (now - at) : at;
}

async function decide(o: Options): Promise<number> {
  const [key, status] = o.accept !== undefined ? [o.accept, 'accepted' as const] : o.falsePositive !== undefined ? [o.falsePositive, 'false-positive' as const] : [o.reopen!, 'open' as const];
  if (status === 'accepted' && (o.reason === undefined || o.reason.trim() === '')) throw new UsageError('E_USAGE', '--accept needs --reason: say why the risk is accepted');
  const until = o.until === undefined ? undefined : parseUntil(o.until);
  if (until !== undefined && status !== 'accepted') throw new UsageError('E_USAGE', '--until goes with --accept');
  const store = await openCliStore(o.db);
  try {
    const ok = await store.setFindingStatus(key, status, Date.now(), o.reason, until);
    if (!ok) throw noFinding(key);
  } finally {
    await store.close();
  }
  process.stdout.write(`finding ${key}: ${status}${until !== undefined ? ` until ${timeText(until)}` : ''}\n`);
  return 0;
}

const HISTORY_COLUMNS: readonly Column<FindingEvent>[] = [
  { header: 'WHEN', value: (e) => timeText(e.at) },
  { header: 'STATUS', value: (e) => e.status },
  { header: 'NOTE', value: (e) => e.note },
];

/** `--history KEY`: how a finding's status changed, oldest first. */
async function history(o: Options): Promise<number> {
  const format = pickFormat({ ...o, format: o.format === undefined || o.format === 'table' || o.format === 'json' || o.format === 'csv' ? o.format : 'table' });
  const store = await openCliStore(o.db);
  let events: FindingEvent[];
  try {
    events = await store.findingEvents(o.history!);
  } finally {
    await store.close();
  }
  if (events.length === 0) throw noFinding(o.history!);
  tolerateClosedStdout();
  process.stdout.write(renderRows(format, HISTORY_COLUMNS, events));
  return 0;
}

async function list(o: Options): Promise<number> {
  const format = pickFindingsFormat(o);
  const minTier = o.minPriority === undefined ? undefined : parseTier(o.minPriority, '--min-priority');
  const failOn = o.failOn === undefined ? undefined : parseTier(o.failOn, '--fail-on');
  const statuses = o.status === undefined ? ['open' as const] : parseStatuses(o.status);
  const policy = o.policy === undefined ? undefined : await loadPolicyFile(o.policy);
  const store = await openCliStore(o.db);
  let findings: Finding[];
  let gate: Finding[] = [];
  try {
    await assessStore(store, policy === undefined ? {} : { policy });
    findings = await store.findings({ status: statuses, ...(minTier !== undefined && { minTier }), ...(o.host !== undefined && { address: o.host }) });
    // The gate looks at the same hosts as the listing, open findings only.
    if (failOn !== undefined) gate = await store.findings({ status: ['open'], minTier: failOn, ...(o.host !== undefined && { address: o.host }) });
  } finally {
    await store.close();
  }
  tolerateClosedStdout();
  const renderer = findFindingsFormat(format);
  if (renderer !== undefined) process.stdout.write(renderer.render(findings, { toolVersion: VERSION, generatedAt: Date.now() }));
  else if (format === 'table' && findings.length === 0) process.stdout.write('no findings\n');
  else process.stdout.write(renderRows(format as TableFormat, COLUMNS, findings));
  if (failOn === undefined) return 0;
  if (gate.length > 0) process.stderr.write(`portolan: ${gate.length} open finding${gate.length === 1 ? '' : 's'} at ${failOn} or above (--fail-on ${failOn})\n`);
  return gate.length > 0 ? 1 : 0;
}

function defineFindings(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('findings')
    .description('assess the services in the store and list the findings, most urgent first, with their reasons')
    .option('--min-priority <tier>', `only findings of this tier or above (${TIERS.join(', ')})`)
    .option('--host <address>', 'only this host')
    .option('--status <list>', `statuses to list, comma-separated (${STATUSES.join(', ')}); default open`)
    .option('--format <format>', `table, json, csv, ${FINDINGS_FORMATS.map((f) => f.id).join(', ')}`)
    .option('--json', 'same as --format json')
    .option('--csv', 'same as --format csv')
    .option('--fail-on <tier>', 'exit 1 when an open finding is at this tier or above (for CI)')
    .option('--policy <file>', 'a policy YAML: allowed services and zones feed the ranking')
    .option('--accept <key>', 'accept the risk of this finding (needs --reason; --until DATE to expire)')
    .option('--false-positive <key>', 'mark this finding a false positive')
    .option('--reopen <key>', 'open this finding again')
    .option('--history <key>', 'show how this finding\'s status changed over time')
    .option('--reason <text>', 'why, for --accept / --false-positive')
    .option('--until <date>', 'when an accepted risk expires: an ISO date, or a duration from now (90d)');
  addStoreOptions(cmd, false);
  cmd.action(async (o: Options) => {
    const decisions = [o.accept, o.falsePositive, o.reopen].filter((x) => x !== undefined).length;
    if (decisions > 1) throw new UsageError('E_USAGE', 'use one of --accept, --false-positive, --reopen at a time');
    ctx.setExitCode(decisions === 1 ? await decide(o) : o.history !== undefined ? await history(o) : await list(o));
  });
}

export const findingsCommand: CliCommand = { register: defineFindings };
