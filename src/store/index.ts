/**
 * Opening the store: a `postgres://` or `postgresql://` URL is PostgreSQL, anything else a SQLite
 * file path. Migrations run on open. Every failure to open becomes one `E_STORE` line that says
 * what to do; the driver's own words are kept, passwords are not.
 */
import { UsageError, quoteToken } from '../core/errors.js';
import { NewerSchemaError } from './migrations.js';
import type { Store } from './types.js';

export type { Store, Ingest, ScanMeta, ScanRow, HostRow, ServiceRow, ServiceQuery, CommitEnd } from './types.js';

/** True for a PostgreSQL connection string rather than a file path. */
export function isPostgresUrl(location: string): boolean {
  return /^postgres(ql)?:\/\//i.test(location);
}

/** Longest location shown whole; paths and URLs are longer than the 64 characters quoteToken keeps. */
const MAX_SHOWN = 200;

/** Escaped as quoteToken escapes (control and non-ASCII characters visible), without quotes, cut at `max`. */
function escapeText(text: string, max: number): string {
  let out = '';
  // quoteToken shows 64 characters at most; feed it slices.
  for (let i = 0; i < Math.min(text.length, max); i += 64) out += quoteToken(text.slice(i, Math.min(i + 64, max))).slice(1, -1);
  return text.length > max ? `${out}… (${text.length} characters)` : out;
}

function quoteLong(text: string): string {
  return `"${escapeText(text, MAX_SHOWN)}"`;
}

/** The location as a message may show it: a URL's password masked, everything quoted and escaped. */
export function showLocation(location: string): string {
  if (!isPostgresUrl(location)) return quoteLong(location);
  try {
    const url = new URL(location);
    if (url.password !== '') url.password = '***';
    return quoteLong(url.toString());
  } catch {
    return quoteLong(location.replace(/:[^:@/]*@/, ':***@'));
  }
}

/** The driver's reason on one line, capped, without the password. */
function reasonOf(err: unknown, location: string): string {
  const e = err as NodeJS.ErrnoException | undefined;
  const message = e instanceof Error ? e.message : String(err);
  let text = (typeof e?.code === 'string' && !message.includes(e.code) ? `${e.code}: ` : '') + message;
  if (isPostgresUrl(location)) {
    try {
      const pw = decodeURIComponent(new URL(location).password);
      if (pw !== '') text = text.split(pw).join('***');
    } catch {
      // Unparsable URL: nothing to mask that the message could hold.
    }
  }
  return escapeText(text.replace(/\s+/g, ' ').trim(), 300);
}

function storeError(err: unknown, location: string): UsageError {
  if (err instanceof UsageError) return err;
  const where = showLocation(location);
  const reason = reasonOf(err, location);
  if (err instanceof NewerSchemaError) {
    return new UsageError('E_STORE', `the store ${where} was written by a newer portolan (${err.unknown.join(', ')}); upgrade portolan or use another --db`, { token: location });
  }
  const code = (err as { code?: unknown } | undefined)?.code;
  if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT') {
    return new UsageError('E_STORE', `${where} is not a portolan database (${reason}); use another --db path`, { token: location });
  }
  if (isPostgresUrl(location)) {
    return new UsageError('E_STORE', `cannot use the PostgreSQL store ${where} (${reason}); check that the server runs and the URL is right, or use --db PATH`, { token: location });
  }
  return new UsageError('E_STORE', `cannot open the store ${where} (${reason}); check the path and its permissions, or use --db PATH`, { token: location });
}

/**
 * Open the store at `location` and apply pending migrations. Backends are imported on demand, so
 * a SQLite run never loads pg and the other way round.
 */
export async function openStore(location: string): Promise<Store> {
  if (location === '') throw new UsageError('E_STORE', 'empty store location: give a SQLite file path or a postgres:// URL');
  try {
    if (isPostgresUrl(location)) {
      const { PgStore, parsePgLocation } = await import('./postgres.js');
      let where;
      try {
        where = parsePgLocation(location);
      } catch (err) {
        throw new UsageError('E_STORE', `bad PostgreSQL URL ${showLocation(location)} (${reasonOf(err, location)}); use postgres://user@host/db[?schema=NAME]`, { token: location });
      }
      return await PgStore.open(where);
    }
    const { SqliteStore } = await import('./sqlite.js');
    return await SqliteStore.open(location);
  } catch (err) {
    throw storeError(err, location);
  }
}
