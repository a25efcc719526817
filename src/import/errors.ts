/** The one error importers throw: names the file and, where known, the line. Exit code 2. */
import { UsageError } from '../core/errors.js';
import { quoteToken } from '../core/errors.js';

export class ImportError extends UsageError {
  constructor(
    readonly file: string,
    readonly line: number | undefined,
    /** What is wrong, without the file and line. */
    readonly detail: string,
  ) {
    super('E_IMPORT', `${quoteToken(file)}${line !== undefined ? ` line ${line}` : ''}: ${detail}`);
  }
}
