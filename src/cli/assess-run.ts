/**
 * One assessment of the whole store: every service the store knows, the vulnerabilities its CPEs
 * match (with the host's packages for backports), the policy when one is given, ranked into
 * findings and synced under their stable keys. Every port the store knows counts as covered: a
 * finding whose port is now closed, or whose CVE no longer matches, is fixed.
 */
import { splitCpe23, fromCpe22 } from '../core/cpe.js';
import { portKey } from '../core/finding.js';
import type { ListenerInfo, Service } from '../core/model.js';
import { deriveFindings, type ServiceSubject } from '../assess/findings.js';
import { checkPolicy, zoneOf, type Policy } from '../assess/policy.js';
import { cpesOf, matchVulns, type InstalledPackageVersion } from '../assess/vuln-match.js';
import { builtinCandidates } from '../assess/vulndb/builtin.js';
import type { FindingSync } from '../store/findings.js';
import type { ServiceRow, Store } from '../store/types.js';
import type { VulnCandidate } from '../store/vulns.js';

/** vendor:product of a CPE (2.3 or 2.2), lower case, as the vulnerability index keeps it. */
function productOf(cpe: string): { vendor: string; product: string } | undefined {
  const name = cpe.startsWith('cpe:/') ? fromCpe22(cpe) : cpe;
  const f = name === undefined ? undefined : splitCpe23(name);
  const vendor = f?.[1]?.toLowerCase();
  const product = f?.[2]?.toLowerCase();
  if (vendor === undefined || product === undefined || vendor === '*' || product === '*') return undefined;
  return { vendor, product };
}

/** The service as the model holds it, from the merged row. */
function serviceOf(row: ServiceRow): Service | undefined {
  if (row.service !== undefined && typeof row.service === 'object') return { ...row.service, cpe: Array.isArray(row.service.cpe) ? row.service.cpe : row.cpe };
  if (row.name === undefined) return undefined;
  const s: Service = { name: row.name, method: row.method ?? 'table', confidence: row.confidence, cpe: row.cpe };
  if (row.product !== undefined) s.product = row.product;
  if (row.version !== undefined) s.version = row.version;
  return s;
}

/**
 * The store's candidates plus the built-in data set's (offline, out of the box). What the user
 * imported wins for a CVE both have; the built-in one adds what the feeds lack (distribution
 * fixes, the KEV flag).
 */
function withBuiltin(stored: VulnCandidate[], products: { vendor: string; product: string }[]): VulnCandidate[] {
  const byId = new Map(stored.map((c) => [c.id, c]));
  for (const b of builtinCandidates(products)) {
    const have = byId.get(b.id);
    if (have !== undefined) {
      if (have.fixedIn === undefined && b.fixedIn !== undefined) have.fixedIn = b.fixedIn.map((f) => ({ distro: f.distro, package: f.package, version: f.version }));
      if (have.kev === undefined && b.kev) have.kev = { cve: b.id, dateAdded: '', ransomware: false, name: '' };
      continue;
    }
    const c: VulnCandidate = { id: b.id, source: 'builtin', description: b.summary, configurations: b.configurations, cvss: { ...b.cvss } };
    if (b.kev) c.kev = { cve: b.id, dateAdded: '', ransomware: false, name: '' };
    if (b.fixedIn !== undefined) c.fixedIn = b.fixedIn.map((f) => ({ distro: f.distro, package: f.package, version: f.version }));
    byId.set(b.id, c);
  }
  return [...byId.values()];
}

export interface AssessResult extends FindingSync {
  services: number;
  findings: number;
}

export async function assessStore(store: Store, opts: { policy?: Policy; at?: number } = {}): Promise<AssessResult> {
  const at = opts.at ?? Date.now();
  const rows = await store.services();
  // Each open row's service and its CPEs under every vendor alias, worked out once.
  const open = rows.filter((r) => r.state === 'open').map((r) => {
    const service = serviceOf(r);
    return { r, service, cpes: service === undefined ? [] : cpesOf(service) };
  });
  // Candidates for every product any open service names, fetched once.
  const products = new Map<string, { vendor: string; product: string }>();
  for (const { cpes } of open) {
    for (const c of cpes) {
      const p = productOf(c);
      if (p !== undefined) products.set(`${p.vendor}:${p.product}`, p);
    }
  }
  const candidates = products.size === 0 ? [] : withBuiltin(await store.vulnCandidates([...products.values()]), [...products.values()]);
  const byProduct = new Map<string, VulnCandidate[]>();
  for (const c of candidates) {
    for (const config of Array.isArray(c.configurations) ? (c.configurations as { nodes?: { cpeMatch?: { criteria?: string }[] }[] }[]) : []) {
      for (const node of config.nodes ?? []) {
        for (const m of node.cpeMatch ?? []) {
          const p = typeof m.criteria === 'string' ? productOf(m.criteria) : undefined;
          if (p === undefined) continue;
          const list = byProduct.get(`${p.vendor}:${p.product}`) ?? [];
          if (!list.includes(c)) list.push(c);
          byProduct.set(`${p.vendor}:${p.product}`, list);
        }
      }
    }
  }
  // Installed packages of audited hosts, for backport checks.
  const packages = new Map<string, InstalledPackageVersion[]>();
  for (const p of await store.packages()) {
    const list = packages.get(p.address) ?? [];
    list.push({ name: p.name, version: p.version, manager: p.manager });
    packages.set(p.address, list);
  }
  // Open now, yet seen filtered by some scan while it was open: reachable from some places only.
  const filtered = await store.filteredSightings();
  const policyCheck = opts.policy === undefined ? undefined : checkPolicy(opts.policy, open.map(({ r }) => ({ address: r.address, protocol: r.protocol, port: r.port, state: r.state, ...(r.name !== undefined && { name: r.name }) })));
  const unexpected = new Set(policyCheck?.unexpected.map(portKey) ?? []);
  const unexpectedPerHost = new Map<string, number>();
  for (const u of policyCheck?.unexpected ?? []) unexpectedPerHost.set(u.address, (unexpectedPerHost.get(u.address) ?? 0) + 1);

  const subjects: ServiceSubject[] = open.map(({ r, service, cpes }) => {
    const s: ServiceSubject = { address: r.address, protocol: r.protocol, port: r.port, state: r.state };
    if (service !== undefined) {
      s.service = service;
      const mine = new Set<VulnCandidate>();
      for (const c of cpes) {
        const p = productOf(c);
        for (const v of p === undefined ? [] : (byProduct.get(`${p.vendor}:${p.product}`) ?? [])) mine.add(v);
      }
      if (mine.size > 0) {
        const vulns = matchVulns(
          { service, ...(packages.has(r.address) && { packages: packages.get(r.address)! }) },
          [...mine],
        );
        if (vulns.length > 0) s.vulns = vulns;
      }
    }
    const filteredAt = filtered.get(portKey(r));
    if (filteredAt !== undefined && filteredAt >= r.firstSeen) s.filteredButReachable = true;
    const listener = r.listener as ListenerInfo | undefined;
    if (listener !== undefined && typeof listener === 'object' && typeof listener.scope === 'string') {
      s.listenerScope = listener.scope;
      if (typeof listener.bindAddress === 'string') s.bindAddress = listener.bindAddress;
    }
    if (opts.policy !== undefined) {
      const zone = zoneOf(opts.policy, r.address);
      if (zone !== undefined) s.zone = zone;
      s.expected = !unexpected.has(portKey(r));
      s.unexpectedOnHost = unexpectedPerHost.get(r.address) ?? 0;
    }
    return s;
  });
  const drafts = deriveFindings(subjects);
  const covered = new Set(rows.map(portKey));
  const sync = await store.syncFindings(drafts, covered, at);
  return { ...sync, services: open.length, findings: drafts.length };
}
