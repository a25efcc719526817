/**
 * The contract every output format of `portolan scan` implements. Writers are pure string builders:
 * they return the text to append and never touch files or stdout, so the CLI owns destinations,
 * buffering and backpressure, and one scan can feed several writers at once (`-oA`).
 */
import type { Family, HostResult, PortResult, ScanPlan, ScanSummary } from '../core/model.js';
import type { PortState } from '../core/status.js';

/** What the run looks like from the command line; filled by the CLI, passed once to `begin`. */
export interface RunInfo {
  /** Target specifications as the user gave them (`10.0.0.0/24`, `example.com`), for machine-readable headers. */
  targets: readonly string[];
  /** `-v` count: 1 lists down hosts and adds timing lines; 2 also shows banners. */
  verbosity: number;
  /** `-d` count; only recorded (`<debugging level>`). Defaults to 0. */
  debugging?: number;
  /** `--open`: list only open ports; every other port is counted in "Not shown". */
  openOnly: boolean;
  /** `--reason`: add the REASON column and the host-up reason. */
  showReason: boolean;
  /** Project URL for the "Starting portolan X ( URL ) at …" line; omitted when absent. */
  homepage?: string;
}

/** A streaming writer: `begin`, then `port`/`host` in completion order, then `end` (also after an interruption). */
export interface ReportWriter {
  /** Called once before any host. */
  begin(plan: ScanPlan, info: RunInfo): string;
  /** Called as each host finishes (hosts arrive in completion order). Returns the text to append. */
  host(host: HostResult): string;
  /**
   * Called per port as soon as its state is final, for formats that stream ports (JSON Lines).
   * Writers that define it rely on the CLI calling it; formats without it ignore per-port events.
   */
  port?(host: PortHostRef, port: PortResult): string;
  /** Called once at the end, also after an interruption (`summary.exit = 'error'`, `message` says why). */
  end(summary: ScanSummary): string;
}

/** Identifies the host a streamed port belongs to. */
export interface PortHostRef {
  address: string;
  family: Family;
}

/** Options every format accepts; each format ignores what does not apply to it. */
export interface ReportOptions {
  /**
   * IANA time zone for human-readable times (`startstr`, "Starting … at"). Defaults to `UTC` so output
   * is reproducible; the CLI may pass the user's zone (`Intl.DateTimeFormat().resolvedOptions().timeZone`).
   */
  timeZone?: string;
  /** normal format: `terminal` (stdout, "Starting …" line) or `file` (`-oN`, `#` comment header and footer). */
  destination?: 'terminal' | 'file';
  /** normal format: colours a rendered port row; receives plain text already padded, returns it decorated. */
  color?: (state: PortState, text: string) => string;
  /** xml format: the `scanner` attribute. nmap's DTD allows only `nmap`, so that is the default (see nmap-xml.ts). */
  xmlScanner?: 'nmap' | 'portolan';
  /** xml format: href of an `<?xml-stylesheet?>` processing instruction (e.g. nmap.xsl); omitted when absent. */
  xmlStylesheet?: string;
  /** jsonl format: clock for the `ts` of port lines; defaults to `Date.now`. */
  now?: () => number;
}

/** One output format: an id, the file extension `-oA` uses, and a writer factory. */
export interface ReportFormat {
  /** Stable id used by the CLI (`-o<id>`-style selection and config files). */
  readonly id: string;
  /** The nmap-style `-o` letter that selects it (`N`, `X`, `G`, `J`). */
  readonly flag: string;
  /** File extension including the dot (`.nmap`, `.xml`, `.gnmap`, `.jsonl`). */
  readonly extension: string;
  /** One line for `--help`. */
  readonly description: string;
  /** Whether `-oA` writes this format. */
  readonly inAll: boolean;
  create(opts?: ReportOptions): ReportWriter;
}
