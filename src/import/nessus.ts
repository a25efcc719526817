/**
 * Nessus v2 (`.nessus`), streamed like nmap XML: each `<ReportHost>` becomes one Observation when
 * it closes. Every ReportItem is kept as an ImportedFinding (plugin, severity, CVEs, CVSS,
 * synopsis) for the assessment stage, port-0 items included (they describe the host); an item on
 * a real port also proves that port open, with the service Nessus named. Nessus marks a service
 * name it guessed with a trailing `?`: that becomes a low-confidence, port-table service.
 */
import type { Readable } from 'node:stream';
import type { HostName, HostResult, ImportedFinding, Observation, PortResult, Protocol, Service } from '../core/model.js';
import { ImportError } from './errors.js';
import type { ImportContext, ImportMeta, Importer } from './types.js';
import { canonicalAddress, epochSecondsToMs, parseDecimal, parsePort, text } from './values.js';
import { streamXml, type XmlHandler, type XmlStreamEnd, type XmlTag } from './xml-stream.js';

/** Findings kept per host; a full audit writes a few hundred, a hostile file millions. */
const MAX_FINDINGS = 20_000;
const MAX_CVES = 512;
/** Longest element text gathered; only short fields (scores, CVE ids, synopsis, tags) are read. */
const MAX_TEXT = 4096;
const CVE_RE = /^CVE-\d{4}-\d{4,7}$/;

/** Nessus service names that nmap (and so the rest of portolan) spells differently. */
const SERVICE_NAMES: Readonly<Record<string, string>> = {
  www: 'http',
  cifs: 'microsoft-ds',
  smb: 'microsoft-ds',
  'dce-rpc': 'msrpc',
  epmap: 'msrpc',
  dns: 'domain',
  msrdp: 'ms-wbt-server',
  mssql: 'ms-sql-s',
  'netbios-ssn': 'netbios-ssn',
};

/** HostProperties tags that are read; the rest (dozens per host) are skipped. */
const HOST_TAGS = new Set(['host-ip', 'host-fqdn', 'hostname', 'operating-system', 'HOST_START_TIMESTAMP', 'HOST_END_TIMESTAMP', 'host-rdns']);
/** ReportItem children whose text is read. */
const ITEM_FIELDS = new Set(['cve', 'cvss_base_score', 'cvss3_base_score', 'synopsis']);

interface ItemDraft {
  finding: ImportedFinding;
  /** Port to mark open, with the service Nessus named there. */
  port: PortResult | undefined;
}

interface HostDraft {
  name: string;
  tags: Map<string, string>;
  ports: Map<number, PortResult>;
  findings: ImportedFinding[];
  dropped: number;
}

/** The model's service for a Nessus `svc_name`. */
function serviceOf(svcName: string): Service | undefined {
  let name = svcName.trim();
  const guessed = name.endsWith('?');
  if (guessed) name = name.slice(0, -1);
  if (name === '' || name === 'general') return undefined;
  name = (Object.hasOwn(SERVICE_NAMES, name) ? SERVICE_NAMES[name] : undefined) ?? text(name, 64) ?? 'unknown';
  // Nessus identifies services by probing (find_service); unconfirmed names carry the `?`.
  return guessed ? { name, method: 'table', confidence: 3, cpe: [] } : { name, method: 'probed', confidence: 8, cpe: [] };
}

class NessusReader implements XmlHandler<Observation> {
  hosts = 0;
  private host: HostDraft | undefined;
  private item: ItemDraft | undefined;
  /** Element whose text is being gathered, and the text so far. */
  private field: string | undefined;
  private buf = '';

  constructor(
    private readonly ctx: ImportContext,
    private readonly meta: ImportMeta,
  ) {}

  open(tag: XmlTag, depth: number, _out: Observation[], line: number): void {
    if (depth === 2 && tag.name === 'ReportHost') {
      this.host = { name: tag.attributes.name ?? '', tags: new Map(), ports: new Map(), findings: [], dropped: 0 };
      return;
    }
    const h = this.host;
    if (h === undefined) return;
    if (depth === 3 && tag.name === 'ReportItem') {
      this.item = this.startItem(tag, line);
      return;
    }
    if (depth === 4 && tag.name === 'tag' && this.item === undefined) {
      const name = tag.attributes.name ?? '';
      if (HOST_TAGS.has(name)) this.gather(`tag:${name}`);
    } else if (depth === 4 && this.item !== undefined && ITEM_FIELDS.has(tag.name)) this.gather(tag.name);
  }

  text(chunk: string): void {
    if (this.field !== undefined && this.buf.length < MAX_TEXT) this.buf += chunk.slice(0, MAX_TEXT - this.buf.length);
  }

  close(name: string, depth: number, out: Observation[], line: number): void {
    const h = this.host;
    if (h === undefined) return;
    if (this.field !== undefined && depth === 4) {
      this.fieldDone(h, this.field, this.buf);
      this.field = undefined;
      this.buf = '';
    } else if (depth === 3 && name === 'ReportItem' && this.item !== undefined) {
      this.itemDone(h, this.item, line);
      this.item = undefined;
    } else if (depth === 2 && name === 'ReportHost') {
      this.host = undefined;
      out.push(this.finishHost(h, line));
      this.hosts++;
    }
  }

  private gather(field: string): void {
    this.field = field;
    this.buf = '';
  }

  private fieldDone(h: HostDraft, field: string, value: string): void {
    if (field.startsWith('tag:')) {
      h.tags.set(field.slice(4), value);
      return;
    }
    const f = this.item?.finding;
    if (f === undefined) return;
    if (field === 'cve') {
      const cve = value.trim().toUpperCase();
      if (CVE_RE.test(cve) && f.cves.length < MAX_CVES && !f.cves.includes(cve)) f.cves.push(cve);
    } else if (field === 'synopsis') {
      const s = text(value, 2048);
      if (s !== undefined) f.synopsis = s;
    } else {
      const score = parseDecimal(value);
      if (score !== undefined && score >= 0 && score <= 10) {
        if (field === 'cvss_base_score') f.cvss2 = score;
        else f.cvss3 = score;
      }
    }
  }

  private startItem(tag: XmlTag, line: number): ItemDraft {
    const a = tag.attributes;
    const port = parsePort(a.port);
    if (port === undefined) throw new ImportError(this.ctx.file, line, 'ReportItem port is not a number 0-65535');
    const pluginId = a.pluginID?.trim() ?? '';
    if (!/^\d{1,12}$/.test(pluginId)) throw new ImportError(this.ctx.file, line, 'ReportItem without a numeric pluginID');
    const severity = parsePort(a.severity);
    if (severity === undefined || severity > 4) throw new ImportError(this.ctx.file, line, 'ReportItem severity is not 0-4');
    const proto: Protocol = a.protocol === 'udp' ? 'udp' : 'tcp';
    const finding: ImportedFinding = { protocol: proto, port, pluginId, pluginName: text(a.pluginName, 512) ?? '', severity, cves: [] };
    // Port 0 items are about the host; icmp and other protocols have no port to open.
    if (port === 0 || (a.protocol !== 'tcp' && a.protocol !== 'udp')) return { finding, port: undefined };
    const p: PortResult = { protocol: proto, port, state: 'open', reason: 'syn-ack', tries: 1 };
    const service = serviceOf(a.svc_name ?? '');
    if (service !== undefined) p.service = service;
    return { finding, port: p };
  }

  private itemDone(h: HostDraft, item: ItemDraft, line: number): void {
    if (h.findings.length < MAX_FINDINGS) h.findings.push(item.finding);
    else h.dropped++;
    const p = item.port;
    if (p === undefined) return;
    const key = (p.protocol === 'udp' ? 65536 : 0) + p.port;
    const known = h.ports.get(key);
    // Many plugins report on one port; a confirmed service name beats a guessed one.
    if (known === undefined) {
      if (h.ports.size >= 2 * 65536) throw new ImportError(this.ctx.file, line, 'too many ports in one ReportHost');
      h.ports.set(key, p);
    } else if (p.service !== undefined && (known.service === undefined || known.service.confidence < p.service.confidence)) known.service = p.service;
  }

  private finishHost(h: HostDraft, line: number): Observation {
    const fromIp = canonicalAddress(h.tags.get('host-ip') ?? '');
    const fromName = canonicalAddress(h.name);
    const addr = fromIp ?? fromName;
    if (addr === undefined) throw new ImportError(this.ctx.file, line, 'ReportHost without an IP address (no host-ip tag and its name is not an address)');
    const hostnames: HostName[] = [];
    const add = (name: string | undefined, type: HostName['type']): void => {
      const n = text(name, 255);
      if (n !== undefined && canonicalAddress(n) === undefined && !hostnames.some((x) => x.name === n)) hostnames.push({ name: n, type });
    };
    add(h.name, 'user');
    add(h.tags.get('host-fqdn'), 'PTR');
    add(h.tags.get('host-rdns'), 'PTR');
    const startedAt = epochSecondsToMs(h.tags.get('HOST_START_TIMESTAMP')) ?? this.meta.startedAt ?? 0;
    if (this.meta.startedAt === undefined && startedAt > 0) this.meta.startedAt = startedAt;
    const host: HostResult = {
      ...addr,
      hostnames,
      status: 'up',
      statusReason: 'user-set',
      ports: [...h.ports.values()].sort((a, b) => a.port - b.port || (a.protocol === b.protocol ? 0 : a.protocol === 'tcp' ? -1 : 1)),
      startedAt,
      endedAt: epochSecondsToMs(h.tags.get('HOST_END_TIMESTAMP')) ?? startedAt,
    };
    if (h.dropped > 0) this.ctx.warn(`${addr.address}: ${h.dropped} findings beyond ${MAX_FINDINGS} dropped`);
    const o: Observation = { host, source: 'nessus', findings: h.findings };
    // Nessus lists alternative guesses one per line; the first is its best.
    const os = text(h.tags.get('operating-system')?.split('\n')[0]);
    if (os !== undefined) o.osHint = os;
    return o;
  }
}

/** How sure the head is a Nessus v2 file; v1 scores low so its error says what it is. */
function sniff(head: Buffer): number {
  const s = head.toString('latin1');
  if (s.includes('<NessusClientData_v2')) return 10;
  if (s.includes('<NessusClientData')) return 3;
  return 0;
}

async function* read(input: Readable, ctx: ImportContext, meta: ImportMeta): AsyncGenerator<Observation> {
  const reader = new NessusReader(ctx, meta);
  const end: XmlStreamEnd = { complete: false, line: 0 };
  yield* streamXml(input, ctx, { roots: ['NessusClientData_v2'], format: 'Nessus v2' }, reader, end);
  if (!end.complete) ctx.warn(`truncated after ${reader.hosts} host${reader.hosts === 1 ? '' : 's'} (no </NessusClientData_v2>); the complete hosts were imported`);
}

/** Nessus v2 (`.nessus`) exports. */
export const importer: Importer = {
  id: 'nessus',
  description: 'Nessus v2 export (.nessus): open ports, services and findings',
  source: 'nessus',
  sniff,
  read,
};
