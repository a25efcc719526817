/**
 * Which known vulnerabilities apply to a service, and how sure we are. The CPE matcher decides
 * whether the product and version fall in a CVE's vulnerable configurations; then backports:
 * distributions patch old upstream versions, so a banner's version alone never proves a CVE.
 * When a distribution's fixed package version is known (`fixedIn`) and the installed package
 * version is known too (an SSH audit's package list, or a banner's package revision), the two are
 * compared: fixed means no finding, older means confirmed. Otherwise the match is kept as
 * `banner-based` — possibly backported — never dropped and never claimed as certain.
 */
import { fromCpe22 } from '../core/cpe.js';
import type { Service } from '../core/model.js';
import { compareDebianVersions, compareRpmVersions, compareVersions, parseDebianVersion } from '../core/version.js';
import type { MatchedVuln } from './findings.js';
import { cpeAliases } from './vulndb/aliases.js';
import { matchConfigurations } from './vulndb/cpe-match.js';
import type { Configuration } from './vulndb/types.js';

/** A distribution's fixed package version for one CVE. */
export interface DistroFix {
  /** `debian`, `ubuntu`, `rhel`, … (lower case, as banners and os-release name them). */
  distro: string;
  /** The source or binary package (`openssh`, `openssh-server`). */
  package: string;
  /** The first fixed version, in the distribution's own format (`1:9.2p1-2+deb12u3`). */
  version: string;
}

/** A CVE that may apply, as the store gives it. */
export interface VulnCandidate {
  id: string;
  cvss?: { score: number };
  kev?: unknown;
  epss?: { epss: number };
  description?: string;
  /** NVD configurations; anything else is ignored. */
  configurations: unknown;
  fixedIn?: readonly DistroFix[];
}

export interface InstalledPackageVersion {
  name: string;
  version: string;
  manager: 'dpkg' | 'rpm';
}

export interface MatchContext {
  service: Service;
  /** OS CPEs of the host, when known. */
  platform?: string[];
  /** The host's installed packages (SSH audit). */
  packages?: readonly InstalledPackageVersion[];
}

const MAX_SUMMARY = 300;

function configurationsOf(value: unknown): Configuration[] {
  return Array.isArray(value) ? (value.filter((c) => c !== null && typeof c === 'object' && Array.isArray((c as Configuration).nodes)) as Configuration[]) : [];
}

/** The service's CPEs as 2.3 names (2.2 URIs from imports converted), under every vendor alias. */
export function cpesOf(service: Service): string[] {
  const out: string[] = [];
  for (const c of Array.isArray(service.cpe) ? service.cpe : []) {
    if (typeof c !== 'string') continue;
    const name = c.startsWith('cpe:/') ? fromCpe22(c) : c;
    if (name !== undefined) out.push(...cpeAliases(name));
  }
  return out;
}

/**
 * Binary packages built from a source package, where the names differ: distribution advisories
 * name source packages, `dpkg-query` lists binary ones.
 */
const BINARIES: Readonly<Record<string, readonly string[]>> = {
  openssh: ['openssh-server', 'openssh-client', 'openssh-sftp-server'],
  apache2: ['apache2', 'apache2-bin'],
  exim4: ['exim4-daemon-light', 'exim4-daemon-heavy', 'exim4-base'],
  nginx: ['nginx', 'nginx-core', 'nginx-full', 'nginx-light', 'nginx-extras', 'nginx-common'],
  'proftpd-dfsg': ['proftpd-basic', 'proftpd-core'],
  redis: ['redis-server', 'redis-tools'],
  openssl: ['openssl', 'libssl3', 'libssl1.1', 'libssl1.0.2'],
  samba: ['samba', 'samba-libs', 'samba-common-bin'],
};

function fromPackage(fix: DistroFix, installed: string): boolean {
  return installed === fix.package || (BINARIES[fix.package]?.includes(installed) ?? false);
}

/** The Debian release a package version belongs to, from its `+debNuM` / `~debNuM` suffix. */
function debianRelease(version: string): string | undefined {
  return /[+~]deb(\d{1,2})u\d+/.exec(version)?.[1];
}

/**
 * What the distribution data says: 'fixed' (installed ≥ fixed), 'vulnerable' (installed older),
 * or undefined when nothing could be compared.
 */
function distroVerdict(fixes: readonly DistroFix[], ctx: MatchContext): 'fixed' | 'vulnerable' | undefined {
  for (const fix of fixes) {
    const installed = ctx.packages?.find((p) => fromPackage(fix, p.name));
    if (installed === undefined) continue;
    if (installed.manager === 'rpm') return compareRpmVersions(installed.version, fix.version) >= 0 ? 'fixed' : 'vulnerable';
    // Only a fix for the same release says anything: bullseye's fixed version is not bookworm's.
    if (debianRelease(installed.version) === undefined || debianRelease(installed.version) !== debianRelease(fix.version)) continue;
    return compareDebianVersions(installed.version, fix.version) >= 0 ? 'fixed' : 'vulnerable';
  }
  // A banner that names its distribution and package revision (`OpenSSH_9.2p1 Debian-2+deb12u3`).
  const distro = ctx.service.distro?.toLowerCase();
  const revision = ctx.service.packageRevision;
  const upstream = ctx.service.version;
  if (distro === undefined || revision === undefined || upstream === undefined) return undefined;
  for (const fix of fixes) {
    if (fix.distro.toLowerCase() !== distro) continue;
    if (debianRelease(revision) === undefined || debianRelease(revision) !== debianRelease(fix.version)) continue;
    const fixed = parseDebianVersion(fix.version);
    const banner = parseDebianVersion(`${fixed?.epoch ?? 0}:${upstream}-${revision}`);
    if (fixed === undefined || banner === undefined) continue;
    // The banner shows no epoch; the fixed version's is assumed (a package keeps its epoch).
    return compareDebianVersions(`${banner.epoch}:${banner.upstream}-${banner.revision}`, fix.version) >= 0 ? 'fixed' : 'vulnerable';
  }
  return undefined;
}

/** The candidates that apply to the service, each with how sure the match is. */
export function matchVulns(ctx: MatchContext, candidates: readonly VulnCandidate[]): MatchedVuln[] {
  const cpes = cpesOf(ctx.service);
  if (cpes.length === 0) return [];
  const out: MatchedVuln[] = [];
  for (const c of candidates) {
    const configs = configurationsOf(c.configurations);
    if (configs.length === 0) continue;
    const match = matchConfigurations(configs, { cpes, ...(ctx.platform !== undefined && { platform: ctx.platform }) }, compareVersions);
    if (match === undefined) continue;
    const verdict = c.fixedIn !== undefined && c.fixedIn.length > 0 ? distroVerdict(c.fixedIn, ctx) : undefined;
    if (verdict === 'fixed') continue;
    const v: MatchedVuln = { id: c.id, confidence: verdict === 'vulnerable' && match.certain ? 'confirmed' : 'banner-based' };
    if (c.cvss !== undefined && Number.isFinite(c.cvss.score)) v.cvss = c.cvss.score;
    if (c.kev !== undefined && c.kev !== null && c.kev !== false) v.kev = true;
    if (c.epss !== undefined && Number.isFinite(c.epss.epss)) v.epss = c.epss.epss;
    const why = match.certain ? match.why : `${match.why} (not certain)`;
    v.summary = `${why}${c.description !== undefined && c.description !== '' ? ` — ${c.description}` : ''}`.slice(0, MAX_SUMMARY);
    out.push(v);
  }
  return out;
}
