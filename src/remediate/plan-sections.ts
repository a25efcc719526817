/**
 * Sections 1–3 of a plan: introduction, technical explanation, detection and assessment. Every
 * sentence names this finding's host, port or service; commands carry only validated values (the
 * IP literal, the integer port, unit names and paths from the knowledge table). Banner text and
 * reason texts appear in text blocks and table cells only.
 */
import type { LogSource } from './knowledge.js';
import { knowledgeFor } from './knowledge.js';
import { bannerText, cap, fill, has, plain, reachWords, targetGuard, type PlanContext } from './plan-context.js';
import { list, part, ps, section, sh, table, text } from './plan-blocks.js';
import type { PlanSection } from './plan-types.js';

/** `tcp` → `t`, for ss flags. */
const ssFlag = (ctx: PlanContext): string => (ctx.protocol === 'tcp' ? '-tlnp' : '-ulnp');

/** The ss filter that shows every socket on the finding's port. */
export function ssListen(ctx: PlanContext): string {
  return `ss ${ssFlag(ctx)} 'sport = :${ctx.port}'`;
}

/** `nc -vz -w 5 H P` (with -u for UDP). */
export function ncCheck(ctx: PlanContext, port = ctx.port, protocol = ctx.protocol): string {
  return `nc -vz${protocol === 'udp' ? 'u' : ''} -w 5 ${ctx.values.host} ${port}`;
}

/** Other services on the host, as short labels from our table (never the banner). */
export function hostServiceLabels(ctx: PlanContext): string[] {
  return ctx.hostServices.map((s) => {
    const k = knowledgeFor(s.name === undefined ? undefined : { name: s.name }, s.port, s.protocol).knowledge;
    return `${k.id === 'generic' ? 'unidentified' : k.label} on ${s.protocol}/${s.port}`;
  });
}

function introduction(ctx: PlanContext): PlanSection {
  const k = ctx.knowledge;
  const banner = bannerText(ctx);
  const cve = ctx.finding.cve;
  const score = Number.isFinite(ctx.finding.score) ? ` (score ${ctx.finding.score})` : '';
  const exposed = [
    `${cap(ctx.label)} answers on ${ctx.protocol} port ${ctx.port} of ${ctx.ip ?? 'a host whose address is not an IP literal'} and is ${reachWords(ctx)}.`,
    banner === undefined ? `The scan did not read a product or version from ${ctx.where}.` : `The scan identified the software on ${ctx.where} as “${banner}”.`,
    cve === undefined ? '' : `It matches ${plain(cve.id, 40)}${cve.summary === undefined ? '' : `: ${plain(cve.summary, 240)}`}.`,
    `portolan ranks this finding ${ctx.tier}${score} for ${ctx.where}.`,
  ].filter((s) => s !== '');
  const others = hostServiceLabels(ctx);
  const affected = [
    `Who depends on ${ctx.label} at ${ctx.where}: ${k.clients}; they are the ones a change here can break.`,
    `Whatever ${ctx.label} on ${ctx.ip ?? 'this host'} holds or can reach is what an attacker gets through it.`,
    others.length > 0
      ? `${ctx.ip ?? 'The host'} also exposes ${others.join(', ')}; a foothold through ${ctx.protocol}/${ctx.port} puts those at risk too.`
      : `No other open service is recorded on ${ctx.ip ?? 'this host'}, so ${ctx.protocol}/${ctx.port} is its only recorded way in.`,
  ];
  const gains = [`An attacker who reaches ${ctx.where} gains ${k.gains}.`];
  if (has(ctx, 'unauthenticated-access')) gains.push(`portolan's safe check already got into ${ctx.label} on ${ctx.where} without credentials: this is not theoretical.`);
  if (ctx.reach === 'local') gains.push(`Only processes on ${ctx.ip ?? 'the host'} itself can reach ${ctx.protocol}/${ctx.port}, so the attacker must already run code there.`);
  return section('introduction', [part('What is exposed', text(exposed.join(' '))), part('Who is affected', text(affected.join(' '))), part('What an attacker gains', text(gains.join(' ')))]);
}

function technical(ctx: PlanContext): PlanSection {
  const k = ctx.knowledge;
  const reasons = (Array.isArray(ctx.finding.reasons) ? ctx.finding.reasons : []).map((r) => {
    const w = Number.isFinite(r.weight) ? `${r.weight > 0 ? '+' : ''}${r.weight}` : '?';
    return `${plain(String(r.text), 400)} (rule ${plain(String(r.rule), 40)}, ${w})`;
  });
  const cause = text(`On ${ctx.ip ?? 'this host'}, ${ctx.label} listens on ${ctx.protocol}/${ctx.port}: ${k.cause}.`);
  const mechanism = text(`How ${ctx.label} on ${ctx.where} is attacked: ${k.attack}.`);
  const family = ctx.family === 'both' ? 'either address family' : `IPv${ctx.family}`;
  const scope = [
    `This finding covers ${ctx.protocol}/${ctx.port} on ${ctx.ip ?? 'the host'} over ${family} only.`,
    `${cap(ctx.label)} may listen on more addresses of ${ctx.ip ?? 'this host'} (the other address family, other interfaces): the ss output in section 3 lists every socket on port ${ctx.port}.`,
  ];
  if (ctx.hostServices.length > 0) scope.push(`The ${ctx.hostServices.length} other open service(s) of ${ctx.ip ?? 'the host'} have findings of their own and are out of this plan's scope.`);
  const parts = [part('Root cause', cause, ...(reasons.length > 0 ? [text(`Why portolan flagged ${ctx.where}:`), list(reasons)] : [])), part('Exploit mechanism', mechanism), part('Scope', text(scope.join(' ')))];
  const cve = ctx.finding.cve;
  if (cve !== undefined) {
    const cvss = typeof cve.cvss === 'number' && Number.isFinite(cve.cvss) ? cve.cvss.toFixed(1) : 'unscored';
    const epss = typeof cve.epss === 'number' && Number.isFinite(cve.epss) ? `${(cve.epss * 100).toFixed(1)}%` : 'unknown';
    const row = [plain(cve.id, 40), cvss, cve.kev === true ? 'yes: exploited in the wild' : 'no', epss, cve.confidence === 'confirmed' ? 'confirmed' : 'banner-based', plain(cve.summary ?? '', 240)];
    const note =
      cve.confidence === 'confirmed'
        ? `${plain(cve.id, 40)} is confirmed for ${ctx.where}, not only inferred from the banner.`
        : `${plain(cve.id, 40)} was matched from the version banner of ${ctx.where}; a distribution may have backported the fix, so compare the installed package version with the fixed versions in section 4.`;
    parts.push(part('Matched vulnerabilities', table(['CVE', 'CVSS', 'CISA KEV', 'EPSS', 'Confidence', 'Summary'], [row]), text(note)));
  }
  return section('technical', parts);
}

/** A log file path we can put into a command: absolute or under ~, simple characters and globs only. */
const LOG_PATH_RE = /^[~/][A-Za-z0-9_./*@:-]+$/;

function logCommands(logs: readonly LogSource[]): string[] {
  const out: string[] = [];
  for (const l of logs) {
    if (l.unit !== undefined) out.push(`journalctl -u '${l.unit}' --since -24h --no-pager | tail -n 200`);
    if (l.file !== undefined && LOG_PATH_RE.test(l.file)) out.push(`tail -n 200 ${l.file}`);
  }
  return out;
}

function detection(ctx: PlanContext): PlanSection {
  const k = ctx.knowledge;
  const parts = [];
  const guard = targetGuard(ctx);
  if (ctx.platform === 'windows') {
    const lines = [`netstat -ano | findstr :${ctx.port}`];
    if (ctx.protocol === 'tcp') lines.push(`Get-NetTCPConnection -LocalPort ${ctx.port} -State Listen | Format-Table LocalAddress, LocalPort, OwningProcess`);
    else lines.push(`Get-NetUDPEndpoint -LocalPort ${ctx.port} | Format-Table LocalAddress, LocalPort, OwningProcess`);
    if (k.windowsService !== undefined) lines.push(`Get-Service -Name '${k.windowsService}'`);
    parts.push(part('Quick check on the host', ps(lines), text(`A LocalAddress of 0.0.0.0 or :: for port ${ctx.port} means ${ctx.label} listens on every address of ${ctx.ip ?? 'the host'}; 127.0.0.1 or ::1 means loopback only.`)));
  } else {
    const lines = [ssListen(ctx)];
    const unit = k.debian?.unit;
    if (unit !== undefined) lines.push(`systemctl status '${unit}' --no-pager`);
    else lines.push(`PID="$(ss -H ${ssFlag(ctx)} 'sport = :${ctx.port}' | grep -o 'pid=[0-9]*' | head -n 1 | cut -d= -f2)"`, 'ls -l "/proc/$PID/exe" && systemctl status "$PID" --no-pager');
    if (k.who !== undefined) lines.push(fill(ctx, k.who));
    const read = `A listener on 0.0.0.0:${ctx.port} or [::]:${ctx.port} (or *:${ctx.port}) means ${ctx.label} takes connections on every address of ${ctx.ip ?? 'the host'}; 127.0.0.1:${ctx.port} or [::1]:${ctx.port} means loopback only.`;
    const who = unit === undefined ? ` The PID lines name the program that owns ${ctx.protocol}/${ctx.port} and the unit that started it.` : '';
    parts.push(part('Quick check on the host', sh([...guard, ...lines]), text(`${read}${who}`)));
  }
  const remote = [ncCheck(ctx)];
  if (k.probe !== undefined && !remote.includes(fill(ctx, k.probe))) remote.push(fill(ctx, k.probe));
  const answer = k.answer === undefined ? '' : ` What the ${ctx.label} client command shows for ${ctx.where}: ${k.answer}.`;
  const winCheck = ctx.platform === 'windows' && ctx.protocol === 'tcp' ? [ps([`Test-NetConnection -ComputerName ${ctx.values.host} -Port ${ctx.port}`])] : [];
  parts.push(part('Check from another machine', sh([...guard, ...remote]), ...winCheck, text(`Run these from a machine that should not reach ${ctx.where} (outside the allowed networks).${answer}`)));
  if (ctx.protocol === 'tcp' && ctx.ip !== undefined) {
    parts.push(
      part(
        'Re-scan with portolan',
        sh([`portolan scan ${ctx.ip} -p ${ctx.port}`, `portolan findings --host ${ctx.ip}`]),
        text(`The scan refreshes what the store knows about ${ctx.where}; findings lists what is still open on ${ctx.ip} with its reasons.`),
      ),
    );
  } else {
    parts.push(part('Re-scan with portolan', text(`portolan's connect scan probes TCP only, so ${ctx.where} is re-checked with the client commands above${ctx.ip === undefined ? ' and a scan of the host by its IP address' : ''}.`)));
  }
  const logLines = logCommands(k.logs);
  const looks = (ctx.platform === 'windows' ? [] : k.logs).map((l) => `${l.unit !== undefined ? `journal of ${l.unit}` : (l.file ?? 'the service log')} on ${ctx.ip ?? 'the host'}: ${l.look} (for ${ctx.label} on port ${ctx.port}).`);
  const logParts = [];
  if (ctx.platform === 'windows' && k.windowsLogs !== undefined && k.windowsLogs.length > 0) {
    logParts.push(ps([...k.windowsLogs]), text(`Run these on ${ctx.ip ?? 'the host'} in an elevated PowerShell: they list the latest events ${ctx.label} and Windows logged for logons and connections.`));
  }
  if (ctx.platform === 'linux' && logLines.length > 0) logParts.push(sh(logLines));
  if (looks.length > 0) logParts.push(list(looks));
  if (logParts.length === 0) logParts.push(text(`No log location is known for ${ctx.label}; the firewall log rule in section 5 records who tries ${ctx.protocol}/${ctx.port} from now on.`));
  parts.push(part('Logs to read', ...logParts));
  return section('detection', parts);
}

/** Sections 1–3. */
export function earlySections(ctx: PlanContext): PlanSection[] {
  return [introduction(ctx), technical(ctx), detection(ctx)];
}
