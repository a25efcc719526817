/**
 * Declarative signatures: a regular expression plus field templates. The built-in banner tables,
 * user signature files (--signatures FILE.{json,yaml}) and Recog XML databases all compile to this
 * one shape and run through `matchSignatures`, so they behave the same way.
 *
 * Templates: `$1`…`$9` insert capture groups, `${name}` a named group; a template whose groups
 * did not participate yields no value (the field is left out rather than set to an empty string).
 */
import type { Identification } from './types.js';
import { quote23 } from '../core/cpe.js';
import { cleanField, MAX_MATCH_BYTES } from './text.js';

/** The Identification fields a signature fills, each from a template of the same name. */
export const TEMPLATE_FIELDS = ['product', 'version', 'extrainfo', 'ostype', 'devicetype', 'hostname'] as const;
export type TemplateField = (typeof TEMPLATE_FIELDS)[number];

/** A pattern and, for each of {@link TEMPLATE_FIELDS} it fills, a template. */
export interface Signature extends Partial<Record<TemplateField, string>> {
  /** nmap service name the match implies (`ssh`, `http`, …). */
  service: string;
  /**
   * What the pattern is matched against: a Recog-style field a detector extracted
   * (`ssh.banner`, `http_header.server`, …), or undefined for the raw reply (Latin-1 text).
   */
  field?: string;
  pattern: RegExp;
  /** CPE 2.3 templates. */
  cpe?: string[];
  /** Default 9 with a version, 8 without. */
  confidence?: number;
  /** Where the signature came from (file path, `builtin`), for -v output and debugging. */
  origin?: string;
  /** Optional probe: bytes to send before matching the reply (user signatures). */
  probe?: SignatureProbe;
}

export interface SignatureProbe {
  /** Identifies the probe so several signatures share one send. */
  name: string;
  payload: Buffer;
  /** Ports it is tried on first; other ports only when rarity ≤ intensity. */
  ports: readonly number[];
  rarity: number;
  /** Run inside TLS only (true), outside only (false), or either (undefined). */
  tls?: boolean;
}

const TEMPLATE_RE = /\$(\d)|\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/**
 * Expand a template against a match; undefined when any group it names did not participate.
 * `quote` transforms each captured value before insertion (CPE templates quote it, so a banner
 * like `1:*:evil` cannot add or shift CPE fields).
 */
export function expandTemplate(template: string, m: RegExpExecArray, quote: (v: string) => string = (v) => v): string | undefined {
  let missing = false;
  const out = template.replace(TEMPLATE_RE, (_all, num: string | undefined, name: string | undefined) => {
    const value = num !== undefined ? m[Number(num)] : m.groups?.[name ?? ''];
    if (value === undefined) {
      missing = true;
      return '';
    }
    return quote(value);
  });
  if (missing) return undefined;
  const cleaned = cleanField(out, 200);
  return cleaned === '' ? undefined : cleaned;
}

/** A captured value inside a CPE 2.3 template: quoted, and `*` (any) when empty. */
const cpeValue = (v: string): string => quote23(cleanField(v, 100));

/** Text a signature looks at: the named field, or the raw reply bounded to MAX_MATCH_BYTES. */
function subjectOf(sig: Signature, raw: Buffer | undefined, fields: Readonly<Record<string, string>> | undefined): string | undefined {
  if (sig.field !== undefined) {
    const v = fields?.[sig.field];
    return v === undefined ? undefined : v.slice(0, MAX_MATCH_BYTES);
  }
  return raw === undefined ? undefined : raw.subarray(0, MAX_MATCH_BYTES).toString('latin1');
}

/** Apply one signature; the identification it yields, or undefined. */
export function applySignature(sig: Signature, raw: Buffer | undefined, fields?: Readonly<Record<string, string>>): Identification | undefined {
  const subject = subjectOf(sig, raw, fields);
  if (subject === undefined) return undefined;
  sig.pattern.lastIndex = 0;
  const m = sig.pattern.exec(subject);
  if (!m) return undefined;
  const id: Identification = { service: sig.service, confidence: 0 };
  for (const key of TEMPLATE_FIELDS) {
    const t = sig[key];
    if (t === undefined) continue;
    const v = expandTemplate(t, m);
    if (v !== undefined) id[key] = v;
  }
  const cpes = (sig.cpe ?? []).map((t) => expandTemplate(t, m, cpeValue)).filter((c): c is string => c !== undefined);
  if (cpes.length > 0) id.cpe = cpes.map((c) => c.toLowerCase());
  id.confidence = sig.confidence ?? (id.version !== undefined ? 9 : 8);
  return id;
}

/** First signature (in order) that matches; order encodes priority, so put specific ones first. */
export function matchSignatures(sigs: readonly Signature[], raw: Buffer | undefined, fields?: Readonly<Record<string, string>>): Identification | undefined {
  for (const sig of sigs) {
    const id = applySignature(sig, raw, fields);
    if (id) return id;
  }
  return undefined;
}
