/**
 * Check a Recog database's `<example>`s: each must match its fingerprint and yield every attribute
 * it states. Matching follows live replies (subjects cut at MAX_MATCH_BYTES), so an example passes
 * only if a real banner like it would. Split from recog.ts, which parses the XML into the
 * fingerprints checked here.
 */
import { quoteToken } from '../core/errors.js';
import type { RecogDatabase, RecogFingerprint, RecogParam } from './recog.js';
import { MAX_MATCH_BYTES } from './text.js';

/** One `<example>` that failed, numbered from 1 as the loader's warnings show it. */
export interface ExampleFailure {
  fingerprint: number;
  line?: number;
  example: number;
  message: string;
}

/** Recog attribute values a fingerprint yields for `subject`, or undefined when it does not match. */
export function recogMatch(fp: RecogFingerprint, subject: string): Record<string, string> | undefined {
  const re = fp.compiled.regex;
  re.lastIndex = 0;
  const m = re.exec(subject.slice(0, MAX_MATCH_BYTES));
  if (!m) return undefined;
  const out: Record<string, string> = {};
  const raw = (p: RecogParam): string | undefined => (p.pos > 0 ? m[p.pos] : p.value);
  for (const p of fp.params) {
    const v = raw(p);
    if (v === undefined) continue;
    out[p.name] = p.pos > 0 ? v : v.replace(/\{([A-Za-z0-9_.-]+)\}/g, (all, ref: string) => {
      const q = fp.params.find((x) => x.name === ref && x !== p);
      return q === undefined ? all : raw(q) ?? '';
    });
  }
  return out;
}

/**
 * Check every `<example>`: it must match its fingerprint and yield each attribute it states.
 * Returns the failures (empty when all pass) so the CLI can warn; `--check` style use in tests.
 */
export function checkRecogExamples(db: RecogDatabase): ExampleFailure[] {
  const failures: ExampleFailure[] = [];
  for (const fp of db.fingerprints) {
    fp.examples.forEach((ex, i) => {
      const fail = (message: string): void => {
        const f: ExampleFailure = { fingerprint: fp.index + 1, example: i + 1, message };
        if (fp.line !== undefined) f.line = fp.line;
        failures.push(f);
      };
      // Recog examples are the field value verbatim; tolerate indentation around it in the XML.
      const got = recogMatch(fp, ex.text) ?? recogMatch(fp, ex.text.trim());
      if (got === undefined) return fail(`does not match ${quoteToken(ex.text)}`);
      for (const [key, want] of Object.entries(ex.expect)) {
        if (got[key] !== want) fail(`${key} is ${got[key] === undefined ? 'missing' : quoteToken(got[key])}, the example expects ${quoteToken(want)}`);
      }
    });
  }
  return failures;
}
