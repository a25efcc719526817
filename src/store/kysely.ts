/**
 * kysely, loaded from its CommonJS build. Its ESM build is some 400 modules, and Node's ESM loader
 * opens them all at once while linking: under a low descriptor limit (`ulimit -n 128`) that fails
 * with EMFILE before any query runs. `require` reads one file at a time, and is no slower.
 */
import { createRequire } from 'node:module';
import type * as Kysely from 'kysely';

let loaded: typeof Kysely | undefined;

export function kysely(): typeof Kysely {
  loaded ??= createRequire(import.meta.url)('kysely') as typeof Kysely;
  return loaded;
}
