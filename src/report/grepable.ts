/**
 * `-oG`: nmap's grepable output. One line per host fact, tab-separated fields, ports as
 * `port/state/protocol/owner/service/rpc/version/` joined by `, `. nmap calls it deprecated but
 * scripts built on `grep`/`awk`/`cut` still consume it, so the layout is kept exactly.
 */
import type { HostResult, PortResult, ScanPlan, ScanSummary } from '../core/model.js';
import { escapeTerminal } from '../core/escape.js';
import { formatPortRanges } from '../core/port-ranges.js';
import { distinctCount, partitionPorts } from './extraports.js';
import { commandLine, ctimeString, displayName, doneSummary, serviceLabel, versionText } from './text.js';
import type { ReportFormat, ReportOptions, ReportWriter, RunInfo } from './types.js';

/**
 * A value inside a port entry. Escaping controls keeps the record on one line and tabs out of it;
 * `/` would shift the subfields, so it becomes `|` as nmap does, and `,` would split the entry, so
 * it becomes `;` (nmap leaves commas alone and lets them corrupt the list).
 */
function subfield(s: string): string {
  return escapeTerminal(s).replace(/\//g, '|').replace(/,/g, ';');
}

function portEntry(p: PortResult): string {
  const service = p.service === undefined ? '' : subfield(serviceLabel(p.service, '|'));
  return `${p.port}/${subfield(p.state)}/${subfield(p.protocol)}//${service}//${subfield(versionText(p.service))}/`;
}

/** `(name)` of the `Host:` field; parentheses inside a name would end the field early. */
function hostField(host: HostResult): string {
  const name = displayName(host) ?? '';
  return `Host: ${escapeTerminal(host.address)} (${escapeTerminal(name).replace(/[()]/g, '_')})`;
}

class GrepableWriter implements ReportWriter {
  private info: RunInfo | undefined;
  private readonly tz: string;

  constructor(opts: ReportOptions) {
    this.tz = opts.timeZone ?? 'UTC';
  }

  begin(plan: ScanPlan, info: RunInfo): string {
    this.info = info;
    const header = `# portolan ${escapeTerminal(plan.version)} scan initiated ${ctimeString(plan.startedAt, this.tz)} as: ${escapeTerminal(commandLine(plan.args))}`;
    const n = distinctCount(plan.ports);
    const list = formatPortRanges(plan.ports);
    const tcp = plan.protocol === 'tcp' ? `${n};${list}` : '0;';
    const udp = plan.protocol === 'udp' ? `${n};${list}` : '0;';
    return `${header}\n# Ports scanned: TCP(${tcp}) UDP(${udp}) SCTP(0;) PROTOCOLS(0;)\n`;
  }

  host(host: HostResult): string {
    const info = this.need();
    const who = hostField(host);
    if (host.timedOut) return `${who}\tStatus: Timeout\n`;
    if (host.status === 'down') return info.verbosity >= 1 ? `${who}\tStatus: Down\n` : '';
    let out = `${who}\tStatus: Up\n`;
    if (host.ports.length === 0) return out;
    // Grepable has room for one ignored state, so only the largest collapsed state is summarised;
    // ports of any other collapsed state are listed (or, with --open, dropped as nmap does).
    const { shown, collapsed } = partitionPorts(host.ports, info.openOnly);
    const [ignored, ...rest] = collapsed;
    const listed = info.openOnly ? shown : [...shown, ...rest.flatMap((g) => host.ports.filter((p) => p.state === g.state))].sort((a, b) => a.port - b.port);
    out += `${who}\tPorts: ${listed.map(portEntry).join(', ')}`;
    if (ignored !== undefined) out += `\tIgnored State: ${escapeTerminal(ignored.state)} (${ignored.count})`;
    return `${out}\n`;
  }

  end(summary: ScanSummary): string {
    this.need();
    const why = summary.exit === 'error' ? ` -- interrupted: ${escapeTerminal(summary.message ?? 'unknown error')}` : '';
    return `# portolan done at ${ctimeString(summary.endedAt, this.tz)} -- ${doneSummary(summary)}${why}\n`;
  }

  private need(): RunInfo {
    if (this.info === undefined) throw new Error('report writer used before begin()');
    return this.info;
  }
}

/** nmap's grepable output (`-oG`). */
export const grepableFormat = {
  id: 'grepable',
  flag: 'G',
  extension: '.gnmap',
  description: 'nmap-style grepable output, one line per host',
  inAll: true,
  create: (opts: ReportOptions = {}): ReportWriter => new GrepableWriter(opts),
} as const satisfies ReportFormat;
