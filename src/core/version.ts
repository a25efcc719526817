/**
 * Version ordering for CVE matching, in three schemes:
 * - upstream versions as NVD ranges and banners write them (`9.2p1`, `1.0.2k`, `3.0.0-rc1`): {@link compareVersions};
 * - Debian package versions, dpkg's rules from Debian Policy §5.6.12: {@link compareDebianVersions};
 * - RPM package versions, rpmvercmp's rules: {@link compareRpmVersions}.
 *
 * Every input may come from a banner or a file, so every comparator accepts any string (or any
 * value at all), never throws, runs in linear time without regexes that can backtrack, and is a
 * total preorder over all strings: reflexive, antisymmetric in sign, transitive. Strings a scheme
 * cannot read ("junk": empty, longer than {@link MAX_VERSION_LENGTH}, wrong characters) sort before
 * every readable version and among themselves by UTF-16 code units; {@link inRange} refuses them.
 */

/** Longer strings are junk: no real version is this long, and the cap bounds the work per comparison. */
export const MAX_VERSION_LENGTH = 256;

/** A comparison: negative when a < b, 0 when equal, positive when a > b (the results here are -1, 0 or 1). */
export type Comparator = (a: string, b: string) => number;

const asString = (v: unknown): string => (typeof v === 'string' ? v : '');
const isDigit = (c: number): boolean => c >= 48 && c <= 57;
const isLetter = (c: number): boolean => (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
const sign = (n: number): number => (n < 0 ? -1 : n > 0 ? 1 : 0);

/** Plain code-unit order: used for junk and for letter runs, never locale-dependent. */
function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Two runs of ASCII digits compared as numbers of any size (leading zeros ignored, empty = 0). */
function compareDigits(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length && a.charCodeAt(i) === 48) i++;
  while (j < b.length && b.charCodeAt(j) === 48) j++;
  const la = a.length - i;
  const lb = b.length - j;
  if (la !== lb) return la < lb ? -1 : 1;
  return compareText(a.slice(i), b.slice(j));
}

/** The order shared by all schemes for inputs one or both cannot read. */
function compareWithJunk(a: string, b: string, aOk: boolean, bOk: boolean): number {
  if (aOk !== bOk) return aOk ? 1 : -1;
  return compareText(a, b);
}

// ---- Upstream versions

/**
 * Words that mark a pre-release: they sort before the release they precede (`1.0rc1 < 1.0`).
 * Single letters are not here on purpose: OpenSSL's `1.0.2a` comes after `1.0.2`.
 */
const PRE_RELEASE = new Map<string, number>([
  ['dev', 0], ['snapshot', 0], ['alpha', 1], ['beta', 2], ['pre', 3], ['preview', 3], ['rc', 4],
]);

/** Separators between upstream components; anything else that is not a letter or digit is junk. */
const UPSTREAM_SEPARATORS = new Set(['.', '-', '_', '+', '~', ' ', '\\'].map((c) => c.charCodeAt(0)));

/** An upstream component. Class orders components: pre-release < zero (and end) < word < number > 0. */
interface Component {
  cls: 0 | 1 | 2 | 3;
  /** Pre-release rank, word text, or digits without leading zeros. */
  key: number | string;
}
const END: Component = { cls: 1, key: '' };

/** The components of a readable upstream version, or undefined for junk. */
function upstreamComponents(raw: unknown): Component[] | undefined {
  const v = asString(raw);
  if (v.length > MAX_VERSION_LENGTH * 4) return undefined; // cheap early exit before trim on huge input
  const s = v.trim();
  if (s.length === 0 || s.length > MAX_VERSION_LENGTH) return undefined;
  let i = 0;
  const first = s.charCodeAt(0) | 32;
  if (first === 118 /* v */ && isDigit(s.charCodeAt(1))) i = 1;
  if (!isDigit(s.charCodeAt(i))) return undefined;
  const out: Component[] = [];
  while (i < s.length) {
    const c = s.charCodeAt(i);
    let j = i;
    if (isDigit(c)) {
      while (j < s.length && isDigit(s.charCodeAt(j))) j++;
      let z = i;
      while (z < j && s.charCodeAt(z) === 48) z++;
      out.push(z === j ? END : { cls: 3, key: s.slice(z, j) });
    } else if (isLetter(c)) {
      while (j < s.length && isLetter(s.charCodeAt(j))) j++;
      const word = s.slice(i, j).toLowerCase();
      const rank = PRE_RELEASE.get(word);
      out.push(rank === undefined ? { cls: 2, key: word } : { cls: 0, key: rank });
    } else if (UPSTREAM_SEPARATORS.has(c)) {
      j = i + 1;
    } else return undefined;
    i = j;
  }
  return out;
}

function compareComponents(x: Component, y: Component): number {
  if (x.cls !== y.cls) return x.cls < y.cls ? -1 : 1;
  if (x.cls === 0) return sign((x.key as number) - (y.key as number));
  if (x.cls === 2) return compareText(x.key as string, y.key as string);
  if (x.cls === 3) return compareDigits(x.key as string, y.key as string);
  return 0;
}

/** True when {@link compareVersions} can read `v` as an upstream version (it starts with a digit, after an optional `v`). */
export function isVersion(v: string): boolean {
  return upstreamComponents(v) !== undefined;
}

/**
 * Order two upstream/product versions as NVD and banners write them.
 *
 * Case-insensitive; a leading `v` is ignored; `.`, `-`, `_`, `+`, `~`, space and `\` only separate.
 * The rest splits into digit runs and letter runs, compared left to right, a missing component
 * counting as the end. Components order as: pre-release words (`dev`/`snapshot` < `alpha` <
 * `beta` < `pre`/`preview` < `rc`) < zero or end < other words (by text: `k` < `l` < `p`) <
 * positive numbers (by value). So `3.0.0-rc1 < 3.0.0 = 3.0 < 3.0a < 3.0.1`, `9.2 < 9.2p1 < 9.2p2 < 9.3`
 * and `1.22.1 < 1.22.10`. A word where the other side has a positive number sorts lower, as dpkg
 * and rpm both do (`9.2p1 < 9.2.1`).
 *
 * Junk (not starting with a digit, other characters, over 256 characters) sorts first; see the module doc.
 * Distro suffixes (`-0+deb10u1`, ` (Ubuntu)`) and MySQL's `5.5.5-` prefix should be cut off before.
 */
export function compareVersions(a: string, b: string): number {
  const x = upstreamComponents(a);
  const y = upstreamComponents(b);
  if (!x || !y) return compareWithJunk(asString(a), asString(b), x !== undefined, y !== undefined);
  const n = Math.max(x.length, y.length);
  for (let i = 0; i < n; i++) {
    const c = compareComponents(x[i] ?? END, y[i] ?? END);
    if (c !== 0) return c;
  }
  return 0;
}

// ---- Debian (dpkg)

/** A Debian version split into its parts; `revision` is '' when the version has none. */
export interface DebianVersion {
  epoch: number;
  upstream: string;
  revision: string;
}

/** dpkg refuses epochs above INT_MAX. */
const MAX_EPOCH = 2147483647;

/** Every character is alphanumeric or one of `extra`. */
function onlyChars(s: string, extra: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (!isDigit(c) && !isLetter(c) && !extra.includes(s[i]!)) return false;
  }
  return true;
}

/**
 * Split `[epoch:]upstream[-revision]` (surrounding whitespace ignored). The epoch is the part before
 * the first colon, the revision the part after the last hyphen. Undefined when dpkg refuses it or
 * policy forbids it (dpkg only warns about the last three): bad or too big epoch, empty upstream or
 * revision, too long, upstream not starting with a digit, characters outside `A-Za-z0-9.+~-`
 * (upstream; so no colon either) or `A-Za-z0-9.+~` (revision).
 */
export function parseDebianVersion(v: string): DebianVersion | undefined {
  const raw = asString(v);
  if (raw.length > MAX_VERSION_LENGTH * 4) return undefined;
  const s = raw.trim();
  if (s.length === 0 || s.length > MAX_VERSION_LENGTH) return undefined;
  const colon = s.indexOf(':');
  let epoch = 0;
  if (colon >= 0) {
    const e = s.slice(0, colon);
    if (e.length === 0 || e.length > 10 || !onlyDigits(e)) return undefined;
    epoch = Number(e);
    if (epoch > MAX_EPOCH) return undefined;
  }
  const rest = s.slice(colon + 1);
  const dash = rest.lastIndexOf('-');
  const upstream = dash >= 0 ? rest.slice(0, dash) : rest;
  const revision = dash >= 0 ? rest.slice(dash + 1) : '';
  if (upstream.length === 0 || !isDigit(upstream.charCodeAt(0))) return undefined;
  if (dash >= 0 && revision.length === 0) return undefined;
  if (!onlyChars(upstream, '.+~-') || !onlyChars(revision, '.+~')) return undefined;
  return { epoch, upstream, revision };
}

function onlyDigits(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (!isDigit(s.charCodeAt(i))) return false;
  return true;
}

/** dpkg's character weight in a non-digit run: `~` before the end of the run, letters before other characters. */
function dpkgWeight(s: string, i: number, end: number): number {
  if (i >= end) return 0;
  const c = s.charCodeAt(i);
  if (c === 126 /* ~ */) return -1;
  return isLetter(c) ? c : c + 256;
}

/** Policy §5.6.12: alternate non-digit runs (by dpkg weight) and digit runs (by value) from the left. */
function compareDpkgPart(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    let ie = i;
    let je = j;
    while (ie < a.length && !isDigit(a.charCodeAt(ie))) ie++;
    while (je < b.length && !isDigit(b.charCodeAt(je))) je++;
    const len = Math.max(ie - i, je - j);
    for (let k = 0; k < len; k++) {
      const d = dpkgWeight(a, i + k, ie) - dpkgWeight(b, j + k, je);
      if (d !== 0) return sign(d);
    }
    i = ie;
    j = je;
    while (ie < a.length && isDigit(a.charCodeAt(ie))) ie++;
    while (je < b.length && isDigit(b.charCodeAt(je))) je++;
    const d = compareDigits(a.slice(i, ie), b.slice(j, je));
    if (d !== 0) return d;
    i = ie;
    j = je;
  }
  return 0;
}

/**
 * Order two Debian package versions as `dpkg --compare-versions` does: epoch numerically (missing =
 * 0), then upstream, then revision (missing = empty, so `1.0` = `1.0-0`) with the dpkg algorithm.
 * `1.0~rc1 < 1.0 < 1.0+deb12u1`, `2:1.0 > 1:9.9`. Versions {@link parseDebianVersion} refuses are junk.
 */
export function compareDebianVersions(a: string, b: string): number {
  const x = parseDebianVersion(a);
  const y = parseDebianVersion(b);
  if (!x || !y) return compareWithJunk(asString(a), asString(b), x !== undefined, y !== undefined);
  if (x.epoch !== y.epoch) return x.epoch < y.epoch ? -1 : 1;
  return compareDpkgPart(x.upstream, y.upstream) || compareDpkgPart(x.revision, y.revision);
}

// ---- RPM

interface RpmEvr {
  epoch: string;
  version: string;
  release: string | undefined;
}

/**
 * `[epoch:]version[-release]` as rpm reads it: an epoch only when the text before the first colon is
 * all digits (empty = 0); `(none):`, as `rpm -qa --qf '%{EPOCH}:…'` prints it, counts as no epoch.
 * Junk when empty, too long, or not printable ASCII.
 */
function parseRpm(v: unknown): RpmEvr | undefined {
  const raw = asString(v);
  if (raw.length > MAX_VERSION_LENGTH * 4) return undefined;
  const s = raw.trim();
  if (s.length === 0 || s.length > MAX_VERSION_LENGTH) return undefined;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) return undefined;
  }
  let epoch = '0';
  let rest = s;
  const colon = s.indexOf(':');
  if (colon >= 0 && onlyDigits(s.slice(0, colon))) {
    epoch = s.slice(0, colon) || '0';
    rest = s.slice(colon + 1);
  } else if (s.startsWith('(none):')) rest = s.slice(7);
  const dash = rest.lastIndexOf('-');
  const version = dash >= 0 ? rest.slice(0, dash) : rest;
  if (version.length === 0) return undefined;
  return { epoch, version, release: dash >= 0 ? rest.slice(dash + 1) : undefined };
}

/**
 * rpmvercmp: separators (anything but letters, digits, `~` and `^`) are skipped; `~` sorts before
 * everything, even the end (pre-release); `^` sorts after the end but before anything else
 * (post-release snapshot); digit runs compare by value and beat letter runs; letter runs compare
 * as text; the side with components left over is newer.
 */
function rpmvercmp(a: string, b: string): number {
  if (a === b) return 0;
  let i = 0;
  let j = 0;
  const sep = (s: string, k: number): boolean => {
    const c = s.charCodeAt(k);
    return !isDigit(c) && !isLetter(c) && c !== 126 && c !== 94;
  };
  for (;;) {
    while (i < a.length && sep(a, i)) i++;
    while (j < b.length && sep(b, j)) j++;
    const ca = a[i];
    const cb = b[j];
    if (ca === '~' || cb === '~') {
      if (ca !== '~') return 1;
      if (cb !== '~') return -1;
    } else if (ca === '^' || cb === '^') {
      if (ca === undefined) return -1;
      if (cb === undefined) return 1;
      if (ca !== '^') return 1;
      if (cb !== '^') return -1;
    } else {
      if (ca === undefined || cb === undefined) break;
      const numeric = isDigit(a.charCodeAt(i));
      const inRun = numeric ? isDigit : isLetter;
      let ie = i;
      let je = j;
      while (ie < a.length && inRun(a.charCodeAt(ie))) ie++;
      while (je < b.length && inRun(b.charCodeAt(je))) je++;
      if (je === j) return numeric ? 1 : -1; // a number against letters: the number is newer
      const d = numeric ? compareDigits(a.slice(i, ie), b.slice(j, je)) : compareText(a.slice(i, ie), b.slice(j, je));
      if (d !== 0) return d;
      i = ie;
      j = je;
      continue;
    }
    i++;
    j++;
  }
  if (i >= a.length && j >= b.length) return 0;
  return i >= a.length ? -1 : 1;
}

/**
 * Order two RPM versions (`[epoch:]version[-release]`, as `rpm -qa --qf '%{EPOCH}:%{VERSION}-%{RELEASE}'`
 * prints them) as rpm does: epoch numerically (missing = 0), then version and release with rpmvercmp
 * (`1.0~rc1 < 1.0 < 1.0^git1 < 1.0.1`). A missing release sorts before any release, as in rpm's
 * rpmverCmp. Empty, over-long or non-ASCII strings are junk.
 */
export function compareRpmVersions(a: string, b: string): number {
  const x = parseRpm(a);
  const y = parseRpm(b);
  if (!x || !y) return compareWithJunk(asString(a), asString(b), x !== undefined, y !== undefined);
  const e = compareDigits(x.epoch, y.epoch);
  if (e !== 0) return e;
  const v = rpmvercmp(x.version, y.version);
  if (v !== 0) return v;
  if (x.release === undefined || y.release === undefined) {
    return x.release === y.release ? 0 : x.release === undefined ? -1 : 1;
  }
  return rpmvercmp(x.release, y.release);
}

// ---- Ranges

/** An NVD cpeMatch version range; absent bounds are open. */
export interface VersionRange {
  startIncluding?: string | undefined;
  startExcluding?: string | undefined;
  endIncluding?: string | undefined;
  endExcluding?: string | undefined;
}

/** Readability checks for the built-in comparators, so a junk version is never "in range". */
const READABLE = new Map<Comparator, (v: string) => boolean>([
  [compareVersions, isVersion],
  [compareDebianVersions, (v) => parseDebianVersion(v) !== undefined],
  [compareRpmVersions, (v) => parseRpm(v) !== undefined],
]);

/** For a custom comparator: non-empty, capped, a digit somewhere, no control characters. */
function plausible(v: string): boolean {
  const s = asString(v);
  if (s.length === 0 || s.length > MAX_VERSION_LENGTH) return false;
  let digit = false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return false;
    if (isDigit(c)) digit = true;
  }
  return digit;
}

/**
 * NVD cpeMatch range semantics: `version` is in the range when it is >= startIncluding,
 * > startExcluding, <= endIncluding and < endExcluding, for each bound present (undefined = absent;
 * no bounds at all = true, the CPE's own version field then decides). False, never a guess, when the
 * version or a present bound is unreadable under `compare`'s scheme (for a comparator not from this
 * module: empty, over 256 characters, no digit, or control characters).
 */
export function inRange(version: string, range: VersionRange, compare: Comparator = compareVersions): boolean {
  const readable = READABLE.get(compare) ?? plausible;
  if (!readable(version)) return false;
  const r: VersionRange = typeof range === 'object' && range !== null ? range : {};
  const checks: [string | undefined, (c: number) => boolean][] = [
    [r.startIncluding, (c) => c >= 0],
    [r.startExcluding, (c) => c > 0],
    [r.endIncluding, (c) => c <= 0],
    [r.endExcluding, (c) => c < 0],
  ];
  for (const [bound, holds] of checks) {
    if (bound === undefined || (bound as unknown) === null) continue;
    if (!readable(bound) || !holds(compare(version, bound))) return false;
  }
  return true;
}
