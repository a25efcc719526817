import { describe, expect, it } from 'vitest';
import { cleanText, decodeEntities, dechunk, extractTitle, headerValue, HTTP_LIMITS, httpResponseComplete, looksLikeHttp, parseHttpResponse } from './http-parse.js';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');

// Captured from nginx 1.22.1 (Debian) on 127.0.0.1: a Content-Length response and an autoindex
// page, which nginx sends close-delimited to an HTTP/1.0 client.
const NGINX_400 =
  'HTTP/1.1 400 Bad Request\r\nServer: nginx/1.22.1\r\nDate: Sat, 21 Nov 2026 06:44:25 GMT\r\nContent-Type: text/html\r\nContent-Length: 157\r\nConnection: close\r\n\r\n<html>\r\n<head><title>400 Bad Request</title></head>\r\n<body>\r\n<center><h1>400 Bad Request</h1></center>\r\n<hr><center>nginx/1.22.1</center>\r\n</body>\r\n</html>\r\n';
const NGINX_INDEX =
  'HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Sat, 21 Nov 2026 06:44:22 GMT\r\nContent-Type: text/html\r\nConnection: close\r\n\r\n<html>\r\n<head><title>Index of /files/</title></head>\r\n<body>\r\n<h1>Index of /files/</h1><hr><pre><a href="../">../</a>\r\n</pre><hr></body>\r\n</html>\r\n';
// Python's http.server answering a non-HTTP request line: an HTTP/0.9-style bare body.
const PY_09 = '<!DOCTYPE HTML>\n<html lang="en">\n    <head>\n        <meta charset="utf-8">\n        <title>Error response</title>\n    </head>\n';

describe('looksLikeHttp', () => {
  it('accepts HTTP/1.x status lines only', () => {
    expect(looksLikeHttp(b(NGINX_400))).toBe(true);
    expect(looksLikeHttp(b('HTTP/1.0 200\r\n'))).toBe(true);
    for (const s of ['', 'HTTP/1.1', 'HTTP/2.0 200 OK\r\n', 'RTSP/1.0 200 OK\r\n', 'SIP/2.0 200 OK\r\n', 'http/1.1 200 OK\r\n', 'HTTP/1.1 20 OK\r\n', PY_09, '-ERR unknown command\r\n']) {
      expect(looksLikeHttp(b(s))).toBe(false);
    }
  });
});

describe('parseHttpResponse', () => {
  it('reads status, headers and a Content-Length body', () => {
    const r = parseHttpResponse(b(NGINX_400))!;
    expect(r).toMatchObject({ version: '1.1', status: 400, reason: 'Bad Request', headersComplete: true, bodyComplete: true, contentLength: 157, chunked: false });
    expect(headerValue(r, 'server')).toBe('nginx/1.22.1');
    expect(r.body.length).toBe(157);
    expect(r.headers.map((h) => h.name)).toEqual(['server', 'date', 'content-type', 'content-length', 'connection']);
  });

  it('keeps a close-delimited body open until the server closes', () => {
    const r = parseHttpResponse(b(NGINX_INDEX))!;
    expect(r.bodyComplete).toBe(false);
    expect(r.contentLength).toBeUndefined();
    expect(httpResponseComplete(b(NGINX_INDEX))).toBe(false);
  });

  it('accepts bare LF line ends, a missing reason and joins duplicate headers', () => {
    const r = parseHttpResponse(b('HTTP/1.0 200\nX-A: 1\nx-a:  2 \nContent-Length: 2\n\nok'))!;
    expect(r).toMatchObject({ status: 200, reason: '', bodyComplete: true });
    expect(headerValue(r, 'x-a')).toBe('1, 2');
    expect(r.body.toString()).toBe('ok');
  });

  it('ignores obs-fold continuation lines and malformed header names', () => {
    const r = parseHttpResponse(b('HTTP/1.1 200 OK\r\nServer: nginx\r\n  injected: yes\r\nBad Name: x\r\n: empty\r\nnocolon\r\nX-Ok: 1\r\n\r\n'))!;
    expect(r.headers).toEqual([
      { name: 'server', value: 'nginx' },
      { name: 'x-ok', value: '1' },
    ]);
  });

  it('de-chunks bodies, with extensions and trailers', () => {
    const r = parseHttpResponse(b('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nHello\r\n7\r\n, world\r\n0\r\nX-Trailer: 1\r\n\r\n'))!;
    expect(r).toMatchObject({ chunked: true, bodyComplete: true });
    expect(r.body.toString()).toBe('Hello, world');
    const partial = b('HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n5\r\nHel');
    expect(parseHttpResponse(partial)).toMatchObject({ chunked: true, bodyComplete: false });
    expect(httpResponseComplete(partial)).toBe(false);
  });

  it('treats no-body statuses as complete at the end of the headers', () => {
    for (const s of [204, 304]) expect(httpResponseComplete(b(`HTTP/1.1 ${s} X\r\nContent-Length: 99\r\n\r\n`))).toBe(true);
  });

  it('skips interim 100 responses, and waits when only one arrived', () => {
    const lone = b('HTTP/1.1 100 Continue\r\n\r\n');
    expect(httpResponseComplete(lone)).toBe(false);
    const both = b('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nServer: x\r\nContent-Length: 0\r\n\r\n');
    expect(parseHttpResponse(both)).toMatchObject({ status: 200 });
    expect(httpResponseComplete(both)).toBe(true);
    const many = b('HTTP/1.1 100 Continue\r\n\r\n'.repeat(50));
    expect(parseHttpResponse(many)?.status).toBe(100);
  });

  it('is incomplete until the header section ends', () => {
    expect(parseHttpResponse(b('HTTP/1.1 200 OK'))).toMatchObject({ status: 200, headersComplete: false });
    expect(parseHttpResponse(b('HTTP/1.1 200 OK\r\nServer: ngi'))?.headers).toEqual([]);
    expect(httpResponseComplete(b('HTTP/1.1 200 OK\r\nServer: nginx\r\n'))).toBe(false);
  });
});

describe('hostile responses', () => {
  it('rejects empty, truncated and non-HTTP input without throwing', () => {
    for (const s of ['', 'H', 'HTTP/', 'HTTP/1.1 2', 'HTTP/1.1 abc OK\r\n\r\n', 'HTTP/9.9 200 OK\r\n\r\n', PY_09, 'SSH-2.0-OpenSSH_9.2p1\r\n']) {
      expect(parseHttpResponse(b(s))).toBeUndefined();
    }
    expect(httpResponseComplete(b(''))).toBe(false);
    expect(httpResponseComplete(b('HTTP/1.1 2'))).toBe(false);
    // Anything that cannot become HTTP ends the wait at once.
    expect(httpResponseComplete(b('SSH-2.0-x\r\n'))).toBe(true);
    expect(httpResponseComplete(b(PY_09))).toBe(true);
    expect(httpResponseComplete(Buffer.from([0x15, 0x03, 0x01, 0x00, 0x02]))).toBe(true);
  });

  it('survives random binary garbage', () => {
    let seed = 7;
    const rnd = (): number => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) % 256;
    for (let i = 0; i < 300; i++) {
      const body = Buffer.from(Array.from({ length: (i * 37) % 3000 }, rnd));
      for (const data of [body, Buffer.concat([b('HTTP/1.1 200 OK\r\n'), body]), Buffer.concat([b('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n'), body])]) {
        expect(() => {
          parseHttpResponse(data);
          httpResponseComplete(data);
          extractTitle(data);
        }).not.toThrow();
      }
    }
  });

  it('bounds a 1 MiB header line', () => {
    const data = Buffer.concat([b('HTTP/1.1 200 OK\r\nServer: '), Buffer.alloc(1024 * 1024, 0x41), b('\r\n\r\n')]);
    const started = performance.now();
    const r = parseHttpResponse(data)!;
    expect(r).toMatchObject({ status: 200, headersComplete: false, headersTruncated: true });
    expect(httpResponseComplete(data)).toBe(true);
    expect(performance.now() - started).toBeLessThan(500);
  });

  it('keeps at most maxHeaders of 10k headers and a bounded value length', () => {
    const many = b(`HTTP/1.1 200 OK\r\n${'X-H: v\r\n'.repeat(10_000)}\r\n`);
    const r = parseHttpResponse(many)!;
    expect(r.headers.length).toBeLessThanOrEqual(HTTP_LIMITS.maxHeaders);
    expect(r.headersTruncated).toBe(true);
    expect(httpResponseComplete(many)).toBe(true);
    const long = parseHttpResponse(b(`HTTP/1.1 200 OK\r\nServer: ${'a'.repeat(20_000)}\r\n\r\n`))!;
    expect(long.headers[0]!.value.length).toBe(HTTP_LIMITS.maxHeaderValue);
    expect(headerValue(parseHttpResponse(b(`HTTP/1.1 200 OK\r\n${'X: aaaa\r\n'.repeat(99)}\r\n`))!, 'x')!.length).toBeLessThanOrEqual(HTTP_LIMITS.maxHeaderValue);
  });

  it('does not trust Content-Length', () => {
    const longer = b('HTTP/1.1 200 OK\r\nContent-Length: 999999999999\r\n\r\nshort');
    expect(parseHttpResponse(longer)).toMatchObject({ bodyComplete: false, contentLength: 999999999999 });
    expect(httpResponseComplete(longer)).toBe(false);
    const shorter = parseHttpResponse(b('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA'))!;
    expect(shorter.body.toString()).toBe('ok');
    for (const bad of ['-5', '1e9', '0x10', '12 34', '']) {
      const r = parseHttpResponse(b(`HTTP/1.1 200 OK\r\nContent-Length: ${bad}\r\n\r\nbody`))!;
      expect(r.contentLength).toBeUndefined();
      expect(r.bodyComplete).toBe(false);
    }
    // Conflicting copies: neither is believed (a smuggling classic).
    expect(parseHttpResponse(b('HTTP/1.1 200 OK\r\nContent-Length: 4\r\nContent-Length: 2\r\n\r\nbody'))?.contentLength).toBeUndefined();
    // A huge body stops the wait once the body cap is reached.
    const big = Buffer.concat([b('HTTP/1.1 200 OK\r\nContent-Length: 10000000\r\n\r\n'), Buffer.alloc(HTTP_LIMITS.maxBody + 10, 0x61)]);
    expect(parseHttpResponse(big)?.body.length).toBe(HTTP_LIMITS.maxBody);
    expect(httpResponseComplete(big)).toBe(true);
  });

  it('does not trust chunk sizes', () => {
    expect(dechunk(b('ffffffff\r\nabc'))).toEqual({ body: b('abc'), complete: false });
    expect(dechunk(b('123456789\r\nabc')).body.length).toBe(0);
    expect(dechunk(b('zz\r\nabc')).complete).toBe(false);
    expect(dechunk(b(`5\r\nHelloXX7\r\n`))).toEqual({ body: b('Hello'), complete: false });
    const tiny = b('1\r\na\r\n'.repeat(50_000) + '0\r\n\r\n');
    const d = dechunk(tiny, 100);
    expect(d.body.length).toBe(100);
    expect(d.complete).toBe(true);
    expect(dechunk(Buffer.alloc(0))).toEqual({ body: Buffer.alloc(0), complete: false });
  });
});

describe('extractTitle', () => {
  const page = (t: string): Buffer => b(`<html><head><title>${t}</title></head></html>`);

  it('finds titles with attributes, in any case', () => {
    expect(extractTitle(b('<HTML><TITLE lang="en">Index of /</TITLE>'))).toBe('Index of /');
    expect(extractTitle(b('<titlebar>no</titlebar><title>\n  Real\n  Title </title>'))).toBe('Real Title');
    expect(extractTitle(b('<html>no title</html>'))).toBeUndefined();
    expect(extractTitle(b('<title></title>'))).toBeUndefined();
    expect(extractTitle(b('<title'))).toBeUndefined();
  });

  it('decodes only the allowed entities, once', () => {
    expect(extractTitle(page('A &amp; B &lt;x&gt; &quot;q&quot; &#39;s&#x41;'))).toBe('A & B <x> "q" \'sA');
    expect(extractTitle(page('&nbsp;&copy;&amp;lt;'))).toBe('&nbsp;&copy;&lt;');
    expect(decodeEntities('&#0;&#xD800;&#99999999;&#x110000;')).toBe('&#0;&#xD800;&#99999999;&#x110000;');
  });

  it('decodes UTF-8 and falls back to Latin-1', () => {
    expect(extractTitle(Buffer.from('<title>Übersicht – Start</title>', 'utf8'))).toBe('Übersicht – Start');
    expect(extractTitle(Buffer.from('<title>caf\xe9</title>', 'latin1'))).toBe('café');
  });

  it('strips control characters, ANSI escapes and bidi overrides; keeps markup as text', () => {
    const t = extractTitle(page('\x1b[2J\x1b[31mred\x07 \u202eevil\u202c &#27;[0m &lt;script&gt;alert(1)&lt;/script&gt;'))!;
    expect([...t].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f || (c >= '\u202a' && c <= '\u202e'))).toBe(false);
    expect(t).toContain('<script>alert(1)</script>');
  });

  it('caps long and unterminated titles', () => {
    expect(extractTitle(page('x'.repeat(10_000)))!.length).toBe(HTTP_LIMITS.maxTitle);
    expect(extractTitle(b(`<title>${'y'.repeat(100_000)}`))!.length).toBe(HTTP_LIMITS.maxTitle);
    expect(extractTitle(b(`${' '.repeat(HTTP_LIMITS.maxTitleSearch)}<title>late</title>`))).toBeUndefined();
    expect(cleanText('😀'.repeat(500)).length).toBe(HTTP_LIMITS.maxTitle * 2);
  });
});
