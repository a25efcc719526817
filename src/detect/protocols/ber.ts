/**
 * A small, bounded BER/DER reader (and the few encoders the LDAP and SPNEGO requests need).
 * Everything it reads comes from the network, so: definite lengths only (the indefinite form
 * `0x80` is rejected), lengths of at most four octets, a child may never claim more bytes than its
 * parent holds, and tree walks stop at a maximum depth and node count. Nothing here throws on
 * malformed input; readers return `invalid` or `incomplete` values instead.
 */

/** One decoded tag-length-value header; `start`/`end` delimit the value inside the buffer. */
export interface Tlv {
  /** Identifier class: 0 universal, 1 application, 2 context-specific, 3 private. */
  cls: number;
  constructed: boolean;
  /** Tag number within the class. */
  tag: number;
  /** Offset of the identifier octet. */
  offset: number;
  /** Offset of the first value octet. */
  start: number;
  /** Offset one past the last value octet. */
  end: number;
}

/**
 * Result of reading one TLV: `incomplete` means more bytes could still make it whole (a stream
 * reader should wait), `invalid` means no amount of further bytes can.
 */
export type TlvRead = { kind: 'ok'; tlv: Tlv } | { kind: 'incomplete' } | { kind: 'invalid'; reason: string };

/** Longest value this reader accepts; a length field claiming more is treated as a lie. */
export const MAX_BER_LENGTH = 16 * 1024 * 1024;

/**
 * Read the TLV header at `offset`. `limit` bounds the bytes the element may use (the enclosing
 * value's end); when `limit` is the end of a partially received stream, pass `stream: true` so a
 * value running past it reads as `incomplete` rather than `invalid`.
 */
export function readTlv(buf: Buffer, offset: number, limit = buf.length, stream = false): TlvRead {
  const end = Math.min(limit, buf.length);
  // Only an element that runs into the end of received data (not a parent's end) may still grow.
  const canGrow = stream && limit >= buf.length;
  const short = (reason: string): TlvRead => (canGrow ? { kind: 'incomplete' } : { kind: 'invalid', reason });
  if (offset < 0 || offset > end) return { kind: 'invalid', reason: 'bad offset' };
  if (offset === end) return short('no data');
  const id = buf[offset]!;
  let pos = offset + 1;
  let tag = id & 0x1f;
  if (tag === 0x1f) {
    // High tag number form: base-128 digits; four are plenty for any protocol we speak.
    tag = 0;
    for (let i = 0; ; i++) {
      if (i >= 4) return { kind: 'invalid', reason: 'tag too long' };
      if (pos >= end) return short('truncated tag');
      const b = buf[pos++]!;
      tag = tag * 128 + (b & 0x7f);
      if ((b & 0x80) === 0) break;
    }
  }
  if (pos >= end) return short('truncated length');
  const first = buf[pos++]!;
  let length: number;
  if (first < 0x80) length = first;
  else if (first === 0x80) return { kind: 'invalid', reason: 'indefinite length' };
  else {
    const n = first & 0x7f;
    if (n > 4) return { kind: 'invalid', reason: 'length field too long' };
    if (pos + n > end) return short('truncated length');
    length = 0;
    for (let i = 0; i < n; i++) length = length * 256 + buf[pos++]!;
  }
  if (length > MAX_BER_LENGTH) return { kind: 'invalid', reason: 'length too large' };
  if (pos + length > end) return short('length exceeds data');
  return { kind: 'ok', tlv: { cls: id >> 6, constructed: (id & 0x20) !== 0, tag, offset, start: pos, end: pos + length } };
}

/**
 * The children of a constructed element, which must tile its value exactly. Undefined when the
 * element is primitive, a child is malformed or overruns, or there are more than `max` children.
 */
export function children(buf: Buffer, parent: Tlv, max = 256): Tlv[] | undefined {
  if (!parent.constructed) return undefined;
  const out: Tlv[] = [];
  let pos = parent.start;
  while (pos < parent.end) {
    if (out.length >= max) return undefined;
    const r = readTlv(buf, pos, parent.end);
    if (r.kind !== 'ok') return undefined;
    out.push(r.tlv);
    pos = r.tlv.end;
  }
  return out;
}

/** Value bytes of an element (a view, not a copy). */
export function valueOf(buf: Buffer, tlv: Tlv): Buffer {
  return buf.subarray(tlv.start, tlv.end);
}

/** A two's-complement INTEGER or ENUMERATED of at most 6 octets; undefined if longer or empty. */
export function readInteger(buf: Buffer, tlv: Tlv): number | undefined {
  const len = tlv.end - tlv.start;
  if (tlv.constructed || len < 1 || len > 6) return undefined;
  return buf.readIntBE(tlv.start, len);
}

/** BOOLEAN: any non-zero octet is TRUE. */
export function readBoolean(buf: Buffer, tlv: Tlv): boolean | undefined {
  if (tlv.constructed || tlv.end - tlv.start !== 1) return undefined;
  return buf[tlv.start] !== 0;
}

/** A primitive string value, at most `max` bytes of it, decoded as `encoding` (default UTF-8). */
export function readString(buf: Buffer, tlv: Tlv, max = 1024, encoding: BufferEncoding = 'utf8'): string | undefined {
  if (tlv.constructed) return undefined;
  return buf.subarray(tlv.start, Math.min(tlv.end, tlv.start + max)).toString(encoding);
}

/** A node of a decoded tree (see `decodeTree`). */
export interface BerNode extends Tlv {
  children?: BerNode[];
}

/** Bounds for `decodeTree`. */
export interface TreeLimits {
  /** Deepest nesting accepted (the top element is depth 1). Default 16. */
  maxDepth?: number;
  /** Most elements accepted in the whole tree. Default 4096. */
  maxNodes?: number;
}

/**
 * Decode one element and everything inside its constructed values, bounded in depth and node
 * count; `invalid` (never an exception) on any malformation, lie or limit.
 */
export function decodeTree(buf: Buffer, offset = 0, limits: TreeLimits = {}): { kind: 'ok'; node: BerNode } | { kind: 'invalid'; reason: string } {
  const maxDepth = limits.maxDepth ?? 16;
  let nodes = limits.maxNodes ?? 4096;
  const top = readTlv(buf, offset);
  if (top.kind !== 'ok') return { kind: 'invalid', reason: top.kind === 'invalid' ? top.reason : 'incomplete' };
  // An explicit stack instead of recursion, so a hostile nesting depth costs no call stack.
  const root: BerNode = { ...top.tlv };
  const stack: { node: BerNode; depth: number }[] = [{ node: root, depth: 1 }];
  nodes--;
  while (stack.length > 0) {
    const { node, depth } = stack.pop()!;
    if (!node.constructed) continue;
    if (depth >= maxDepth && node.end > node.start) return { kind: 'invalid', reason: 'too deep' };
    node.children = [];
    for (let pos = node.start; pos < node.end; ) {
      if (--nodes < 0) return { kind: 'invalid', reason: 'too many nodes' };
      const r = readTlv(buf, pos, node.end);
      if (r.kind !== 'ok') return { kind: 'invalid', reason: r.kind === 'invalid' ? r.reason : 'incomplete' };
      const child: BerNode = { ...r.tlv };
      node.children.push(child);
      stack.push({ node: child, depth: depth + 1 });
      pos = r.tlv.end;
    }
  }
  return { kind: 'ok', node: root };
}

/** Encode a definite length. */
export function encodeLength(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/** Encode an element with a single identifier octet (`0x30` SEQUENCE, `0x63` [APPLICATION 3], …). */
export function encodeTlv(identifier: number, ...content: Buffer[]): Buffer {
  const value = Buffer.concat(content);
  return Buffer.concat([Buffer.from([identifier]), encodeLength(value.length), value]);
}

/** Encode a small non-negative INTEGER (or ENUMERATED with identifier 0x0a). */
export function encodeInteger(n: number, identifier = 0x02): Buffer {
  const bytes: number[] = [];
  let v = n;
  do {
    bytes.unshift(v & 0xff);
    v = Math.floor(v / 256);
  } while (v > 0);
  if ((bytes[0]! & 0x80) !== 0) bytes.unshift(0);
  return encodeTlv(identifier, Buffer.from(bytes));
}

/** Encode an OCTET STRING (or any primitive string type via `identifier`). */
export function encodeString(s: string | Buffer, identifier = 0x04): Buffer {
  return encodeTlv(identifier, typeof s === 'string' ? Buffer.from(s, 'utf8') : s);
}
