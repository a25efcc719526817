/**
 * Every output format of `portolan scan`. Adding a format is one file exporting a `ReportFormat`
 * plus one line in this array; the CLI derives its `-o` options, `-oA` and help text from it.
 */
import { grepableFormat } from './grepable.js';
import { jsonlFormat } from './jsonl.js';
import { xmlFormat } from './nmap-xml.js';
import { normalFormat } from './table.js';
import type { ReportFormat } from './types.js';

/** All formats, in the order `-oA` writes them and `--help` lists them. */
export const REPORT_FORMATS = [normalFormat, xmlFormat, grepableFormat, jsonlFormat] as const satisfies readonly ReportFormat[];

/** The id of a registered format (`normal`, `xml`, `grepable`, `jsonl`). */
export type ReportFormatId = (typeof REPORT_FORMATS)[number]['id'];

/** The format with this id, or undefined. */
export function findFormat(id: string): ReportFormat | undefined {
  return REPORT_FORMATS.find((f) => f.id === id);
}

/** The format selected by an nmap-style `-o` letter (`N`, `X`, `G`, `J`), or undefined. */
export function formatByFlag(flag: string): ReportFormat | undefined {
  return REPORT_FORMATS.find((f) => f.flag === flag);
}

/** The formats `-oA BASE` writes, each to `BASE + extension`. */
export function allFormats(): ReportFormat[] {
  return REPORT_FORMATS.filter((f) => f.inAll);
}
