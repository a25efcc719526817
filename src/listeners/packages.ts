/**
 * Installed-package lists as the remote host prints them, for backport-aware CVE checks. Pure,
 * bounded parsers: the text comes from a machine we do not trust, so a bad line is skipped and
 * counted, never fatal, and nothing outside the documented shapes gets through.
 */
import type { InstalledPackage } from '../core/model.js';

/**
 * What we run for dpkg: name, version, architecture and the status abbreviation, so packages that
 * were removed but left configuration files behind (`rc`) are not reported as installed.
 */
export const DPKG_QUERY_COMMAND = "dpkg-query -W -f='${Package}\\t${Version}\\t${Architecture}\\t${db:Status-Abbrev}\\n'";
/** What we run for rpm. `EPOCHNUM` prints 0 for no epoch, so every version has the same `E:V-R` shape. */
export const RPM_QUERY_COMMAND = "rpm -qa --qf '%{NAME}\\t%{EPOCHNUM}:%{VERSION}-%{RELEASE}\\t%{ARCH}\\n'";

/** Most packages kept from one host (a big Debian install has ~5 000). */
export const MAX_PACKAGES = 200_000;
/** Longest line considered; longer ones are counted as rejected. */
const MAX_LINE_CHARS = 4096;

// Debian policy: names are [a-z0-9][a-z0-9+.-]+, versions [epoch:]upstream[-revision] from [A-Za-z0-9.+~:-].
// We also let through upper case names, which old dpkg databases can hold.
const DPKG_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9+._-]{0,199}$/;
const DPKG_VERSION_RE = /^[A-Za-z0-9.+~:-]{1,200}$/;
// rpm names and versions are freer (underscores in names, `^` in versions since rpm 4.15).
const RPM_NAME_RE = /^[A-Za-z0-9_+][A-Za-z0-9+._-]{0,199}$/;
const RPM_VERSION_RE = /^[0-9]{1,10}:[A-Za-z0-9._+~^]{1,150}-[A-Za-z0-9._+~^]{1,150}$/;
const ARCH_RE = /^[A-Za-z0-9_.-]{1,32}$/;

/** A parsed list: the packages and how many lines were rejected (malformed, over-long, or beyond the cap). */
export interface PackageList {
  packages: InstalledPackage[];
  rejected: number;
}

/** Call `fn` for each line of `text` without building an array of every line; CR before LF is dropped. */
function eachLine(text: string, fn: (line: string) => void): void {
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = text.length;
    const len = end - start;
    // An over-long line is passed as a marker the callers reject without slicing a 16 MiB string.
    fn(len > MAX_LINE_CHARS ? '\u0000' : text.slice(start, end).replace(/\r$/, ''));
    start = end + 1;
  }
}

function push(list: PackageList, seen: Set<string>, pkg: InstalledPackage): void {
  if (list.packages.length >= MAX_PACKAGES) {
    list.rejected++;
    return;
  }
  // Multi-arch hosts list the same package once per architecture; the same triple twice is noise.
  const id = `${pkg.name}\t${pkg.version}\t${pkg.arch ?? ''}`;
  if (seen.has(id)) return;
  seen.add(id);
  list.packages.push(pkg);
}

/**
 * Parse `dpkg-query -W` output made with DPKG_QUERY_COMMAND (name, version, arch, status) or with
 * the plain three-field format. Lines with a status other than installed (`?i?`, e.g. `ii`, `hi`)
 * are dropped without counting as rejected; so are packages with no version (never installed).
 */
export function parseDpkgQuery(text: string): PackageList {
  const list: PackageList = { packages: [], rejected: 0 };
  const seen = new Set<string>();
  eachLine(text, (line) => {
    if (line.trim() === '') return;
    const f = line.split('\t');
    if (f.length < 3 || f.length > 4) {
      list.rejected++;
      return;
    }
    const [name = '', version = '', arch = '', status] = f;
    // Known but not installed: `un` with an empty version, or `rc` (config files only).
    if (status !== undefined && !/^[uihrp][ncHUFWti][ R]?$/.test(status)) {
      list.rejected++;
      return;
    }
    if (status !== undefined && status[1] !== 'i') return;
    if (version === '' && DPKG_NAME_RE.test(name)) return;
    if (!DPKG_NAME_RE.test(name) || !DPKG_VERSION_RE.test(version) || (arch !== '' && !ARCH_RE.test(arch))) {
      list.rejected++;
      return;
    }
    const pkg: InstalledPackage = { name, version, manager: 'dpkg' };
    if (arch !== '') pkg.arch = arch;
    push(list, seen, pkg);
  });
  return list;
}

/**
 * Parse `rpm -qa` output made with RPM_QUERY_COMMAND: name, `epoch:version-release`, arch. `gpg-pubkey`
 * pseudo-packages (imported signing keys) are skipped; `(none)` arch (those, and a few noarch
 * oddities) is left out of `arch`.
 */
export function parseRpmQuery(text: string): PackageList {
  const list: PackageList = { packages: [], rejected: 0 };
  const seen = new Set<string>();
  eachLine(text, (line) => {
    if (line.trim() === '') return;
    const f = line.split('\t');
    if (f.length !== 3) {
      list.rejected++;
      return;
    }
    const [name = '', version = '', arch = ''] = f;
    if (name === 'gpg-pubkey') return;
    const archOk = arch === '(none)' || ARCH_RE.test(arch);
    if (!RPM_NAME_RE.test(name) || !RPM_VERSION_RE.test(version) || !archOk) {
      list.rejected++;
      return;
    }
    const pkg: InstalledPackage = { name, version, manager: 'rpm' };
    if (arch !== '(none)') pkg.arch = arch;
    push(list, seen, pkg);
  });
  return list;
}
