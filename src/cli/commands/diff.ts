/**
 * `portolan diff SCAN_A SCAN_B`: what changed between two stored scans (or imports): ports that
 * opened, closed, reopened or changed service or version. Exit code as ndiff's: 0 when nothing
 * changed, 1 when something did, 2 on an error.
 */
import type { Command } from 'commander';
import { parseCount } from '../../core/duration.js';
import { UsageError } from '../../core/errors.js';
import { diffScans, type DiffEntry } from '../../assess/diff.js';
import { portKey } from '../../core/finding.js';
import { tolerateClosedStdout } from '../stdout.js';
import { addStoreOptions, openCliStore } from '../store-location.js';
import { addFormatOptions, pickFormat, renderRows, type Column } from '../tabular.js';
import type { CliCommand, CliContext } from './index.js';

/** The service that went away for a closed port, else the one there now. */
function serviceText(e: DiffEntry): string {
  const s = (e.kind === 'closed' || e.kind === 'unchecked' ? e.before : (e.after ?? e.before))?.service;
  return s === undefined ? '' : [s.name, s.product, s.version].filter((x) => x !== undefined && x !== '').join(' ');
}

const COLUMNS: readonly Column<DiffEntry>[] = [
  { header: 'CHANGE', value: (e) => e.kind },
  { header: 'HOST', value: (e) => e.address },
  { header: 'PORT', value: (e) => `${e.port}/${e.protocol}` },
  { header: 'SERVICE', value: serviceText },
  { header: 'DETAIL', value: (e) => e.changes.join('; ') },
];

function defineDiff(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('diff')
    .description('compare two stored scans: new, closed, reopened and changed services (exit 1 when anything changed)')
    .argument('<scan-a>', 'the earlier scan id (see portolan scans)')
    .argument('<scan-b>', 'the later scan id');
  addStoreOptions(cmd, false);
  addFormatOptions(cmd);
  cmd.action(async (a: string, b: string, o: { db?: string; format?: string; json?: boolean; csv?: boolean }) => {
    const format = pickFormat(o);
    const idA = parseCount(a, 'scan-a', 1, 2 ** 31 - 1);
    const idB = parseCount(b, 'scan-b', 1, 2 ** 31 - 1);
    const store = await openCliStore(o.db);
    let entries: DiffEntry[];
    try {
      const known = new Set((await store.scans()).map((s) => s.id));
      for (const id of [idA, idB]) if (!known.has(id)) throw new UsageError('E_USAGE', `no scan ${id} in the store; portolan scans lists them`);
      const [before, after, openEarlier] = await Promise.all([store.observedPorts(idA), store.observedPorts(idB), store.openBefore(idA)]);
      entries = diffScans({ before, after, openEarlier });
    } finally {
      await store.close();
    }
    tolerateClosedStdout();
    if (format === 'table' && entries.length === 0) process.stdout.write(`no changes between scans ${idA} and ${idB}\n`);
    else process.stdout.write(renderRows(format, COLUMNS, entries, (e) => ({ ...e, key: portKey(e) })));
    ctx.setExitCode(entries.length > 0 ? 1 : 0);
  });
}

export const diffCommand: CliCommand = { register: defineDiff };
