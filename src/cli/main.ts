/** The `portolan` command line: one commander program, one module per command. */
import { tolerateClosedStdout } from './stdout.js';
import { Command, CommanderError } from 'commander';
import { UsageError } from '../core/errors.js';
import { ArgvError, rewriteNmapArgs } from './argv.js';
import { COMMANDS } from './commands/index.js';
import { VERSION } from './version.js';

/** Run the CLI with `argv` (without node and script); resolves to the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  // `portolan … | head`: a reader that stops early is not an error worth a stack trace.
  tolerateClosedStdout();
  const program = new Command('portolan')
    .description('Map what a network exposes, rank what matters, write the fix, prove the fix held.')
    .version(VERSION, '-V, --version')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s), writeOut: (s) => process.stdout.write(s) })
    .showSuggestionAfterError(true);
  let exitCode = 0;
  for (const command of COMMANDS) {
    command.register(program, {
      argv,
      setExitCode: (code) => {
        exitCode = code;
      },
    });
  }
  try {
    await program.parseAsync(rewriteNmapArgs(argv), { from: 'user' });
    return exitCode;
  } catch (err) {
    return reportError(err);
  }
}

function reportError(err: unknown): number {
  if (err instanceof CommanderError) {
    // commander printed its own message already; --help and --version exit 0.
    return err.exitCode === 0 ? 0 : 2;
  }
  if (err instanceof UsageError || err instanceof ArgvError) {
    process.stderr.write(`portolan: ${err.message}\n`);
    return 2;
  }
  const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
  process.stderr.write(`portolan: internal error: ${message}\n`);
  return 3;
}
