/**
 * `portolan remediate KEY… | --all`: a remediation plan per finding (why it matters, how to
 * confirm, how to fix with a script, how to verify, prevent and roll back), printed as Markdown,
 * HTML or JSON, or written with its scripts to a directory (`-o DIR`). `--apply` runs the chosen
 * option's script on this host after a confirmation, then verifies the finding with a re-scan.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { TIERS, tierRank, type Finding } from '../../core/finding.js';
import { UsageError, quoteToken } from '../../core/errors.js';
import { policySources } from '../../assess/policy-sources.js';
import { zoneOf, type Policy } from '../../assess/policy.js';
import { FIREWALL_BACKENDS, firewallBackend } from '../../remediate/firewall/registry.js';
import { SERVICE_MANAGERS } from '../../remediate/service/registry.js';
import { knowledgeFor } from '../../remediate/knowledge.js';
import { buildPlan } from '../../remediate/plan.js';
import type { HostService, PlanChoices, RemediationOptionId, RemediationPlan } from '../../remediate/plan-types.js';
import { validateCidr, validateIface, validateMode } from '../../remediate/validate.js';
import { PLAN_FORMATS, findPlanFormat, type PlanFormat } from '../../report/plan-registry.js';
import { assessStore } from '../assess-run.js';
import { findingsByKey, parseTier } from '../finding-select.js';
import { applyPlanOption, planDirName, writeScripts, type ApplyOptions } from '../remediate-apply.js';
import { tolerateClosedStdout } from '../stdout.js';
import { addStoreOptions, openCliStore } from '../store-location.js';
import type { Store } from '../../store/types.js';
import type { CliCommand, CliContext } from './index.js';
import { loadPolicyFile } from './policy.js';

const OPTION_IDS: readonly RemediationOptionId[] = ['block', 'allowlist', 'bind-loopback', 'disable', 'upgrade'];

interface Options extends ApplyOptions {
  all?: boolean;
  minPriority?: string;
  host?: string;
  backend?: string;
  serviceManager?: string;
  mode?: string;
  allowFrom?: string[];
  iface?: string;
  policy?: string;
  format?: string;
  output?: string;
  option?: string;
  apply?: boolean;
}

/** The user's choices, validated before any store is opened. */
function choicesFrom(o: Options): PlanChoices {
  const firewall = o.backend ?? 'nftables';
  if (firewallBackend(firewall) === undefined) {
    throw new UsageError('E_USAGE', `--backend ${quoteToken(firewall)}: expected one of ${FIREWALL_BACKENDS.map((b) => b.id).join(', ')}`, { token: firewall });
  }
  const serviceManager = o.serviceManager ?? (firewall === 'windows' ? 'windows' : 'systemd');
  if (!SERVICE_MANAGERS.includes(serviceManager)) {
    throw new UsageError('E_USAGE', `--service-manager ${quoteToken(serviceManager)}: expected one of ${SERVICE_MANAGERS.join(', ')}`, { token: serviceManager });
  }
  const choices: PlanChoices = { firewall, serviceManager };
  if (o.mode !== undefined) choices.mode = validateMode(o.mode);
  if (o.allowFrom !== undefined) choices.allowFrom = o.allowFrom.flatMap((t) => t.split(',')).map((t) => validateCidr(t.trim()).text);
  if (o.iface !== undefined) choices.iface = validateIface(o.iface);
  if (choices.mode === 'block' && choices.allowFrom !== undefined) throw new UsageError('E_USAGE', '--allow-from goes with --mode allowlist (or no --mode), not --mode block');
  return choices;
}

/** The findings to plan for: the keys given (any status), or with --all the open ones at or above --min-priority. */
async function chooseFindings(store: Store, keys: string[], o: Options): Promise<Finding[]> {
  if (keys.length > 0) return findingsByKey(store, keys);
  const minTier = o.minPriority === undefined ? undefined : parseTier(o.minPriority, '--min-priority');
  const found = await store.findings({ status: ['open'], ...(minTier !== undefined && { minTier }), ...(o.host !== undefined && { address: o.host }) });
  return found.sort((a, b) => tierRank(a.tier) - tierRank(b.tier) || b.score - a.score || a.key.localeCompare(b.key));
}

/** The host's other open services, for the smoke test, with what the policy says of each. */
async function hostServicesOf(store: Store, f: Finding, policy: Policy | undefined): Promise<HostService[]> {
  const rows = await store.services({ address: f.address, state: 'open' });
  const seen = new Set<string>();
  const out: HostService[] = [];
  for (const r of rows) {
    const id = `${r.protocol}/${r.port}`;
    if ((r.protocol === f.protocol && r.port === f.port) || seen.has(id)) continue;
    seen.add(id);
    const s: HostService = { protocol: r.protocol === 'udp' ? 'udp' : 'tcp', port: r.port };
    if (r.name !== undefined) s.name = r.name;
    if (r.product !== undefined) s.product = r.product;
    if (policy !== undefined) s.allowed = policySources(policy, { address: r.address, protocol: r.protocol, port: r.port, state: 'open', ...(r.name !== undefined && { name: r.name }) }).allowed;
    out.push(s);
  }
  return out.sort((a, b) => a.port - b.port || a.protocol.localeCompare(b.protocol));
}

async function plansFor(keys: string[], o: Options, choices: PlanChoices): Promise<RemediationPlan[]> {
  const policy = o.policy === undefined ? undefined : await loadPolicyFile(o.policy);
  const store = await openCliStore(o.db);
  try {
    await assessStore(store, policy === undefined ? {} : { policy });
    const findings = await chooseFindings(store, keys, o);
    const now = Date.now();
    const plans: RemediationPlan[] = [];
    for (const finding of findings) {
      const hostServices = await hostServicesOf(store, finding, policy);
      const input: Parameters<typeof buildPlan>[0] = { finding, hostServices, now };
      // A package audit of the host (portolan listeners --packages) tells the upgrade option what is installed.
      const pkgName = knowledgeFor(finding.service, finding.port, finding.protocol).knowledge.debian?.package;
      const installed = pkgName === undefined ? undefined : (await store.packages({ address: finding.address, name: pkgName }))[0];
      if (installed !== undefined) input.installedPackage = { name: installed.name, version: installed.version };
      if (policy !== undefined) {
        const zone = zoneOf(policy, finding.address);
        if (zone !== undefined) input.zone = zone;
        const sources = policySources(policy, { address: finding.address, protocol: finding.protocol, port: finding.port, state: 'open', ...(finding.service?.name !== undefined && { name: finding.service.name }) });
        if (sources.from !== undefined && sources.from.length > 0) input.policyAllowFrom = sources.from;
      }
      plans.push(buildPlan(input, choices));
    }
    return plans;
  } finally {
    await store.close();
  }
}

/** Write each plan with every option's scripts under DIR/<key>/; returns what was written. */
function writePlans(dir: string, plans: RemediationPlan[], format: PlanFormat): string[] {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const written: string[] = [];
  for (const plan of plans) {
    const sub = join(dir, planDirName(plan.finding.key));
    mkdirSync(sub, { recursive: true, mode: 0o700 });
    const planFile = join(sub, `plan${format.extension}`);
    writeFileSync(planFile, format.render(plan), { mode: 0o600 });
    written.push(planFile);
    // Script names carry the option and the backend (apply-block-nftables.sh), so none collide.
    for (const s of plan.options.flatMap((option) => option.scripts)) {
      const { apply, rollback } = writeScripts(sub, s);
      written.push(apply, rollback);
    }
  }
  return written;
}

function defineRemediate(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('remediate')
    .description('write a remediation plan per finding: why, how to confirm, fix (with scripts), verify, prevent, roll back')
    .argument('[keys...]', 'finding keys (portolan findings --format json lists them)')
    .option('--all', 'every open finding (with --min-priority / --host to narrow)')
    .option('--min-priority <tier>', `with --all: only findings of this tier or above (${TIERS.join(', ')})`)
    .option('--host <address>', 'with --all: only this host')
    .option('--backend <id>', `firewall for the scripts: ${FIREWALL_BACKENDS.map((b) => b.id).join(', ')} (default nftables)`)
    .option('--service-manager <id>', `service manager for disable scripts: ${SERVICE_MANAGERS.join(', ')} (default systemd)`)
    .option('--mode <mode>', 'firewall option: block (close the port) or allowlist (only --allow-from may connect)')
    .option('--allow-from <cidr...>', 'sources that keep access in allowlist mode (default: the policy\'s from: for the service)')
    .option('--iface <name>', 'limit firewall rules to this inbound interface')
    .option('--policy <file>', 'a policy YAML: allowed services, zones and sources feed the plan')
    .option('--format <format>', `${PLAN_FORMATS.map((f) => f.id).join(', ')} (default md)`)
    .option('-o, --output <dir>', 'write each plan and its scripts to DIR/<finding>/ instead of printing')
    .option('--option <id>', `with --apply: the option to carry out (${OPTION_IDS.join(', ')}; default the recommended one)`)
    .option('--apply', 'run the option\'s script on this host (after a confirmation), then verify the finding')
    .option('--yes', 'with --apply: do not ask for confirmation')
    .option('--scope <file>', 'with --apply: the scope file the verification scan must stay within');
  addStoreOptions(cmd, false);
  cmd.action(async (keys: string[], o: Options) => {
    if (keys.length === 0 && o.all !== true) throw new UsageError('E_USAGE', 'give finding keys or --all (portolan findings lists them)');
    if (keys.length > 0 && o.all === true) throw new UsageError('E_USAGE', 'give finding keys or --all, not both');
    if ((o.minPriority !== undefined || o.host !== undefined) && o.all !== true) throw new UsageError('E_USAGE', '--min-priority and --host go with --all');
    const formatId = o.format ?? 'md';
    const format = findPlanFormat(formatId);
    if (format === undefined) throw new UsageError('E_USAGE', `--format ${quoteToken(formatId)}: expected one of ${PLAN_FORMATS.map((f) => f.id).join(', ')}`, { token: formatId });
    if (o.option !== undefined && !OPTION_IDS.includes(o.option as RemediationOptionId)) {
      throw new UsageError('E_USAGE', `--option ${quoteToken(o.option)}: expected one of ${OPTION_IDS.join(', ')}`, { token: o.option });
    }
    if (o.option !== undefined && o.apply !== true) throw new UsageError('E_USAGE', '--option goes with --apply (the plan lists every option)');
    if (o.apply === true && o.all === true) throw new UsageError('E_USAGE', '--apply takes one finding key, not --all');
    if (o.apply === true && keys.length !== 1) throw new UsageError('E_USAGE', '--apply takes exactly one finding key');
    const choices = choicesFrom(o);
    const plans = await plansFor(keys, o, choices);
    if (plans.length === 0) {
      process.stderr.write('portolan: no open findings to plan for\n');
      ctx.setExitCode(0);
      return;
    }
    if (o.output !== undefined) {
      const written = writePlans(o.output, plans, format);
      process.stdout.write(`${written.length} files written under ${o.output} (${plans.length} plan${plans.length === 1 ? '' : 's'})\n`);
    } else if (o.apply !== true) {
      tolerateClosedStdout();
      // One plan reads as itself; JSON keeps one shape ({format, version, plans}) whatever the count.
      process.stdout.write(plans.length === 1 && format.id !== 'json' ? format.render(plans[0]!) : format.renderMany(plans));
    }
    if (o.apply === true) {
      ctx.setExitCode(await applyPlanOption(plans[0]!, o.option as RemediationOptionId | undefined, o));
      return;
    }
    ctx.setExitCode(0);
  });
}

export const remediateCommand: CliCommand = { register: defineRemediate };
