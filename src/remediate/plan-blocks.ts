/** Small constructors for plan blocks and parts, so the section writers read as prose. */
import type { PlanBlock, PlanSection, PlanSectionId } from './plan-types.js';

export const text = (t: string): PlanBlock => ({ kind: 'text', text: t });
export const list = (items: string[], ordered = false): PlanBlock => ({ kind: 'list', ordered, items });
export const sh = (lines: string[], title?: string): PlanBlock => ({ kind: 'code', lang: 'sh', text: lines.join('\n'), ...(title === undefined ? {} : { title }) });
export const ps = (lines: string[], title?: string): PlanBlock => ({ kind: 'code', lang: 'powershell', text: lines.join('\n'), ...(title === undefined ? {} : { title }) });
export const code = (lang: 'conf' | 'yaml' | 'text', body: string, title?: string): PlanBlock => ({ kind: 'code', lang, text: body, ...(title === undefined ? {} : { title }) });
export const table = (head: string[], rows: string[][]): PlanBlock => ({ kind: 'table', head, rows });

/** One part of a section. */
export type Part = PlanSection['parts'][number];

export const part = (title: string | undefined, ...blocks: PlanBlock[]): Part => ({ ...(title === undefined ? {} : { title }), blocks });

/** The section titles, in PLAN_SECTION_IDS order. */
export const SECTION_TITLES: Readonly<Record<PlanSectionId, string>> = {
  introduction: '1. Introduction',
  technical: '2. Technical explanation',
  detection: '3. Detection and assessment',
  solution: '4. Solution',
  verification: '5. Verification',
  prevention: '6. Preventive measures',
  risks: '7. Risks, side effects and roll back',
  references: '8. References',
};

export const section = (id: PlanSectionId, parts: Part[]): PlanSection => ({ id, title: SECTION_TITLES[id], parts: parts.filter((p) => p.blocks.length > 0) });
