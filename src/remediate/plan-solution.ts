/**
 * Section 4 of a plan, the solution: the recommended option and why, preparation, numbered steps,
 * the apply script itself, the configuration before and after, the practices that keep it fixed,
 * and the other options with their scripts or the reason they are not scriptable here.
 */
import type { PlanOptions } from './options.js';
import { code, list, part, section, table, text, type Part } from './plan-blocks.js';
import { adminAlternative, plain, type PlanContext } from './plan-context.js';
import { BACKUP_WHAT, persistence, rulesetView } from './plan-firewall.js';
import type { PlanScript, PlanSection, RemediationOption } from './plan-types.js';

/** The shell line that runs a script: dry run, or with --apply / -Apply. */
export function runLine(s: PlanScript, apply: boolean, arg = ''): string {
  const ps1 = s.applyName.endsWith('.ps1');
  const name = arg === 'rollback' ? s.rollbackName : s.applyName;
  if (ps1) return `.\\${name}${apply ? ' -Apply' : ''}`;
  return `sudo bash ${name}${apply ? ' --apply' : ''}`;
}

function preparation(ctx: PlanContext, o: PlanOptions, rec: RemediationOption): string[] {
  const k = ctx.knowledge;
  const host = ctx.ip ?? 'the host';
  const items = rec.scripts.map((s) => {
    const what = BACKUP_WHAT[s.backend] ?? (o.config !== undefined && s.backend === o.config.backend.id ? `a copy of ${o.config.scripts.path}` : 'the state it changes');
    const dir = s.applyName.endsWith('.ps1') ? '%ProgramData%\\portolan\\backups' : `/var/backups/portolan/${s.backend}-<time>-<pid>`;
    return `Backup: ${s.applyName} saves ${what} into ${dir} before it changes ${host}; keep that until ${ctx.where} is verified.`;
  });
  if (rec.scripts.length === 0) items.push(`Backup: copy the configuration of ${ctx.label} on ${host}${k.bind?.file === undefined ? '' : ` (${k.bind.file})`} before editing it by hand.`);
  const window: Record<string, string> = {
    block: `Change window: new connections to ${ctx.where} stop from everywhere; pick a time when the users of ${ctx.label} (${k.clients}) can do without it.`,
    allowlist: `Change window: pick a time when a refused client of ${ctx.where} outside ${ctx.sources.map((c) => c.text).join(', ') || 'the allowed sources'} can be noticed and added.`,
    'bind-loopback': `Change window: ${ctx.label} on ${host} restarts to pick up the new listen address; its clients on other machines lose it for good.`,
    disable: `Change window: ${o.unit ?? ctx.label} on ${host} stops at once; agree on a time with whoever might still use ${ctx.protocol}/${ctx.port}.`,
    upgrade: `Change window: the package upgrade restarts ${ctx.label} on ${host}, dropping the sessions open on ${ctx.protocol}/${ctx.port}.`,
  };
  items.push(window[rec.id] ?? '');
  items.push(`Approval: the owner of ${host} signs off on changing ${ctx.protocol}/${ctx.port}; quote the finding ${ctx.key ?? 'key'} (tier ${ctx.tier}).`);
  if (o.lockout) {
    const what = rec.id === 'upgrade' ? 'the interim firewall rule (and the restart the upgrade causes)' : 'the change';
    const alt = adminAlternative(ctx);
    const other = alt === undefined ? 'keep a console (hypervisor, IPMI, cloud serial console) or a second session open' : `make sure you can log in through ${alt} first, and keep that session open`;
    items.push(`Lockout: ${ctx.label} may be how administrators reach ${host}; ${other} while applying ${what}, and test a new login before closing it.`);
  }
  return items;
}

function steps(ctx: PlanContext, o: PlanOptions, rec: RemediationOption): string[] {
  const host = ctx.ip ?? 'the host';
  const s = rec.scripts[0];
  if (s === undefined) {
    const k = ctx.knowledge;
    const manual =
      rec.id === 'upgrade'
        ? `Install the fixed release of ${ctx.label} on ${host} by the vendor's procedure (${o.fixes.map((f) => `${plain(f.package, 60)} ${plain(f.version, 60)}`).join(', ') || 'see the advisory'}).`
        : k.bind !== undefined
          ? `On ${host}, set ${k.bind.directive}${k.bind.file === undefined ? '' : ` in ${k.bind.file}`} to 127.0.0.1 (and ::1) for ${ctx.label}.`
          : `On ${host}, change ${ctx.label}'s configuration so that it no longer listens on ${ctx.protocol}/${ctx.port} of ${host}.`;
    return [manual, `Restart ${k.debian?.unit ?? ctx.label} on ${host} so the change takes effect.`, `Run the checks of section 5 against ${ctx.where}.`];
  }
  const out = [
    `Copy ${s.applyName} and ${s.rollbackName} to ${host}.`,
    `Dry run: ${runLine(s, false)} prints every command it would run against ${ctx.where} and changes nothing; read it.`,
    `Apply: ${runLine(s, true)} on ${host} saves the backup, makes the change for ${ctx.protocol}/${ctx.port} and prints the backup location the rollback needs.`,
  ];
  const keep = persistence(s.backend, ctx.port, ctx.protocol);
  if (keep !== undefined) out.push(keep);
  if (rec.id === 'upgrade') {
    const interim = o.options.find((x) => x.id === (ctx.sources.length > 0 ? 'allowlist' : 'block') && x.available);
    if (interim?.scripts[0] !== undefined) out.unshift(`Interim, until the upgrade is done: ${runLine(interim.scripts[0], true)} closes ${ctx.protocol}/${ctx.port} (${interim.title}).`);
  }
  out.push(`Run the checks of section 5 against ${ctx.where} right away.`);
  return out;
}

function beforeAfter(ctx: PlanContext, o: PlanOptions, rec: RemediationOption): Part | undefined {
  const where = `${ctx.protocol}/${ctx.port}`;
  if (rec.id === 'block' || rec.id === 'allowlist') {
    const spec = o.specs[rec.id];
    const script = rec.scripts[0];
    if (spec === undefined || script === undefined) return undefined;
    const view = rulesetView(script.backend, spec);
    return part(`Before and after (${script.backend}, ${where})`, code('conf', view.before, `before: ${where} on ${ctx.ip ?? 'the host'}`), code('conf', view.after, `after: ${where} on ${ctx.ip ?? 'the host'}`));
  }
  if (rec.id === 'bind-loopback' && o.config !== undefined) {
    const c = o.config.scripts;
    return part(`Before and after (${c.path})`, code('conf', c.before, `before: ${c.path}`), code('conf', c.after, `after: ${c.path}`));
  }
  if (rec.id === 'disable' && o.unit !== undefined) {
    const rows = ctx.platform === 'windows' ? [['StartType', 'Automatic', 'Disabled'], ['Status', 'Running', 'Stopped']] : [['is-enabled', 'enabled', 'disabled'], ['is-active', 'active', 'inactive']];
    return part(`Before and after (${o.unit})`, table([`${o.unit}`, 'before', 'after'], rows), text(`After the change nothing listens on ${where} of ${ctx.ip ?? 'the host'}.`));
  }
  if (rec.id === 'upgrade') {
    const installed = ctx.input.installedPackage === undefined ? 'unknown (no package audit)' : `${plain(ctx.input.installedPackage.name, 60)} ${plain(ctx.input.installedPackage.version, 60)}`;
    const target = o.verdict.target ?? o.fixes[0];
    const after = target === undefined ? 'a release without the flaw' : `${plain(target.package, 60)} ${plain(target.version, 60)} or later`;
    return part(`Before and after (${ctx.label} on ${ctx.ip ?? 'the host'})`, table(['', 'version'], [['before', installed], ['after', after]]));
  }
  return undefined;
}

function practices(ctx: PlanContext): string[] {
  const k = ctx.knowledge;
  const host = ctx.ip ?? 'the host';
  const pkg = k.debian?.package;
  return [
    `Least privilege: ${ctx.label} on ${ctx.where} should serve its real users only (${k.clients}), each with its own credentials and no more rights than it uses.`,
    `Segmentation: ${ctx.label} belongs on a network that ${ctx.reach === 'internet' ? 'the internet cannot route to' : 'only its clients share'}; ${host} should not offer ${ctx.protocol}/${ctx.port} beyond it.`,
    pkg !== undefined
      ? `Patch cadence: check apt list --upgradable for ${pkg} on ${host} at least weekly, and apply security updates for ${ctx.label} within days${ctx.finding.cve?.kev === true ? ' (hours for CISA KEV entries)' : ''}.`
      : `Patch cadence: follow the vendor's security announcements for ${ctx.label} and update ${host} within days of a fix.`,
  ];
}

function others(ctx: PlanContext, o: PlanOptions): string[] {
  return o.options
    .filter((x) => !x.recommended)
    .map((x) => `${x.title} [${x.id}]: ${x.available ? `scripts ${x.scripts.map((s) => `${s.applyName} / ${s.rollbackName}`).join(', ')}` : `not scriptable for ${ctx.where}`}. ${x.rationale}`);
}

/** Section 4. */
export function solutionSection(ctx: PlanContext, o: PlanOptions): PlanSection {
  const rec = o.options.find((x) => x.recommended) ?? o.options[0]!;
  const parts: Part[] = [part(`Recommended: ${rec.title}`, text(rec.rationale))];
  parts.push(part('Preparation', list(preparation(ctx, o, rec))));
  parts.push(part('Implementation steps', list(steps(ctx, o, rec), true)));
  // The scripts themselves live in the option (renderers print them in full after this section,
  // JSON keeps them in options[].scripts); the section names them once instead of a second copy.
  if (rec.scripts.length > 0) {
    parts.push(part('Automation', list(rec.scripts.map((s) => `${s.applyName} for ${ctx.where}: a dry run without arguments, ${s.applyName.endsWith('.ps1') ? '-Apply' : '--apply'} to act; undo with ${s.rollbackName} and the backup it names. ${ctx.key !== undefined ? `Written by portolan remediate '${ctx.key}' -o DIR; ` : ''}printed in full below.`))));
  }
  const ba = beforeAfter(ctx, o, rec);
  if (ba !== undefined) parts.push(ba);
  parts.push(part('Practices', list(practices(ctx))));
  parts.push(part('Other options', list(others(ctx, o))));
  return section('solution', parts);
}
