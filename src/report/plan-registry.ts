/**
 * Every output format of remediation plans. A format renders one plan as a document, and several
 * plans as one document (Markdown: a table of contents, then the plans; HTML: one page with a table
 * of contents; JSON: `{format, version, plans}`). Adding a format is one renderer file plus one line
 * in {@link PLAN_FORMATS}; the CLI derives its `--format` choices and help text from this array.
 */
import { UsageError, quoteToken } from '../core/errors.js';
import type { RemediationPlan } from '../remediate/plan-types.js';
import { planToHtml, plansToHtml } from './plan-html.js';
import { planToJson, plansToJson } from './plan-json.js';
import { planToMarkdown, plansToMarkdown } from './plan-markdown.js';

/** Ids of the plan formats. */
export type PlanFormatId = 'md' | 'html' | 'json';

/** One output format for remediation plans. */
export interface PlanFormat {
  /** Stable id used by `--format`. */
  readonly id: PlanFormatId;
  /** File extension including the dot. */
  readonly extension: string;
  /** One line for `--help`. */
  readonly describe: string;
  /** One plan as a whole document, ending in a newline. Pure. */
  render(plan: RemediationPlan): string;
  /** Several plans as one document, in the order given. Pure. */
  renderMany(plans: readonly RemediationPlan[]): string;
}

/** All plan formats, in the order `--help` lists them. */
export const PLAN_FORMATS = [
  { id: 'md', extension: '.md', describe: 'Markdown: headline, finding facts, options table, the eight sections and every script', render: planToMarkdown, renderMany: plansToMarkdown },
  { id: 'html', extension: '.html', describe: 'one self-contained HTML page (no scripts, no external resources), print-friendly', render: planToHtml, renderMany: plansToHtml },
  { id: 'json', extension: '.json', describe: 'JSON: the plan data with a "format" marker, stable key order', render: planToJson, renderMany: plansToJson },
] as const satisfies readonly PlanFormat[];

/** The plan format with this id, or undefined. */
export function findPlanFormat(id: string): PlanFormat | undefined {
  return PLAN_FORMATS.find((f) => f.id === id);
}

/** The plan format with this id; a UsageError (E_USAGE) naming the valid ids otherwise. */
export function planFormat(id: string): PlanFormat {
  const f = findPlanFormat(id);
  if (f === undefined) throw new UsageError('E_USAGE', `unknown plan format ${quoteToken(id)}: use ${PLAN_FORMATS.map((x) => x.id).join(', ')}`, { token: id });
  return f;
}

/** Several plans in one document of the given format (an id or a format object). */
export function renderPlans(plans: readonly RemediationPlan[], format: PlanFormatId | PlanFormat): string {
  return (typeof format === 'string' ? planFormat(format) : format).renderMany(plans);
}
