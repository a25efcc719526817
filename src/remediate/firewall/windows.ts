/**
 * Windows Firewall backend: a PowerShell apply script (`New-NetFirewallRule`, dry run unless `-Apply`)
 * and a rollback that re-imports the policy exported with `netsh advfirewall export` before the change.
 *
 * Allowlist mode: Windows Firewall evaluates block rules before allow rules (a matching block rule wins
 * over any allow rule, unless the allow rule is an authenticated-bypass rule), so "allow these, drop the
 * rest" cannot be an Allow rule plus a Block rule. Instead one Block rule carries `-RemoteAddress` set
 * to the exact complement of the allowed networks, computed here as address ranges (`a-b`, which
 * `-RemoteAddress` and netsh's `remoteip=` accept). Allowed sources then reach the port through
 * whatever allow rule (or default) already lets the service in; the rule only takes access away.
 *
 * Every value embedded in PowerShell is a single-quoted string of a small validated alphabet.
 */
import { createHash } from 'node:crypto';
import { UsageError } from '../../core/errors.js';
import { formatIPv4, formatIPv6, parseIPv4, parseIPv6 } from '../../core/targets-addr.js';
import type { FirewallBackend, FirewallRuleSpec, GeneratedScript } from '../types.js';
import { PS_ROLLBACK_NAME, psArray, psPrologue, psQuote } from '../powershell.js';
import { E_REMEDIATE, validateSpec, type Cidr, type ValidSpec, describeSpec } from '../validate.js';

const V4_MAX = (1n << 32n) - 1n;
const V6_MAX = (1n << 128n) - 1n;

/** A CIDR as an inclusive [first, last] interval. */
function interval(c: Cidr): [bigint, bigint] {
  const [addr, prefixText] = c.text.split('/') as [string, string];
  const bits = c.family === 4 ? 32 : 128;
  const prefix = BigInt(Number(prefixText));
  let first: bigint;
  if (c.family === 4) {
    const p = parseIPv4(addr);
    if (!p.ok) throw new Error(`non-canonical CIDR ${c.text}`);
    first = BigInt(p.value);
  } else {
    const p = parseIPv6(addr);
    if (!p.ok) throw new Error(`non-canonical CIDR ${c.text}`);
    first = p.value;
  }
  return [first, first + (1n << (BigInt(bits) - prefix)) - 1n];
}

function formatAddr(family: 4 | 6, value: bigint): string {
  return family === 4 ? formatIPv4(Number(value)) : formatIPv6(value);
}

/**
 * Every address of `family` not inside any of `cidrs` (other families ignored), as sorted,
 * non-overlapping `first-last` ranges (a single address stands alone). Empty when the CIDRs cover all.
 */
export function complementRanges(cidrs: readonly Cidr[], family: 4 | 6): string[] {
  const max = family === 4 ? V4_MAX : V6_MAX;
  const spans = cidrs
    .filter((c) => c.family === family)
    .map(interval)
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const out: string[] = [];
  let next = 0n; // first address not yet covered or emitted
  for (const [first, last] of spans) {
    if (first > next) out.push(range(family, next, first - 1n));
    if (last + 1n > next) next = last + 1n;
  }
  if (next <= max) out.push(range(family, next, max));
  return out;
}

function range(family: 4 | 6, first: bigint, last: bigint): string {
  return first === last ? formatAddr(family, first) : `${formatAddr(family, first)}-${formatAddr(family, last)}`;
}

/**
 * The remote addresses the Block rule covers: `Any` for block mode on both families, the whole family
 * as one range for block mode on one family, the complement of the allowed networks in allowlist mode.
 */
export function blockedRemoteAddresses(spec: ValidSpec): string[] {
  const families: (4 | 6)[] = spec.family === 'both' ? [4, 6] : [spec.family];
  if (spec.mode === 'block' && spec.family === 'both') return ['Any'];
  const out = families.flatMap((f) => complementRanges(spec.allowFrom, f));
  if (out.length === 0) {
    throw new UsageError(E_REMEDIATE, 'bad allowed sources: they cover every address, so the rule would block nothing');
  }
  return out;
}

/** A stable rule name: protocol, port and a hash of the finding key (keys may hold `/` and `:`). */
export function windowsRuleName(spec: Pick<ValidSpec, 'protocol' | 'port' | 'findingKey'>): string {
  const hash = createHash('sha256').update(spec.findingKey).digest('hex').slice(0, 16);
  return `portolan-${spec.protocol}-${spec.port}-${hash}`;
}

function netshComment(name: string, spec: ValidSpec, remote: string[]): string[] {
  return [
    '# The same rule for systems without the NetSecurity module (run in an elevated cmd.exe):',
    '#   netsh advfirewall export "%ProgramData%\\portolan\\backups\\before.wfw"',
    `#   netsh advfirewall firewall delete rule name="${name}"`,
    `#   netsh advfirewall firewall add rule name="${name}" dir=in action=block protocol=${spec.protocol.toUpperCase()} localport=${spec.port} remoteip=${remote.map((r) => r.toLowerCase()).join(',')} profile=any enable=yes`,
    '#   (undo: netsh advfirewall import "%ProgramData%\\portolan\\backups\\before.wfw")',
  ];
}

function build(input: FirewallRuleSpec): GeneratedScript {
  const spec = validateSpec(input);
  if (spec.iface !== undefined) {
    // New-NetFirewallRule scopes by interface alias or type, not by a Linux interface name.
    throw new UsageError(E_REMEDIATE, `bad interface '${spec.iface}': the windows backend does not scope rules by interface`);
  }
  const summary = describeSpec(spec, `block inbound ${spec.protocol} port ${spec.port}`, '');
  const name = windowsRuleName(spec);
  const remote = blockedRemoteAddresses(spec);
  const display = `portolan: ${summary.replace(/,/g, '')}`.slice(0, 200);
  const apply = [
    '<#',
    `portolan apply (windows): ${summary}`,
    `finding: ${spec.findingKey}`,
    'Generated by portolan. Dry run by default: prints every step and changes nothing; -Apply acts.',
    '#>',
    ...psPrologue('[switch]$Apply'),
    ...PS_ROLLBACK_NAME,
    `$Backup = Join-Path $BackupRoot ('windows-{0}-{1}.wfw' -f (Get-Date -Format 'yyyyMMddTHHmmss'), $PID)`,
    `$RuleName = ${psQuote(name)}`,
    '',
    '# Back up the whole policy first; the rollback imports exactly this file.',
    'Invoke-Step "New-Item -ItemType Directory -Force -Path $BackupRoot" { New-Item -ItemType Directory -Force -Path $BackupRoot | Out-Null }',
    'Invoke-Step "netsh advfirewall export $Backup" {',
    '  & netsh.exe advfirewall export $Backup | Out-Null',
    '  if ($LASTEXITCODE -ne 0) { throw "portolan: netsh advfirewall export failed ($LASTEXITCODE); nothing changed" }',
    '}',
    "Invoke-Step \"record $Backup as the last backup\" { Set-Content -LiteralPath (Join-Path $BackupRoot 'windows.last') -Value $Backup }",
    '',
    '# Windows Firewall evaluates block rules before allow rules, so allowlist mode is one Block rule',
    '# whose RemoteAddress is every address outside the allowed networks.',
    `$RemoteAddress = ${psArray(remote)}`,
    '# Idempotent: the rule has a stable name; an existing one is replaced by the desired definition.',
    'if ($Apply -and (Get-NetFirewallRule -Name $RuleName -ErrorAction SilentlyContinue)) {',
    '  Invoke-Step "Remove-NetFirewallRule -Name $RuleName" { Remove-NetFirewallRule -Name $RuleName }',
    '}',
    '$Rule = @{',
    '  Name          = $RuleName',
    `  DisplayName   = ${psQuote(display)}`,
    `  Description   = ${psQuote(`portolan finding ${spec.findingKey}`)}`,
    "  Direction     = 'Inbound'",
    `  Protocol      = ${psQuote(spec.protocol.toUpperCase())}`,
    `  LocalPort     = ${spec.port}`,
    "  Action        = 'Block'",
    '  RemoteAddress = $RemoteAddress',
    "  Profile       = 'Any'",
    "  Enabled       = 'True'",
    '}',
    `Invoke-Step "New-NetFirewallRule -Name $RuleName -Direction Inbound -Protocol ${spec.protocol.toUpperCase()} -LocalPort ${spec.port} -Action Block -RemoteAddress $($RemoteAddress -join ',')" { New-NetFirewallRule @Rule | Out-Null }`,
    '',
    ...netshComment(name, spec, remote),
    '',
    'if ($Apply) {',
    '  Write-Output "portolan: done; saved policy in $Backup"',
    '  Write-Output "portolan: undo with: & $Rollback -Apply -Backup $Backup"',
    '} else {',
    "  Write-Output 'portolan: dry run, nothing changed; pass -Apply to act'",
    '}',
  ];
  const rollback = [
    '<#',
    `portolan rollback (windows): undo: ${summary}`,
    `finding: ${spec.findingKey}`,
    'Imports the policy the apply script exported, replacing the whole current policy with it.',
    'Dry run by default; -Apply acts. -Backup defaults to the last backup the apply script recorded.',
    '#>',
    ...psPrologue('[switch]$Apply, [string]$Backup'),
    "$Last = Join-Path $BackupRoot 'windows.last'",
    'if (-not $Backup -and (Test-Path -LiteralPath $Last)) { $Backup = (Get-Content -LiteralPath $Last -TotalCount 1).Trim() }',
    "if (-not $Backup) { throw 'portolan: give -Backup <file.wfw> (the file the apply script printed)' }",
    'if ($Apply -and -not (Test-Path -LiteralPath $Backup -PathType Leaf)) { throw "portolan: $Backup is missing; give the file the apply script printed" }',
    'Invoke-Step "netsh advfirewall import $Backup" {',
    '  & netsh.exe advfirewall import $Backup | Out-Null',
    '  if ($LASTEXITCODE -ne 0) { throw "portolan: netsh advfirewall import failed ($LASTEXITCODE)" }',
    '}',
    'if ($Apply) {',
    '  Write-Output "portolan: restored the policy saved in $Backup"',
    '} else {',
    "  Write-Output 'portolan: dry run, nothing changed; pass -Apply to act'",
    '}',
  ];
  return { backend: 'windows', apply: `${apply.join('\n')}\n`, rollback: `${rollback.join('\n')}\n` };
}

/** Windows Firewall: one named Block rule per finding via New-NetFirewallRule; rollback re-imports the netsh export. */
export const windowsBackend: FirewallBackend = {
  id: 'windows',
  describe: 'Windows Firewall: a named New-NetFirewallRule block rule, backup and rollback with netsh advfirewall',
  build,
};
