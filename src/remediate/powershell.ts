/** PowerShell scaffolding shared by the Windows firewall and Windows service backends. */

/** Characters a value may have to go into a PowerShell single-quoted string. */
const PS_SAFE_RE = /^[A-Za-z0-9_.:/,=+@%() -]*$/;

/**
 * Single-quote a validated value for PowerShell. Besides `'`, PowerShell also ends a single-quoted
 * string at the typographic quotes U+2018–U+201B, so an allowlist of characters is the only safe test.
 */
export function psQuote(value: string): string {
  if (!PS_SAFE_RE.test(value)) throw new Error(`refusing to embed an unvalidated value in PowerShell: ${JSON.stringify(value.slice(0, 40))}`);
  return `'${value}'`;
}

/** A PowerShell array literal of quoted values. */
export function psArray(values: readonly string[]): string {
  return `@(${values.map(psQuote).join(', ')})`;
}

/** The elevation test the apply and rollback scripts run before acting. */
export const PS_IS_ADMIN =
  '([Security.Principal.WindowsPrincipal][Security.Principal.WindowsIdentity]::GetCurrent()).IsInRole([Security.Principal.WindowsBuiltInRole]::Administrator)';

/** Where the scripts keep their backups (PowerShell expression). */
export const PS_BACKUP_ROOT = "(Join-Path $env:ProgramData 'portolan\\backups')";

/** Lines every generated PowerShell script starts with after its comment block. */
export function psPrologue(params: string): string[] {
  return [
    '[CmdletBinding()]',
    `param(${params})`,
    'Set-StrictMode -Version 3.0',
    "$ErrorActionPreference = 'Stop'",
    '',
    '# Print what would run; act only with -Apply.',
    'function Invoke-Step([string]$Text, [scriptblock]$Action) {',
    "  Write-Output ('+ ' + $Text)",
    '  if ($Apply) { & $Action }',
    '}',
    '',
    `if ($Apply -and -not (${PS_IS_ADMIN})) {`,
    "  throw 'portolan: -Apply needs an elevated PowerShell (Run as administrator)'",
    '}',
    `$BackupRoot = ${PS_BACKUP_ROOT}`,
  ];
}

/** Sets $Rollback to the rollback script beside this one (apply-X.ps1 pairs with rollback-X.ps1). */
export const PS_ROLLBACK_NAME = [
  '$Self = if ($PSCommandPath) { Split-Path -Leaf $PSCommandPath } else { \'\' }',
  "$Rollback = if ($Self -like 'apply-*') { Join-Path $PSScriptRoot ($Self -replace '^apply-', 'rollback-') } else { 'rollback.ps1' }",
];
