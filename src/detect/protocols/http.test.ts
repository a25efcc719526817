import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, waitReachable, withLive } from '../../../test/helpers/live-session.js';
import { ScriptedSession, type Script } from '../scripted-session.js';
import type { Identification, ProbeContext } from '../types.js';
import { buildRequest, detector, hostHeader, identifyBytes, isHttp2Settings, parseEtcdVersion } from './http.js';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');
const timing = { replyMs: 2000, settleMs: 100 };
const ctxOf = (session: ScriptedSession, previous?: Identification): ProbeContext & { previous: Identification } => ({ session, timing, intensity: 7, previous: previous! });

/** A response with a correct Content-Length. */
function resp(status: string, headers: string[], body = ''): string {
  return `HTTP/1.1 ${status}\r\n${[...headers, `Content-Length: ${Buffer.byteLength(body, 'latin1')}`].join('\r\n')}\r\n\r\n${body}`;
}

// Captured on 127.0.0.1 from Debian's nginx 1.22.1, Apache 2.4.71 and Python 3.11's http.server.
const NGINX_ROOT =
  'HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Sat, 21 Nov 2026 06:44:16 GMT\r\nContent-Type: text/html\r\nContent-Length: 615\r\nLast-Modified: Sat, 21 Nov 2026 06:39:37 GMT\r\nConnection: close\r\nETag: "6b013ca9-267"\r\nAccept-Ranges: bytes\r\n\r\n<!DOCTYPE html>\n<html>\n<head>\n<title>Welcome to nginx!</title>\n<style>\nhtml { color-scheme: light dark; }\nbody { width: 35em; margin: 0 auto;\nfont-family: Tahoma, Verdana, Arial, sans-serif; }\n</style>\n</head>\n<body>\n<h1>Welcome to nginx!</h1>\n<p>If you see this page, the nginx web server is successfully installed and\nworking. Further configuration is required.</p>\n\n<p>For online documentation and support please refer to\n<a href="http://nginx.org/">nginx.org</a>.<br/>\nCommercial support is available at\n<a href="http://nginx.com/">nginx.com</a>.</p>\n\n<p><em>Thank you for using nginx.</em></p>\n</body>\n</html>\n';
const NGINX_400 =
  'HTTP/1.1 400 Bad Request\r\nServer: nginx/1.22.1\r\nDate: Sat, 21 Nov 2026 06:44:25 GMT\r\nContent-Type: text/html\r\nContent-Length: 157\r\nConnection: close\r\n\r\n<html>\r\n<head><title>400 Bad Request</title></head>\r\n<body>\r\n<center><h1>400 Bad Request</h1></center>\r\n<hr><center>nginx/1.22.1</center>\r\n</body>\r\n</html>\r\n';
// The first part of Apache's 10 KiB default page (the connection closed early: body incomplete).
const APACHE_ROOT =
  'HTTP/1.1 200 OK\r\nDate: Sat, 21 Nov 2026 06:44:32 GMT\r\nServer: Apache/2.4.71 (Debian)\r\nLast-Modified: Sat, 21 Nov 2026 06:39:55 GMT\r\nETag: "29cd-660c3a0f12d0e"\r\nAccept-Ranges: bytes\r\nContent-Length: 10701\r\nVary: Accept-Encoding\r\nConnection: close\r\nContent-Type: text/html\r\n\r\n\n<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">\n<html xmlns="http://www.w3.org/1999/xhtml">\n  <head>\n    <meta http-equiv="Content-Type" content="text/html; charset=UTF-8" />\n    <title>Apache2 Debian Default Page: It works</title>\n    <style type="text/css" media="screen">\n';
const APACHE_INDEX =
  'HTTP/1.1 200 OK\r\nDate: Sat, 21 Nov 2026 06:44:38 GMT\r\nServer: Apache/2.4.71 (Debian)\r\nVary: Accept-Encoding\r\nContent-Length: 180\r\nConnection: close\r\nContent-Type: text/html;charset=UTF-8\r\n\r\n<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01//EN" "http://www.w3.org/TR/html4/strict.dtd">\n<html>\n <head>\n  <title>Index of /files</title>\n </head>\n <body>\n<h1>Index of /files</h1>\n';
const PYTHON_ROOT =
  'HTTP/1.0 200 OK\r\nServer: SimpleHTTP/0.6 Python/3.11.7\r\nDate: Sat, 21 Nov 2026 06:44:50 GMT\r\nContent-type: text/html; charset=utf-8\r\nContent-Length: 222\r\n\r\n<!DOCTYPE HTML>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>Directory listing for /</title>\n</head>\n<body>\n<h1>Directory listing for /</h1>\n<hr>\n<ul>\n<li><a href="a.txt">a.txt</a></li>\n</ul>\n<hr>\n</body>\n</html>\n';

const ES_ROOT = resp('200 OK', ['X-elastic-product: Elasticsearch', 'content-type: application/json'], '{\n  "name" : "es01",\n  "cluster_name" : "docker-cluster",\n  "cluster_uuid" : "k2v1Q2mJQ0eW3Xb4nF6P1A",\n  "version" : {\n    "number" : "8.11.1",\n    "build_flavor" : "default",\n    "build_type" : "docker",\n    "lucene_version" : "9.8.0",\n    "minimum_wire_compatibility_version" : "7.17.0"\n  },\n  "tagline" : "You Know, for Search"\n}\n');
const ES_401 = resp('401 Unauthorized', ['WWW-Authenticate: Basic realm="security" charset="UTF-8"', 'WWW-Authenticate: ApiKey', 'content-type: application/json'], '{"error":{"root_cause":[{"type":"security_exception","reason":"missing authentication credentials for REST request [/]"}],"type":"security_exception","reason":"missing authentication credentials for REST request [/]"},"status":401}');
const OPENSEARCH_ROOT = resp('200 OK', ['content-type: application/json; charset=UTF-8'], '{"name":"os-node1","cluster_name":"opensearch-cluster","version":{"distribution":"opensearch","number":"2.11.0","lucene_version":"9.7.0"},"tagline":"The OpenSearch Project: https://opensearch.org/"}');
const GO_404 = resp('404 Not Found', ['Content-Type: text/plain; charset=utf-8', 'X-Content-Type-Options: nosniff', 'Date: Sat, 21 Nov 2026 06:50:00 GMT'], '404 page not found\n');
const ETCD_VERSION = resp('200 OK', ['Content-Type: application/json', 'Date: Sat, 21 Nov 2026 06:50:00 GMT'], '{"etcdserver":"3.5.9","etcdcluster":"3.5.0"}');
const SQUID_400 = resp('400 Bad Request', ['Server: squid/5.7', 'Mime-Version: 1.0', 'Content-Type: text/html;charset=utf-8', 'X-Squid-Error: ERR_INVALID_URL 0', 'Vary: Accept-Language', 'Content-Language: en', 'Via: 1.1 proxy (squid/5.7)', 'Connection: close'], '<html><head><title>ERROR: The requested URL could not be retrieved</title></head><body></body></html>');
const CUPS_ROOT = resp('200 OK', ['Connection: close', 'Content-Language: en_US', 'Content-Type: text/html; charset=utf-8', 'Server: CUPS/2.4 IPP/2.1', 'X-Frame-Options: DENY'], '<!DOCTYPE HTML>\n<html>\n  <head>\n    <title>Home - CUPS 2.4.2</title>\n  </head>\n</html>\n');

describe('request building', () => {
  it('sends an HTTP/1.0 GET with Host, User-Agent and Accept', () => {
    expect(buildRequest({ address: '127.0.0.1', port: 80 })).toBe('GET / HTTP/1.0\r\nHost: 127.0.0.1\r\nUser-Agent: portolan\r\nAccept: */*\r\n\r\n');
  });
  it('names the host: typed name, bracketed IPv6, port unless default', () => {
    expect(hostHeader({ address: '127.0.0.1', hostname: 'www.example.org', port: 8080 })).toBe('www.example.org:8080');
    expect(hostHeader({ address: '::1', port: 80 })).toBe('[::1]');
    expect(hostHeader({ address: 'fe80::1%eth0', port: 8443, tunnel: 'ssl' })).toBe('[fe80::1]:8443');
    expect(hostHeader({ address: '127.0.0.1', port: 443, tunnel: 'ssl' })).toBe('127.0.0.1');
    expect(hostHeader({ address: '127.0.0.1', port: 443 })).toBe('127.0.0.1:443');
  });
  it('never puts a hostile name into the request', () => {
    expect(hostHeader({ address: '127.0.0.1', hostname: 'evil\r\nX-Injected: 1', port: 80 })).toBe('127.0.0.1');
    expect(hostHeader({ address: '127.0.0.1', hostname: 'a'.repeat(300), port: 80 })).toBe('127.0.0.1');
    expect(hostHeader({ address: 'x\r\ny', port: 80 })).toBe('localhost');
  });
});

describe('identification from captured servers', () => {
  it('nginx default page', () => {
    const id = identifyBytes(b(NGINX_ROOT))!;
    expect(id).toMatchObject({ service: 'http', product: 'nginx', version: '1.22.1', cpe: ['cpe:2.3:a:f5:nginx:1.22.1:*:*:*:*:*:*:*'], confidence: 9 });
    expect(id.fields).toMatchObject({ 'http_header.server': 'nginx/1.22.1', html_title: 'Welcome to nginx!', 'http.status': '200' });
    expect(id.evidence?.map((e) => e.id)).toEqual(['http-default-page', 'http-server-version-disclosed']);
  });

  it('Apache on Debian: version, distro, extrainfo', () => {
    const id = identifyBytes(b(APACHE_ROOT))!;
    expect(id).toMatchObject({ product: 'Apache httpd', version: '2.4.71', distro: 'Debian', ostype: 'Linux', extrainfo: 'Debian', cpe: ['cpe:2.3:a:apache:http_server:2.4.71:*:*:*:*:*:*:*'] });
    expect(id.evidence?.map((e) => e.id)).toContain('http-default-page');
  });

  it('directory listings from Apache and Python', () => {
    expect(identifyBytes(b(APACHE_INDEX))?.evidence?.[0]).toEqual({ id: 'http-directory-listing', detail: 'GET / returns a directory listing ("Index of /files")' });
    const py = identifyBytes(b(PYTHON_ROOT))!;
    expect(py).toMatchObject({ product: 'SimpleHTTPServer', version: '0.6', extrainfo: 'Python 3.11.7', cpe: ['cpe:2.3:a:python:python:3.11.7:*:*:*:*:*:*:*'] });
    expect(py.evidence?.map((e) => e.id)).toContain('http-directory-listing');
  });

  it('Elasticsearch without and with security, and OpenSearch', () => {
    const open = identifyBytes(b(ES_ROOT))!;
    expect(open).toMatchObject({ service: 'http', product: 'Elasticsearch REST API', version: '8.11.1', extrainfo: 'name: es01; cluster: docker-cluster; Lucene 9.8.0', confidence: 10 });
    expect(open.cpe).toEqual(['cpe:2.3:a:elastic:elasticsearch:8.11.1:*:*:*:*:*:*:*']);
    expect(open.evidence?.[0]?.id).toBe('elasticsearch-no-auth');
    const secured = identifyBytes(b(ES_401))!;
    expect(secured).toMatchObject({ product: 'Elasticsearch REST API', confidence: 8 });
    expect(secured.version).toBeUndefined();
    expect(secured.evidence).toBeUndefined();
    expect(identifyBytes(b(OPENSEARCH_ROOT))).toMatchObject({ product: 'OpenSearch REST API', version: '2.11.0', cpe: ['cpe:2.3:a:amazon:opensearch:2.11.0:*:*:*:*:*:*:*'] });
  });

  it('Squid is http-proxy, CUPS is ipp, a 407 is a proxy', () => {
    expect(identifyBytes(b(SQUID_400))).toMatchObject({ service: 'http-proxy', product: 'Squid http proxy', version: '5.7' });
    expect(identifyBytes(b(CUPS_ROOT))).toMatchObject({ service: 'ipp', product: 'CUPS', version: '2.4.2' });
    expect(identifyBytes(b(resp('407 Proxy Authentication Required', ['Proxy-Authenticate: Basic realm="proxy"'])))?.service).toBe('http-proxy');
  });

  it('IIS, Tomcat, Jetty, Express, HAProxy', () => {
    expect(identifyBytes(b(resp('200 OK', ['Server: Microsoft-IIS/10.0', 'X-Powered-By: ASP.NET'], '<title>IIS Windows Server</title>')))).toMatchObject({ product: 'Microsoft IIS httpd', version: '10.0', ostype: 'Windows' });
    expect(identifyBytes(b(resp('200 OK', ['Content-Type: text/html;charset=UTF-8'], '<!DOCTYPE html>\n<html lang="en">\n<head>\n<title>Apache Tomcat/9.0.83</title>')))).toMatchObject({ product: 'Apache Tomcat', version: '9.0.83' });
    const jetty = identifyBytes(b(resp('404 Not Found', ['Server: Jetty(9.4.53.v20231009)'])))!;
    expect(jetty).toMatchObject({ product: 'Jetty', version: '9.4.53.v20231009' });
    expect(jetty.evidence?.[0]?.id).toBe('http-server-version-disclosed');
    expect(identifyBytes(b(resp('200 OK', ['Server: Caddy'])))?.evidence).toBeUndefined();
    expect(identifyBytes(b(resp('404 Not Found', ['X-Powered-By: Express'], '<pre>Cannot GET /</pre>')))?.product).toBe('Node.js Express framework');
    const haproxy = 'HTTP/1.1 503 Service Unavailable\r\ncontent-length: 107\r\ncache-control: no-cache\r\ncontent-type: text/html\r\n\r\n<html><body><h1>503 Service Unavailable</h1>\nNo server is available to handle this request.\n</body></html>\n';
    expect(identifyBytes(b(haproxy))?.product).toBe('HAProxy http proxy');
  });

  it('plain HTTP with nothing recognisable', () => {
    expect(identifyBytes(b(resp('200 OK', ['Content-Type: text/plain'], 'hello')))).toEqual({ service: 'http', confidence: 7, fields: { 'http.status': '200' } });
  });
});

describe('hostile responses', () => {
  it('escapes ANSI and markup in Server and title', () => {
    const id = identifyBytes(b(resp('200 OK', ['Server: \x1b[31mnginx/1.0\x1b[0m<script>alert(1)</script>'], '<title>\x1b]0;pwned\x07&lt;script&gt;x&lt;/script&gt;</title>')))!;
    expect(id.service).toBe('http');
    const control = (s: string): boolean => [...s].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f);
    for (const v of Object.values(id.fields ?? {})) expect(control(v)).toBe(false);
    for (const e of id.evidence ?? []) expect(control(e.detail)).toBe(false);
    expect(id.fields?.html_title).toContain('<script>x</script>');
  });

  it('does not claim HTTP/0.9 bodies, truncated status lines, garbage or other protocols', () => {
    for (const s of ['', 'HTTP/1.1 2', '<html><title>x</title></html>', 'SSH-2.0-OpenSSH_9.2p1\r\n', '-ERR unknown command\r\n', 'RTSP/1.0 200 OK\r\n\r\n', '\x00\x01\x02\xff'.repeat(100)]) {
      expect(identifyBytes(b(s))).toBeUndefined();
      expect(detector.greeting!(b(s), { address: '127.0.0.1', port: 80 })).toBeUndefined();
    }
  });

  it('handles 1 MiB header lines and 10k headers quickly', () => {
    const started = performance.now();
    expect(identifyBytes(Buffer.concat([b('HTTP/1.1 200 OK\r\nServer: '), Buffer.alloc(1 << 20, 0x6e), b('\r\n\r\n')]))?.service).toBe('http');
    expect(identifyBytes(b(`HTTP/1.1 200 OK\r\n${'Server: nginx/1.0\r\n'.repeat(10_000)}\r\n`))?.product).toBe('nginx');
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('ignores bad JSON and unsafe versions in search and etcd documents', () => {
    expect(identifyBytes(b(resp('200 OK', [], '{"tagline":"You Know, for Search","version":{"number":"1:2:3"}}')))).toMatchObject({ product: 'Elasticsearch REST API' });
    expect(identifyBytes(b(resp('200 OK', [], '{"tagline":"You Know, for Search","version":{"number":"1:2:3"}}')))?.version).toBeUndefined();
    expect(identifyBytes(b(resp('200 OK', [], '{"tagline":"You Know, for Search",')))?.product).toBeUndefined();
    expect(parseEtcdVersion(b('{"etcdserver":"3.5.9\\u001b[0m"}'))).toBeUndefined();
    expect(parseEtcdVersion(b('[1,2]'))).toBeUndefined();
    expect(parseEtcdVersion(b('{"etcdserver":"3.5.9"}'))).toEqual({ server: '3.5.9' });
  });

  it('recognises only a real HTTP/2 SETTINGS frame', () => {
    expect(isHttp2Settings(Buffer.from('000006040000000000000300000064', 'hex'))).toBe(true);
    expect(isHttp2Settings(Buffer.from('000000040100000000', 'hex'))).toBe(false);
    expect(isHttp2Settings(b('HTTP/1.1 200'))).toBe(false);
  });
});

describe('detector.probe and followUp', () => {
  const serve = (routes: Record<string, string>): Script => ({
    reply: (_sent, all) => {
      const path = /^GET (\S+) /.exec(all.toString('latin1'))?.[1] ?? '';
      return routes[path] ?? 'close';
    },
  });

  it('sends the request and identifies the answer, without extra requests', async () => {
    const s = new ScriptedSession(serve({ '/': NGINX_ROOT }), { address: '127.0.0.1', port: 8080 });
    const id = await detector.probe!(ctxOf(s));
    expect(s.sent.toString('latin1')).toBe('GET / HTTP/1.0\r\nHost: 127.0.0.1:8080\r\nUser-Agent: portolan\r\nAccept: */*\r\n\r\n');
    expect(id?.product).toBe('nginx');
    expect(await detector.followUp!(ctxOf(s, id))).toBe(id);
    expect(s.reconnects).toBe(0);
  });

  it('returns undefined for silence and for other protocols', async () => {
    expect(await detector.probe!(ctxOf(new ScriptedSession({})))).toBeUndefined();
    expect(await detector.probe!(ctxOf(new ScriptedSession({ reply: () => '-ERR wrong\r\n' })))).toBeUndefined();
    expect(await detector.probe!(ctxOf(new ScriptedSession({ reply: () => 'reset' })))).toBeUndefined();
  });

  it('names an HTTP/2-only server', async () => {
    const s = new ScriptedSession({ reply: () => Buffer.from('000006040000000000000300000064000008070000000000000000000000000001', 'hex') });
    expect(await detector.probe!(ctxOf(s))).toMatchObject({ service: 'http', extrainfo: 'HTTP/2 only' });
  });

  it('asks etcd for its version on 2379', async () => {
    const s = new ScriptedSession(serve({ '/': GO_404, '/version': ETCD_VERSION }), { address: '127.0.0.1', port: 2379 });
    const id = await detector.probe!(ctxOf(s));
    expect(id?.product).toBe('Golang net/http server');
    const up = await detector.followUp!(ctxOf(s, id));
    expect(up).toMatchObject({ service: 'http', product: 'etcd', version: '3.5.9', extrainfo: 'cluster version 3.5.0', cpe: ['cpe:2.3:a:etcd:etcd:3.5.9:*:*:*:*:*:*:*'], confidence: 10 });
    expect(s.reconnects).toBe(1);
  });

  it('a Go server that is not etcd keeps its identification', async () => {
    const s = new ScriptedSession(serve({ '/': GO_404, '/version': GO_404 }), { address: '127.0.0.1', port: 9090 });
    const id = await detector.probe!(ctxOf(s));
    expect((await detector.followUp!(ctxOf(s, id))).product).toBe('Golang net/http server');
  });

  it('after a greeting match (answer to another probe), fetches / once', async () => {
    const id = detector.greeting!(b(NGINX_400), { address: '127.0.0.1', port: 80 })!;
    expect(id).toMatchObject({ product: 'nginx', version: '1.22.1' });
    expect(id.fields?.html_title).toBe('400 Bad Request');
    const s = new ScriptedSession(serve({ '/': NGINX_ROOT }), { address: '127.0.0.1', port: 80 });
    s.send('HELP\r\n');
    const up = await detector.followUp!(ctxOf(s, id));
    expect(up.fields?.html_title).toBe('Welcome to nginx!');
    expect(up.evidence?.map((e) => e.id)).toContain('http-default-page');
    expect(s.reconnects).toBe(1);
  });

  it('uses at most two extra requests and never throws', async () => {
    const prev: Identification = { service: 'http', confidence: 7 };
    const s = new ScriptedSession({ ...serve({ '/': GO_404, '/version': ETCD_VERSION }), reconnect: 'same' }, { address: '127.0.0.1', port: 2379 });
    s.send('x');
    await detector.followUp!(ctxOf(s, prev));
    expect(s.reconnects).toBe(2);
    const failing = new ScriptedSession({ reconnect: 'fail' }, { address: '127.0.0.1', port: 2379 });
    failing.send('x');
    expect(await detector.followUp!(ctxOf(failing, prev))).toBe(prev);
    const broken = { target: { address: '127.0.0.1', port: 2379 }, sentBytes: 1, ended: true, remainingMs: () => 1000, reconnect: () => Promise.reject(new Error('boom')) };
    expect(await detector.followUp!({ session: broken as never, timing, intensity: 7, previous: prev })).toBe(prev);
  });
});

/** Start a daemon from a temp config on a free 127.0.0.1 port; undefined when it is not installed. */
async function startServer(binary: string, config: (port: number, dir: string) => string, args: (file: string, dir: string) => string[]): Promise<{ port: number; child: ChildProcess; dir: string } | undefined> {
  if (!existsSync(binary)) return undefined;
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'portolan-http-'));
  const file = join(dir, 'server.conf');
  writeFileSync(file, config(port, dir));
  const child = spawn(binary, args(file, dir), { stdio: 'ignore' });
  if (await waitReachable(port, 5000)) return { port, child, dir };
  child.kill();
  return undefined;
}

function probeLive(port: number): Promise<{ id: Identification | undefined; ms: number }> {
  return withLive(port, async (session) => {
    const started = performance.now();
    const id = await detector.probe!({ session, timing: { replyMs: 5000, settleMs: 100 }, intensity: 7 });
    return { id, ms: performance.now() - started };
  });
}

describe.skipIf(!existsSync('/usr/sbin/nginx'))('live nginx on 127.0.0.1', () => {
  let server: Awaited<ReturnType<typeof startServer>>;
  beforeAll(async () => {
    server = await startServer(
      '/usr/sbin/nginx',
      (port, dir) =>
        `daemon off; pid ${dir}/nginx.pid; error_log stderr; events {} http { access_log off; client_body_temp_path ${dir}; proxy_temp_path ${dir}; fastcgi_temp_path ${dir}; uwsgi_temp_path ${dir}; scgi_temp_path ${dir}; server { listen 127.0.0.1:${port}; root ${dir}; autoindex on; } }`,
      (file, dir) => ['-c', file, '-p', dir],
    );
  });
  afterAll(() => {
    server?.child.kill();
    if (server) rmSync(server.dir, { recursive: true, force: true });
  });

  it('identifies nginx and its directory listing without waiting for a timeout', async () => {
    expect(server).toBeDefined();
    const { id, ms } = await probeLive(server!.port);
    expect(id).toMatchObject({ service: 'http', product: 'nginx', cpe: [expect.stringMatching(/^cpe:2\.3:a:f5:nginx:\d/) as unknown] });
    expect(id?.version).toMatch(/^\d+\.\d+\.\d+$/);
    expect(id?.evidence?.map((e) => e.id)).toContain('http-directory-listing');
    expect(ms).toBeLessThan(2000);
  });
});

describe.skipIf(!existsSync('/usr/sbin/apache2') || !existsSync('/etc/apache2/mods-enabled'))('live Apache httpd on 127.0.0.1', () => {
  let server: Awaited<ReturnType<typeof startServer>>;
  beforeAll(async () => {
    server = await startServer(
      '/usr/sbin/apache2',
      (port, dir) =>
        [
          'ServerRoot /etc/apache2',
          `DefaultRuntimeDir ${dir}`,
          `PidFile ${dir}/apache.pid`,
          `Listen 127.0.0.1:${port}`,
          'Include mods-enabled/*.load',
          'Include mods-enabled/*.conf',
          'User www-data',
          'Group www-data',
          'ErrorLog /dev/null',
          'ServerName localhost',
          'DocumentRoot /var/www/html',
          '<Directory /var/www/html>',
          '  Require all granted',
          '</Directory>',
        ].join('\n'),
      (file) => ['-X', '-f', file],
    );
  });
  afterAll(() => {
    server?.child.kill();
    if (server) rmSync(server.dir, { recursive: true, force: true });
  });

  it('identifies Apache httpd with its distribution', async () => {
    expect(server).toBeDefined();
    const { id, ms } = await probeLive(server!.port);
    expect(id).toMatchObject({ service: 'http', product: 'Apache httpd' });
    expect(id?.version).toMatch(/^\d+\.\d+\.\d+$/);
    if (id?.distro !== undefined) expect(id.ostype).toBe('Linux');
    expect(ms).toBeLessThan(2000);
  });
});
