/**
 * Service-manager backends: scripts that stop a service and keep it from starting again, with a
 * rollback that restores exactly the saved state (enable or start again only what was enabled or
 * running before). Pure string builders; bash ones use the shared scaffolding in shell.ts, the Windows
 * one the PowerShell prologue from windows.ts.
 */
import { UsageError, quoteToken } from '../core/errors.js';
import { applyScript, rollbackScript, shQuote } from './shell.js';
import type { GeneratedScript } from './types.js';
import { E_REMEDIATE, validateFindingKey } from './validate.js';
import { psPrologue, psQuote } from './windows.js';

/** Which service manager a script targets. */
export type ServiceManager = 'systemd' | 'sysv' | 'windows';

/** What to disable. */
export interface ServiceSpec {
  manager: ServiceManager;
  /** systemd unit, /etc/init.d script name, or Windows service name (not the display name). */
  name: string;
  /** The finding the change fixes; goes into the script header. */
  findingKey: string;
}

function refuse(what: string, token: unknown, why: string): never {
  const text = typeof token === 'string' ? token : String(token);
  throw new UsageError(E_REMEDIATE, `bad ${what} ${quoteToken(text.slice(0, 200))}: ${why}`, { token: text.slice(0, 200) });
}

/** Unit suffixes systemd knows; a name without one is taken as a `.service`. */
export const SYSTEMD_SUFFIXES = ['.service', '.socket', '.target', '.timer', '.path', '.mount', '.automount', '.swap', '.slice', '.scope', '.device'];

const SYSTEMD_RE = /^[A-Za-z0-9:_.@-]+$/;

/**
 * A systemd unit name: characters `[A-Za-z0-9:_.@-]`, at most 255 with its suffix, not starting with
 * `-` (it would read as an option) or `.`; `.service` is appended when no known suffix ends it.
 */
export function validateSystemdUnit(name: unknown): string {
  const why = 'a unit name is up to 255 characters of letters, digits and ":_.@-", not starting with "-", "." or "@"';
  if (typeof name !== 'string' || name.length === 0 || name.length > 255 || !SYSTEMD_RE.test(name) || /^[-.@]/.test(name)) {
    refuse('systemd unit', name, why);
  }
  const unit = SYSTEMD_SUFFIXES.some((s) => name.endsWith(s) && name.length > s.length) ? name : `${name}.service`;
  if (unit.length > 255) refuse('systemd unit', name, why);
  return unit;
}

const SYSV_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/;

/** An /etc/init.d script name: 1–64 characters of `[A-Za-z0-9_.-]`, starting with a letter, digit or `_`. */
export function validateSysvName(name: unknown): string {
  if (typeof name !== 'string' || !SYSV_RE.test(name)) {
    refuse('SysV service', name, 'an init script name is 1-64 characters of letters, digits and "_.-", starting with a letter, digit or "_"');
  }
  return name;
}

const WIN_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,255}$/;

/** A Windows service (key) name: 1–256 characters of `[A-Za-z0-9_.-]`, not starting with `.` or `-`. */
export function validateWindowsServiceName(name: unknown): string {
  if (typeof name !== 'string' || !WIN_RE.test(name)) {
    refuse('Windows service', name, 'a service name is 1-256 characters of letters, digits and "_.-", not starting with "." or "-"');
  }
  return name;
}

function systemdScripts(unit: string, findingKey: string): GeneratedScript {
  const summary = `stop and disable ${unit}`;
  const apply = applyScript({
    backend: 'systemd',
    summary,
    findingKey,
    requires: ['systemctl'],
    functions: [
      '# Two lines: the is-enabled state, then the is-active state. Both commands exit non-zero for',
      '# "disabled" and "inactive", which are answers here, not failures.',
      'unit_state() {',
      '  local enabled active',
      '  enabled="$(systemctl is-enabled -- "$1" 2>/dev/null)" || true',
      '  active="$(systemctl is-active -- "$1" 2>/dev/null)" || true',
      "  printf '%s\\n%s\\n' \"${enabled:-unknown}\" \"${active:-unknown}\"",
      '}',
    ],
    backup: [`run_to "$BACKUP_DIR/systemd.state" unit_state ${shQuote(unit)}`],
    // disable --now on a disabled, stopped unit changes nothing: a second run is a no-op.
    changes: [`run systemctl disable --now -- ${shQuote(unit)}`],
  });
  const rollback = rollbackScript({
    backend: 'systemd',
    summary: `undo: ${summary}`,
    findingKey,
    requires: ['systemctl'],
    files: ['systemd.state'],
    restore: [
      '# "missing": no saved file (a dry run); anything unrecognised in the file changes nothing.',
      'ENABLED=missing',
      'ACTIVE=missing',
      'if [ -f "$BACKUP_DIR/systemd.state" ]; then',
      '  { read -r ENABLED || true; read -r ACTIVE || true; } <"$BACKUP_DIR/systemd.state"',
      'else',
      "  printf '? the state saved in %s decides; each step runs only if the unit was so\\n' \"$BACKUP_DIR/systemd.state\"",
      'fi',
      '# Only what disable --now changed comes back; static, masked, indirect units were left alone.',
      'case "$ENABLED" in',
      `  enabled) run systemctl enable -- ${shQuote(unit)} ;;`,
      `  enabled-runtime) run systemctl enable --runtime -- ${shQuote(unit)} ;;`,
      `  missing) printf '? if it was enabled: systemctl enable -- %s\\n' ${shQuote(unit)} ;;`,
      'esac',
      'case "$ACTIVE" in',
      `  active | reloading | activating) run systemctl start -- ${shQuote(unit)} ;;`,
      `  missing) printf '? if it was active: systemctl start -- %s\\n' ${shQuote(unit)} ;;`,
      'esac',
    ],
  });
  return { backend: 'systemd', apply, rollback };
}

function sysvScripts(name: string, findingKey: string): GeneratedScript {
  const summary = `stop and disable the SysV service ${name}`;
  const apply = applyScript({
    backend: 'sysv',
    summary,
    findingKey,
    requires: ['service'],
    functions: [
      '# shell.ts preflight takes command names without dots, so update-rc.d is checked here.',
      'if [ "$APPLY" -eq 1 ]; then command -v update-rc.d >/dev/null 2>&1 || die \'update-rc.d is not installed\'; fi',
      '# Two lines: "enabled" if a start link exists in runlevels 2-5, then "running" if status says so',
      '# (LSB status exits 0 only for a running service).',
      'sysv_state() {',
      '  if compgen -G "/etc/rc[2345].d/S[0-9][0-9]$1" >/dev/null; then echo enabled; else echo disabled; fi',
      '  if service "$1" status >/dev/null 2>&1; then echo running; else echo stopped; fi',
      '}',
    ],
    backup: [`run_to "$BACKUP_DIR/sysv.state" sysv_state ${shQuote(name)}`],
    // LSB: stop on a stopped service succeeds; disable on a disabled one keeps its K links.
    changes: [`run service ${shQuote(name)} stop`, `run update-rc.d ${shQuote(name)} disable`],
  });
  const rollback = rollbackScript({
    backend: 'sysv',
    summary: `undo: ${summary}`,
    findingKey,
    requires: ['service'],
    files: ['sysv.state'],
    restore: [
      '# shell.ts preflight takes command names without dots, so update-rc.d is checked here.',
      'if [ "$APPLY" -eq 1 ]; then command -v update-rc.d >/dev/null 2>&1 || die \'update-rc.d is not installed\'; fi',
      '# "missing": no saved file (a dry run); anything unrecognised in the file changes nothing.',
      'ENABLED=missing',
      'RUNNING=missing',
      'if [ -f "$BACKUP_DIR/sysv.state" ]; then',
      '  { read -r ENABLED || true; read -r RUNNING || true; } <"$BACKUP_DIR/sysv.state"',
      'else',
      "  printf '? the state saved in %s decides; each step runs only if the service was so\\n' \"$BACKUP_DIR/sysv.state\"",
      'fi',
      'case "$ENABLED" in',
      `  enabled) run update-rc.d ${shQuote(name)} enable ;;`,
      `  missing) printf '? if it was enabled: update-rc.d %s enable\\n' ${shQuote(name)} ;;`,
      'esac',
      'case "$RUNNING" in',
      `  running) run service ${shQuote(name)} start ;;`,
      `  missing) printf '? if it was running: service %s start\\n' ${shQuote(name)} ;;`,
      'esac',
    ],
  });
  return { backend: 'sysv', apply, rollback };
}

function windowsScripts(name: string, findingKey: string): GeneratedScript {
  const summary = `stop and disable the Windows service ${name}`;
  const apply = [
    '<#',
    `portolan apply (windows-service): ${summary}`,
    `finding: ${findingKey}`,
    'Generated by portolan. Dry run by default: prints every step and changes nothing; -Apply acts.',
    '#>',
    ...psPrologue('[switch]$Apply'),
    `$Name = ${psQuote(name)}`,
    "$Backup = Join-Path $BackupRoot ('windows-service-{0}-{1}.txt' -f (Get-Date -Format 'yyyyMMddTHHmmss'), $PID)",
    '$Svc = Get-Service -Name $Name',
    '# Delayed automatic start lives in the registry; StartType alone reports it as Automatic.',
    "$Delayed = (Get-ItemProperty -LiteralPath \"HKLM:\\SYSTEM\\CurrentControlSet\\Services\\$Name\" -Name DelayedAutostart -ErrorAction SilentlyContinue)",
    "$DelayedValue = if ($Delayed) { [int]$Delayed.DelayedAutostart } else { 0 }",
    '# Saved first: StartType, Status, DelayedAutostart, one per line.',
    'Invoke-Step "New-Item -ItemType Directory -Force -Path $BackupRoot" { New-Item -ItemType Directory -Force -Path $BackupRoot | Out-Null }',
    'Invoke-Step "save StartType $($Svc.StartType), Status $($Svc.Status) to $Backup" {',
    '  Set-Content -LiteralPath $Backup -Value @([string]$Svc.StartType, [string]$Svc.Status, [string]$DelayedValue)',
    "  Set-Content -LiteralPath (Join-Path $BackupRoot 'windows-service.last') -Value $Backup",
    '}',
    '# No -Force: a service other services depend on stops the script instead of stopping them too.',
    'Invoke-Step "Stop-Service -Name $Name" { Stop-Service -Name $Name }',
    "Invoke-Step \"Set-Service -Name $Name -StartupType Disabled\" { Set-Service -Name $Name -StartupType Disabled }",
    'if ($Apply) {',
    '  Write-Output "portolan: done; saved state in $Backup"',
    '  Write-Output "portolan: undo with: rollback.ps1 -Apply -Backup $Backup"',
    '} else {',
    "  Write-Output 'portolan: dry run, nothing changed; pass -Apply to act'",
    '}',
  ];
  const rollback = [
    '<#',
    `portolan rollback (windows-service): undo: ${summary}`,
    `finding: ${findingKey}`,
    'Restores the StartType saved by the apply script and starts the service only if it was running.',
    '#>',
    ...psPrologue('[switch]$Apply, [string]$Backup'),
    `$Name = ${psQuote(name)}`,
    "$Last = Join-Path $BackupRoot 'windows-service.last'",
    'if (-not $Backup -and (Test-Path -LiteralPath $Last)) { $Backup = (Get-Content -LiteralPath $Last -TotalCount 1).Trim() }',
    "if (-not $Backup) { throw 'portolan: give -Backup <file> (the file the apply script printed)' }",
    'if (Test-Path -LiteralPath $Backup -PathType Leaf) {',
    '  $Saved = @(Get-Content -LiteralPath $Backup -TotalCount 3)',
    '} elseif ($Apply) {',
    '  throw "portolan: $Backup is missing; give the file the apply script printed"',
    '} else {',
    "  $Saved = @('Manual', 'Running', '0')",
    "  Write-Output '? no saved state; showing the steps for a service that was Manual and Running'",
    '}',
    '# The saved file is data: only these exact values are used.',
    "if ($Saved.Count -ne 3 -or $Saved[0] -notin @('Automatic', 'Manual', 'Disabled', 'Boot', 'System') -or $Saved[1] -notin @('Running', 'Stopped', 'Paused', 'StartPending', 'StopPending', 'ContinuePending', 'PausePending') -or $Saved[2] -notin @('0', '1')) {",
    '  throw "portolan: $Backup does not hold a saved service state"',
    '}',
    '$StartType = $Saved[0]',
    'Invoke-Step "Set-Service -Name $Name -StartupType $StartType" { Set-Service -Name $Name -StartupType $StartType }',
    "if ($StartType -eq 'Automatic' -and $Saved[2] -eq '1') {",
    '  Invoke-Step "set DelayedAutostart=1 for $Name" {',
    '    Set-ItemProperty -LiteralPath "HKLM:\\SYSTEM\\CurrentControlSet\\Services\\$Name" -Name DelayedAutostart -Value 1 -Type DWord',
    '  }',
    '}',
    "if ($Saved[1] -in @('Running', 'StartPending')) {",
    '  Invoke-Step "Start-Service -Name $Name" { Start-Service -Name $Name }',
    '}',
    'if ($Apply) {',
    '  Write-Output "portolan: restored the state saved in $Backup"',
    '} else {',
    "  Write-Output 'portolan: dry run, nothing changed; pass -Apply to act'",
    '}',
  ];
  return { backend: 'windows-service', apply: `${apply.join('\n')}\n`, rollback: `${rollback.join('\n')}\n` };
}

/** Validate the spec (UsageError on any bad field) and write the apply and rollback scripts. */
export function buildServiceScripts(spec: ServiceSpec): GeneratedScript {
  if (typeof spec !== 'object' || spec === null) refuse('service spec', spec, 'expected an object');
  const findingKey = validateFindingKey(spec.findingKey);
  switch (spec.manager) {
    case 'systemd':
      return systemdScripts(validateSystemdUnit(spec.name), findingKey);
    case 'sysv':
      return sysvScripts(validateSysvName(spec.name), findingKey);
    case 'windows':
      return windowsScripts(validateWindowsServiceName(spec.name), findingKey);
    default:
      return refuse('service manager', spec.manager, 'give systemd, sysv or windows');
  }
}

/** The service managers, in the order help text lists them. */
export const SERVICE_MANAGERS: readonly ServiceManager[] = ['systemd', 'sysv', 'windows'];
