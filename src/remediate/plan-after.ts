/**
 * Sections 5–8 of a plan: verification, preventive measures, risks and roll back, references.
 * Commands carry validated values only; the policy snippet is built from the same values and parses
 * with portolan's own policy parser.
 */
import { kindByName, normalizeServiceName } from '../assess/service-classes.js';
import { SERVICE_NAME_RE } from '../assess/policy-schema.js';
import type { PlanOptions } from './options.js';
import { code, list, part, ps, section, sh, table, text, type Part } from './plan-blocks.js';
import { adminAlternative, fill, targetGuard, type PlanContext } from './plan-context.js';
import { FIREWALL_DOCS, logRule } from './plan-firewall.js';
import { hostServiceLabels, ncCheck, ssListen } from './plan-sections.js';
import { runLine } from './plan-solution.js';
import type { PlanBlock, PlanScript, PlanSection, RemediationOption } from './plan-types.js';
import { knowledgeFor } from './knowledge.js';
import { safeDebianVersion } from './upgrade.js';

function postFix(ctx: PlanContext, o: PlanOptions, rec: RemediationOption): Part {
  const guard = targetGuard(ctx);
  const where = `${ctx.protocol}/${ctx.port}`;
  const host = ctx.ip ?? 'the host';
  switch (rec.id) {
    case 'allowlist':
      return part('Post-fix check', sh([...guard, ncCheck(ctx)]), text(`From an allowed source (${ctx.sources.map((c) => c.text).join(', ')}) the check still connects to ${ctx.where}; from any other address it times out or is refused.`));
    case 'bind-loopback':
      return part('Post-fix check', sh([ssListen(ctx)]), sh([...guard, ncCheck(ctx)], 'from another machine'), text(`On ${host}, ss shows ${ctx.label} on 127.0.0.1:${ctx.port} and [::1]:${ctx.port} only; from another machine the connection to ${ctx.where} is refused.`));
    case 'disable': {
      const unit = o.unit ?? '';
      const lines = ctx.platform === 'windows' ? [`Get-Service -Name '${unit}' | Format-List Status, StartType`, `Get-NetTCPConnection -LocalPort ${ctx.port} -State Listen -ErrorAction SilentlyContinue`] : [`systemctl is-enabled '${unit}'; systemctl is-active '${unit}'`, ssListen(ctx)];
      return part('Post-fix check', ctx.platform === 'windows' ? ps(lines) : sh(lines), text(`${unit} reports disabled and inactive (Stopped), and nothing listens on ${where} of ${host} any more.`));
    }
    case 'upgrade': {
      const pkg = ctx.knowledge.debian?.package;
      const min = safeDebianVersion(o.verdict.target?.version);
      const lines: string[] = [];
      if (pkg !== undefined && ctx.platform === 'linux') {
        lines.push(`dpkg-query -W -f='\${Version}\\n' ${pkg}`);
        if (min !== undefined) lines.push(`dpkg --compare-versions "$(dpkg-query -W -f='\${Version}' ${pkg})" ge '${min}' && echo fixed || echo 'still vulnerable'`);
      }
      if (ctx.knowledge.probe !== undefined) lines.push(...guard, fill(ctx, ctx.knowledge.probe));
      return part('Post-fix check', ...(lines.length > 0 ? [sh(lines)] : []), text(`The installed ${pkg ?? ctx.label} on ${host} reports the fixed version, and ${ctx.label} still answers on ${where} for its clients.`));
    }
    default:
      return part('Post-fix check', sh([...guard, ncCheck(ctx)]), text(`From another machine the check of ${ctx.where} now times out (the packets are dropped) or is refused; on ${host} itself ${ctx.label} keeps running.`));
  }
}

function smokeTest(ctx: PlanContext): Part {
  const services = ctx.hostServices;
  const host = ctx.ip ?? 'the host';
  if (services.length === 0) {
    return part('Smoke test', text(`No other open service is recorded on ${host}; ask the users of ${ctx.label} (${ctx.knowledge.clients}) to confirm their work still runs once ${ctx.where} changes.`));
  }
  const labels = hostServiceLabels(ctx);
  const sorted = services.map((s, i) => ({ s, label: labels[i] ?? '' })).sort((a, b) => Number(b.s.allowed === true) - Number(a.s.allowed === true));
  const rows = sorted.map(({ s, label }) => [`${s.protocol}/${s.port}`, label, s.allowed === true ? 'allowed by the policy: must answer' : s.allowed === false ? 'not allowed by the policy' : 'no policy entry', ncCheck(ctx, s.port, s.protocol)]);
  const lines = [...targetGuard(ctx), ...sorted.filter(({ s }) => s.allowed !== false).map(({ s, label }) => `${ncCheck(ctx, s.port, s.protocol)}  # ${label}`)];
  const blocks = [table(['port', 'service', 'policy', 'check'], rows)];
  if (lines.length > targetGuard(ctx).length) blocks.push(sh(lines));
  blocks.push(text(`Every service above marked "must answer" still has to connect after the change to ${ctx.where}; if one does not, roll back (section 7) before investigating.`));
  return part('Smoke test', ...blocks);
}

function monitoring(ctx: PlanContext, rec: RemediationOption): Part {
  const blocks = [];
  const chain = rec.id === 'block' || rec.id === 'allowlist';
  const r = logRule(ctx.firewall.id, ctx.port, ctx.protocol, ctx.family, chain);
  blocks.push(r.powershell ? ps([...r.lines, r.read]) : sh([...r.lines, r.read]));
  blocks.push(
    text(
      `The ${ctx.firewall.id} lines log new connection attempts to ${ctx.protocol}/${ctx.port} on ${ctx.ip ?? 'the host'} (rate-limited where the backend allows) and the last one reads them back: attempts after the change show who still looks for ${ctx.label}.`,
    ),
  );
  const unit = ctx.knowledge.debian?.unit;
  if (ctx.platform === 'linux' && unit !== undefined && rec.id !== 'disable') blocks.push(sh([`journalctl -u '${unit}' -f`]), text(`Follow the journal of ${unit} on ${ctx.ip ?? 'the host'} for the first hours after the change for errors from ${ctx.label}'s clients.`));
  if (ctx.key !== undefined) {
    blocks.push(code('text', `0 6 * * * portolan verify '${ctx.key}' || logger -t portolan 'finding ${ctx.key} is open again'`, 'crontab: a daily re-test'));
  }
  return part('Monitoring', ...blocks);
}

function verification(ctx: PlanContext, o: PlanOptions): PlanSection {
  const rec = o.options.find((x) => x.recommended) ?? o.options[0]!;
  const retest =
    ctx.key !== undefined
      ? part('Re-test with portolan', sh([`portolan verify '${ctx.key}'`]), text(`verify re-scans ${ctx.where} and marks the finding fixed (exit 0) or still open (exit 1).`))
      : part('Re-test with portolan', text(`The key of this finding has characters a command cannot carry; run portolan verify with no key to re-test every open finding, ${ctx.where} included.`));
  return section('verification', [postFix(ctx, o, rec), retest, smokeTest(ctx), monitoring(ctx, rec)]);
}

/** The nmap-style service name for a policy rule, when one is known and valid. */
function policyName(name: string | undefined, port: number, protocol: 'tcp' | 'udp'): string | undefined {
  const n = normalizeServiceName(name).name;
  const kind = knowledgeFor(n === '' ? undefined : { name: n }, port, protocol).kind;
  const best = kind?.names?.[0] ?? (kindByName(n) !== undefined ? n : undefined);
  return best !== undefined && SERVICE_NAME_RE.test(best) ? best : undefined;
}

/** A policy group for this host in portolan's policy format. */
export function policySnippet(ctx: PlanContext & { ip: string }, allowThis: boolean): string {
  const ip = ctx.ip;
  const lines = ['version: 1', 'groups:', `  - name: host ${ip}`, `    hosts: ["${ip}"]`, '    allow:'];
  for (const s of ctx.hostServices) {
    if (s.allowed !== true || !Number.isInteger(s.port) || s.port < 1 || s.port > 65535 || (s.protocol !== 'tcp' && s.protocol !== 'udp')) continue;
    const name = policyName(s.name, s.port, s.protocol);
    lines.push(`      - ${s.port}/${s.protocol}${name === undefined ? '' : ` ${name}`}`);
  }
  const name = policyName(ctx.finding.service?.name, ctx.port, ctx.protocol);
  if (allowThis) {
    const from = ctx.sources.length > 0 ? `, from: [${ctx.sources.map((c) => `"${c.text}"`).join(', ')}]` : '';
    lines.push(`      - { port: ${ctx.port}, protocol: ${ctx.protocol}${name === undefined ? '' : `, service: ${name}`}${from} }`);
  } else {
    lines.push(`      # ${ctx.protocol}/${ctx.port} (${ctx.knowledge.id === 'generic' ? 'unidentified' : ctx.knowledge.label}) is left out on purpose: portolan check reports it if it opens again`);
  }
  if (lines[lines.length - 1] === '    allow:') lines[lines.length - 1] = '    allow: []';
  return lines.join('\n');
}

function baselineText(ctx: PlanContext, o: PlanOptions): string {
  const host = ctx.ip ?? 'the host';
  const k = ctx.knowledge;
  const pkg = k.debian?.package;
  switch (o.recommended) {
    case 'upgrade':
      return ctx.platform === 'linux'
        ? `Baseline: enable unattended-upgrades for the Debian security archive on ${host}, so fixes for ${pkg ?? ctx.label} arrive without waiting for the next plan.`
        : `Baseline: keep automatic security updates on for ${host}, so fixes for ${ctx.label} arrive without waiting for the next plan.`;
    case 'bind-loopback':
      return `Baseline: put the loopback value of ${k.bind?.directive ?? "the listen setting"} into the configuration-management template for ${k.bind?.file ?? ctx.label}, so a rebuilt ${host} starts ${ctx.label} the same way.`;
    case 'disable':
      return pkg !== undefined && ctx.platform === 'linux'
        ? `Baseline: leave ${pkg} out of the image of ${host} (or apt-get purge ${pkg}), so ${ctx.label} cannot come back on ${ctx.protocol}/${ctx.port} after a rebuild.`
        : `Baseline: keep ${o.unit ?? ctx.label} disabled in the build of ${host}, so nothing answers on ${ctx.protocol}/${ctx.port} after a rebuild.`;
    default:
      return `Baseline: keep the ${ctx.firewall.id} rule for ${ctx.protocol}/${ctx.port} in the build of ${host}, so a rebuilt host does not expose ${ctx.label} again.`;
  }
}

function prevention(ctx: PlanContext, o: PlanOptions): PlanSection {
  const rec = o.recommended;
  const allowThis = rec === 'allowlist' || rec === 'upgrade' || ctx.rules.has('expected-service');
  const snippet = ctx.ip === undefined ? undefined : policySnippet({ ...ctx, ip: ctx.ip }, allowThis);
  const host = ctx.ip ?? '$TARGET';
  const ports = [ctx.port, ...ctx.hostServices.filter((s) => s.protocol === 'tcp' && Number.isInteger(s.port) && s.port >= 1 && s.port <= 65535).map((s) => s.port)];
  const tcpPorts = [...new Set(ports)].slice(0, 50).join(',');
  const policyText = allowThis
    ? `The policy allows ${ctx.label} on ${ctx.protocol}/${ctx.port} of ${host}${ctx.sources.length > 0 ? ` from ${ctx.sources.map((c) => c.text).join(', ')} only` : ''}; merge this group into the policy file.`
    : `The policy lists what ${host} may expose and leaves ${ctx.protocol}/${ctx.port} out, so ${ctx.label} coming back on ${host} shows up as an unexpected service again; merge this group into the policy file.`;
  const pipeline = sh([...targetGuard(ctx), `portolan scan ${host} -p ${tcpPorts} && portolan findings --host ${host} --fail-on ${ctx.tier}`, 'portolan check --policy policy.yaml']);
  const baseline = baselineText(ctx, o);
  return section('prevention', [
    snippet === undefined
      ? part('Policy entry', text(`A policy names hosts by address; once the address behind ${ctx.where} is known as an IP literal, list it in a group that ${allowThis ? 'allows' : 'leaves out'} ${ctx.protocol}/${ctx.port}.`))
      : part('Policy entry', code('yaml', snippet, 'policy.yaml'), text(policyText)),
    part('Pipeline check', pipeline, text(`The first line fails the pipeline when ${host} has a finding at ${ctx.tier} or above again; portolan check fails when ${ctx.protocol}/${ctx.port} is open against the policy.`)),
    part('Baseline', text(baseline)),
  ]);
}

function breakage(ctx: PlanContext, o: PlanOptions, rec: RemediationOption): string[] {
  const host = ctx.ip ?? 'the host';
  const out: string[] = [];
  switch (rec.id) {
    case 'block':
      out.push(`Remote clients of ${ctx.label} on ${ctx.where} lose it (${ctx.knowledge.clients}).`);
      break;
    case 'allowlist':
      out.push(`Clients of ${ctx.where} outside ${ctx.sources.map((c) => c.text).join(', ')} are refused, so any of its users (${ctx.knowledge.clients}) not in the list break.`);
      break;
    case 'bind-loopback':
      out.push(`Anything that reaches ${ctx.label} on ${ctx.where} from another machine breaks: remote replicas, application servers, backup and monitoring jobs.`);
      break;
    case 'disable':
      out.push(`Whatever still uses ${ctx.label} on ${ctx.where} stops working${o.unit === 'inetutils-inetd' ? ', and every other service started from /etc/inetd.conf on this host stops with it' : ''}.`);
      break;
    default: {
      out.push(`The upgrade restarts ${ctx.label} on ${host}; a new release can change defaults or drop old options its configuration uses.`);
      out.push(`${rec.scripts[0]?.rollbackName ?? 'The apt rollback script'} on ${host} reinstalls the saved, vulnerable version of ${ctx.knowledge.debian?.package ?? ctx.label}: use it only to get ${ctx.where} working again, then upgrade anew.`);
      const interim = o.options.find((x) => x.id === (ctx.sources.length > 0 ? 'allowlist' : 'block') && x.available);
      if (interim !== undefined) out.push(`The interim ${ctx.firewall.id} rule (${interim.title}) cuts off the users of ${ctx.label} (${ctx.knowledge.clients}) until it is rolled back after the upgrade.`);
    }
  }
  if (o.lockout) {
    const verb = { block: 'Blocking', allowlist: 'Restricting', disable: 'Disabling', 'bind-loopback': 'Binding to loopback', upgrade: 'The interim rule or the restart of' }[rec.id];
    const alt = adminAlternative(ctx);
    const keep = alt === undefined ? 'keep a console open' : `check that ${alt} lets you in`;
    out.push(`${verb} ${ctx.label} on ${ctx.where} can lock you out of ${host}: ${keep} and test a fresh login before ending the session you applied it from.`);
  }
  if (ctx.classes.includes('database') && (rec.id === 'block' || rec.id === 'allowlist')) out.push(`Application servers not in the allowlist for ${ctx.where} lose their database and fail their health checks.`);
  if ((rec.id === 'block' || rec.id === 'allowlist') && ctx.firewall.id !== 'windows') {
    out.push(`Only new connections to ${ctx.protocol}/${ctx.port} are dropped (conntrack): sessions already open on ${ctx.where} go on until they close, so restart the clients or ${ctx.label} to be sure.`);
  } else if (rec.id === 'block' || rec.id === 'allowlist') {
    out.push(`Sessions already open on ${ctx.where} may survive the new Windows Firewall rule; sign them out or restart ${ctx.label} to be sure.`);
  }
  return out;
}

function rollbackBlock(s: PlanScript, where: string): PlanBlock {
  return s.rollbackName.endsWith('.ps1')
    ? ps([`# undo the ${s.backend} change made for ${where}`, `.\\${s.rollbackName} -Apply`, `.\\${s.rollbackName} -Apply -Backup (Get-Content "$env:ProgramData\\portolan\\backups\\${s.backend}.last")`], `roll back ${s.backend}`)
    : sh([`# undo the ${s.backend} change made for ${where}`, `sudo bash ${s.rollbackName} --apply "$(cat /var/backups/portolan/${s.backend}.last)"`], `roll back ${s.backend}`);
}

function risks(ctx: PlanContext, o: PlanOptions): PlanSection {
  const rec = o.options.find((x) => x.recommended) ?? o.options[0]!;
  const scripts = [...rec.scripts];
  // An upgrade plan applies the firewall rule as an interim measure: its rollback belongs here too.
  if (rec.id === 'upgrade') {
    const interim = o.options.find((x) => x.id === (ctx.sources.length > 0 ? 'allowlist' : 'block') && x.available);
    if (interim !== undefined) scripts.push(...interim.scripts);
  }
  const how =
    scripts.length > 0
      ? text(
          `Running ${scripts.map((s) => runLine(s, false, 'rollback')).join(' or ')} puts back exactly what the apply step saved for ${ctx.where} (the backup it printed, or the last one recorded); without ${ctx.platform === 'windows' ? '-Apply' : '--apply'} it only prints what it would do.`,
        )
      : text(`No script was generated for ${ctx.where}: restore the configuration copy taken in section 4 and restart ${ctx.label}.`);
  return section('risks', [part('What could break', list(breakage(ctx, o, rec))), part('Roll back', ...scripts.map((s) => rollbackBlock(s, ctx.ip === undefined ? `${ctx.protocol}/${ctx.port} of the host` : ctx.where)), how)]);
}

const CVE_RE = /^CVE-\d{4}-\d{4,7}$/;

function references(ctx: PlanContext, o: PlanOptions): PlanSection {
  const links: { title: string; url: string }[] = [];
  const cve = ctx.finding.cve?.id ?? (ctx.finding.kind === 'vulnerability' ? ctx.finding.ref : undefined);
  if (typeof cve === 'string' && CVE_RE.test(cve)) links.push({ title: `NVD: ${cve}`, url: `https://nvd.nist.gov/vuln/detail/${cve}` });
  if (ctx.finding.cve?.kev === true) links.push({ title: 'CISA Known Exploited Vulnerabilities catalog', url: 'https://www.cisa.gov/known-exploited-vulnerabilities-catalog' });
  links.push(...ctx.knowledge.docs);
  const usesFirewall = o.options.some((x) => (x.id === 'block' || x.id === 'allowlist') && x.available);
  if (usesFirewall) links.push(...(FIREWALL_DOCS[ctx.firewall.id] ?? []));
  if (o.recommended === 'disable' && ctx.platform === 'linux') links.push({ title: 'systemctl(1) manual', url: 'https://www.freedesktop.org/software/systemd/man/latest/systemctl.html' });
  const seen = new Set<string>();
  const unique = links.filter((l) => (seen.has(l.url) ? false : (seen.add(l.url), true)));
  const intro = text(`Sources for ${ctx.label} on ${ctx.where}: ${unique.length > 0 ? 'the vendor documentation, the firewall manual and vulnerability records used in this plan' : 'none are recorded for this service beyond the firewall manual'}.`);
  return section('references', [part(undefined, intro, { kind: 'links', items: unique })]);
}

/** Sections 5–8. */
export function lateSections(ctx: PlanContext, o: PlanOptions): PlanSection[] {
  return [verification(ctx, o), prevention(ctx, o), risks(ctx, o), references(ctx, o)];
}
