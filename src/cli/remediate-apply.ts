/**
 * `portolan remediate KEY --apply`: carry out one option of a plan on this host. Shows the script
 * and its dry run, asks for confirmation (unless --yes), runs it with --apply, then re-scans the
 * finding with `portolan verify` and reports fixed or still open, with the exact rollback command.
 */
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { networkInterfaces, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { UsageError, quoteToken } from '../core/errors.js';
import { escapeTerminal } from '../core/escape.js';
import { classifyAddress } from '../assess/exposure.js';
import type { PlanScript, RemediationOption, RemediationOptionId, RemediationPlan } from '../remediate/plan-types.js';
import { E_REMEDIATE } from '../remediate/validate.js';
import { renderRows } from './tabular.js';
import { VERDICT_COLUMNS, verifyFindings } from './commands/verify.js';

/** What the apply step needs from the command line. */
export interface ApplyOptions {
  db?: string;
  scope?: string;
  yes?: boolean;
  output?: string;
}

/** Bytes of a script's output kept for parsing; the rest is only shown. */
const KEEP_OUTPUT = 1024 * 1024;

/** Is this address one of this host's own (an interface address or loopback)? */
export function isLocalAddress(address: string): boolean {
  if (classifyAddress(address) === 'loopback') return true;
  const bare = address.toLowerCase();
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.address.toLowerCase() === bare) return true;
  }
  return false;
}

function pickOption(plan: RemediationPlan, id: RemediationOptionId | undefined): RemediationOption {
  const want = id ?? plan.recommended;
  const option = plan.options.find((x) => x.id === want);
  if (option === undefined) throw new UsageError(E_REMEDIATE, `the plan for ${plan.finding.key} has no option ${quoteToken(want)}`);
  if (!option.available || option.scripts.length === 0) {
    throw new UsageError(E_REMEDIATE, `option ${want} cannot be carried out by a script here: ${option.rationale}; pick another with --option`);
  }
  for (const s of option.scripts) {
    if (!s.applyName.endsWith('.sh')) {
      throw new UsageError(E_REMEDIATE, `${s.applyName} is a PowerShell script: run it on the Windows host (powershell -File ${s.applyName} -Apply), then portolan verify ${plan.finding.key}`);
    }
  }
  return option;
}

/** Run a bash script; its output is shown as it comes and kept (bounded) for parsing. */
function runScript(file: string, args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((done, fail) => {
    const child = spawn('bash', [file, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      process.stdout.write(d);
      if (out.length < KEEP_OUTPUT) out += d.toString();
    });
    child.on('error', fail);
    child.on('close', (code, signal) => done({ code: code ?? (signal !== null ? 128 : 1), out }));
  });
}

async function confirm(question: string, yes: boolean | undefined): Promise<boolean> {
  if (yes === true) return true;
  if (process.stdin.isTTY !== true) throw new UsageError('E_USAGE', '--apply asks for confirmation on a terminal; pass --yes to apply without asking');
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}

/** A finding key as a directory name: `/` and `:` are not welcome in file names on every system. */
export function planDirName(key: string): string {
  return key.replace(/[/:]/g, '_').replace(/[^A-Za-z0-9_.-]/g, '-');
}

/** Where the scripts go: the plan's folder under -o DIR, or a private temporary one that is kept (it holds the rollback script). */
function scriptDir(o: ApplyOptions, key: string): string {
  if (o.output !== undefined) {
    const dir = resolve(o.output, planDirName(key));
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    return dir;
  }
  return mkdtempSync(join(tmpdir(), 'portolan-remediate-'));
}

/** Write a script pair into `dir`, owner-only and executable (also when the files were there before). */
export function writeScripts(dir: string, s: PlanScript): { apply: string; rollback: string } {
  const apply = join(dir, s.applyName);
  const rollback = join(dir, s.rollbackName);
  for (const [file, text] of [
    [apply, s.apply],
    [rollback, s.rollback],
  ] as const) {
    writeFileSync(file, text, { mode: 0o700 });
    chmodSync(file, 0o700);
  }
  return { apply, rollback };
}

/**
 * Carry out `optionId` (default the recommended option) of `plan` on this host. Returns the exit
 * code: 0 when the verification scan says fixed, 1 when still open, or when the user declined.
 */
export async function applyPlanOption(plan: RemediationPlan, optionId: RemediationOptionId | undefined, o: ApplyOptions): Promise<number> {
  const f = plan.finding;
  if (process.platform === 'win32') throw new UsageError(E_REMEDIATE, '--apply runs bash scripts; on Windows run the .ps1 scripts of the plan (portolan remediate -o DIR --backend windows)');
  if (!isLocalAddress(f.address)) {
    throw new UsageError(E_REMEDIATE, `${f.address} is not an address of this host: --apply changes only the host it runs on; copy the scripts there (portolan remediate ${f.key} -o DIR) and run them`);
  }
  const option = pickOption(plan, optionId);
  const dir = scriptDir(o, f.key);
  const files = option.scripts.map((s) => ({ script: s, ...writeScripts(dir, s) }));

  process.stdout.write(`portolan: ${escapeTerminal(option.title)} (${option.id}) for ${f.key}\n`);
  for (const { script, apply } of files) {
    process.stdout.write(`\n--- ${apply} ---\n${script.apply}--- dry run ---\n`);
    const dry = await runScript(apply, []);
    if (dry.code !== 0) throw new UsageError(E_REMEDIATE, `the dry run of ${apply} failed (exit ${dry.code}); nothing was changed`);
  }
  if (!(await confirm(`\nApply ${option.id} to this host (${f.address}) now? [y/N] `, o.yes))) {
    process.stderr.write('portolan: not applied; the scripts are in ' + dir + '\n');
    return 1;
  }
  const undo: string[] = [];
  for (const { apply, rollback } of files) {
    const run = await runScript(apply, ['--apply']);
    const saved = /saved state in (\S+)/.exec(run.out)?.[1];
    if (saved !== undefined) undo.unshift(`bash ${rollback} --apply ${saved}`);
    if (run.code !== 0) {
      const how = undo.length > 0 ? `; undo what ran with: ${undo.join(' && ')}` : '';
      throw new UsageError(E_REMEDIATE, `${apply} failed (exit ${run.code})${how}`);
    }
  }
  process.stdout.write(`\nportolan: applied; verifying ${f.key} with a re-scan\n`);
  const { verdicts, stillOpen } = await verifyFindings([f.key], o);
  process.stdout.write(renderRows('table', VERDICT_COLUMNS, verdicts));
  if (undo.length > 0) process.stdout.write(`portolan: to roll back: ${undo.join(' && ')}\n`);
  if (stillOpen > 0) process.stderr.write(`portolan: ${f.key} is still open after the change; check the plan's verification section\n`);
  return stillOpen > 0 ? 1 : 0;
}
