/**
 * A finding → a remediation plan: eight sections written for this host, port, service, version and
 * these reasons, five options with the recommended one first, and the scripts that carry them out.
 * Pure and deterministic: the same input gives the same plan (generatedAt is the input's clock).
 * UsageErrors surface for what the user supplied (backend ids, --allow-from, --iface, --mode).
 */
import { buildOptions } from './options.js';
import { lateSections } from './plan-after.js';
import { bannerText, plain, planContext, reachWords, type PlanContext } from './plan-context.js';
import { earlySections } from './plan-sections.js';
import { solutionSection } from './plan-solution.js';
import type { PlanChoices, PlanInput, RemediationPlan } from './plan-types.js';

/** The one-line headline: what runs where, and the strongest reason. */
function headline(ctx: PlanContext): string {
  const cve = ctx.finding.cve?.id;
  const banner = bannerText(ctx);
  const what = banner === undefined ? ctx.label : `${ctx.label} (${banner})`;
  if (cve !== undefined) return `${what} on ${ctx.where} is affected by ${plain(cve, 40)}${ctx.finding.cve?.kev === true ? ', exploited in the wild' : ''}`;
  if (ctx.rules.has('unauthenticated-access')) return `${what} on ${ctx.where} answers without authentication and is ${reachWords(ctx)}`;
  if (ctx.rules.has('cleartext-remote-shell') || ctx.rules.has('cleartext')) return `${what} on ${ctx.where} carries logins in cleartext and is ${reachWords(ctx)}`;
  if (ctx.rules.has('unknown-service')) return `An unidentified service on ${ctx.where} is ${reachWords(ctx)}`;
  return `${what} on ${ctx.where} is ${reachWords(ctx)}`;
}

/** Build the plan for one finding. */
export function buildPlan(input: PlanInput, choices: PlanChoices): RemediationPlan {
  const ctx = planContext(input, choices);
  const options = buildOptions(ctx);
  const f = input.finding;
  const finding: RemediationPlan['finding'] = {
    key: f.key,
    address: f.address,
    protocol: f.protocol,
    port: f.port,
    kind: f.kind,
    title: f.title,
    tier: f.tier,
    score: f.score,
    reasons: Array.isArray(f.reasons) ? f.reasons.map((r) => ({ ...r })) : [],
    status: f.status,
    ...(f.ref === undefined ? {} : { ref: f.ref }),
    ...(f.service === undefined ? {} : { service: { ...f.service, ...(f.service.cpe === undefined ? {} : { cpe: [...f.service.cpe] }) } }),
    ...(f.cve === undefined ? {} : { cve: { ...f.cve } }),
  };
  return {
    version: 1,
    finding,
    title: headline(ctx),
    recommended: options.recommended,
    options: options.options,
    sections: [...earlySections(ctx), solutionSection(ctx, options), ...lateSections(ctx, options)],
    generatedAt: input.now,
  };
}
