/**
 * A bounded HTTP/1.x response parser for service detection. It reads what a scan needs (status
 * line, headers, the start of the body, the page title) out of untrusted bytes: every length it
 * honours is capped, nothing is trusted to be well-formed, and nothing throws.
 */

/** Caps on what the parser looks at; a server cannot make it use more. */
export const HTTP_LIMITS = {
  /** Bytes searched for the end of the header section. */
  maxHeaderBytes: 32768,
  /** Header fields kept; further ones are dropped. */
  maxHeaders: 100,
  /** Characters kept of one header value. */
  maxHeaderValue: 4096,
  /** Body bytes kept (after de-chunking). */
  maxBody: 65536,
  /** Body bytes searched for `<title>`. */
  maxTitleSearch: 32768,
  /** Raw bytes of a title considered, and characters kept after cleaning. */
  maxTitleRaw: 2048,
  maxTitle: 160,
  /** Interim (1xx) responses skipped before the final one. */
  maxInterim: 4,
} as const;

export interface HttpHeader {
  /** Lower-cased field name. */
  name: string;
  value: string;
}

export interface HttpResponse {
  /** `1.0`, `1.1`, … as sent. */
  version: string;
  status: number;
  reason: string;
  headers: HttpHeader[];
  /** The blank line ending the header section was seen. */
  headersComplete: boolean;
  /** Some header lines were dropped (count or size cap). */
  headersTruncated: boolean;
  /** The body so far (de-chunked, at most HTTP_LIMITS.maxBody bytes). */
  body: Buffer;
  /** The body is whole by its framing (Content-Length, last chunk, or a status without body). */
  bodyComplete: boolean;
  chunked: boolean;
  /** Content-Length when present and consistent. */
  contentLength?: number;
}

const STATUS_LINE = /^HTTP\/(\d)\.(\d) (\d{3})(?:[ \t]([^\r\n]*))?$/;
const HTTP_PREFIX = Buffer.from('HTTP/');
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,128}$/;

/** True when `data` starts like an HTTP/1.x status line (`HTTP/1.1 200`). */
export function looksLikeHttp(data: Buffer): boolean {
  if (data.length < 12) return false;
  return /^HTTP\/1\.\d \d{3}[ \r\n]/.test(data.subarray(0, 13).toString('latin1'));
}

/** Offset just past the blank line ending the header section (CRLFCRLF or bare LFLF), or -1. */
function headerEnd(data: Buffer): number {
  const window = data.subarray(0, HTTP_LIMITS.maxHeaderBytes);
  const crlf = window.indexOf('\r\n\r\n');
  const lf = window.indexOf('\n\n');
  if (crlf < 0 && lf < 0) return -1;
  if (crlf < 0) return lf + 2;
  if (lf < 0) return crlf + 4;
  return Math.min(crlf + 4, lf + 2);
}

/** All values of a header (lower-case name) joined like a list, or undefined. */
export function headerValue(resp: Pick<HttpResponse, 'headers'>, name: string): string | undefined {
  const values = resp.headers.filter((h) => h.name === name).map((h) => h.value);
  return values.length === 0 ? undefined : values.join(', ').slice(0, HTTP_LIMITS.maxHeaderValue);
}

/** Content-Length only when every copy agrees and is a plain decimal number. */
function contentLengthOf(headers: HttpHeader[]): number | undefined {
  const values = headers.filter((h) => h.name === 'content-length').map((h) => h.value.trim());
  if (values.length === 0) return undefined;
  const first = values[0]!;
  if (!/^\d{1,15}$/.test(first) || values.some((v) => v !== first)) return undefined;
  return Number(first);
}

/**
 * Decode a chunked body, keeping at most `max` bytes. `complete` once the last (zero) chunk was
 * seen; trailers are not read. Malformed framing ends decoding with what was gathered.
 */
export function dechunk(data: Buffer, max: number = HTTP_LIMITS.maxBody): { body: Buffer; complete: boolean } {
  const parts: Buffer[] = [];
  let kept = 0;
  let pos = 0;
  // Each round consumes at least one chunk-size line, so the loop is bounded by the data length;
  // the round cap is a second guard against pathological tiny chunks.
  for (let round = 0; round < 100_000 && pos < data.length; round++) {
    const nl = data.indexOf(0x0a, pos);
    if (nl < 0 || nl - pos > 1024) break;
    const sizeText = data.subarray(pos, nl).toString('latin1').replace(/\r$/, '');
    const m = /^([0-9A-Fa-f]{1,8})(?:[ \t]*;[^\r\n]*)?[ \t]*$/.exec(sizeText);
    if (!m) break;
    const size = parseInt(m[1]!, 16);
    pos = nl + 1;
    if (size === 0) return { body: Buffer.concat(parts), complete: true };
    const chunk = data.subarray(pos, Math.min(data.length, pos + size));
    if (kept < max) {
      const take = chunk.subarray(0, max - kept);
      parts.push(take);
      kept += take.length;
    }
    if (chunk.length < size) break;
    pos += size;
    if (data[pos] === 0x0d) pos++;
    if (data[pos] === 0x0a) pos++;
    else break;
  }
  return { body: Buffer.concat(parts), complete: false };
}

/** Parse the header lines (without the status line); obs-fold continuation lines are ignored. */
function parseHeaderLines(text: string): { headers: HttpHeader[]; truncated: boolean } {
  const headers: HttpHeader[] = [];
  let truncated = false;
  let start = 0;
  while (start < text.length) {
    let nl = text.indexOf('\n', start);
    if (nl < 0) nl = text.length;
    let line = text.slice(start, nl);
    start = nl + 1;
    if (line.endsWith('\r')) line = line.slice(0, -1);
    if (line === '') break;
    // obs-fold (RFC 9112 §5.2): a continuation line; ignoring it is allowed and avoids smuggling tricks.
    if (line.startsWith(' ') || line.startsWith('\t')) continue;
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon);
    if (!TOKEN.test(name)) continue;
    if (headers.length >= HTTP_LIMITS.maxHeaders) {
      truncated = true;
      break;
    }
    let value = line.slice(colon + 1).trim();
    if (value.length > HTTP_LIMITS.maxHeaderValue) {
      value = value.slice(0, HTTP_LIMITS.maxHeaderValue);
      truncated = true;
    }
    headers.push({ name: name.toLowerCase(), value });
  }
  return { headers, truncated };
}

/** Parse one response starting at offset 0; `rest` is the offset where a following one would start. */
function parseOne(data: Buffer): { resp: HttpResponse; rest: number } | undefined {
  const firstNl = data.subarray(0, 1024).indexOf(0x0a);
  const statusText = data.subarray(0, firstNl >= 0 ? firstNl : Math.min(data.length, 1024)).toString('latin1').replace(/\r$/, '');
  const m = STATUS_LINE.exec(statusText);
  if (!m || m[1] !== '1') return undefined;
  const end = headerEnd(data);
  const headersComplete = end >= 0;
  const headerText = firstNl < 0 ? '' : data.subarray(firstNl + 1, headersComplete ? end : HTTP_LIMITS.maxHeaderBytes).toString('latin1');
  // Without the terminating blank line, the last line may be cut mid-way: parse complete lines only.
  const usable = headersComplete ? headerText : headerText.slice(0, headerText.lastIndexOf('\n') + 1);
  const { headers, truncated } = parseHeaderLines(usable);
  const status = Number(m[3]);
  const resp: HttpResponse = {
    version: `${m[1]}.${m[2]}`,
    status,
    reason: (m[4] ?? '').slice(0, 256),
    headers,
    headersComplete,
    headersTruncated: truncated || (!headersComplete && data.length >= HTTP_LIMITS.maxHeaderBytes),
    body: Buffer.alloc(0),
    bodyComplete: false,
    chunked: false,
  };
  if (!headersComplete) return { resp, rest: data.length };
  const bodyData = data.subarray(end);
  const te = headerValue(resp, 'transfer-encoding');
  const cl = contentLengthOf(headers);
  if ((status >= 100 && status < 200) || status === 204 || status === 304) {
    resp.bodyComplete = true;
    return { resp, rest: end };
  }
  if (te !== undefined && /(?:^|,)\s*chunked\s*$/i.test(te)) {
    resp.chunked = true;
    const { body, complete } = dechunk(bodyData);
    resp.body = body;
    resp.bodyComplete = complete;
    return { resp, rest: data.length };
  }
  if (cl !== undefined) {
    resp.contentLength = cl;
    resp.body = Buffer.from(bodyData.subarray(0, Math.min(cl, HTTP_LIMITS.maxBody)));
    resp.bodyComplete = bodyData.length >= cl;
    return { resp, rest: end + Math.min(cl, bodyData.length) };
  }
  // No framing: the body runs until the server closes (HTTP/1.0 style).
  resp.body = Buffer.from(bodyData.subarray(0, HTTP_LIMITS.maxBody));
  return { resp, rest: data.length };
}

/**
 * Parse an HTTP/1.x response (skipping interim 1xx responses other than 101). Undefined when the
 * bytes do not start with a status line: HTTP/0.9-style raw bodies are not claimed.
 */
export function parseHttpResponse(data: Buffer): HttpResponse | undefined {
  let rest = data;
  for (let i = 0; i <= HTTP_LIMITS.maxInterim; i++) {
    const one = parseOne(rest);
    if (!one) return undefined;
    const { resp } = one;
    const interim = resp.status >= 100 && resp.status < 200 && resp.status !== 101;
    if (!interim || !resp.headersComplete || one.rest >= rest.length || i === HTTP_LIMITS.maxInterim) return resp;
    rest = rest.subarray(one.rest);
  }
  return undefined;
}

/**
 * Completeness predicate for `Session.read`: the final response's headers are whole and its body
 * is whole by its framing, or enough was read (header or body cap). A reply that is not HTTP at
 * all counts as complete so the runner stops waiting for it. Close-delimited bodies are ended by
 * the server closing, which the session reports by itself.
 */
export function httpResponseComplete(data: Buffer): boolean {
  const prefix = Math.min(data.length, HTTP_PREFIX.length);
  if (!data.subarray(0, prefix).equals(HTTP_PREFIX.subarray(0, prefix))) return true;
  const resp = parseHttpResponse(data);
  if (!resp) return data.length >= 1024;
  if (!resp.headersComplete) return resp.headersTruncated;
  // A lone `100 Continue`: the final response is still to come.
  if (resp.status >= 100 && resp.status < 200 && resp.status !== 101) return false;
  if (resp.bodyComplete) return true;
  return resp.body.length >= HTTP_LIMITS.maxBody;
}

const NAMED_ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"' };

/** Decode only `&amp; &lt; &gt; &quot;` and numeric references; anything else stays as written. */
export function decodeEntities(s: string): string {
  return s.replace(/&(?:(amp|lt|gt|quot)|#(\d{1,7})|#[xX]([0-9A-Fa-f]{1,6}));/g, (all, name: string | undefined, dec: string | undefined, hex: string | undefined) => {
    if (name !== undefined) return NAMED_ENTITIES[name] ?? all;
    const cp = dec !== undefined ? Number(dec) : parseInt(hex ?? '', 16);
    if (!Number.isInteger(cp) || cp <= 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return all;
    return String.fromCodePoint(cp);
  });
}

/**
 * Text safe to show anywhere: control, format (bidi overrides), private-use and unassigned
 * characters become spaces, whitespace runs collapse, and at most `max` characters are kept.
 */
export function cleanText(s: string, max: number = HTTP_LIMITS.maxTitle): string {
  const cleaned = s.replace(/[\p{C}\p{Zl}\p{Zp}]/gu, ' ').replace(/\s+/g, ' ').trim();
  return Array.from(cleaned).slice(0, max).join('').trim();
}

/** Bytes as UTF-8 when they are valid UTF-8, Latin-1 otherwise (old pages). */
function decodeText(bytes: Buffer): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return bytes.toString('latin1');
  }
}

/** The page `<title>` from an HTML body: entity-decoded, cleaned, capped; undefined if none. */
export function extractTitle(body: Buffer): string | undefined {
  const window = body.subarray(0, HTTP_LIMITS.maxTitleSearch);
  const lower = window.toString('latin1').toLowerCase();
  let open = lower.indexOf('<title');
  // Skip `<titlefoo>`-like tags: the name must end at `>` or whitespace.
  while (open >= 0 && !/[\s>]/.test(lower.charAt(open + 6))) open = lower.indexOf('<title', open + 6);
  if (open < 0) return undefined;
  const gt = lower.indexOf('>', open);
  if (gt < 0) return undefined;
  const close = lower.indexOf('</title', gt);
  const stop = close >= 0 ? Math.min(close, gt + 1 + HTTP_LIMITS.maxTitleRaw) : Math.min(window.length, gt + 1 + HTTP_LIMITS.maxTitleRaw);
  const raw = decodeText(window.subarray(gt + 1, stop));
  const title = cleanText(decodeEntities(raw));
  return title === '' ? undefined : title;
}
