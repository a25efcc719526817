/**
 * The upgrade option: which fixed version applies (from the plan input or the built-in vulnerability
 * data) and an apt script pair that upgrades one Debian package and can put the saved version back.
 * The package name comes from the knowledge table; a fixed version goes into the script only after
 * it passed a strict Debian-version pattern, and then only as a single-quoted word.
 */
import { BUILTIN_VULNS, type BuiltinFix } from '../assess/vulndb/builtin.js';
import { compareDebianVersions, parseDebianVersion } from '../core/version.js';
import type { PlanFix } from './plan-types.js';
import { applyScript, rollbackScript, shQuote } from './shell.js';
import type { GeneratedScript } from './types.js';

/** Debian codenames by the major number in `+debNNuM` revisions. */
const CODENAMES: Readonly<Record<string, string>> = { '8': 'jessie', '9': 'stretch', '10': 'buster', '11': 'bullseye', '12': 'bookworm', '13': 'trixie' };

/** The Debian release a package version was built for, from its `debNN` suffix; undefined when it has none. */
export function debianReleaseOf(version: string): string | undefined {
  const m = /[+~]deb(\d{1,2})u\d+/.exec(version.slice(0, 256));
  return m === null ? undefined : CODENAMES[m[1] ?? ''];
}

/** A Debian version we are willing to print inside single quotes in a script. */
const DEB_VERSION_RE = /^(?:[0-9]{1,9}:)?[0-9][A-Za-z0-9.+~-]{0,126}$/;

/** The version, if it is a well-formed Debian version of a safe alphabet (no quote can end the word). */
export function safeDebianVersion(version: unknown): string | undefined {
  if (typeof version !== 'string' || !DEB_VERSION_RE.test(version) || parseDebianVersion(version) === undefined) return undefined;
  return version;
}

/** Debian package names (policy 5.6.1): lower case, digits, `+ - .`, at least two characters. */
const PACKAGE_RE = /^[a-z0-9][a-z0-9+.-]{1,99}$/;

/** The fixes for a CVE: the input's, else the built-in data's Debian fixes. Entries that are not plain records are dropped. */
export function fixesFor(cveId: string | undefined, given: readonly PlanFix[] | undefined): PlanFix[] {
  const valid = (f: PlanFix): boolean =>
    typeof f === 'object' && f !== null && (f.source === 'debian' || f.source === 'upstream') && typeof f.package === 'string' && typeof f.version === 'string' && f.version.length > 0;
  const list: readonly PlanFix[] = Array.isArray(given) ? (given as readonly PlanFix[]) : [];
  if (list.length > 0) return list.filter(valid).slice(0, 50);
  if (cveId === undefined) return [];
  const entry = BUILTIN_VULNS.find((v) => v.id === cveId.toUpperCase());
  const fixed: readonly BuiltinFix[] = entry?.fixedIn ?? [];
  return fixed.map((f) => ({ source: 'debian' as const, package: f.package, version: f.version, ...(f.release === undefined ? {} : { release: f.release }) }));
}

/** What the installed package says about the fixes. */
export interface FixVerdict {
  /** The Debian fix for the installed package's release, when that can be told. */
  target?: PlanFix;
  /** The installed version is at or above the target fix. */
  alreadyFixed?: boolean;
}

/** Match the installed version's release to a Debian fix and compare. */
export function judgeFixes(fixes: readonly PlanFix[], installed: { name: string; version: string } | undefined): FixVerdict {
  const debian = fixes.filter((f) => f.source === 'debian');
  if (installed === undefined || typeof installed.version !== 'string') return {};
  const release = debianReleaseOf(installed.version);
  const target = debian.find((f) => (f.release ?? debianReleaseOf(f.version)) === release && release !== undefined);
  if (target === undefined) return {};
  const a = safeDebianVersion(installed.version.trim());
  const b = safeDebianVersion(target.version);
  if (a === undefined || b === undefined) return { target };
  return { target, alreadyFixed: compareDebianVersions(a, b) >= 0 };
}

/** What the apt script needs. */
export interface AptSpec {
  /** The binary package to upgrade (from the knowledge table). */
  package: string;
  /** Validated finding key for the header. */
  findingKey: string;
  /** The first fixed version; checked after the upgrade when it passes {@link safeDebianVersion}. */
  minVersion?: string;
}

/** The apt scripts: save the installed version, upgrade the package, check it reached the fix. */
export function aptScripts(spec: AptSpec): GeneratedScript {
  if (!PACKAGE_RE.test(spec.package)) throw new Error(`bad Debian package name for a script: ${JSON.stringify(spec.package.slice(0, 40))}`);
  const pkg = shQuote(spec.package);
  const min = spec.minVersion === undefined ? undefined : safeDebianVersion(spec.minVersion);
  const summary = `upgrade ${spec.package} from the configured apt sources${min === undefined ? '' : ` to at least ${min}`}`;
  const check =
    min === undefined
      ? []
      : [
          '# The archive must hold the fixed version; an upgrade that stops short changes nothing that matters.',
          'if [ "$APPLY" -eq 1 ]; then',
          `  NOW="$(dpkg-query -W -f='\${Version}' ${pkg})"`,
          `  dpkg --compare-versions "$NOW" ge '${min}' || die "${spec.package} is $NOW, still older than ${min}: is the security archive in the apt sources?"`,
          'fi',
        ];
  const apply = applyScript({
    backend: 'apt',
    summary,
    findingKey: spec.findingKey,
    requires: ['apt-get', 'dpkg-query', 'dpkg'],
    functions: [],
    // ${Version} is a dpkg-query field name, not a shell expansion.
    backup: ['# shellcheck disable=SC2016', `run_to "$BACKUP_DIR/apt.version" dpkg-query -W -f='\${Version}\\n' ${pkg}`],
    changes: [
      'run apt-get update',
      '# --only-upgrade: never installs the package where it is missing; the maintainer scripts restart the service.',
      `run apt-get install --only-upgrade -y ${pkg}`,
      ...check,
    ],
  });
  const rollback = rollbackScript({
    backend: 'apt',
    summary: `undo: ${summary} (reinstalls the saved version, which brings the vulnerability back)`,
    findingKey: spec.findingKey,
    requires: ['apt-get'],
    files: ['apt.version'],
    restore: [
      'VERSION=missing',
      'if [ -f "$BACKUP_DIR/apt.version" ]; then read -r VERSION <"$BACKUP_DIR/apt.version" || true; fi',
      'if [ "$VERSION" = missing ] || [ -z "$VERSION" ]; then',
      `  printf '? the version saved in %s decides: apt-get install --allow-downgrades %s=VERSION\\n' "$BACKUP_DIR/apt.version" ${pkg}`,
      'else',
      '  # Works only while an apt source still offers that version (or it is in /var/cache/apt/archives).',
      `  run apt-get install -y --allow-downgrades ${pkg}="$VERSION"`,
      'fi',
    ],
  });
  return { backend: 'apt', apply, rollback };
}
