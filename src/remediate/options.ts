/**
 * The five ways to fix a finding (block, allowlist, bind-loopback, disable, upgrade): which of them
 * can be scripted here, with which scripts, and which one the plan recommends from the finding's
 * reasons. Builders' UsageErrors for values the user supplied (allowed sources, interface) propagate;
 * an option that cannot be scripted for this finding (no unit known, no config backend, no fixed
 * version) is listed as unavailable with the reason.
 */
import { UsageError } from '../core/errors.js';
import { configBackendForService } from './config/registry.js';
import type { ConfigBackend, ConfigPatchScripts } from './config/types.js';
import { cap, has, plain, reasonTexts, type PlanContext } from './plan-context.js';
import type { PlanFix, PlanScript, RemediationOption, RemediationOptionId } from './plan-types.js';
import { buildServiceScripts } from './service/registry.js';
import type { FirewallRuleSpec, GeneratedScript } from './types.js';
import { aptScripts, fixesFor, judgeFixes, type FixVerdict } from './upgrade.js';
import { E_REMEDIATE } from './validate.js';

/** The canonical order options are listed in after the recommended one. */
export const OPTION_ORDER: readonly RemediationOptionId[] = ['upgrade', 'bind-loopback', 'allowlist', 'block', 'disable'];

/** Everything the sections need to know about the options. */
export interface PlanOptions {
  /** The recommended option first, then the others in {@link OPTION_ORDER}. */
  options: RemediationOption[];
  recommended: RemediationOptionId;
  /** The firewall specs the block and allowlist scripts were built from. */
  specs: Partial<Record<'block' | 'allowlist', FirewallRuleSpec>>;
  config?: { backend: ConfigBackend; scripts: ConfigPatchScripts };
  /** The unit or Windows service the disable option stops. */
  unit?: string;
  fixes: PlanFix[];
  verdict: FixVerdict;
  /** The finding is a vulnerability with at least one known fixed version. */
  fixKnown: boolean;
  /** Remote administration that a block would cut off: the plan warns about lockout. */
  lockout: boolean;
}

const CVE_RULES = ['cve-critical', 'cve-high', 'cve-medium', 'cve-low', 'cve-unscored', 'cve-kev', 'cve-kev-internet', 'cve-epss', 'cve-banner-only'];
const EXPOSURE_RULES = ['exposure-internet', 'exposure-dmz', 'exposure-internal', 'exposure-unknown', 'filtered-but-reachable', 'sensitive-on-internet'];
const QUOTE: Record<RemediationOptionId, readonly string[]> = {
  upgrade: CVE_RULES,
  'bind-loopback': [...EXPOSURE_RULES, 'database', 'admin-panel', 'broker', 'unauthenticated-access', 'no-auth-by-default', 'loopback-only'],
  allowlist: [...EXPOSURE_RULES, 'remote-admin', 'expected-service', 'unauthenticated-access'],
  block: [...EXPOSURE_RULES, 'unauthenticated-access', 'no-auth-by-default', 'unknown-service', 'unusual-port', 'remote-admin', 'file-sharing'],
  disable: ['unexpected-service', 'cleartext-remote-shell', 'cleartext', 'many-unexpected', 'unknown-service'],
};

/** The finding's own words for why this option fits: quoted reasons, or the first reason. */
function quoted(ctx: PlanContext, id: RemediationOptionId): string {
  const texts = reasonTexts(ctx, QUOTE[id]);
  const use = texts.length > 0 ? texts : reasonTexts(ctx).slice(0, 1);
  return use.length > 0 ? ` The finding says: ${use.map((t) => `“${t}”`).join('; ')}.` : '';
}

/**
 * Script file names: apply-<option>-<backend>.sh / rollback-<option>-<backend>.sh (.ps1 for the
 * Windows backends). The option is in the name because block and allowlist share a backend.
 */
export function planScript(option: RemediationOptionId, g: GeneratedScript): PlanScript {
  const ext = g.backend === 'windows' || g.backend === 'windows-service' ? 'ps1' : 'sh';
  const stem = `${option}-${g.backend}`;
  return { backend: g.backend, applyName: `apply-${stem}.${ext}`, rollbackName: `rollback-${stem}.${ext}`, apply: g.apply, rollback: g.rollback };
}

/** Run a builder whose inputs are ours: a refusal means "not scriptable here", not a user error. */
function attempt<T>(build: () => T): { value: T } | { why: string } {
  try {
    return { value: build() };
  } catch (error) {
    if (error instanceof UsageError) return { why: error.message };
    throw error;
  }
}

interface Draft {
  available: boolean;
  title: string;
  /** Why it fits or does not, before the quoted reasons. */
  why: string;
  scripts: PlanScript[];
}

function firewallDrafts(ctx: PlanContext, out: PlanOptions): Record<'block' | 'allowlist', Draft> {
  const fw = ctx.firewall.id;
  const scope = `${ctx.protocol}/${ctx.port}`;
  const off = ctx.knowledge.offHost;
  const base = { protocol: ctx.protocol, port: ctx.port, family: ctx.family, findingKey: ctx.commentKey, ...(ctx.choices.iface === undefined ? {} : { iface: ctx.choices.iface }) } as const;
  const sources = ctx.sources.map((c) => c.text);
  if (off !== undefined) {
    const why = `A ${fw} rule on ${ctx.ip ?? 'the host'} cannot help here: ${off}.`;
    return {
      block: { available: false, title: `Block ${scope} with ${fw}`, why, scripts: [] },
      allowlist: { available: false, title: `Restrict ${scope} to allowed sources with ${fw}`, why, scripts: [] },
    };
  }
  // Built unconditionally: a bad --iface or an unusable backend is the user's error and must surface.
  const blockSpec: FirewallRuleSpec = { ...base, mode: 'block' };
  const block = planScript('block', ctx.firewall.build(blockSpec));
  out.specs.block = blockSpec;
  const local = ctx.reach === 'local';
  const blockWhy = local
    ? `${cap(ctx.label)} on ${ctx.where} is bound to loopback already; a ${fw} drop rule for ${scope} would also cut off the local clients on ${ctx.ip ?? 'the host'}, so it is not the fix here.`
    : `The ${fw} rule ${fw === 'firewalld' ? 'rejects' : fw === 'windows' ? 'blocks' : 'drops'} new connections to ${scope} on ${ctx.ip ?? 'the host'} from everywhere, while ${ctx.label} keeps running for local clients.`;
  const allowTitle = sources.length > 0 ? `Allow only ${sources.join(', ')} to reach ${scope}` : `Restrict ${scope} to allowed sources`;
  let allowlist: Draft;
  if (sources.length > 0) {
    const spec: FirewallRuleSpec = { ...base, mode: 'allowlist', allowFrom: sources };
    allowlist = { available: true, title: allowTitle, why: `${sources.join(', ')} (from ${ctx.sourcesFrom === 'option' ? '--allow-from' : "the policy's from:"}) keep reaching ${ctx.label} on ${scope}; ${fw} drops new connections from every other address.`, scripts: [planScript('allowlist', ctx.firewall.build(spec))] };
    out.specs.allowlist = spec;
  } else {
    allowlist = { available: false, title: allowTitle, why: `No allowed sources are known for ${ctx.label} on ${ctx.where}: pass --allow-from CIDR, or give the policy rule for ${scope} a from: list, to get an allowlist script.`, scripts: [] };
  }
  return { block: { available: true, title: `Block ${scope} on ${ctx.ip ?? '$TARGET'} (${fw})`, why: blockWhy, scripts: [block] }, allowlist };
}

function bindDraft(ctx: PlanContext, out: PlanOptions): Draft {
  const k = ctx.knowledge;
  const directive = k.bind === undefined ? 'its listen setting' : `${k.bind.directive}${k.bind.file === undefined ? '' : ` in ${k.bind.file}`}`;
  const title = `Bind ${ctx.label} to loopback (${directive})`;
  const backend = configBackendForService(ctx.kind?.id) ?? configBackendForService(ctx.finding.service?.name);
  if (ctx.platform === 'windows') return { available: false, title, why: `portolan has no Windows config patch for ${ctx.label}; set the listen address by hand (${directive}).`, scripts: [] };
  if (backend === undefined) {
    return { available: false, title, why: `portolan has no config backend for ${ctx.label}; ${k.bind === undefined ? `find ${ctx.label}'s listen setting and set it to 127.0.0.1 by hand` : `set ${directive} to 127.0.0.1 by hand`}.`, scripts: [] };
  }
  const manager = ctx.serviceManager === 'sysv' ? 'sysv' : 'systemd';
  const built = attempt(() => backend.build({ findingKey: ctx.commentKey, restart: { manager } }));
  if ('why' in built) return { available: false, title, why: `The ${backend.id} config patch cannot be written for ${ctx.where}: ${built.why}.`, scripts: [] };
  out.config = { backend, scripts: built.value };
  const admin = ctx.classes.includes('remote-admin')
    ? ` Remote logins through ${ctx.protocol}/${ctx.port} then stop entirely: only fitting when administrators come in through a console or a tunnel that ends on ${ctx.ip ?? 'the host'} itself.`
    : '';
  const why =
    ctx.reach === 'local'
      ? `${cap(ctx.label)} on ${ctx.where} already listens on loopback only; the ${backend.id} patch pins ${built.value.path} to loopback so a later edit cannot widen it again.`
      : `${cap(ctx.label)} then listens on 127.0.0.1/::1 only: local clients on ${ctx.ip ?? 'the host'} keep working, and ${ctx.protocol}/${ctx.port} stops answering on every other address whatever the firewall does.${admin}`;
  return { available: true, title, why, scripts: [planScript('bind-loopback', built.value)] };
}

function disableDraft(ctx: PlanContext, out: PlanOptions): Draft {
  const k = ctx.knowledge;
  const windows = ctx.platform === 'windows';
  const name = windows ? k.windowsService : k.debian?.unit;
  const manager = windows ? 'windows' : ctx.serviceManager;
  const title = name === undefined ? `Stop and disable ${ctx.label}` : `Stop and disable ${name} (${manager})`;
  if (name === undefined) {
    return { available: false, title, why: `No ${windows ? 'Windows service' : 'systemd unit'} is known for ${ctx.label} on ${ctx.where}: find the owner with the detection commands, then disable it by name.`, scripts: [] };
  }
  if (manager === 'sysv' && name.includes('.')) return { available: false, title, why: `${name} is a systemd unit with no SysV init script: use --service-manager systemd.`, scripts: [] };
  const built = attempt(() => buildServiceScripts({ manager, name, findingKey: ctx.commentKey }));
  if ('why' in built) return { available: false, title, why: `The ${manager} script cannot be written for ${name}: ${built.why}.`, scripts: [] };
  out.unit = name;
  const shared = name === 'inetutils-inetd' ? ` Stopping ${name} also stops every other service in /etc/inetd.conf.` : '';
  return { available: true, title, why: `${name} stops now and does not come back at boot, so nothing answers on ${ctx.protocol}/${ctx.port} of ${ctx.ip ?? 'the host'}.${shared}`, scripts: [planScript('disable', built.value)] };
}

function upgradeDraft(ctx: PlanContext, out: PlanOptions): Draft {
  const cve = ctx.finding.cve?.id ?? (ctx.finding.kind === 'vulnerability' ? ctx.finding.ref : undefined);
  const pkg = ctx.knowledge.debian?.package;
  const first = out.fixes[0];
  const fixText = out.fixes.map((f) => `${plain(f.package, 60)} ${plain(f.version, 60)}${f.release === undefined ? '' : ` (${plain(f.release, 20)})`}`).join(', ');
  const target = out.verdict.target;
  const title = target !== undefined ? `Upgrade ${pkg ?? ctx.label} to ${plain(target.version, 60)} or later` : first !== undefined ? `Upgrade ${ctx.label} to a fixed release (${plain(first.version, 60)} or later)` : `Upgrade ${ctx.label}`;
  if (cve === undefined || ctx.finding.kind !== 'vulnerability') {
    return { available: false, title, why: `No CVE is matched to ${ctx.label} on ${ctx.where}: an upgrade does not change who can reach ${ctx.protocol}/${ctx.port}.`, scripts: [] };
  }
  const id = plain(cve, 40);
  if (!out.fixKnown) return { available: false, title, why: `No fixed version of ${id} is known to portolan: check the vendor advisory, and close or restrict ${ctx.protocol}/${ctx.port} until a fix exists.`, scripts: [] };
  const already = out.verdict.alreadyFixed === true ? ` The installed package ${plain(ctx.input.installedPackage?.version ?? '', 60)} is already at or above ${plain(target?.version ?? '', 60)}: the match may rest on a banner that does not show backported fixes.` : '';
  if (ctx.platform === 'windows' || pkg === undefined) {
    return { available: false, title, why: `${id} is fixed in ${fixText}; ${pkg === undefined ? `no Debian package is known for ${ctx.label}` : 'this is a Windows host'}, so upgrade by the vendor's procedure.${already}`, scripts: [] };
  }
  const built = aptScripts({ package: pkg, findingKey: ctx.commentKey, ...(target === undefined ? {} : { minVersion: target.version }) });
  return { available: true, title, why: `${id} is fixed in ${fixText}: upgrading ${pkg} on ${ctx.ip ?? 'the host'} removes the flaw itself, whoever can reach ${ctx.protocol}/${ctx.port}.${already}`, scripts: [planScript('upgrade', built)] };
}

/** Which option the reasons point to, and the sentence that says why. */
function choose(ctx: PlanContext, o: PlanOptions, drafts: Record<RemediationOptionId, Draft>): { id: RemediationOptionId; because: string } {
  const mode = ctx.choices.mode;
  const shell = ctx.kind?.shell === true;
  const sensitive = ctx.classes.some((c) => c === 'database' || c === 'admin-panel' || c === 'broker');
  if (o.fixKnown && mode === undefined) return { id: 'upgrade', because: `a fixed version is known, so the flaw can go; until the upgrade is done, ${ctx.sources.length > 0 ? 'the allowlist' : 'the block'} below is the interim measure` };
  if (mode !== undefined) return { id: mode, because: `--mode ${mode} was asked for` };
  if (ctx.reach === 'local') {
    if (has(ctx, 'unexpected-service') && drafts.disable.available) return { id: 'disable', because: 'nobody claims it in the policy, and loopback exposure leaves nothing else to close' };
    return { id: 'bind-loopback', because: 'it listens on loopback only, which is the state to keep' };
  }
  if (shell && !has(ctx, 'expected-service') && drafts.disable.available) return { id: 'disable', because: `${ctx.label} is a cleartext shell that SSH replaces, so nothing should need it` };
  if (has(ctx, 'unexpected-service') && shell && drafts.disable.available) return { id: 'disable', because: 'nobody claims it in the policy' };
  if (ctx.sources.length > 0) return { id: 'allowlist', because: `allowed sources are on record (${ctx.sourcesFrom === 'option' ? '--allow-from' : 'the policy'})` };
  if (sensitive && !has(ctx, 'expected-service') && drafts['bind-loopback'].available) {
    return { id: 'bind-loopback', because: `${ctx.label} is meant for clients on the host or a private network, no remote client is on record, and portolan can patch its configuration` };
  }
  if (o.lockout) return { id: 'block', because: 'no allowed sources are known; keep a console open before applying it, or you lock yourself out' };
  if (has(ctx, 'expected-service')) return { id: 'block', because: 'the policy allows the service but names no sources; add from: to the policy to get an allowlist instead' };
  return { id: 'block', because: `nobody is on record as needing ${ctx.protocol}/${ctx.port} from elsewhere` };
}

/** Build every option for the finding and pick the recommended one. */
export function buildOptions(ctx: PlanContext): PlanOptions {
  const cve = ctx.finding.cve?.id ?? (ctx.finding.kind === 'vulnerability' ? ctx.finding.ref : undefined);
  const fixes = ctx.finding.kind === 'vulnerability' ? fixesFor(typeof cve === 'string' ? cve : undefined, ctx.input.fixes) : [];
  const out: PlanOptions = {
    options: [],
    recommended: 'block',
    specs: {},
    fixes,
    verdict: judgeFixes(fixes, ctx.input.installedPackage),
    fixKnown: fixes.length > 0,
    lockout: ctx.classes.includes('remote-admin') && ctx.reach !== 'local',
  };
  if (ctx.choices.mode === 'allowlist' && ctx.sources.length === 0) {
    throw new UsageError(E_REMEDIATE, 'bad allowed sources: allowlist mode needs at least one source; pass --allow-from CIDR or give the policy rule a from: list');
  }
  const fw = firewallDrafts(ctx, out);
  const drafts: Record<RemediationOptionId, Draft> = { ...fw, 'bind-loopback': bindDraft(ctx, out), disable: disableDraft(ctx, out), upgrade: upgradeDraft(ctx, out) };
  const pick = choose(ctx, out, drafts);
  out.recommended = pick.id;
  const order = [pick.id, ...OPTION_ORDER.filter((id) => id !== pick.id)];
  out.options = order.map((id) => {
    const d = drafts[id];
    const recommended = id === pick.id;
    const lead = recommended ? `Recommended for ${ctx.where} because ${pick.because}. ` : '';
    return { id, title: d.title, rationale: `${lead}${d.why}${quoted(ctx, id)}`, recommended, available: d.available, scripts: d.scripts };
  });
  return out;
}
