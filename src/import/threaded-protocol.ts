/** Messages between `readInWorker` and its worker thread. */
import type { Observation, Source } from '../core/model.js';
import type { ImportMeta } from './types.js';

/** Ports (plus one per host) per posted chunk: large enough that posting costs little. */
export const CHUNK_PORTS = 4000;
/** Chunks the worker may post before the main thread has taken them. */
export const MAX_CHUNKS_AHEAD = 4;

export interface ReadRequest {
  /** The file to open (a regular file: the worker reads it from the start). */
  path: string;
  importer: string;
  /** The name errors and warnings give. */
  file: string;
  source: Source;
}

export type WorkerMessage =
  | { kind: 'chunk'; list: Observation[]; meta: ImportMeta }
  | { kind: 'warn'; message: string }
  | { kind: 'end'; meta: ImportMeta }
  | { kind: 'import-error'; line: number | undefined; detail: string }
  | { kind: 'crash'; message: string; code: string | undefined };
