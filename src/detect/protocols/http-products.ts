/**
 * Built-in HTTP product signatures, run through the same matcher as user signature files.
 *
 * Subjects are Recog-style fields the http detector extracts: `http_header.<name>` (lower-case
 * header name, cleaned value), `html_title`, and `http.body` (the start of the body). Order is
 * priority: protocol-defining servers (CUPS → ipp, Squid → http-proxy) first, then the Server
 * header, then body and secondary-header markers, then weak fallbacks.
 */
import type { Signature } from '../signature.js';

/** A version token: starts with a digit, only characters that are safe inside a CPE field. */
const VER = String.raw`\d[\w.\-]{0,40}`;
/** Whatever follows `Product/1.2 ` in a Server header, kept as extrainfo (`(Debian)`, `OpenSSL/3.0.11`). */
const TAIL = String.raw`(?:\s+(?<x>[^\r\n]{1,120}))?`;

/** A CPE 2.3 template; `version` may be a `${v}` template expanded by the matcher. */
function cpe(vendor: string, product: string, version = '*', part: 'a' | 'o' = 'a'): string {
  return `cpe:2.3:${part}:${vendor}:${product}:${version}:*:*:*:*:*:*:*`;
}

interface Product {
  product: string;
  service?: string;
  /** [vendor, product] per NVD; several pairs when NVD lists the product under more than one vendor. */
  cpe?: ReadonlyArray<readonly [string, string]>;
  ostype?: string;
  /** Extra CPEs without a version (the OS for Windows-only servers). */
  extraCpe?: readonly string[];
  extrainfo?: string;
  confidence?: number;
}

/**
 * Two signatures for one product: with a version (named group `v`) and without. `head` is the
 * product token (regex source), `sep` what separates it from the version (`/`, `\(`).
 */
function server(field: string, head: string, sep: string, p: Product, opts: { tail?: boolean; after?: string } = {}): Signature[] {
  const tail = opts.tail === false ? '' : TAIL;
  const after = opts.after ?? '';
  const base = {
    service: p.service ?? 'http',
    field,
    product: p.product,
    ostype: p.ostype,
    confidence: p.confidence,
    origin: 'builtin',
  };
  const versioned: Signature = {
    ...base,
    pattern: new RegExp(`${head}${sep}(?<v>${VER})${after}${tail}`, 'i'),
    version: '${v}',
    extrainfo: p.extrainfo ?? (tail ? '${x}' : undefined),
    cpe: [...(p.cpe ?? []).map(([v, n]) => cpe(v, n, '${v}')), ...(p.extraCpe ?? [])],
  };
  const bare: Signature = {
    ...base,
    pattern: new RegExp(`${head}(?![\\w/-])${tail}`, 'i'),
    extrainfo: p.extrainfo ?? (tail ? '${x}' : undefined),
    cpe: [...(p.cpe ?? []).map(([v, n]) => cpe(v, n)), ...(p.extraCpe ?? [])],
  };
  return [versioned, bare];
}

/** Python's standard-library servers: `SimpleHTTP/0.6 Python/3.11.2`; the CPE is Python's. */
function pythonServer(head: string, product: string): Signature {
  return {
    service: 'http',
    field: 'http_header.server',
    pattern: new RegExp(`^${head}/(?<v>${VER}) C?Python/(?<py>${VER})`),
    product,
    version: '${v}',
    extrainfo: 'Python ${py}',
    cpe: [cpe('python', 'python', '${py}')],
    origin: 'builtin',
  };
}

const S = 'http_header.server';
const WINDOWS = cpe('microsoft', 'windows', '*', 'o');
const CUPS: Product = { product: 'CUPS', service: 'ipp', cpe: [['apple', 'cups'], ['openprinting', 'cups']] };
const SQUID: Product = { product: 'Squid http proxy', service: 'http-proxy', cpe: [['squid-cache', 'squid']] };
const TOMCAT: Product = { product: 'Apache Tomcat', cpe: [['apache', 'tomcat']] };
const VARNISH: Product = { product: 'Varnish http accelerator', cpe: [['varnish-cache', 'varnish']] };

/** Messages of HAProxy's built-in error pages (it sends no Server header). */
const HAPROXY_MESSAGES = [
  'No server is available to handle this request',
  'Your browser sent an invalid request',
  'Request forbidden by administrative rules',
  "Your browser didn't send a complete request in time",
  'The server returned an invalid or incomplete response',
  "The server didn't respond in time",
  'An internal server error occurred',
].join('|');

/** The built-in table, in priority order. */
export const HTTP_SIGNATURES: readonly Signature[] = [
  // Servers whose presence defines the service name.
  {
    // The web interface's titles (`Home - CUPS 2.4.2`) carry the full version; the Server header only `CUPS/2.4`.
    service: 'ipp',
    field: 'html_title',
    pattern: new RegExp(String.raw`^(?:[\w ]{1,40} - )?CUPS (?<v>\d{1,3}\.\d{1,3}(?:\.\d{1,3})?)$`),
    product: 'CUPS',
    version: '${v}',
    cpe: CUPS.cpe?.map(([v, n]) => cpe(v, n, '${v}')),
    origin: 'builtin',
  },
  ...server(S, '^CUPS', '/', CUPS, { tail: false }),
  ...server(S, '^squid', '/', SQUID, { tail: false }),
  ...server('http_header.via', String.raw`\(squid`, '/', SQUID, { tail: false }),
  { service: 'http-proxy', field: 'http_header.x-squid-error', pattern: /^/, product: SQUID.product, cpe: [cpe('squid-cache', 'squid')], origin: 'builtin' },

  // Server header.
  ...server(S, '^nginx', '/', { product: 'nginx', cpe: [['f5', 'nginx']] }),
  ...server(S, '^openresty', '/', { product: 'OpenResty web app server', cpe: [['openresty', 'openresty']] }),
  ...server(S, '^Tengine', '/', { product: 'Tengine httpd', cpe: [['alibaba', 'tengine']] }),
  ...server(S, String.raw`^Apache(?! Tomcat)`, '/', { product: 'Apache httpd', cpe: [['apache', 'http_server']] }),
  ...server(S, '^lighttpd', '/', { product: 'lighttpd', cpe: [['lighttpd', 'lighttpd']] }),
  ...server(S, '^Microsoft-IIS', '/', { product: 'Microsoft IIS httpd', cpe: [['microsoft', 'internet_information_services']], ostype: 'Windows', extraCpe: [WINDOWS] }),
  ...server(S, '^Microsoft-HTTPAPI', '/', { product: 'Microsoft HTTPAPI httpd', ostype: 'Windows', extraCpe: [WINDOWS] }),
  ...server(S, '^Caddy', '/', { product: 'Caddy httpd', cpe: [['caddyserver', 'caddy']] }),
  ...server(S, '^Jetty', String.raw`\(`, { product: 'Jetty', cpe: [['eclipse', 'jetty']] }, { after: String.raw`\)` }),
  ...server(S, '^Werkzeug', '/', { product: 'Werkzeug httpd', cpe: [['palletsprojects', 'werkzeug']] }),
  pythonServer('SimpleHTTP', 'SimpleHTTPServer'),
  pythonServer('BaseHTTP', 'BaseHTTPServer'),
  pythonServer('WSGIServer', 'WSGIServer'),
  ...server(S, '^gunicorn', '/', { product: 'Gunicorn', cpe: [['gunicorn', 'gunicorn']] }),
  ...server(S, '^uvicorn', '/', { product: 'Uvicorn', cpe: [['encode', 'uvicorn']] }),
  ...server(S, '^hypercorn', '/', { product: 'Hypercorn' }),
  ...server(S, '^waitress', '/', { product: 'Waitress httpd', cpe: [['agendaless', 'waitress']] }),
  ...server(S, '^TornadoServer', '/', { product: 'Tornado httpd', cpe: [['tornadoweb', 'tornado']] }),
  ...server(S, String.raw`^(?:Python/[\d.]+ )?aiohttp`, '/', { product: 'aiohttp', cpe: [['aiohttp', 'aiohttp']] }),
  ...server(S, '^Kestrel', '/', { product: 'Microsoft Kestrel httpd', cpe: [['microsoft', 'asp.net_core']] }),
  ...server(S, '^(?:istio-)?envoy', '/', { product: 'Envoy proxy', cpe: [['envoyproxy', 'envoy']] }),
  ...server(S, '^Traefik', '/', { product: 'Traefik', cpe: [['traefik', 'traefik']] }),
  ...server(S, '^OpenLiteSpeed', '/', { product: 'OpenLiteSpeed httpd', cpe: [['litespeedtech', 'openlitespeed']] }),
  ...server(S, '^LiteSpeed', '/', { product: 'LiteSpeed httpd', cpe: [['litespeedtech', 'litespeed_web_server']] }),
  ...server(S, '^Varnish', '/', VARNISH),
  ...server(S, '^Cowboy', '/', { product: 'Cowboy httpd', cpe: [['ninenines', 'cowboy']] }),
  ...server(S, '^MinIO', '/', { product: 'MinIO', cpe: [['minio', 'minio']] }),
  ...server(S, '^Mongoose', '/', { product: 'Mongoose httpd', cpe: [['cesanta', 'mongoose']] }),
  ...server(S, '^thttpd', '/', { product: 'thttpd', cpe: [['acme', 'thttpd']] }),
  ...server(S, '^mini_httpd', '/', { product: 'mini_httpd', cpe: [['acme', 'mini_httpd']] }),
  ...server(S, '^Boa', '/', { product: 'Boa HTTPd', cpe: [['boa', 'boa']] }),
  ...server(S, '^GoAhead-(?:Webs|http)', '/', { product: 'GoAhead WebServer', cpe: [['embedthis', 'goahead']] }),
  ...server(S, '^Allegro-Software-RomPager', '/', { product: 'Allegro RomPager', cpe: [['allegrosoft', 'rompager']] }),
  ...server(S, '^Docker', '/', { product: 'Docker Engine API' }),
  ...server(S, '^awselb', '/', { product: 'AWS Elastic Load Balancing' }),
  ...server(S, '^cloudflare', '/', { product: 'Cloudflare http proxy' }),
  ...server(S, '^AmazonS3', '/', { product: 'Amazon S3' }),

  // Bodies, titles and secondary headers: used when the Server header said nothing we know.
  ...server('html_title', '^Apache Tomcat', '/', TOMCAT, { tail: false }),
  ...server('http.body', '<h3>Apache Tomcat', '/', TOMCAT, { tail: false, after: '</h3>' }),
  ...server('http.body', String.raw`Powered by Jetty://`, ' ', { product: 'Jetty', cpe: [['eclipse', 'jetty']] }, { tail: false }),
  ...server('http.body', '<hr><center>nginx', '/', { product: 'nginx', cpe: [['f5', 'nginx']] }, { tail: false, after: '</center>' }),
  ...server('http.body', '<hr><center>openresty', '/', { product: 'OpenResty web app server', cpe: [['openresty', 'openresty']] }, { tail: false, after: '</center>' }),
  {
    service: 'http',
    field: 'http.body',
    pattern: new RegExp(String.raw`<address>Apache/(?<v>${VER})(?: \((?<x>[^()<]{1,40})\))?[^<]{0,200}? Server at (?<h>[A-Za-z0-9.\-]{1,100}) Port \d{1,5}</address>`),
    product: 'Apache httpd',
    version: '${v}',
    extrainfo: '${x}',
    hostname: '${h}',
    cpe: [cpe('apache', 'http_server', '${v}')],
    origin: 'builtin',
  },
  {
    service: 'http',
    field: 'http.body',
    pattern: new RegExp(String.raw`^<html><body><h1>\d{3} [^<]{1,40}</h1>\r?\n(?:${HAPROXY_MESSAGES})\.`),
    product: 'HAProxy http proxy',
    cpe: [cpe('haproxy', 'haproxy')],
    origin: 'builtin',
  },
  ...server('http_header.x-powered-by', '^Express', '/', { product: 'Node.js Express framework', cpe: [['expressjs', 'express']] }, { tail: false }),
  ...server('http_header.x-powered-by', String.raw`^Next\.js`, ' ', { product: 'Next.js', cpe: [['vercel', 'next.js']] }, { tail: false }),
  ...server('http_header.via', String.raw`\(Varnish`, '/', VARNISH, { tail: false }),
  ...server('http_header.via', String.raw`\bvarnish`, '/', VARNISH, { tail: false }),
  { service: 'http', field: 'http_header.x-varnish', pattern: /^\d/, product: VARNISH.product, cpe: [cpe('varnish-cache', 'varnish')], origin: 'builtin' },
  { service: 'http', field: 'http.body', pattern: /^404 page not found\n?$/, product: 'Golang net/http server', cpe: [cpe('golang', 'go')], confidence: 5, origin: 'builtin' },

  // Weak fallbacks.
  { service: 'http', field: S, pattern: /^Apache-Coyote\//, product: TOMCAT.product, cpe: [cpe('apache', 'tomcat')], confidence: 7, origin: 'builtin' },
  {
    service: 'http',
    field: S,
    pattern: new RegExp(String.raw`^(?<p>[A-Za-z][\w.\-]{1,39})/(?<v>${VER})`),
    product: '${p}',
    version: '${v}',
    confidence: 5,
    origin: 'builtin',
  },
];
