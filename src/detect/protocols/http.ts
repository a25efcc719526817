/**
 * HTTP/1.x detector: sends one `GET /`, reads a bounded response and names the server from its
 * headers, title and body (http-products.ts). Also recognises an HTTP response that arrived as the
 * answer to some other detector's probe, Elasticsearch/OpenSearch root documents, etcd (via
 * `GET /version`), Squid (`http-proxy`) and CUPS (`ipp`), and records read-only safe checks.
 */
import type { Detector, Evidence, Identification, ProbeContext, Session, Target } from '../types.js';
import { matchSignatures } from '../signature.js';
import { cleanField, distroFrom, MAX_MATCH_BYTES } from '../text.js';
import { cpe23 } from '../../core/cpe.js';
import { HTTP_SIGNATURES } from './http-products.js';
import { cleanText, extractTitle, headerValue, httpResponseComplete, looksLikeHttp, parseHttpResponse, type HttpResponse } from './http-parse.js';

const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9])?$/;
const ADDRESS = /^[0-9A-Fa-f:.]{2,45}$/;
/** Headers copied into `fields` for user and Recog signatures (others are only matched internally). */
const FIELD_HEADERS = ['server', 'x-powered-by', 'via', 'www-authenticate'] as const;
/** Ports where etcd's client API usually listens; there `GET /version` is worth a request. */
const ETCD_PORTS = new Set([2379, 2380, 4001]);
const SAFE_VERSION = /^\d[\w.-]{0,40}$/;

/** Identifications produced by our own `GET /` (so followUp knows it need not fetch `/` again). */
const fromOwnRequest = new WeakSet<Identification>();

/** The Host header value: the typed name when it is a plain DNS name, else the address (IPv6 bracketed). */
export function hostHeader(target: Target): string {
  let host: string;
  if (target.hostname !== undefined && HOSTNAME.test(target.hostname)) host = target.hostname;
  else {
    const address = target.address.replace(/%.*$/, '');
    host = ADDRESS.test(address) ? (address.includes(':') ? `[${address}]` : address) : 'localhost';
  }
  const defaultPort = target.tunnel === 'ssl' ? 443 : 80;
  // RFC 9110 §7.2: the port is part of Host unless it is the scheme's default.
  return target.port === defaultPort || !Number.isInteger(target.port) || target.port <= 0 || target.port > 65535 ? host : `${host}:${target.port}`;
}

/** The probe request: HTTP/1.0 so the server closes after answering (a close-delimited body is whole). */
export function buildRequest(target: Target, path = '/'): string {
  return `GET ${path} HTTP/1.0\r\nHost: ${hostHeader(target)}\r\nUser-Agent: portolan\r\nAccept: */*\r\n\r\n`;
}

type JsonObject = Record<string, unknown>;

/** JSON object from a bounded body, or undefined (never throws). */
function jsonObject(body: Buffer): JsonObject | undefined {
  const text = body.toString('utf8').trim();
  if (!text.startsWith('{') || text.length > 65536) return undefined;
  try {
    const v: unknown = JSON.parse(text);
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as JsonObject) : undefined;
  } catch {
    return undefined;
  }
}

function str(v: unknown, max = 80): string | undefined {
  if (typeof v !== 'string') return undefined;
  const s = cleanField(v, max);
  return s === '' ? undefined : s;
}

/** Elasticsearch / OpenSearch from the root document (or the 401 their security layer sends). */
export function searchEngine(resp: HttpResponse): Identification | undefined {
  const doc = jsonObject(resp.body);
  const ver = doc !== undefined && typeof doc.version === 'object' && doc.version !== null ? (doc.version as JsonObject) : undefined;
  const tagline = str(doc?.tagline) ?? '';
  const number = str(ver?.number, 41);
  const openSearch = str(ver?.distribution) === 'opensearch' || tagline.includes('OpenSearch');
  if (doc && number !== undefined && (tagline === 'You Know, for Search' || openSearch)) {
    const version = SAFE_VERSION.test(number) ? number : undefined;
    const info = [str(doc.name) && `name: ${str(doc.name)}`, str(doc.cluster_name) && `cluster: ${str(doc.cluster_name)}`, str(ver?.lucene_version, 41) && `Lucene ${str(ver?.lucene_version, 41)}`].filter(Boolean);
    const id: Identification = {
      service: 'http',
      product: openSearch ? 'OpenSearch REST API' : 'Elasticsearch REST API',
      confidence: version ? 10 : 8,
      cpe: [openSearch ? cpe23('a', 'amazon', 'opensearch', version) : cpe23('a', 'elastic', 'elasticsearch', version)],
    };
    if (version) id.version = version;
    if (info.length > 0) id.extrainfo = info.join('; ');
    if (resp.status === 200) {
      id.evidence = [{ id: 'elasticsearch-no-auth', detail: `${id.product} answers GET / without authentication${str(doc.cluster_name) ? ` (cluster "${str(doc.cluster_name)}")` : ''}` }];
    }
    return id;
  }
  const auth = headerValue(resp, 'www-authenticate') ?? '';
  const product = headerValue(resp, 'x-elastic-product');
  const secured = resp.status === 401 && /realm="security"/i.test(auth) && resp.body.subarray(0, MAX_MATCH_BYTES).includes('security_exception');
  if (secured || product === 'Elasticsearch') {
    return { service: 'http', product: 'Elasticsearch REST API', confidence: 8, cpe: [cpe23('a', 'elastic', 'elasticsearch')] };
  }
  return undefined;
}

/** etcd's `GET /version` answer: `{"etcdserver":"3.5.9","etcdcluster":"3.5.0"}`. */
export function parseEtcdVersion(body: Buffer): { server: string; cluster?: string } | undefined {
  const doc = jsonObject(body);
  const server = str(doc?.etcdserver, 41);
  if (server === undefined || !SAFE_VERSION.test(server)) return undefined;
  const cluster = str(doc?.etcdcluster, 41);
  return cluster !== undefined && SAFE_VERSION.test(cluster) ? { server, cluster } : { server };
}

const DEFAULT_PAGE_TITLES = [
  /^Welcome to nginx!$/,
  /^Welcome to OpenResty!$/,
  /^Welcome to tengine!$/i,
  /^Apache2 \w+ Default Page: It works$/,
  /^Test Page for the (?:Apache|Nginx) HTTP Server/,
  /^HTTP Server Test Page/,
  /^IIS Windows(?: Server)?$/,
  /^Caddy works!$/,
];

/** Read-only observations from the response to `GET /`. */
function safeChecks(resp: HttpResponse, title: string | undefined, server: string | undefined, poweredBy: string | undefined): Evidence[] {
  const out: Evidence[] = [];
  if (title !== undefined && /^(?:Index of \/|Directory listing for \/)/.test(title)) {
    out.push({ id: 'http-directory-listing', detail: `GET / returns a directory listing ("${title}")` });
  }
  const itWorks = resp.body.subarray(0, 200).toString('latin1').trim() === '<html><body><h1>It works!</h1></body></html>';
  if (itWorks || (title !== undefined && DEFAULT_PAGE_TITLES.some((re) => re.test(title)))) {
    out.push({ id: 'http-default-page', detail: `GET / returns the server's default page ("${title ?? 'It works!'}")` });
  }
  // `nginx/1.22.1`, `Jetty(9.4.51…)`, `PHP/8.2.7`: a product token followed by a dotted version.
  const disclosed = [server, poweredBy].filter((v): v is string => v !== undefined && /[/(]v?\d+\.\d/.test(v));
  if (disclosed.length > 0) {
    out.push({ id: 'http-server-version-disclosed', detail: `Response headers disclose versions: ${disclosed.map((d) => `"${d}"`).join(', ')}` });
  }
  return out;
}

/** Name the server behind one parsed response. Pure; used for probe replies and greetings alike. */
export function identifyResponse(resp: HttpResponse, _target?: Target): Identification {
  const match: Record<string, string> = {};
  for (const h of resp.headers) {
    const key = `http_header.${h.name}`;
    if (!(key in match)) match[key] = cleanField(headerValue(resp, h.name) ?? '', 512);
  }
  const title = extractTitle(resp.body);
  if (title !== undefined) match.html_title = title;
  match['http.body'] = resp.body.subarray(0, MAX_MATCH_BYTES).toString('latin1');
  const status = String(resp.status);
  match['http.status'] = status;

  const found = searchEngine(resp) ?? matchSignatures(HTTP_SIGNATURES, undefined, match);
  const id: Identification = found ?? { service: 'http', confidence: 7 };
  if (id.service === 'http' && (resp.status === 407 || match['http_header.proxy-authenticate'] !== undefined)) id.service = 'http-proxy';

  const server = match['http_header.server'] || undefined;
  if (server !== undefined) {
    const d = distroFrom(server);
    if (d && d.distro !== 'Windows') {
      id.distro = d.distro;
      if (d.revision !== undefined) id.packageRevision = d.revision;
    }
    if (d) id.ostype ??= d.ostype;
  }
  // nmap writes `Apache httpd 2.4.57 ((Debian))`: a lone parenthesised comment becomes plain extrainfo.
  if (id.extrainfo !== undefined) id.extrainfo = id.extrainfo.replace(/^\(([^()]*)\)$/, '$1');

  const fields: Record<string, string> = { 'http.status': status };
  for (const name of FIELD_HEADERS) {
    const v = match[`http_header.${name}`];
    if (v) fields[`http_header.${name}`] = cleanField(v, 200);
  }
  if (title !== undefined) fields.html_title = cleanText(title);
  id.fields = { ...fields, ...id.fields };
  const evidence = [...(id.evidence ?? []), ...safeChecks(resp, title, fields['http_header.server'], fields['http_header.x-powered-by'])];
  if (evidence.length > 0) id.evidence = evidence;
  return id;
}

/** Identify raw bytes that should be an HTTP response; undefined when they are not. */
export function identifyBytes(data: Buffer, target?: Target): Identification | undefined {
  if (!looksLikeHttp(data)) return undefined;
  const resp = parseHttpResponse(data);
  return resp ? identifyResponse(resp, target) : undefined;
}

/**
 * An HTTP/2 server frame (SETTINGS on stream 0) in answer to our HTTP/1.0 request: a server
 * speaking only HTTP/2 (prior knowledge, e.g. gRPC without TLS).
 */
export function isHttp2Settings(data: Buffer): boolean {
  if (data.length < 9) return false;
  const length = data.readUIntBE(0, 3);
  return data[3] === 0x04 && data[4] === 0x00 && (data.readUInt32BE(5) & 0x7fffffff) === 0 && length % 6 === 0 && length <= 120;
}

/**
 * One more request, on the follow-up session when nothing was sent on it yet, else on a fresh
 * connection (HTTP/1.0 servers close after answering). Sessions opened here are closed here.
 */
async function fetchPath(ctx: ProbeContext, path: string): Promise<HttpResponse | undefined> {
  if (ctx.session.remainingMs() < 50) return undefined;
  const unused = ctx.session.sentBytes === 0 && !ctx.session.ended;
  const session: Session | undefined = unused ? ctx.session : await ctx.session.reconnect();
  if (!session) return undefined;
  try {
    session.send(buildRequest(session.target, path));
    const r = await session.read(ctx.timing.replyMs, httpResponseComplete);
    return looksLikeHttp(r.data) ? parseHttpResponse(r.data) : undefined;
  } finally {
    if (session !== ctx.session) session.close();
  }
}

/** Results of two identifications of one port: the later (from our own request) wins, keeping what only the earlier knew. */
function merge(earlier: Identification, later: Identification): Identification {
  const out: Identification = { ...later };
  if (out.product === undefined && earlier.product !== undefined) {
    for (const k of ['product', 'version', 'extrainfo', 'ostype', 'distro', 'packageRevision', 'hostname'] as const) if (earlier[k] !== undefined) out[k] ??= earlier[k];
    if (earlier.cpe) out.cpe = earlier.cpe;
    out.confidence = Math.max(out.confidence, earlier.confidence);
  }
  const seen = new Set<string>();
  const evidence = [...(later.evidence ?? []), ...(earlier.evidence ?? [])].filter((e) => !seen.has(e.id) && seen.add(e.id));
  if (evidence.length > 0) out.evidence = evidence;
  return out;
}

function wantsEtcd(id: Identification, port: number): boolean {
  if (id.product === 'Golang net/http server') return true;
  return ETCD_PORTS.has(port) && id.product === undefined;
}

/** The HTTP detector. */
export const detector: Detector = {
  name: 'http',
  ports: [80, 81, 591, 8000, 8008, 8080, 8081, 8888, 3000, 5000, 9000, 9090, 9200, 2379, 631, 3128, 443, 8443, 4443, 9443],
  tlsPorts: [443, 8443, 4443, 9443],
  rarity: 1,

  greeting(data: Buffer, target: Target): Identification | undefined {
    return identifyBytes(data, target);
  },

  async probe(ctx: ProbeContext): Promise<Identification | undefined> {
    const { session } = ctx;
    if (session.ended) return undefined;
    session.send(buildRequest(session.target));
    const r = await session.read(ctx.timing.replyMs, httpResponseComplete);
    const id = identifyBytes(r.data, session.target);
    if (id) {
      fromOwnRequest.add(id);
      return id;
    }
    if (!isHttp2Settings(r.data)) return undefined;
    const h2: Identification = { service: 'http', extrainfo: 'HTTP/2 only', confidence: 5 };
    fromOwnRequest.add(h2);
    return h2;
  },

  async followUp(ctx: ProbeContext & { previous: Identification }): Promise<Identification> {
    try {
      let id = ctx.previous;
      const target = ctx.session.target;
      // Identified from an answer to someone else's probe: ask properly once (title, product, checks).
      if (!fromOwnRequest.has(id)) {
        const resp = await fetchPath(ctx, '/');
        if (resp) id = merge(id, identifyResponse(resp, target));
      }
      if (wantsEtcd(id, target.port)) {
        const resp = await fetchPath(ctx, '/version');
        const v = resp?.status === 200 ? parseEtcdVersion(resp.body) : undefined;
        if (v) {
          id = {
            ...id,
            service: 'http',
            product: 'etcd',
            version: v.server,
            cpe: [cpe23('a', 'etcd', 'etcd', v.server)],
            confidence: 10,
          };
          if (v.cluster !== undefined) id.extrainfo = `cluster version ${v.cluster}`;
          else delete id.extrainfo;
        }
      }
      return id;
    } catch {
      return ctx.previous;
    }
  },
};
