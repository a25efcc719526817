/**
 * `-oJ`: JSON Lines, streamed as results arrive so `portolan scan … -oJ - | jq` sees each port the
 * moment it is decided. Every line is one complete JSON object with a `type`:
 *
 * - `begin` first, then `port` lines (one per port, as decided), a `host` line as each host
 *   finishes (status, per-state counts, timing; the ports are not repeated), and `end` last.
 * - Timestamps (`ts`, `start`, `end`) are Unix epoch milliseconds; durations say their unit.
 * - With `--open` only open ports get a line; the host line still counts every state.
 *
 * If the caller never streams a host's ports through `port()` (rendering a stored scan, say), the
 * host's ports are written just before its host line instead, so the output is complete either way.
 */
import type { HostResult, PortResult, ScanPlan, ScanSummary, Service } from '../core/model.js';
import { toJsonLine } from '../core/escape.js';
import { formatPortRanges } from '../core/port-ranges.js';
import { countStates, distinctCount } from './extraports.js';
import type { PortHostRef, ReportFormat, ReportOptions, ReportWriter, RunInfo } from './types.js';

/** Milliseconds rounded to microseconds: more digits would be noise, fewer would hide loopback RTTs. */
function ms3(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

function serviceJson(s: Service): Record<string, unknown> {
  return {
    name: s.name,
    product: s.product,
    version: s.version,
    extrainfo: s.extrainfo,
    ostype: s.ostype,
    devicetype: s.devicetype,
    tunnel: s.tunnel,
    method: s.method,
    conf: s.confidence,
    cpe: s.cpe,
    hostname: s.hostname,
    distro: s.distro,
    package_revision: s.packageRevision,
    starttls: s.startTls,
    tls: s.tls,
    evidence: s.evidence,
    fields: s.fields,
    banner: s.banner,
  };
}

class JsonlWriter implements ReportWriter {
  private info: RunInfo | undefined;
  private readonly now: () => number;
  /** Hosts with at least one streamed port; an entry lives only while its host is in flight. */
  private readonly streamed = new Set<string>();

  constructor(opts: ReportOptions) {
    this.now = opts.now ?? Date.now;
  }

  begin(plan: ScanPlan, info: RunInfo): string {
    this.info = info;
    return `${toJsonLine({
      type: 'begin',
      scanner: 'portolan',
      version: plan.version,
      args: plan.args,
      targets: info.targets,
      scan_type: plan.scanType,
      proto: plan.protocol,
      ports: formatPortRanges(plan.ports),
      num_ports: distinctCount(plan.ports),
      open_only: info.openOnly,
      ts: plan.startedAt,
    })}\n`;
  }

  port(host: PortHostRef, port: PortResult): string {
    const info = this.need();
    this.streamed.add(host.address);
    return this.portLine(host, port, this.now(), info);
  }

  private portLine(host: PortHostRef, p: PortResult, ts: number, info: RunInfo): string {
    if (info.openOnly && p.state !== 'open') return '';
    return `${toJsonLine({
      type: 'port',
      ip: host.address,
      family: host.family,
      port: p.port,
      proto: p.protocol,
      state: p.state,
      reason: p.reason,
      rtt_ms: p.rttMs === undefined ? undefined : ms3(p.rttMs),
      tries: p.tries,
      service: p.service === undefined ? undefined : serviceJson(p.service),
      ts,
    })}\n`;
  }

  host(host: HostResult): string {
    const info = this.need();
    let out = '';
    if (!this.streamed.delete(host.address)) {
      for (const p of host.ports) out += this.portLine(host, p, host.endedAt, info);
    }
    out += `${toJsonLine({
      type: 'host',
      ip: host.address,
      family: host.family,
      hostnames: host.hostnames,
      status: host.status,
      reason: host.statusReason,
      timed_out: host.timedOut === true,
      ports: countStates(host.ports),
      srtt_us: host.srttUs,
      rttvar_us: host.rttvarUs,
      timeout_us: host.timeoutUs,
      start: host.startedAt,
      end: host.endedAt,
      ts: host.endedAt,
    })}\n`;
    return out;
  }

  end(summary: ScanSummary): string {
    this.need();
    return `${toJsonLine({
      type: 'end',
      exit: summary.exit,
      message: summary.message,
      hosts: { up: summary.hostsUp, down: summary.hostsDown, total: summary.hostsTotal },
      elapsed_ms: summary.elapsedMs,
      probes_sent: summary.probesSent,
      ts: summary.endedAt,
    })}\n`;
  }

  private need(): RunInfo {
    if (this.info === undefined) throw new Error('report writer used before begin()');
    return this.info;
  }
}

/** JSON Lines, streamed per port (`-oJ`). */
export const jsonlFormat = {
  id: 'jsonl',
  flag: 'J',
  extension: '.jsonl',
  description: 'JSON Lines: begin, one line per port as decided, one per host, end',
  inAll: true,
  create: (opts: ReportOptions = {}): ReportWriter => new JsonlWriter(opts),
} as const satisfies ReportFormat;
