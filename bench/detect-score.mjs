// Scoring for the detection benchmark (bench/detect.mjs): one small parser for nmap-format XML (used
// for nmap's file and portolan's -oX alike) and a per-port comparison with the service lab's ground
// truth (test/lab/services.mjs). Pure functions; tested in test/detect-score.test.ts.
import { XMLParser } from 'fast-xml-parser';

/** The columns scored per port, in print order. */
export const COLUMNS = Object.freeze(['state', 'service', 'product', 'version']);

const XML_ENTITIES = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

/** Decode the five predefined XML entities and numeric references (no DTD entity is ever expanded). */
function decode(value) {
  if (typeof value !== 'string') return undefined;
  return value.replace(/&(#x[0-9a-fA-F]{1,6}|#[0-9]{1,7}|lt|gt|amp|quot|apos);/g, (m, e) => {
    if (e[0] !== '#') return XML_ENTITIES[e];
    const code = e[1] === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
    return code <= 0x10ffff ? String.fromCodePoint(code) : m;
  });
}

const list = (x) => (x === undefined || x === null ? [] : Array.isArray(x) ? x : [x]);

/**
 * Ports with their state and service from nmap-format XML: Map "ip port" -> { ip, port, state,
 * name, product, version, extrainfo, tunnel, method, conf }. Only listed <port> elements (open
 * ports are always listed); collapsed <extraports> carry no service and are left out.
 */
export function parseServiceXml(xml) {
  const parser = new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: '',
    processEntities: false,
    htmlEntities: false,
    parseTagValue: false,
    parseAttributeValue: false,
    ignoreDeclaration: true,
    ignorePiTags: true,
    isArray: (name) => ['host', 'port', 'address', 'hostname', 'cpe', 'extraports', 'script'].includes(name),
  });
  const doc = parser.parse(xml);
  const out = new Map();
  for (const host of list(doc?.nmaprun?.host)) {
    const addresses = list(host?.address).filter((a) => a?.addrtype === 'ipv4' || a?.addrtype === 'ipv6');
    const ip = decode(addresses[0]?.addr);
    if (!ip) continue;
    for (const p of list(host?.ports?.port)) {
      if (p?.protocol !== 'tcp') continue;
      const port = Number(p.portid);
      if (!Number.isInteger(port)) continue;
      const s = p.service ?? {};
      out.set(`${ip} ${port}`, {
        ip, port, state: decode(p.state?.state) ?? null,
        name: decode(s.name) ?? null, product: decode(s.product) ?? null, version: decode(s.version) ?? null,
        extrainfo: decode(s.extrainfo) ?? null, tunnel: decode(s.tunnel) ?? null, method: decode(s.method) ?? null,
        conf: s.conf === undefined ? null : Number(s.conf),
      });
    }
  }
  return out;
}

/** True when the tool identified the service by probing (a port-table guess is no identification). */
function identified(got) {
  return Boolean(got && got.name && got.name !== 'unknown' && got.method !== 'table');
}

/**
 * The service column: the same nmap name, with `ssl/http`, `https` and `http` + tunnel=ssl all
 * counting as http over TLS. A truth of null means nothing to identify: correct when the tool
 * lists the port and claims nothing (or only its port-table guess).
 */
export function serviceMatches(truth, got) {
  if (truth.service === null || truth.service === undefined) return got !== null && got !== undefined && !identified(got);
  if (!identified(got)) return false;
  const name = got.name.toLowerCase();
  if (truth.tunnel === 'ssl') {
    const base = name.startsWith('ssl/') ? name.slice(4) : name;
    return base === `${truth.service}s` || (base === truth.service && (got.tunnel === 'ssl' || name.startsWith('ssl/')));
  }
  return name === truth.service && got.tunnel !== 'ssl';
}

/**
 * The version column: the tool's version equals the upstream version, or starts with it followed by
 * a non-alphanumeric character (nmap's "9.2p1 Debian 2+deb12u10", "9.18.49-1~deb12u3").
 */
export function versionMatches(truth, got) {
  const v = got?.version;
  if (!truth.version || typeof v !== 'string' || !v.startsWith(truth.version)) return false;
  return v.length === truth.version.length || !/[A-Za-z0-9]/.test(v[truth.version.length]);
}

/** Which columns a tool got right for one ground-truth port (product/version: null when not scored). */
export function scorePort(truth, got) {
  return {
    state: got?.state === 'open',
    service: serviceMatches(truth, got),
    product: truth.product ? Boolean(got?.product && truth.product.test(got.product)) : null,
    version: truth.version ? versionMatches(truth, got) : null,
  };
}

/**
 * Score one tool's parsed XML against the truth rows ({ address, port, service, product?, version?,
 * tunnel? }): per-port scores plus { column: { correct, total } } over the rows where it applies.
 */
export function scoreTool(truth, parsed) {
  const totals = Object.fromEntries(COLUMNS.map((c) => [c, { correct: 0, total: 0 }]));
  const ports = truth.map((t) => {
    const got = parsed.get(`${t.address} ${t.port}`) ?? null;
    const score = scorePort(t, got);
    for (const c of COLUMNS) {
      if (score[c] === null) continue;
      totals[c].total += 1;
      if (score[c]) totals[c].correct += 1;
    }
    return { truth: t, got, score };
  });
  return { ports, totals };
}

/** A tool's answer for one port, one short line ("-" when the port is missing). */
export function describeGot(got) {
  if (!got) return '-';
  const svc = got.name ? `${got.tunnel === 'ssl' ? 'ssl/' : ''}${got.name}${got.method === 'table' ? '?' : ''}` : '?';
  return [got.state ?? '?', svc, got.product ?? '', got.version ?? ''].filter(Boolean).join(' ');
}

/** The ground truth for one port, one short line. */
export function describeTruth(t) {
  const svc = t.service === null ? '(nothing to identify)' : `${t.tunnel === 'ssl' ? 'ssl/' : ''}${t.service}`;
  return [t.port, svc, t.product ? String(t.product) : '', t.version ?? ''].filter((x) => x !== '').join(' ');
}

/**
 * Per-port diff lines: truth, then each tool's answer with a mark per wrong column. `tools` is
 * [{ label, scored }]; with `all` false only ports where some tool missed a column are shown.
 */
export function diffTable(tools, all = false) {
  const lines = [];
  const rows = tools[0]?.scored.ports.length ?? 0;
  for (let i = 0; i < rows; i++) {
    const truth = tools[0].scored.ports[i].truth;
    const per = tools.map(({ label, scored }) => {
      const p = scored.ports[i];
      const wrong = COLUMNS.filter((c) => p.score[c] === false);
      return { label, text: describeGot(p.got), wrong };
    });
    if (!all && per.every((p) => p.wrong.length === 0)) continue;
    lines.push(`  ${truth.address} ${describeTruth(truth)}`);
    for (const p of per) lines.push(`      ${p.label.padEnd(9)} ${p.text}${p.wrong.length ? `   [wrong: ${p.wrong.join(', ')}]` : '   [ok]'}`);
  }
  return lines;
}
