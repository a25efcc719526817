/**
 * The scan output formats (`-oN/-oX/-oG/-oJ FILE|-`) for commands that produce observations
 * without scanning them: `import` (convert another tool's file) and `listeners`. Each run is one
 * begin … hosts … end sequence per destination, exactly as a scan writes it.
 */
import { Option, type Command } from 'commander';
import type { HostResult, ScanPlan, ScanSummary } from '../core/model.js';
import { UsageError, quoteToken } from '../core/errors.js';
import { REPORT_FORMATS, findFormat } from '../report/registry.js';
import type { ReportWriter } from '../report/types.js';
import { Sink } from './sink.js';
import { stdoutClosed, tolerateClosedStdout } from './stdout.js';
import { VERSION } from './version.js';

/** Add `--output-N/X/G/J <file>` (typed as `-oN` … thanks to the nmap argv rewrite). */
export function addReportOptions(cmd: Command): Command {
  for (const f of REPORT_FORMATS) cmd.addOption(new Option(`--output-${f.flag} <file>`, `${f.description}; - for stdout (also -o${f.flag} FILE)`));
  return cmd;
}

interface Destination {
  writer: ReportWriter;
  sink: Sink;
}

export class ObservationOutputs {
  readonly #dests: Destination[] = [];
  #hostsUp = 0;
  #hostsTotal = 0;
  #startedAt = 0;
  /** True when one of the outputs is stdout: summaries then go to stderr. */
  readonly toStdout: boolean;

  /** `raw`: the command's options; every `outputX` that is a string is a destination. */
  constructor(raw: Record<string, unknown>) {
    const chosen: { id: string; path: string }[] = [];
    for (const f of REPORT_FORMATS) {
      const path = raw[`output${f.flag}`];
      if (typeof path === 'string') chosen.push({ id: f.id, path });
    }
    if (chosen.filter((c) => c.path === '-').length > 1) throw new UsageError('E_USAGE', 'only one output can go to stdout (-)');
    this.toStdout = chosen.some((c) => c.path === '-');
    if (this.toStdout) tolerateClosedStdout();
    for (const c of chosen) {
      const format = findFormat(c.id);
      if (!format) continue;
      let sink: Sink;
      try {
        sink = new Sink(c.path, c.path === '-' && format.id === 'jsonl');
      } catch (err) {
        throw new UsageError('E_USAGE', `-o${format.flag} ${quoteToken(c.path)}: cannot write (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
      }
      this.#dests.push({ writer: format.create({ destination: c.path === '-' ? 'terminal' : 'file' }), sink });
    }
  }

  get active(): boolean {
    return this.#dests.length > 0;
  }

  begin(args: readonly string[], targets: readonly string[], startedAt: number): void {
    this.#hostsUp = 0;
    this.#hostsTotal = 0;
    this.#startedAt = startedAt;
    const plan: ScanPlan = { args: [...args], scanType: 'connect', protocol: 'tcp', ports: [], startedAt, version: VERSION };
    for (const d of this.#dests) d.sink.write(d.writer.begin(plan, { targets, verbosity: 0, openOnly: false, showReason: false }));
  }

  async host(host: HostResult): Promise<void> {
    this.#hostsTotal++;
    if (host.status === 'up') this.#hostsUp++;
    for (const d of this.#dests) {
      if (d.sink.path === '-' && stdoutClosed()) continue;
      d.sink.write(d.writer.host(host));
      await d.sink.drained();
    }
  }

  end(message?: string): void {
    const endedAt = Date.now();
    const summary: ScanSummary = {
      endedAt,
      hostsUp: this.#hostsUp,
      hostsDown: this.#hostsTotal - this.#hostsUp,
      hostsTotal: this.#hostsTotal,
      exit: message === undefined ? 'success' : 'error',
      elapsedMs: endedAt - this.#startedAt,
      probesSent: 0,
    };
    if (message !== undefined) summary.message = message;
    for (const d of this.#dests) {
      d.sink.write(d.writer.end(summary));
      d.sink.flush();
    }
  }

  close(): void {
    for (const d of this.#dests) d.sink.close();
  }
}
