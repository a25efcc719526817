/**
 * Rows from the store (or a listener audit) as a terminal table, a JSON array or CSV. One column
 * list drives all three, so a column added once shows up everywhere.
 */
import type { Command } from 'commander';
import { UsageError, quoteToken } from '../core/errors.js';
import { csvRow, type CsvValue } from '../report/csv.js';
import { escapeTerminal, toJsonLine } from '../core/escape.js';

export type TableFormat = 'table' | 'json' | 'csv';

export interface Column<R> {
  header: string;
  /** The cell for table and CSV. */
  value(row: R): CsvValue;
}

/** Add `--format table|json|csv` and the `--json`/`--csv` shortcuts. */
export function addFormatOptions(cmd: Command, flag = '--format <format>'): Command {
  return cmd
    .option(flag, 'output: table (default), json or csv')
    .option('--json', 'same as --format json')
    .option('--csv', 'same as --format csv');
}

/** The chosen output format; contradictory choices are a usage error. */
export function pickFormat(o: { format?: string; json?: boolean; csv?: boolean }, flag = '--format'): TableFormat {
  const chosen = new Set<TableFormat>();
  if (o.format !== undefined) {
    if (o.format !== 'table' && o.format !== 'json' && o.format !== 'csv') {
      throw new UsageError('E_USAGE', `${flag} ${quoteToken(o.format)}: expected table, json or csv`, { token: o.format });
    }
    chosen.add(o.format);
  }
  if (o.json) chosen.add('json');
  if (o.csv) chosen.add('csv');
  if (chosen.size > 1) throw new UsageError('E_USAGE', `choose one output format (${[...chosen].join(', ')} given)`);
  return [...chosen][0] ?? 'table';
}

/** Epoch ms as `2024-05-01 12:00:00Z` for tables and CSV. */
export function timeText(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return '';
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? '' : `${d.toISOString().slice(0, 19).replace('T', ' ')}Z`;
}

/** Columns padded to their widest cell, as nmap lays out its port table; every cell escaped, empty ones `-`. */
export function renderTable<R>(columns: readonly Column<R>[], rows: readonly R[]): string {
  // An empty cell mid-row shows as `-`, so the columns stay countable for awk and for the eye.
  const last = columns.length - 1;
  const cells = rows.map((r) => columns.map((c, i) => cellText(c.value(r)) || (i === last ? '' : '-')));
  const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map((row) => row[i]!.length)));
  const line = (values: readonly string[]): string =>
    values
      .map((v, i) => (i === values.length - 1 ? v : v.padEnd(widths[i]!)))
      .join(' ')
      .trimEnd();
  return [line(columns.map((c) => c.header)), ...cells.map(line)].join('\n') + '\n';
}

function cellText(v: CsvValue): string {
  if (v === undefined || v === null) return '';
  // Tables are for reading: a 2 KB banner would push every other row off the screen.
  const text = escapeTerminal(String(v));
  return text.length > 80 ? `${text.slice(0, 79)}…` : text;
}

/** A JSON array, one element per line; control and bidi characters escaped as in JSON Lines. */
export function renderJson(values: readonly unknown[]): string {
  if (values.length === 0) return '[]\n';
  return `[\n${values.map((v) => toJsonLine(v)).join(',\n')}\n]\n`;
}

/** RFC 4180 CSV with a header row. */
export function renderCsv<R>(columns: readonly Column<R>[], rows: readonly R[]): string {
  let out = csvRow(columns.map((c) => c.header));
  for (const r of rows) out += csvRow(columns.map((c) => c.value(r)));
  return out;
}

/** Render rows in the chosen format; `json` maps a row to its JSON form (the row itself by default). */
export function renderRows<R>(format: TableFormat, columns: readonly Column<R>[], rows: readonly R[], json: (row: R) => unknown = (r) => r): string {
  if (format === 'json') return renderJson(rows.map(json));
  if (format === 'csv') return renderCsv(columns, rows);
  return renderTable(columns, rows);
}
