/**
 * Findings from services: one exposure finding per open service, one per vulnerability matched
 * to it, one per safe check that failed on it. Each is ranked by the rule table (priority.ts) on
 * the facts it is about, so a CVE finding carries the CVE's weight and the exposure's, while the
 * exposure finding carries only the exposure's. Pure: the caller supplies services, matches and
 * policy facts, and the store keeps the result under each finding's stable key.
 */
import type { BindScope } from '../core/bind-scope.js';
import { findingKey, type FindingDraft } from '../core/finding.js';
import type { Evidence, Protocol, Service } from '../core/model.js';
import type { PortState } from '../core/status.js';
import type { Zone } from './exposure.js';
import { assessService, type AssessInput, type ServiceFacts, type VulnFact } from './priority.js';

export type { FindingDraft };

/** A vulnerability matched to a service. */
export interface MatchedVuln extends VulnFact {
  summary?: string;
}

/** One service to assess, with what the caller knows around it. */
export interface ServiceSubject {
  address: string;
  protocol: Protocol;
  port: number;
  state: PortState;
  service?: Service;
  listenerScope?: BindScope;
  bindAddress?: string;
  vulns?: MatchedVuln[];
  zone?: Zone;
  /** The policy allows this service (undefined: no policy). */
  expected?: boolean;
  /** Services on this host the policy does not allow. */
  unexpectedOnHost?: number;
  /** Open from some vantage points, filtered from others. */
  filteredButReachable?: boolean;
}

const MAX_VULNS_PER_SERVICE = 500;

function facts(s: ServiceSubject): ServiceFacts {
  const svc = s.service;
  const f: ServiceFacts = { name: svc?.name ?? 'unknown', port: s.port, protocol: s.protocol, state: s.state, confidence: svc?.confidence ?? 0, method: svc?.method ?? 'table' };
  if (svc?.product !== undefined) f.product = svc.product;
  if (svc?.version !== undefined) f.version = svc.version;
  if (svc?.tunnel === 'ssl' || svc?.tls !== undefined) f.tls = true;
  if (svc?.startTls === true) f.startTls = true;
  const auth = svc?.fields?.['http_header.www-authenticate'];
  if (auth !== undefined) f.wwwAuthenticate = auth;
  return f;
}

/** How a title names the service: `OpenSSH 9.2p1`, `redis`, `unknown service`. */
function label(svc: Service | undefined): string {
  if (svc === undefined || svc.name === 'unknown' || svc.name === '') return 'unknown service';
  const product = svc.product ?? svc.name;
  return svc.version !== undefined && svc.version !== '' ? `${product} ${svc.version}` : product;
}

function serviceOf(svc: Service | undefined): FindingDraft['service'] {
  if (svc === undefined) return undefined;
  const out: NonNullable<FindingDraft['service']> = { name: svc.name };
  if (svc.product !== undefined) out.product = svc.product;
  if (svc.version !== undefined) out.version = svc.version;
  if (svc.cpe.length > 0) out.cpe = [...svc.cpe];
  return out;
}

function base(s: ServiceSubject): AssessInput {
  const input: AssessInput = { service: facts(s), address: s.address };
  if (s.zone !== undefined) input.zone = s.zone;
  if (s.listenerScope !== undefined) input.listenerScope = s.listenerScope;
  if (s.bindAddress !== undefined) input.bindAddress = s.bindAddress;
  if (s.expected !== undefined) input.expected = s.expected;
  if (s.unexpectedOnHost !== undefined) input.unexpectedOnHost = s.unexpectedOnHost;
  if (s.filteredButReachable === true) input.filteredButReachable = true;
  return input;
}

/** The findings of these services, in input order (exposure first, then CVEs, then checks). */
export function deriveFindings(subjects: readonly ServiceSubject[]): FindingDraft[] {
  const out: FindingDraft[] = [];
  for (const s of subjects) {
    if (s.state !== 'open') continue;
    const where = { address: s.address, protocol: s.protocol, port: s.port };
    const service = serviceOf(s.service);
    const name = label(s.service);
    const exposure = assessService(base(s));
    out.push({ key: findingKey(s.address, s.protocol, s.port, 'exposure'), ...where, kind: 'exposure', title: `${name} exposed on ${s.port}/${s.protocol}`, ...exposure, ...(service && { service }) });
    const seen = new Set<string>();
    for (const v of (s.vulns ?? []).slice(0, MAX_VULNS_PER_SERVICE)) {
      if (seen.has(v.id)) continue;
      seen.add(v.id);
      const a = assessService({ ...base(s), vulns: [v] });
      const cve: NonNullable<FindingDraft['cve']> = { id: v.id, confidence: v.confidence };
      if (v.cvss !== undefined && Number.isFinite(v.cvss)) cve.cvss = v.cvss;
      if (v.kev === true) cve.kev = true;
      if (v.epss !== undefined && Number.isFinite(v.epss)) cve.epss = v.epss;
      if (v.summary !== undefined) cve.summary = v.summary;
      const title = `${v.id} in ${name}${v.confidence === 'banner-based' ? ' (by banner version, possibly backported)' : ''}`;
      out.push({ key: findingKey(s.address, s.protocol, s.port, 'vulnerability', v.id), ...where, kind: 'vulnerability', ref: v.id, title, ...a, ...(service && { service }), cve });
    }
    for (const e of checksOf(s.service)) {
      const a = assessService({ ...base(s), safeCheckFailed: [e] });
      out.push({ key: findingKey(s.address, s.protocol, s.port, 'check', e.id), ...where, kind: 'check', ref: e.id, title: `${e.detail} (${name} on ${s.port}/${s.protocol})`, ...a, ...(service && { service }) });
    }
  }
  return out;
}

/** The safe checks that found something, once each. */
function checksOf(svc: Service | undefined): Evidence[] {
  const seen = new Set<string>();
  return (svc?.evidence ?? []).filter((e) => typeof e.id === 'string' && e.id !== '' && !seen.has(e.id) && seen.add(e.id) !== undefined);
}
