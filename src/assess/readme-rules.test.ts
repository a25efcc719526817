/** The README's rule table is the one the code runs: regenerate it with rulesMarkdown() when rules change. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { rulesMarkdown } from './priority.js';

describe('README priority table', () => {
  it('matches rulesMarkdown()', () => {
    const readme = readFileSync(join(import.meta.dirname, '../../README.md'), 'utf8');
    expect(readme).toContain(rulesMarkdown().trimEnd());
  });
});
