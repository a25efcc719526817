/** Run an importer over bytes in memory, as the CLI would over a file. */
import { Readable } from 'node:stream';
import type { Observation } from '../../src/core/model.js';
import type { ImportMeta, Importer } from '../../src/import/types.js';

export interface ImportRun {
  observations: Observation[];
  warnings: string[];
  meta: ImportMeta;
}

/** All observations of `data`; rejects with whatever the importer throws. */
export async function importBytes(importer: Importer, data: Buffer | string, file = 'test-input', chunkSize = 4096): Promise<ImportRun> {
  const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  // Small chunks, so streaming parsers meet records split across reads.
  const chunks: Buffer[] = [];
  for (let i = 0; i < buf.length; i += chunkSize) chunks.push(buf.subarray(i, i + chunkSize));
  const warnings: string[] = [];
  const meta: ImportMeta = { source: importer.source };
  const observations: Observation[] = [];
  for await (const o of importer.read(Readable.from(chunks), { file, warn: (m) => warnings.push(m) }, meta)) observations.push(o);
  return { observations, warnings, meta };
}
