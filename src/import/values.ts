/**
 * Small, strict readers for values found in imported files: addresses, ports, numbers and free
 * text. Each returns undefined for anything it does not accept, so the importer decides whether
 * that is an error or a field to skip; nothing here throws.
 */
import type { Family } from '../core/model.js';
import { formatIpLiteral, parseIpLiteral } from '../core/targets-addr.js';

/** A host address in its canonical text, so `::1` and `0:0::1` from two files are one host. */
export function canonicalAddress(text: string): { address: string; family: Family } | undefined {
  const t = text.trim();
  if (t.length === 0 || t.length > 64) return undefined;
  const ip = parseIpLiteral(t);
  return ip === undefined ? undefined : { address: formatIpLiteral(ip), family: ip.family };
}

/** A port number 0–65535 written in plain decimal. */
export function parsePort(text: string | undefined): number | undefined {
  if (text === undefined || !/^\s*\d{1,5}\s*$/.test(text)) return undefined;
  const n = Number(text);
  return n <= 65535 ? n : undefined;
}

/** A finite decimal number (integer or fraction, no exponent, no hex), or undefined. */
export function parseDecimal(text: string | undefined): number | undefined {
  if (text === undefined || text.length > 32 || !/^\s*-?\d+(?:\.\d+)?\s*$/.test(text)) return undefined;
  const n = Number(text);
  return Number.isFinite(n) ? n : undefined;
}

/** Epoch seconds (as nmap and Nessus write them) to epoch milliseconds; undefined unless plausible. */
export function epochSecondsToMs(text: string | undefined): number | undefined {
  const n = parseDecimal(text);
  // Years 1970–2200: anything else is a corrupt field, not a date worth storing.
  return n === undefined || n < 0 || n > 7_258_118_400 ? undefined : Math.round(n * 1000);
}

/**
 * Free text from a file, trimmed and capped at `max` characters (never splitting a surrogate
 * pair); undefined when empty. Escaping for display is the output stage's job.
 */
export function text(value: string | undefined, max = 256): string | undefined {
  if (value === undefined) return undefined;
  let t = value.length > max * 4 ? value.slice(0, max * 4) : value;
  t = t.trim();
  if (t.length > max) {
    const code = t.charCodeAt(max - 1);
    t = t.slice(0, code >= 0xd800 && code <= 0xdbff ? max - 1 : max);
  }
  return t.length > 0 ? t : undefined;
}
