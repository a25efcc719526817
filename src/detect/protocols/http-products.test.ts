import { describe, expect, it } from 'vitest';
import { matchSignatures } from '../signature.js';
import { HTTP_SIGNATURES } from './http-products.js';

const server = (value: string): Record<string, string> => ({ 'http_header.server': value });

describe('HTTP_SIGNATURES: Server header', () => {
  const cases: Array<[string, string, string | undefined, string | undefined, string?]> = [
    // [Server header, product, version, first CPE, service]
    ['nginx/1.22.1', 'nginx', '1.22.1', 'cpe:2.3:a:f5:nginx:1.22.1:*:*:*:*:*:*:*'],
    ['nginx', 'nginx', undefined, 'cpe:2.3:a:f5:nginx:*:*:*:*:*:*:*:*'],
    ['Apache/2.4.71 (Debian)', 'Apache httpd', '2.4.71', 'cpe:2.3:a:apache:http_server:2.4.71:*:*:*:*:*:*:*'],
    ['Apache', 'Apache httpd', undefined, 'cpe:2.3:a:apache:http_server:*:*:*:*:*:*:*:*'],
    ['lighttpd/1.4.69', 'lighttpd', '1.4.69', 'cpe:2.3:a:lighttpd:lighttpd:1.4.69:*:*:*:*:*:*:*'],
    ['Microsoft-IIS/10.0', 'Microsoft IIS httpd', '10.0', 'cpe:2.3:a:microsoft:internet_information_services:10.0:*:*:*:*:*:*:*'],
    ['Microsoft-HTTPAPI/2.0', 'Microsoft HTTPAPI httpd', '2.0', 'cpe:2.3:o:microsoft:windows:*:*:*:*:*:*:*:*'],
    ['Caddy', 'Caddy httpd', undefined, 'cpe:2.3:a:caddyserver:caddy:*:*:*:*:*:*:*:*'],
    ['Jetty(9.4.51.v20230217)', 'Jetty', '9.4.51.v20230217', 'cpe:2.3:a:eclipse:jetty:9.4.51.v20230217:*:*:*:*:*:*:*'],
    ['Werkzeug/2.3.7 Python/3.11.2', 'Werkzeug httpd', '2.3.7', 'cpe:2.3:a:palletsprojects:werkzeug:2.3.7:*:*:*:*:*:*:*'],
    ['SimpleHTTP/0.6 Python/3.11.7', 'SimpleHTTPServer', '0.6', 'cpe:2.3:a:python:python:3.11.7:*:*:*:*:*:*:*'],
    ['WSGIServer/0.2 CPython/3.10.12', 'WSGIServer', '0.2', 'cpe:2.3:a:python:python:3.10.12:*:*:*:*:*:*:*'],
    ['gunicorn', 'Gunicorn', undefined, 'cpe:2.3:a:gunicorn:gunicorn:*:*:*:*:*:*:*:*'],
    ['gunicorn/20.1.0', 'Gunicorn', '20.1.0', 'cpe:2.3:a:gunicorn:gunicorn:20.1.0:*:*:*:*:*:*:*'],
    ['uvicorn', 'Uvicorn', undefined, 'cpe:2.3:a:encode:uvicorn:*:*:*:*:*:*:*:*'],
    ['Python/3.11 aiohttp/3.8.5', 'aiohttp', '3.8.5', 'cpe:2.3:a:aiohttp:aiohttp:3.8.5:*:*:*:*:*:*:*'],
    ['Kestrel', 'Microsoft Kestrel httpd', undefined, 'cpe:2.3:a:microsoft:asp.net_core:*:*:*:*:*:*:*:*'],
    ['openresty/1.21.4.1', 'OpenResty web app server', '1.21.4.1', 'cpe:2.3:a:openresty:openresty:1.21.4.1:*:*:*:*:*:*:*'],
    ['envoy', 'Envoy proxy', undefined, 'cpe:2.3:a:envoyproxy:envoy:*:*:*:*:*:*:*:*'],
    ['istio-envoy', 'Envoy proxy', undefined, 'cpe:2.3:a:envoyproxy:envoy:*:*:*:*:*:*:*:*'],
    ['LiteSpeed', 'LiteSpeed httpd', undefined, 'cpe:2.3:a:litespeedtech:litespeed_web_server:*:*:*:*:*:*:*:*'],
    ['OpenLiteSpeed/1.7.18', 'OpenLiteSpeed httpd', '1.7.18', 'cpe:2.3:a:litespeedtech:openlitespeed:1.7.18:*:*:*:*:*:*:*'],
    ['Cowboy', 'Cowboy httpd', undefined, 'cpe:2.3:a:ninenines:cowboy:*:*:*:*:*:*:*:*'],
    ['squid/5.7', 'Squid http proxy', '5.7', 'cpe:2.3:a:squid-cache:squid:5.7:*:*:*:*:*:*:*', 'http-proxy'],
    ['CUPS/2.4 IPP/2.1', 'CUPS', '2.4', 'cpe:2.3:a:apple:cups:2.4:*:*:*:*:*:*:*', 'ipp'],
    ['Apache-Coyote/1.1', 'Apache Tomcat', undefined, 'cpe:2.3:a:apache:tomcat:*:*:*:*:*:*:*:*'],
    ['FooServer/3.2', 'FooServer', '3.2', undefined],
  ];
  it.each(cases)('%s → %s %s', (header, product, version, cpe, service) => {
    const id = matchSignatures(HTTP_SIGNATURES, undefined, server(header))!;
    expect(id.product).toBe(product);
    expect(id.version).toBe(version);
    expect(id.cpe?.[0]).toBe(cpe);
    expect(id.service).toBe(service ?? 'http');
  });

  it('keeps the rest of the Server header as extrainfo and marks Windows servers', () => {
    expect(matchSignatures(HTTP_SIGNATURES, undefined, server('Apache/2.4.6 (CentOS) OpenSSL/1.0.2k-fips PHP/5.4.16'))?.extrainfo).toBe('(CentOS) OpenSSL/1.0.2k-fips PHP/5.4.16');
    expect(matchSignatures(HTTP_SIGNATURES, undefined, server('Werkzeug/2.3.7 Python/3.11.2'))?.extrainfo).toBe('Python/3.11.2');
    expect(matchSignatures(HTTP_SIGNATURES, undefined, server('SimpleHTTP/0.6 Python/3.11.7'))?.extrainfo).toBe('Python 3.11.7');
    expect(matchSignatures(HTTP_SIGNATURES, undefined, server('Microsoft-IIS/10.0'))).toMatchObject({ ostype: 'Windows', cpe: expect.arrayContaining(['cpe:2.3:o:microsoft:windows:*:*:*:*:*:*:*:*']) as unknown });
  });

  it('does not mistake look-alikes', () => {
    expect(matchSignatures(HTTP_SIGNATURES, undefined, server('nginxfoo'))?.product).toBeUndefined();
    expect(matchSignatures(HTTP_SIGNATURES, undefined, server('Apache Tomcat'))).toBeUndefined();
    expect(matchSignatures(HTTP_SIGNATURES, undefined, server('[31mnginx/1.0'))).toBeUndefined();
    expect(matchSignatures(HTTP_SIGNATURES, undefined, server('nginx/1.0:*:evil'))?.cpe?.[0]).toBe('cpe:2.3:a:f5:nginx:1.0:*:*:*:*:*:*:*');
  });
});

describe('HTTP_SIGNATURES: bodies, titles and other headers', () => {
  it('names Tomcat from its default page title or error page, before Coyote', () => {
    expect(matchSignatures(HTTP_SIGNATURES, undefined, { html_title: 'Apache Tomcat/9.0.65' })).toMatchObject({ product: 'Apache Tomcat', version: '9.0.65' });
    const errorPage = '<!doctype html><html lang="en"><head><title>HTTP Status 404 – Not Found</title></head><body><h1>HTTP Status 404 – Not Found</h1><hr class="line" /><h3>Apache Tomcat/10.1.16</h3></body></html>';
    expect(matchSignatures(HTTP_SIGNATURES, undefined, { 'http_header.server': 'Apache-Coyote/1.1', 'http.body': errorPage })).toMatchObject({ product: 'Apache Tomcat', version: '10.1.16', cpe: ['cpe:2.3:a:apache:tomcat:10.1.16:*:*:*:*:*:*:*'] });
  });

  it('reads CUPS versions from the web interface title', () => {
    expect(matchSignatures(HTTP_SIGNATURES, undefined, { html_title: 'Home - CUPS 2.4.2', 'http_header.server': 'CUPS/2.4 IPP/2.1' })).toMatchObject({ service: 'ipp', product: 'CUPS', version: '2.4.2' });
    expect(matchSignatures(HTTP_SIGNATURES, undefined, { html_title: 'How to set up CUPS printing' })).toBeUndefined();
  });

  it('recognises Squid by Via and X-Squid-Error', () => {
    expect(matchSignatures(HTTP_SIGNATURES, undefined, { 'http_header.via': '1.1 proxy.example (squid/6.6)' })).toMatchObject({ service: 'http-proxy', version: '6.6' });
    expect(matchSignatures(HTTP_SIGNATURES, undefined, { 'http_header.x-squid-error': 'ERR_INVALID_URL 0' })).toMatchObject({ service: 'http-proxy', product: 'Squid http proxy' });
  });

  it('recognises HAProxy built-in error pages', () => {
    const body = '<html><body><h1>503 Service Unavailable</h1>\nNo server is available to handle this request.\n</body></html>\n';
    expect(matchSignatures(HTTP_SIGNATURES, undefined, { 'http.body': body })).toMatchObject({ product: 'HAProxy http proxy', cpe: ['cpe:2.3:a:haproxy:haproxy:*:*:*:*:*:*:*:*'] });
    expect(matchSignatures(HTTP_SIGNATURES, undefined, { 'http.body': '<html><body><h1>400 Bad request</h1>\nYour browser sent an invalid request.\n</body></html>\n' })?.product).toBe('HAProxy http proxy');
    expect(matchSignatures(HTTP_SIGNATURES, undefined, { 'http.body': '<p>No server is available to handle this request.</p>' })).toBeUndefined();
  });

  it('reads nginx, Jetty and Apache error page footers', () => {
    expect(matchSignatures(HTTP_SIGNATURES, undefined, { 'http.body': '<hr><center>nginx/1.24.0</center>' })).toMatchObject({ product: 'nginx', version: '1.24.0' });
    expect(matchSignatures(HTTP_SIGNATURES, undefined, { 'http.body': '<hr><center>nginx</center>' })).toMatchObject({ product: 'nginx' });
    expect(matchSignatures(HTTP_SIGNATURES, undefined, { 'http.body': '<hr/><a href="https://eclipse.org/jetty">Powered by Jetty:// 10.0.15</a><hr/>' })).toMatchObject({ product: 'Jetty', version: '10.0.15' });
    const addr = '<hr>\n<address>Apache/2.4.57 (Debian) Server at www.example.org Port 80</address>\n';
    expect(matchSignatures(HTTP_SIGNATURES, undefined, { 'http.body': addr })).toMatchObject({ product: 'Apache httpd', version: '2.4.57', extrainfo: 'Debian', hostname: 'www.example.org' });
  });

  it('uses X-Powered-By, Via and X-Varnish when the Server header says nothing known', () => {
    expect(matchSignatures(HTTP_SIGNATURES, undefined, { 'http_header.x-powered-by': 'Express' })).toMatchObject({ product: 'Node.js Express framework' });
    expect(matchSignatures(HTTP_SIGNATURES, undefined, { 'http_header.via': '1.1 varnish (Varnish/7.1)' })).toMatchObject({ product: 'Varnish http accelerator', version: '7.1' });
    expect(matchSignatures(HTTP_SIGNATURES, undefined, { 'http_header.x-varnish': '32770 3' })).toMatchObject({ product: 'Varnish http accelerator' });
    // The Server header wins over secondary markers.
    expect(matchSignatures(HTTP_SIGNATURES, undefined, { 'http_header.server': 'nginx/1.25.3', 'http_header.x-powered-by': 'Express' })?.product).toBe('nginx');
  });

  it('weakly names Go servers by their stock 404', () => {
    expect(matchSignatures(HTTP_SIGNATURES, undefined, { 'http.body': '404 page not found\n' })).toMatchObject({ product: 'Golang net/http server', confidence: 5 });
  });
});
