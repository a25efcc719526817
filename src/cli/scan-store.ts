/**
 * Persisting `portolan scan`: the store is opened (and migrated) before anything is sent, so a
 * bad `--db` fails fast; the finished hosts wait in a spool (memory, then a private temporary
 * file) and reach the store when the scan completes, in one transaction. The scan therefore
 * holds no write lock while it runs: other scans and imports write meanwhile. An interrupted or
 * failed scan is not stored at all (the checkpoint, not the store, is what resumes it).
 */
import type { HostResult } from '../core/model.js';
import { UsageError } from '../core/errors.js';
import type { ScanMeta, ScanRow, Store } from '../store/types.js';
import { HostSpool } from './host-spool.js';
import { openCliStore } from './store-location.js';
import { VERSION } from './version.js';

/** Where a scan is recorded: `--db`, or the default; `enabled` false for `--no-store`. */
export interface StoreConfig {
  enabled: boolean;
  location?: string;
}

export type ScanEnd = 'done' | 'interrupted' | 'failed';

/** How long a finished scan waits for another run's write to end before giving up. */
const COMMIT_WAIT_MS = 120_000;

export class ScanRecorder {
  readonly #store: Store;
  readonly #meta: ScanMeta;
  readonly #spool = new HostSpool();
  #error: unknown;
  #closed = false;

  private constructor(store: Store, meta: ScanMeta) {
    this.#store = store;
    this.#meta = meta;
  }

  /** Open the store; undefined with `--no-store`. */
  static async open(config: StoreConfig, args: readonly string[], startedAt: number): Promise<ScanRecorder | undefined> {
    if (!config.enabled) return undefined;
    const store = await openCliStore(config.location);
    return new ScanRecorder(store, { kind: 'scan', source: 'portolan', args: [...args], startedAt, toolVersion: VERSION });
  }

  /** Keep a finished host (with its detected services) for the store. */
  add(host: HostResult): void {
    if (this.#closed || this.#error !== undefined) return;
    try {
      this.#spool.add(host);
    } catch (err) {
      // A full or unwritable temporary folder: the scan goes on, and the store step says why at the end.
      this.#error = err;
    }
  }

  /**
   * Store a completed scan; drop any other. Resolves to the stored scan, or undefined when
   * nothing was stored. A store failure is raised here, after the outputs are written.
   */
  async finish(end: ScanEnd): Promise<ScanRow | undefined> {
    if (this.#closed) return undefined;
    if (end !== 'done') {
      this.#spool.discard();
      if (end === 'interrupted') process.stderr.write('portolan: interrupted scan not stored\n');
      return undefined;
    }
    if (this.#error !== undefined) throw notStored(this.#error);
    const ingest = await this.#store.begin(this.#meta, { waitMs: COMMIT_WAIT_MS }).catch((err: unknown) => {
      throw notStored(err);
    });
    try {
      for (const host of this.#spool.hosts()) await ingest.add({ host, source: 'portolan' });
      return await ingest.commit({ endedAt: Date.now(), status: 'done' });
    } catch (err) {
      await ingest.rollback().catch(() => undefined);
      throw notStored(err);
    } finally {
      this.#spool.discard();
    }
  }

  /** Drop whatever was not stored, and close the store. Safe to call more than once. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#spool.discard();
    await this.#store.close();
  }
}

function notStored(err: unknown): UsageError {
  if (err instanceof UsageError) return new UsageError(err.code, `scan not stored: ${err.message}`);
  const why = err instanceof Error ? err.message : String(err);
  return new UsageError('E_STORE', `scan not stored: ${why.replace(/\s+/g, ' ').slice(0, 300)}; use --no-store to scan without the store`);
}
