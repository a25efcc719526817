/**
 * Reading a large file in a worker thread: the importer parses on one core while the caller's
 * thread writes to the store on another. The observations arrive as the importer yields them,
 * in order, with the same warnings and the same ImportError as an in-thread read.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Observation } from '../core/model.js';
import { ImportError } from './errors.js';
import type { ReadRequest, WorkerMessage } from './threaded-protocol.js';
import type { ImportContext, ImportMeta } from './types.js';

const WORKER = new URL('./read-worker.js', import.meta.url);

/** Smaller files are read in-thread: starting a worker costs more than it saves. */
export const WORKER_MIN_BYTES = 1 << 20;

/** False when running from sources (tests): the worker exists only as built JavaScript. */
export function workerAvailable(): boolean {
  return existsSync(fileURLToPath(WORKER));
}

/** Read `req.path` with importer `req.importer` in a worker; stops the worker when the caller stops early. */
export async function* readInWorker(req: ReadRequest, ctx: ImportContext, meta: ImportMeta): AsyncGenerator<Observation> {
  const worker = new Worker(WORKER, { workerData: req });
  const inbox: WorkerMessage[] = [];
  let failure: Error | undefined;
  let exited = false;
  let wake: (() => void) | undefined;
  const notify = (): void => {
    wake?.();
    wake = undefined;
  };
  worker.on('message', (m: WorkerMessage) => {
    inbox.push(m);
    notify();
  });
  worker.on('error', (err: Error) => {
    failure = err;
    notify();
  });
  worker.on('exit', () => {
    exited = true;
    notify();
  });
  try {
    for (;;) {
      const m = inbox.shift();
      if (m === undefined) {
        if (failure !== undefined) throw failure;
        if (exited) throw new Error('the import worker stopped without finishing');
        await new Promise<void>((resolve) => (wake = resolve));
        continue;
      }
      switch (m.kind) {
        case 'chunk':
          Object.assign(meta, m.meta);
          for (const obs of m.list) yield obs;
          // Taken: the worker may parse one chunk further.
          worker.postMessage(1);
          break;
        case 'warn':
          ctx.warn(m.message);
          break;
        case 'end':
          Object.assign(meta, m.meta);
          return;
        case 'import-error':
          throw new ImportError(ctx.file, m.line, m.detail);
        case 'crash':
          // A read failure (the file vanished or became unreadable after it was opened) is the file's problem.
          if (m.code !== undefined && /^E[A-Z]+$/.test(m.code)) throw new ImportError(ctx.file, undefined, `cannot read (${m.code})`);
          throw new Error(`import worker failed: ${m.message}`);
      }
    }
  } finally {
    await worker.terminate();
  }
}
