/**
 * The "normal" output: what `portolan scan` prints on a terminal and writes with `-oN`. It follows
 * nmap's normal output closely so that nmap users read it without thinking, and so that habits
 * like `grep open` keep working. Plain text; colour is the CLI's business via the `color` hook.
 */
import type { HostResult, PortResult, ScanPlan, ScanSummary } from '../core/model.js';
import { toCpe22 } from '../core/cpe.js';
import { escapeTerminal } from '../core/escape.js';
import { partitionPorts, type StateGroup } from './extraports.js';
import { ctimeString, displayName, doneSummary, plural, seconds2, serviceLabel, shortDateString, twoSignificant, versionText, commandLine } from './text.js';
import type { ReportFormat, ReportOptions, ReportWriter, RunInfo } from './types.js';

/**
 * Longest cell the table prints. A hostile service name of a megabyte would otherwise set the
 * column width for every one of 65,535 rows.
 */
const MAX_CELL = 200;

/** nmap's service names are under 20 characters; a longer one is hostile or broken. */
const MAX_SERVICE = 40;

/** Longest banner shown at `-vv`. */
const MAX_BANNER = 160;

function cell(raw: string, max = MAX_CELL): string {
  const safe = escapeTerminal(raw.length > max * 4 ? raw.slice(0, max * 4) : raw);
  return safe.length > max ? `${safe.slice(0, max - 3)}...` : safe;
}

/** "997 closed tcp ports (conn-refused)" or, with several reasons, "(990 no-response, 7 host-unreach)". */
function describeGroup(g: StateGroup, proto: string): string {
  const noun = g.count === 1 ? 'port' : 'ports';
  const [only] = g.reasons;
  const why = g.reasons.length === 1 && only !== undefined ? only.reason : g.reasons.map((r) => `${r.ports.length} ${r.reason}`).join(', ');
  return escapeTerminal(`${g.count} ${g.state} ${proto} ${noun} (${why})`);
}

/** "Service Info: OS: Linux; Device: router; CPE: cpe:/o:linux:linux_kernel", from the listed ports. */
function serviceInfo(ports: readonly PortResult[]): string | undefined {
  const os = new Set<string>();
  const devices = new Set<string>();
  const cpes = new Set<string>();
  for (const p of ports) {
    const s = p.service;
    if (s === undefined) continue;
    if (s.ostype) os.add(cell(s.ostype));
    if (s.devicetype) devices.add(cell(s.devicetype));
    // Only OS and hardware CPEs describe the host; application CPEs belong to their port.
    for (const c of s.cpe.map(toCpe22)) if (c.startsWith('cpe:/o:') || c.startsWith('cpe:/h:')) cpes.add(cell(c));
  }
  const fields: string[] = [];
  if (os.size > 0) fields.push(`${os.size === 1 ? 'OS' : 'OSs'}: ${[...os].join(', ')}`);
  if (devices.size > 0) fields.push(`${devices.size === 1 ? 'Device' : 'Devices'}: ${[...devices].join(', ')}`);
  if (cpes.size > 0) fields.push(`${cpes.size === 1 ? 'CPE' : 'CPEs'}: ${[...cpes].join(', ')}`);
  return fields.length > 0 ? `Service Info: ${fields.join('; ')}` : undefined;
}

class NormalWriter implements ReportWriter {
  private info: RunInfo | undefined;
  private plan: ScanPlan | undefined;
  private readonly tz: string;
  private readonly file: boolean;

  constructor(private readonly opts: ReportOptions) {
    this.tz = opts.timeZone ?? 'UTC';
    this.file = opts.destination === 'file';
  }

  begin(plan: ScanPlan, info: RunInfo): string {
    this.plan = plan;
    this.info = info;
    const version = escapeTerminal(plan.version);
    if (this.file) {
      return `# portolan ${version} scan initiated ${ctimeString(plan.startedAt, this.tz)} as: ${escapeTerminal(commandLine(plan.args))}\n`;
    }
    const home = info.homepage ? ` ( ${escapeTerminal(info.homepage)} )` : '';
    return `Starting portolan ${version}${home} at ${shortDateString(plan.startedAt, this.tz)}\n`;
  }

  host(host: HostResult): string {
    const info = this.need();
    const addr = escapeTerminal(host.address);
    const name = displayName(host);
    const title = name === undefined ? addr : `${cell(name)} (${addr})`;
    const reasonNote = info.showReason ? `, received ${cell(host.statusReason)}` : '';
    if (host.timedOut) return `Skipping host ${title} due to host timeout\n`;
    if (host.status === 'down') {
      // Like nmap, down hosts are noise unless the user asked for detail.
      return info.verbosity >= 1 ? `portolan scan report for ${title} [host down${reasonNote}]\n` : '';
    }
    const out: string[] = [`portolan scan report for ${title}`];
    const latency = host.srttUs !== undefined ? ` (${twoSignificant(host.srttUs / 1e6)}s latency)` : '';
    out.push(`Host is up${reasonNote}${latency}.`);
    const ptr = host.hostnames.find((h) => h.type === 'PTR');
    if (ptr !== undefined && name !== undefined && ptr.name !== name) out.push(`rDNS record for ${addr}: ${cell(ptr.name)}`);
    this.ports(host, info, out);
    if (info.verbosity >= 1) {
      const total = host.ports.length;
      const retries = host.ports.reduce((n, p) => n + Math.max(0, p.tries - 1), 0);
      out.push(`Scanned ${plural(total, 'port')} in ${seconds2(host.endedAt - host.startedAt)}s (${plural(retries, 'retransmission')}).`);
    }
    return `${out.join('\n')}\n\n`;
  }

  private ports(host: HostResult, info: RunInfo, out: string[]): void {
    if (host.ports.length === 0) return;
    const proto = host.ports[0]?.protocol ?? 'tcp';
    const { shown, collapsed } = partitionPorts(host.ports, info.openOnly);
    if (shown.length === 0) out.push(`All ${host.ports.length} scanned ports on ${this.titleOf(host)} are in ignored states.`);
    if (collapsed.length > 0) out.push(`Not shown: ${collapsed.map((g) => describeGroup(g, proto)).join(', ')}`);
    if (shown.length === 0) return;

    const withVersion = shown.some((p) => versionText(p.service) !== '');
    const header = ['PORT', 'STATE', 'SERVICE'];
    if (info.showReason) header.push('REASON');
    if (withVersion) header.push('VERSION');
    const rows = shown.map((p) => {
      // State, reason and protocol are escaped too: imported results are only as typed as their file.
      const row = [cell(`${p.port}/${p.protocol}`), cell(p.state), cell(serviceLabel(p.service), MAX_SERVICE)];
      if (info.showReason) row.push(cell(p.reason));
      if (withVersion) row.push(cell(versionText(p.service), MAX_CELL * 2));
      return row;
    });
    const widths = header.map((h, i) => rows.reduce((w, r) => Math.max(w, (r[i] ?? '').length), h.length));
    const render = (r: readonly string[]): string =>
      r
        .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
        .join(' ')
        .trimEnd();
    out.push(render(header));
    const color = this.opts.color;
    shown.forEach((p, i) => {
      const line = render(rows[i] ?? []);
      out.push(color ? color(p.state, line) : line);
      const banner = p.service?.banner;
      if (info.verbosity >= 2 && banner) out.push(`|_banner: ${cell(banner, MAX_BANNER)}`);
    });
    const svc = serviceInfo(shown);
    if (svc !== undefined) out.push(svc);
  }

  private titleOf(host: HostResult): string {
    const name = displayName(host);
    return name === undefined ? escapeTerminal(host.address) : cell(name);
  }

  end(summary: ScanSummary): string {
    const info = this.need();
    const out: string[] = [];
    if (summary.exit === 'error') out.push(`Scan interrupted: ${cell(summary.message ?? 'unknown error', MAX_CELL * 2)}`);
    if (info.verbosity >= 1 && !this.file) out.push(`Connect probes sent: ${summary.probesSent}`);
    if (this.file) out.push(`# portolan done at ${ctimeString(summary.endedAt, this.tz)} -- ${doneSummary(summary)}`);
    else out.push(`portolan done: ${doneSummary(summary)}`);
    return `${out.join('\n')}\n`;
  }

  private need(): RunInfo {
    if (this.info === undefined || this.plan === undefined) throw new Error('report writer used before begin()');
    return this.info;
  }
}

/** The nmap-like normal output (terminal, or `-oN` with `destination: 'file'`). */
export const normalFormat = {
  id: 'normal',
  flag: 'N',
  extension: '.nmap',
  description: 'nmap-style normal output (the terminal table)',
  inAll: true,
  create: (opts: ReportOptions = {}): ReportWriter => new NormalWriter(opts),
} as const satisfies ReportFormat;
