/**
 * Persisting `portolan scan`: the store is opened before anything is sent (a bad `--db` fails
 * fast), each host is added as it is reported, and the whole scan becomes visible at once when it
 * completes. An interrupted or failed scan is rolled back: the store never holds half a scan (the
 * checkpoint, not the store, is what resumes it).
 */
import type { HostResult } from '../core/model.js';
import { UsageError } from '../core/errors.js';
import type { Ingest, ScanRow, Store } from '../store/types.js';
import { openCliStore } from './store-location.js';
import { VERSION } from './version.js';

/** Where a scan is recorded: `--db`, or the default; `enabled` false for `--no-store`. */
export interface StoreConfig {
  enabled: boolean;
  location?: string;
}

export type ScanEnd = 'done' | 'interrupted' | 'failed';

export class ScanRecorder {
  readonly #store: Store;
  #ingest: Ingest | undefined;
  /** Adds run one after another, in report order; the first failure is kept for the end. */
  #chain: Promise<void> = Promise.resolve();
  #error: unknown;
  #closed = false;

  private constructor(store: Store, ingest: Ingest) {
    this.#store = store;
    this.#ingest = ingest;
  }

  /** Open the store and begin the scan's transaction; undefined with `--no-store`. */
  static async open(config: StoreConfig, args: readonly string[], startedAt: number): Promise<ScanRecorder | undefined> {
    if (!config.enabled) return undefined;
    const store = await openCliStore(config.location);
    try {
      const ingest = await store.begin({ kind: 'scan', source: 'portolan', args: [...args], startedAt, toolVersion: VERSION });
      return new ScanRecorder(store, ingest);
    } catch (err) {
      await store.close().catch(() => undefined);
      throw err instanceof UsageError ? err : new UsageError('E_STORE', `cannot record the scan in the store (${err instanceof Error ? err.message : String(err)}); use --no-store to scan without it`);
    }
  }

  /** Queue a finished host (with its detected services) for the store. */
  add(host: HostResult): void {
    const ingest = this.#ingest;
    if (!ingest || this.#error !== undefined) return;
    this.#chain = this.#chain.then(
      () => (this.#error === undefined ? ingest.add({ host, source: 'portolan' }) : undefined),
      () => undefined,
    ).catch((err: unknown) => {
      this.#error ??= err;
    });
  }

  /**
   * Commit a completed scan; roll back any other. Resolves to the stored scan, or undefined when
   * nothing was stored. A store failure during the scan is raised here, after the outputs are written.
   */
  async finish(end: ScanEnd): Promise<ScanRow | undefined> {
    const ingest = this.#ingest;
    if (!ingest) return undefined;
    this.#ingest = undefined;
    await this.#chain;
    if (end !== 'done' || this.#error !== undefined) {
      await ingest.rollback().catch(() => undefined);
      if (end === 'interrupted') process.stderr.write('portolan: interrupted scan not stored\n');
      if (end === 'done') {
        const why = this.#error instanceof Error ? this.#error.message : String(this.#error);
        throw new UsageError('E_STORE', `scan not stored: ${why.replace(/\s+/g, ' ').slice(0, 300)}`);
      }
      return undefined;
    }
    return ingest.commit({ endedAt: Date.now(), status: 'done' });
  }

  /** Roll back whatever was not finished, and close the store. Safe to call more than once. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const ingest = this.#ingest;
    this.#ingest = undefined;
    if (ingest) {
      await this.#chain;
      await ingest.rollback().catch(() => undefined);
    }
    await this.#store.close();
  }
}
