/**
 * CPE names. The model keeps CPE 2.3 formatted strings (`cpe:2.3:a:openbsd:openssh:9.2p1:*:…`);
 * nmap's XML uses the 2.2 URI form (`cpe:/a:openbsd:openssh:9.2p1`), which `toCpe22` produces.
 */

export type CpePart = 'a' | 'o' | 'h';

/** Quote a value for a CPE 2.3 formatted string: lower case, spaces to `_`, specials backslash-escaped. */
export function quote23(value: string): string {
  const v = value.trim().toLowerCase().replace(/\s+/g, '_');
  if (v === '' || v === '*') return '*';
  return v.replace(/[^a-z0-9._-]/g, (c) => `\\${c}`);
}

/**
 * A CPE 2.3 formatted string. Version and update are optional (`*`). Values are escaped, so text
 * read from a banner can never add or shift a field.
 */
export function cpe23(part: CpePart, vendor: string, product: string, version?: string, update?: string): string {
  const fields = [part, quote23(vendor), quote23(product), quote23(version ?? '*'), quote23(update ?? '*'), '*', '*', '*', '*', '*', '*'];
  return `cpe:2.3:${fields.join(':')}`;
}

/** Split a 2.3 formatted string into its 11 fields (after `cpe:2.3:`), honouring backslash escapes. */
export function splitCpe23(name: string): string[] | undefined {
  if (!name.startsWith('cpe:2.3:')) return undefined;
  const fields: string[] = [];
  let current = '';
  const body = name.slice(8);
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c === '\\' && i + 1 < body.length) {
      current += c + body[i + 1]!;
      i++;
    } else if (c === ':') {
      fields.push(current);
      current = '';
    } else current += c;
  }
  fields.push(current);
  return fields.length === 11 ? fields : undefined;
}

/** The CPE 2.2 URI form nmap writes (`cpe:/a:vendor:product:version`), trailing wildcards dropped. */
export function toCpe22(name: string): string {
  const fields = splitCpe23(name);
  if (!fields) return name;
  const uri = fields.slice(0, 5).map((f) => (f === '*' ? '' : f.replace(/\\(.)/g, (_m, ch: string) => (/[a-z0-9._\-~]/.test(ch) ? ch : `%${ch.charCodeAt(0).toString(16).padStart(2, '0')}`))));
  while (uri.length > 1 && uri[uri.length - 1] === '') uri.pop();
  return `cpe:/${uri.join(':')}`;
}

/** Decode a CPE 2.2 URI component's percent escapes; undefined when an escape is malformed. */
function decode22(component: string): string | undefined {
  if (!component.includes('%')) return component;
  try {
    return decodeURIComponent(component);
  } catch {
    return undefined;
  }
}

/** Longest CPE URI accepted; real names are far shorter, and the value may come from a hostile file. */
const MAX_CPE22_CHARS = 1024;

/**
 * A CPE 2.2 URI (`cpe:/a:openbsd:openssh:9.2p1`, as nmap writes it) as a CPE 2.3 formatted string.
 * Missing or empty components become `*` (any), a packed edition (`~ed~sw~tsw~thw~other`) is
 * unpacked, and every value is re-quoted so it cannot add or shift a field. Undefined for anything
 * that is not a well-formed URI (wrong prefix, unknown part, too many components, bad escapes).
 */
export function fromCpe22(uri: string): string | undefined {
  const text = uri.trim();
  if (text.length > MAX_CPE22_CHARS || !/^cpe:\/[aoh]?(?::|$)/i.test(text)) return undefined;
  const raw = text.slice(5).split(':');
  if (raw.length > 7) return undefined;
  const parts: string[] = [];
  for (const r of raw) {
    const d = decode22(r);
    if (d === undefined) return undefined;
    parts.push(d);
  }
  const part = (parts[0] ?? '').toLowerCase();
  if (part !== 'a' && part !== 'o' && part !== 'h') return undefined;
  let extended = ['', '', '', ''];
  let edition = parts[5] ?? '';
  if (edition.startsWith('~')) {
    const packed = edition.split('~');
    if (packed.length !== 6) return undefined;
    edition = packed[1] ?? '';
    extended = packed.slice(2);
  }
  const q = (v: string): string => quote23(v === '' ? '*' : v);
  const fields = [part, q(parts[1] ?? ''), q(parts[2] ?? ''), q(parts[3] ?? ''), q(parts[4] ?? ''), q(edition), q(parts[6] ?? ''), ...extended.map(q)];
  return `cpe:2.3:${fields.join(':')}`;
}
