/**
 * CSV (RFC 4180) for tables the store returns. Cells come from the network and from imported
 * files, so each is made inert twice over: control and bidi characters become visible escapes
 * (one record stays one line on a terminal), and a text cell a spreadsheet would run as a formula
 * (`=`, `+`, `-`, `@`, and tab or CR, which some spreadsheets skip before looking) gets a leading `'`.
 */
import { escapeTerminal } from '../core/escape.js';

export type CsvValue = string | number | boolean | null | undefined;

const FORMULA_START = /^[=+\-@\t\r]/;

/** One cell: empty for null/undefined, numbers as written, text guarded, escaped and quoted where needed. */
export function csvCell(value: CsvValue): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : '';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  let text = value;
  if (FORMULA_START.test(text)) text = `'${text}`;
  text = escapeTerminal(text);
  return /[",\n\r]/.test(text) || text !== text.trim() ? `"${text.replace(/"/g, '""')}"` : text;
}

/** One record, CRLF-terminated as RFC 4180 says. */
export function csvRow(values: readonly CsvValue[]): string {
  return `${values.map(csvCell).join(',')}\r\n`;
}

/** A header line and the rows. */
export function toCsv(header: readonly string[], rows: Iterable<readonly CsvValue[]>): string {
  let out = csvRow(header);
  for (const r of rows) out += csvRow(r);
  return out;
}
