/**
 * Where the store lives and how the CLI opens it: `--db PATH|postgres://…`, defaulting to
 * `$XDG_DATA_HOME/portolan/portolan.db` (`~/.local/share/portolan/portolan.db`). Every command that
 * reads or writes the store opens it through here, so a bad location is one `E_STORE` line.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { UsageError } from '../core/errors.js';
import type { Store } from '../store/types.js';

/** `--db` as every store-using command declares it. */
export const DB_OPTION_FLAGS = '--db <location>';
export const DB_OPTION_HELP = 'store: a SQLite file or postgres://user@host/db (default $XDG_DATA_HOME/portolan/portolan.db)';

/** Add `--db` (and, for commands that write, `--no-store`) to a command. */
export function addStoreOptions(cmd: Command, writes: boolean): Command {
  cmd.option(DB_OPTION_FLAGS, DB_OPTION_HELP);
  if (writes) cmd.option('--no-store', 'do not record this run in the store');
  return cmd;
}

/** The default SQLite file: $XDG_DATA_HOME/portolan/portolan.db, else ~/.local/share/portolan/portolan.db. */
export function defaultStoreLocation(env: NodeJS.ProcessEnv = process.env): string {
  // XDG says a relative XDG_DATA_HOME is invalid and must be ignored.
  const xdg = env.XDG_DATA_HOME;
  const base = xdg !== undefined && xdg.startsWith('/') ? xdg : join(env.HOME || homedir(), '.local', 'share');
  return join(base, 'portolan', 'portolan.db');
}

/**
 * `mkdir -p`, one level at a time: Node's recursive mkdir spins forever where mkdir answers ENOENT
 * under a parent that exists (`/proc/x`), and a bad --db must be an error, not a hang.
 */
function makeFolders(dir: string): void {
  const missing: string[] = [];
  for (let d = resolve(dir); !existsSync(d); d = dirname(d)) {
    missing.push(d);
    if (dirname(d) === d) break;
  }
  for (const d of missing.reverse()) mkdirSync(d, { mode: 0o700 });
}

/**
 * Open (and migrate) the store at `location`, or the default. A SQLite file's folder is created
 * (0700: the store says what every host exposes). Any failure is one `E_STORE` UsageError, so a
 * scan fails before it sends anything.
 */
export async function openCliStore(location: string | undefined): Promise<Store> {
  const where = location ?? defaultStoreLocation();
  // Loaded on demand: the store's drivers cost start-up time a --no-store run need not pay.
  const { isPostgresUrl, openStore, showLocation } = await import('../store/index.js');
  if (where !== '' && !isPostgresUrl(where)) {
    try {
      makeFolders(dirname(where));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'error';
      throw new UsageError('E_STORE', `cannot create the store folder for ${showLocation(where)} (${code}); use --db PATH or --no-store`, { token: where });
    }
  }
  return openStore(where);
}
