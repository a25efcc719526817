/**
 * Checks shared by the importer tests: what every observation must look like however hostile the
 * file was, a fuzz loop that demands "parses or throws ImportError" of each mutant, and the bad
 * inputs every importer faces (garbage, a 10 MB line).
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { expect } from 'vitest';
import type { Observation } from '../../src/core/model.js';
import { ImportError } from '../../src/import/errors.js';
import type { Importer } from '../../src/import/types.js';
import { mutants } from './fuzz.js';
import { importBytes } from './import.js';

/** A fixture's bytes, by path under test/fixtures. */
export function fixture(path: string): Buffer {
  return readFileSync(new URL(`../fixtures/${path}`, import.meta.url));
}

// eslint-disable-next-line no-control-regex -- the point is to find control characters
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

/** Fails the test with `message` unless `ok`; cheaper than expect() inside 10 000-mutant loops. */
function check(ok: boolean, message: () => string): void {
  if (!ok) expect.fail(message());
}

/** Everything an observation from any file must satisfy: valid address, ports, and inert text. */
export function expectSane(o: Observation, source: string): void {
  check(o.source === source, () => `source ${o.source}, expected ${source}`);
  const v = isIP(o.host.address);
  check((v === 4 || v === 6) && o.host.family === v, () => `address ${JSON.stringify(o.host.address)} family ${o.host.family}`);
  check(Number.isFinite(o.host.startedAt) && Number.isFinite(o.host.endedAt) && o.host.endedAt >= o.host.startedAt, () => `times ${o.host.startedAt}..${o.host.endedAt}`);
  let last = -1;
  for (const p of o.host.ports) {
    check(p.protocol === 'tcp' || p.protocol === 'udp', () => `protocol ${p.protocol}`);
    check(Number.isInteger(p.port) && p.port >= 0 && p.port <= 65535, () => `port ${p.port}`);
    check(p.state === 'open' || p.state === 'closed' || p.state === 'filtered', () => `state ${p.state}`);
    const key = (p.protocol === 'udp' ? 65536 : 0) + p.port;
    check(key > last, () => `ports not sorted and unique at ${p.port}/${p.protocol}`);
    last = key;
    const s = p.service;
    if (s === undefined) continue;
    check(s.confidence >= 0 && s.confidence <= 10, () => `confidence ${s.confidence}`);
    for (const text of [s.name, s.banner ?? '', ...Object.keys(s.fields ?? {}), ...Object.values(s.fields ?? {})]) {
      check(!UNSAFE.test(text), () => `control character in ${JSON.stringify(text.slice(0, 80))}`);
      check(text.length <= 1024, () => `text of ${text.length} characters`);
    }
  }
}

/** Import `data`; every observation is checked with {@link expectSane}. */
export async function run(importer: Importer, data: Buffer | string, chunkSize?: number): ReturnType<typeof importBytes> {
  const r = await importBytes(importer, data, 'test-input', chunkSize);
  for (const o of r.observations) expectSane(o, importer.source);
  return r;
}

/** The ImportError `p` rejects with; fails the test if it resolves or rejects with anything else. */
export async function importError(p: Promise<unknown>): Promise<ImportError> {
  try {
    await p;
  } catch (e) {
    expect(e, String(e)).toBeInstanceOf(ImportError);
    expect((e as ImportError).message).toContain('test-input');
    return e as ImportError;
  }
  throw new Error('expected an ImportError, but the import succeeded');
}

/**
 * `count` mutants of `seed`: each must import (with sane observations) or throw ImportError.
 * Returns how many did each, so a test can check the fuzz reached both outcomes.
 */
export async function fuzz(importer: Importer, seed: Buffer, count = 10_000, rngSeed = 1): Promise<{ parsed: number; rejected: number }> {
  let parsed = 0;
  let rejected = 0;
  let i = 0;
  for (const m of mutants(seed, count, rngSeed)) {
    i++;
    try {
      // One chunk per input: the splitting itself is covered elsewhere, and it keeps the run fast.
      const r = await importBytes(importer, m, 'fuzz-input', 1 << 20);
      for (const o of r.observations) expectSane(o, importer.source);
      parsed++;
    } catch (e) {
      if (!(e instanceof ImportError)) throw new Error(`mutant ${i} threw ${String(e)}\n${JSON.stringify(m.toString('latin1').slice(0, 400))}`);
      rejected++;
    }
  }
  return { parsed, rejected };
}

/** Bytes no text importer should accept: random binary with NULs and high bytes. */
export function garbage(size = 4096, seed = 7): Buffer {
  const b = Buffer.alloc(size);
  let x = seed;
  for (let i = 0; i < size; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

/** A file whose second line is 10 MB long. */
export function hugeLine(first: string, fill = 'A'): Buffer {
  return Buffer.concat([Buffer.from(`${first}\n`), Buffer.alloc(10 * 1024 * 1024, fill), Buffer.from('\n')]);
}
