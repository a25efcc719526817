/** The command registry: one line per command. */
import type { Command } from 'commander';
import { diffCommand } from './diff.js';
import { findingsCommand } from './findings.js';
import { vulndbCommand } from './vulndb.js';
import { importCommand } from './import.js';
import { listenersCommand } from './listeners.js';
import { policyCommands } from './policy.js';
import { queryCommands } from './query.js';
import { scanCommand } from './scan.js';
import { remediateCommand } from './remediate.js';
import { verifyCommand } from './verify.js';

/** What every command gets: the raw argv (recorded in outputs and checkpoints) and a way to set the exit code. */
export interface CliContext {
  readonly argv: readonly string[];
  setExitCode(code: number): void;
}

export interface CliCommand {
  register(program: Command, ctx: CliContext): void;
}

export const COMMANDS: readonly CliCommand[] = [scanCommand, importCommand, listenersCommand, queryCommands, diffCommand, vulndbCommand, findingsCommand, remediateCommand, verifyCommand, policyCommands];
