import type { Reporter } from 'vitest/reporters';
import type { TestModule } from 'vitest/node';

/** Prints the plain `N passed, N failed, N skipped` line CI reads, after vitest's own summary. */
export default class ClosingLineReporter implements Reporter {
  private line: string | undefined;

  onTestRunEnd(modules: ReadonlyArray<TestModule>, errors: ReadonlyArray<unknown>): void {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    for (const mod of modules) {
      let failedHere = 0;
      for (const test of mod.children.allTests()) {
        const state = test.result().state;
        if (state === 'passed') passed++;
        else if (state === 'failed') failedHere++;
        else skipped++;
      }
      // A file that failed with no failed test (a hook timed out, an import threw) is one failure.
      if (mod.state() === 'failed' && failedHere === 0) failedHere = 1;
      failed += failedHere;
    }
    failed += errors.length;
    this.line = `${passed} passed, ${failed} failed, ${skipped} skipped`;
  }

  // vitest's default reporter prints its summary in onFinished; ours must come after it, last.
  onFinished(): void {
    if (this.line) process.stdout.write(`\n${this.line}\n`);
  }
}
