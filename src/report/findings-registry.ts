/**
 * Every output format of `portolan findings`. A format is a pure renderer from findings to text;
 * adding one is one file exporting a `FindingsFormat` plus one line in {@link FINDINGS_FORMATS}, and
 * the CLI derives its `--format` choices and help text from this array.
 */
import type { Finding } from '../core/finding.js';
import { markdownFindingsFormat } from './findings-markdown.js';
import { sarifFindingsFormat } from './findings-sarif.js';

/** What every renderer may need besides the findings; each ignores what does not apply to it. */
export interface FindingsRenderContext {
  /** portolan's version, for formats that name the tool (SARIF `tool.driver.version`). */
  toolVersion: string;
  /** The project's URL (SARIF `informationUri`). */
  informationUri?: string;
  /** Epoch ms the report was made; formats that print a date use it, none reads a clock. */
  generatedAt?: number;
}

/** One output format for findings. */
export interface FindingsFormat {
  /** Stable id used by `--format` and config files. */
  readonly id: string;
  /** File extension including the dot. */
  readonly extension: string;
  /** One line for `--help`. */
  readonly description: string;
  /** The whole document; findings arrive in the order the caller wants them listed. */
  render(findings: readonly Finding[], ctx: FindingsRenderContext): string;
}

/** All findings formats, in the order `--help` lists them. */
export const FINDINGS_FORMATS = [sarifFindingsFormat, markdownFindingsFormat] as const satisfies readonly FindingsFormat[];

/** The findings format with this id, or undefined. */
export function findFindingsFormat(id: string): FindingsFormat | undefined {
  return FINDINGS_FORMATS.find((f) => f.id === id);
}
