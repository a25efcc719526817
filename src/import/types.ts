/**
 * Importers: one file per external format, one line in registry.ts. An importer sniffs its
 * format from the first bytes of a file and streams observations out of it: a gigabyte of XML
 * costs constant memory. Bad input ends with an ImportError naming the file and line.
 */
import type { Readable } from 'node:stream';
import type { Observation, Source } from '../core/model.js';

export interface ImportContext {
  /** Shown in errors: the path the user gave. */
  file: string;
  /** Called for recoverable problems (a truncated file whose complete hosts were imported). */
  warn: (message: string) => void;
}

export interface ImportMeta {
  source: Source;
  /** The foreign tool's command line and version, where the file records them. */
  args?: string[];
  toolVersion?: string;
  startedAt?: number;
}

export interface Importer {
  /** Stable id for `--format` (`nmap-xml`, `masscan-json`, `ss`, …). */
  readonly id: string;
  readonly description: string;
  readonly source: Source;
  /**
   * How sure this importer is that `head` (the first bytes of the file, up to 64 KiB) is its
   * format: 0 = no, 1–9 = maybe, 10 = certain. The highest wins; ties go to registry order.
   */
  sniff(head: Buffer): number;
  /**
   * Stream the file's observations. `meta` is filled as soon as the header is read. Throws
   * ImportError (never anything else) on bad input.
   */
  read(input: Readable, ctx: ImportContext, meta: ImportMeta): AsyncIterable<Observation>;
}
