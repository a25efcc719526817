/**
 * The worker-thread side of `readInWorker` (threaded.ts): runs one importer over one file and
 * posts its observations in chunks, never more than a few ahead of what the main thread has
 * taken, so a slow store holds the parser back instead of filling memory.
 */
import { createReadStream } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import type { Observation } from '../core/model.js';
import { ImportError } from './errors.js';
import { findImporter } from './registry.js';
import type { ImportMeta } from './types.js';
import { CHUNK_PORTS, MAX_CHUNKS_AHEAD, type ReadRequest, type WorkerMessage } from './threaded-protocol.js';

const port = parentPort;
if (port === null) throw new Error('read-worker runs only as a worker thread');
const { path, importer: id, file, source } = workerData as ReadRequest;

let credit = MAX_CHUNKS_AHEAD;
let wake: (() => void) | undefined;
port.on('message', () => {
  credit++;
  wake?.();
});

function post(message: WorkerMessage): void {
  port!.postMessage(message);
}

async function send(list: Observation[], meta: ImportMeta): Promise<void> {
  while (credit === 0) await new Promise<void>((resolve) => (wake = resolve));
  wake = undefined;
  credit--;
  post({ kind: 'chunk', list, meta });
}

async function run(): Promise<void> {
  const importer = findImporter(id);
  if (importer === undefined) throw new Error(`no importer ${id}`);
  const meta: ImportMeta = { source };
  const ctx = { file, warn: (message: string) => post({ kind: 'warn', message }) };
  let list: Observation[] = [];
  let ports = 0;
  for await (const obs of importer.read(createReadStream(path, { highWaterMark: 256 * 1024 }), ctx, meta)) {
    list.push(obs);
    ports += obs.host.ports.length + 1;
    if (ports >= CHUNK_PORTS) {
      await send(list, meta);
      list = [];
      ports = 0;
    }
  }
  if (list.length > 0) await send(list, meta);
  post({ kind: 'end', meta });
}

run().catch((err: unknown) => {
  if (err instanceof ImportError) post({ kind: 'import-error', line: err.line, detail: err.detail });
  else post({ kind: 'crash', message: err instanceof Error ? (err.stack ?? err.message) : String(err), code: (err as { code?: string } | undefined)?.code });
});
