/**
 * `-oX`: nmap-compatible XML (xmloutputversion 1.05) that validates against nmap 7.93's nmap.dtd and
 * that `ndiff`, Zenmap, Metasploit and the many nmap-XML parsers read as if nmap had written it.
 *
 * The DTD pins `<nmaprun scanner>` to the single value `nmap`, so a file saying `scanner="portolan"`
 * cannot validate. The default is therefore `nmap`, with portolan identified by `args` (which starts
 * with `portolan`), `version` and the leading comment; `xmlScanner: 'portolan'` trades validity for
 * an explicit attribute (ndiff accepts both).
 */
import { toCpe22 } from '../core/cpe.js';
import type { HostResult, PortResult, ScanPlan, ScanSummary, Service } from '../core/model.js';
import { escapeXmlAttr, escapeXmlText } from '../core/escape.js';
import { formatPortRanges } from '../core/port-ranges.js';
import { distinctCount, partitionPorts, type StateGroup } from './extraports.js';
import { commandLine, ctimeString, doneSummary, epochSeconds, seconds2 } from './text.js';
import type { ReportFormat, ReportOptions, ReportWriter, RunInfo } from './types.js';

/**
 * ` name="value"`, escaped. Enum-typed fields are escaped too: a HostResult may come from an
 * importer that read a hostile file, and the type system does not check what it parsed.
 */
function attr(name: string, value: string | number): string {
  return ` ${name}="${typeof value === 'number' ? String(value) : escapeXmlAttr(value)}"`;
}

/** As {@link attr}, but nothing when the value is absent or empty (optional attributes). */
function opt(name: string, value: string | number | undefined): string {
  return value === undefined || value === '' ? '' : attr(name, value);
}

/**
 * Comment text: escaped like an attribute (entities are not expanded inside comments, which is
 * harmless for reading) and with `--` broken up, because XML forbids it inside a comment.
 */
function commentText(s: string): string {
  return escapeXmlAttr(s).replace(/--/g, '-&#45;');
}

/** nmap's `conf` is an integer 0–10 (the DTD enumerates it). */
function conf(confidence: number): number {
  return Number.isFinite(confidence) ? Math.min(10, Math.max(0, Math.round(confidence))) : 0;
}

function serviceXml(s: Service): string {
  const attrs =
    attr('name', s.name || 'unknown') +
    opt('product', s.product) +
    opt('version', s.version) +
    opt('extrainfo', s.extrainfo) +
    opt('hostname', s.hostname) +
    opt('ostype', s.ostype) +
    opt('devicetype', s.devicetype) +
    attr('method', s.method) +
    attr('conf', conf(s.confidence)) +
    opt('tunnel', s.tunnel);
  if (s.cpe.length === 0) return `<service${attrs}/>`;
  // nmap writes CPE 2.2 URIs; the model keeps 2.3 names (JSON Lines has those).
  return `<service${attrs}>${s.cpe.map((c) => `<cpe>${escapeXmlText(toCpe22(c))}</cpe>`).join('')}</service>`;
}

function portXml(p: PortResult): string {
  let inner = `<state${attr('state', p.state)}${attr('reason', p.reason)} reason_ttl="0"/>`;
  if (p.service !== undefined) inner += serviceXml(p.service);
  // A banner is what nmap's `banner` script reports; the DTD places scripts after the service.
  if (p.service?.banner) inner += `<script id="banner"${attr('output', p.service.banner)}/>`;
  return `<port${attr('protocol', p.protocol)}${attr('portid', Number(p.port))}>${inner}</port>\n`;
}

function extraportsXml(g: StateGroup, proto: string): string {
  const reasons = g.reasons
    .map((r) => `<extrareasons${attr('reason', r.reason)} count="${r.ports.length}"${attr('proto', proto)} ports="${formatPortRanges(r.ports)}"/>\n`)
    .join('');
  return `<extraports${attr('state', g.state)} count="${g.count}">\n${reasons}</extraports>\n`;
}

function timesXml(h: HostResult): string {
  if (h.srttUs === undefined) return '';
  const srtt = Math.round(h.srttUs);
  const rttvar = Math.round(h.rttvarUs ?? 0);
  // nmap's retransmission timeout never drops below 100 ms; mirror it when the engine gave none.
  const to = Math.round(h.timeoutUs ?? Math.max(100_000, srtt + 4 * rttvar));
  return `<times srtt="${srtt}" rttvar="${rttvar}" to="${to}"/>\n`;
}

class XmlWriter implements ReportWriter {
  private info: RunInfo | undefined;
  private readonly tz: string;

  constructor(private readonly opts: ReportOptions) {
    this.tz = opts.timeZone ?? 'UTC';
  }

  begin(plan: ScanPlan, info: RunInfo): string {
    this.info = info;
    const args = commandLine(plan.args);
    const startstr = ctimeString(plan.startedAt, this.tz);
    const services = formatPortRanges(plan.ports);
    const head = ['<?xml version="1.0" encoding="UTF-8"?>', '<!DOCTYPE nmaprun>'];
    if (this.opts.xmlStylesheet) head.push(`<?xml-stylesheet href="${escapeXmlAttr(this.opts.xmlStylesheet)}" type="text/xsl"?>`);
    head.push(`<!-- portolan ${commentText(plan.version)} scan initiated ${startstr} as: ${commentText(args)} -->`);
    head.push(
      `<nmaprun${attr('scanner', this.opts.xmlScanner ?? 'nmap')}${attr('args', args)} start="${epochSeconds(plan.startedAt)}"` +
        `${attr('startstr', startstr)}${attr('version', plan.version || '0')} xmloutputversion="1.05">`,
    );
    // The DTD requires `services` even when the list is empty.
    head.push(`<scaninfo${attr('type', plan.scanType)}${attr('protocol', plan.protocol)} numservices="${distinctCount(plan.ports)}" services="${services}"/>`);
    head.push(`<verbose level="${Math.max(0, Math.trunc(info.verbosity))}"/>`);
    head.push(`<debugging level="${Math.max(0, Math.trunc(info.debugging ?? 0))}"/>`);
    return `${head.join('\n')}\n`;
  }

  host(host: HostResult): string {
    const info = this.need();
    // nmap leaves down hosts out of every format unless -v; the runstats still count them.
    if (host.status === 'down' && info.verbosity < 1) return '';
    const timedOut = host.timedOut ? ' timedout="true"' : '';
    let out = `<host starttime="${epochSeconds(host.startedAt)}" endtime="${epochSeconds(host.endedAt)}"${timedOut}>`;
    out += `<status${attr('state', host.status)}${attr('reason', host.statusReason)} reason_ttl="0"/>\n`;
    out += `<address${attr('addr', host.address)} addrtype="${host.family === 6 ? 'ipv6' : 'ipv4'}"/>\n`;
    out += '<hostnames>\n';
    for (const h of host.hostnames) out += `<hostname${attr('name', h.name)}${attr('type', h.type)}/>\n`;
    out += '</hostnames>\n';
    // A timed-out host's ports are incomplete, so nmap reports none of them.
    if (host.status === 'up' && !host.timedOut && host.ports.length > 0) {
      const { shown, collapsed } = partitionPorts(host.ports, info.openOnly);
      const proto = host.ports[0]?.protocol ?? 'tcp';
      out += '<ports>';
      for (const g of collapsed) out += extraportsXml(g, proto);
      for (const p of shown) out += portXml(p);
      out += '</ports>\n';
    }
    out += timesXml(host);
    return `${out}</host>\n`;
  }

  end(summary: ScanSummary): string {
    this.need();
    const timestr = ctimeString(summary.endedAt, this.tz);
    const failed = summary.exit === 'error';
    const finished =
      `<finished time="${epochSeconds(summary.endedAt)}"${attr('timestr', timestr)}` +
      `${attr('summary', `portolan done at ${timestr}; ${doneSummary(summary)}`)} elapsed="${seconds2(summary.elapsedMs)}"` +
      `${attr('exit', summary.exit)}${failed ? attr('errormsg', summary.message || 'interrupted') : ''}/>`;
    const hosts = `<hosts up="${summary.hostsUp}" down="${summary.hostsDown}" total="${summary.hostsTotal}"/>`;
    return `<runstats>${finished}${hosts}\n</runstats>\n</nmaprun>\n`;
  }

  private need(): RunInfo {
    if (this.info === undefined) throw new Error('report writer used before begin()');
    return this.info;
  }
}

/** nmap-compatible XML (`-oX`). */
export const xmlFormat = {
  id: 'xml',
  flag: 'X',
  extension: '.xml',
  description: 'nmap-compatible XML (validates against nmap.dtd, readable by ndiff)',
  inAll: true,
  create: (opts: ReportOptions = {}): ReportWriter => new XmlWriter(opts),
} as const satisfies ReportFormat;
