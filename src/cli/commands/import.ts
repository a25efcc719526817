/**
 * `portolan import FILE…`: another tool's results into the store. Each file is sniffed from its
 * content (or `--format` forces the importer), streamed through its importer, and written as one
 * transaction: a file that turns out to be bad leaves no row behind.
 *
 * Every file is processed even when an earlier one failed (the good ones are worth keeping, and
 * the user sees every bad file at once); the exit code is 2 if any file failed, 130 on Ctrl-C.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Readable } from 'node:stream';
import type { Command } from 'commander';
import { UsageError, quoteToken } from '../../core/errors.js';
import { ImportError } from '../../import/errors.js';
import { importerIds } from '../../import/registry.js';
import { chooseImporter, forcedImporter, peekStream } from '../../import/sniff.js';
import type { ImportContext, ImportMeta, Importer } from '../../import/types.js';
import { readInWorker, workerAvailable, WORKER_MIN_BYTES } from '../../import/threaded.js';
import type { Observation } from '../../core/model.js';
import { escapeTerminal } from '../../core/escape.js';
import type { Ingest, Store } from '../../store/types.js';
import { addReportOptions, ObservationOutputs } from '../observation-output.js';
import { addStoreOptions, openCliStore } from '../store-location.js';
import type { CliCommand, CliContext } from './index.js';

/** Warnings shown per file before they are only counted. */
const MAX_WARNINGS = 20;

interface RawOptions {
  format?: string;
  db?: string;
  store: boolean;
  [key: string]: unknown;
}

/** What one file gave. */
export interface FileOutcome {
  file: string;
  format?: string;
  hosts: number;
  ports: number;
  status: 'done' | 'failed' | 'interrupted';
}

/** Ctrl-C while importing: stop reading, keep nothing of the file in flight. */
class Interrupt {
  requested = false;
  #input: Readable | undefined;
  readonly #handler = (): void => {
    if (this.requested) process.exit(130);
    this.requested = true;
    process.stderr.write('\nportolan: interrupted; rolling back (Ctrl-C again to quit at once)\n');
    this.#input?.destroy();
  };

  watch(input: Readable): void {
    this.#input = input;
  }

  install(): void {
    process.on('SIGINT', this.#handler);
    process.on('SIGTERM', this.#handler);
  }

  remove(): void {
    process.off('SIGINT', this.#handler);
    process.off('SIGTERM', this.#handler);
  }
}

function openInput(file: string): Readable {
  return file === '-' ? process.stdin : createReadStream(file, { highWaterMark: 64 * 1024 });
}

/** A read failure (missing file, a directory, permissions) as the one-line error importers use. */
function readError(file: string, err: unknown): ImportError {
  if (err instanceof ImportError) return err;
  const code = (err as NodeJS.ErrnoException).code;
  return new ImportError(file, undefined, `cannot read (${code ?? (err instanceof Error ? err.message : 'error')})`);
}

/**
 * The file's observations. Into SQLite, whose writes run in this process, a large regular file is
 * parsed in a worker thread so that parsing and writing take a core each. PostgreSQL writes in its
 * own server process, which takes the other core; parsing here then costs less than handing every
 * observation across threads. Standard input, pipes and small files are always read here.
 */
async function observationsOf(file: string, importer: Importer, rest: Readable, ctx: ImportContext, meta: ImportMeta, store: Store | undefined): Promise<AsyncIterable<Observation>> {
  if (store?.kind === 'sqlite' && file !== '-' && workerAvailable()) {
    const info = await stat(file).catch(() => undefined);
    if (info?.isFile() === true && info.size >= WORKER_MIN_BYTES) {
      rest.destroy();
      return readInWorker({ path: file, importer: importer.id, file, source: importer.source }, ctx, meta);
    }
  }
  return importer.read(rest, ctx, meta);
}

/** Import one file: one Ingest, committed only when the whole file was read. */
async function importFile(
  file: string,
  forced: string | undefined,
  store: Store | undefined,
  outputs: ObservationOutputs,
  interrupt: Interrupt,
  say: (line: string) => void,
  argv: readonly string[],
): Promise<FileOutcome> {
  const outcome: FileOutcome = { file, hosts: 0, ports: 0, status: 'failed' };
  const startedAt = Date.now();
  let ingest: Ingest | undefined;
  let warnings = 0;
  let begun = false;
  try {
    const input = openInput(file);
    interrupt.watch(input);
    let importer: Importer;
    let rest: Readable;
    try {
      const peeked = await peekStream(input);
      rest = peeked.rest;
      importer = chooseImporter(file, peeked.head, forced);
    } catch (err) {
      input.destroy();
      throw err instanceof UsageError ? err : readError(file, err);
    }
    outcome.format = importer.id;
    const meta: ImportMeta = { source: importer.source };
    const ctx = {
      file,
      warn: (message: string): void => {
        warnings++;
        if (warnings <= MAX_WARNINGS) process.stderr.write(`portolan: warning: ${quoteToken(file)}: ${escapeTerminal(message)}\n`);
      },
    };
    // The record is begun now (so a store problem surfaces before the file is read); the file's
    // own header (args, version, start time) is known only once the importer has read it, so the
    // commit fills those in.
    if (store) {
      ingest = await store.begin({ kind: 'import', source: importer.source, args: [], startedAt, file: file === '-' ? '-' : resolve(file) });
    }
    const start = (): void => {
      if (!begun) {
        begun = true;
        // Converted output says what made it: this import, at the time the file's scan started.
        outputs.begin(argv, [file], meta.startedAt ?? startedAt);
      }
    };
    for await (const obs of await observationsOf(file, importer, rest, ctx, meta, store)) {
      if (interrupt.requested) break;
      start();
      await ingest?.add(obs);
      await outputs.host(obs.host);
      outcome.hosts++;
      outcome.ports += obs.host.ports.length;
    }
    if (interrupt.requested) {
      outcome.status = 'interrupted';
      await ingest?.rollback();
      ingest = undefined;
      if (begun) outputs.end('Interrupted by user');
      say(`portolan: interrupted; import of ${quoteToken(file)} not stored`);
      return outcome;
    }
    start();
    await ingest?.commit({
      endedAt: Date.now(),
      status: 'done',
      args: meta.args ?? [],
      startedAt: meta.startedAt ?? startedAt,
      ...(meta.toolVersion !== undefined && { toolVersion: meta.toolVersion }),
    });
    ingest = undefined;
    outputs.end();
    outcome.status = 'done';
    if (warnings > MAX_WARNINGS) process.stderr.write(`portolan: warning: ${quoteToken(file)}: ${warnings - MAX_WARNINGS} more warnings\n`);
    return outcome;
  } catch (err) {
    await ingest?.rollback().catch(() => undefined);
    if (begun) outputs.end('import failed');
    if (interrupt.requested) {
      outcome.status = 'interrupted';
      say(`portolan: interrupted; import of ${quoteToken(file)} not stored`);
      return outcome;
    }
    if (err instanceof UsageError) {
      process.stderr.write(`portolan: ${err.message}\n`);
      return outcome;
    }
    throw err;
  }
}

/** Run the import of every file; resolves to the exit code. */
export async function runImport(files: readonly string[], o: RawOptions, argv: readonly string[] = ['import', ...files]): Promise<number> {
  // Checked before the store is opened or any file read.
  if (o.format !== undefined) forcedImporter(o.format);
  if (files.filter((f) => f === '-').length > 1) throw new UsageError('E_USAGE', 'standard input (-) can be imported only once');
  const outputs = new ObservationOutputs(o);
  const store = o.store ? await openCliStore(o.db) : undefined;
  const interrupt = new Interrupt();
  interrupt.install();
  const say = (line: string): void => {
    (outputs.toStdout ? process.stderr : process.stdout).write(`${line}\n`);
  };
  let failed = 0;
  try {
    for (const file of files) {
      const r = await importFile(file, o.format, store, outputs, interrupt, (l) => process.stderr.write(`${l}\n`), argv);
      if (r.status === 'interrupted') return 130;
      if (r.status === 'failed') {
        failed++;
        continue;
      }
      const verb = store ? 'imported' : 'read';
      say(`${verb} ${r.hosts} host${r.hosts === 1 ? '' : 's'}, ${r.ports} port${r.ports === 1 ? '' : 's'} from ${escapeTerminal(file)} (${r.format ?? '?'})${store ? '' : '; not stored (--no-store)'}`);
    }
  } finally {
    interrupt.remove();
    outputs.close();
    await store?.close();
  }
  if (failed > 0 && files.length > 1) process.stderr.write(`portolan: ${failed} of ${files.length} files not imported\n`);
  return failed > 0 ? 2 : 0;
}

function defineImport(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('import')
    .description('read results of nmap, masscan, naabu, RustScan, amap, Nessus, ss or netstat into the store')
    .argument('<files...>', 'files to import (- for standard input); the format is detected from the content')
    .option('--format <id>', `the file format, instead of detecting it: ${importerIds().join(', ')}`);
  addStoreOptions(cmd, true);
  addReportOptions(cmd);
  cmd.addHelpText('after', '\nEach file is one transaction: a bad file leaves nothing behind, and the others are still imported (exit 2 if any failed).');
  cmd.action(async (files: string[], raw: RawOptions) => {
    ctx.setExitCode(await runImport(files, raw, ctx.argv));
  });
}

export const importCommand: CliCommand = { register: defineImport };
