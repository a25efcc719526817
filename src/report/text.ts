/**
 * Small text helpers shared by the human-facing formats: nmap-style dates, durations, plurals, the
 * command line and the service columns. Everything here is pure; time zones come from Intl.
 */
import type { HostResult, ScanSummary, Service } from '../core/model.js';

const formatters = new Map<string, Intl.DateTimeFormat>();

/** Broken-down wall-clock time of an epoch-ms instant in a time zone. */
interface WallClock {
  weekday: string;
  month: string;
  year: string;
  monthNum: string;
  day: string;
  hour: string;
  minute: string;
  second: string;
  zone: string;
}

function wallClock(epochMs: number, timeZone: string): WallClock {
  let fmt = formatters.get(timeZone);
  if (fmt === undefined) {
    fmt = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      weekday: 'short',
      year: 'numeric',
      month: 'short',
      day: 'numeric',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      timeZoneName: 'short',
    });
    formatters.set(timeZone, fmt);
  }
  const parts: Record<string, string> = {};
  for (const p of fmt.formatToParts(new Date(epochMs))) parts[p.type] = p.value;
  // A second formatter for the month number would cost more than a lookup.
  const monthNum = String(MONTHS.indexOf(parts.month ?? '') + 1).padStart(2, '0');
  return {
    weekday: parts.weekday ?? '',
    month: parts.month ?? '',
    year: parts.year ?? '',
    monthNum,
    day: parts.day ?? '',
    hour: (parts.hour ?? '').padStart(2, '0'),
    minute: (parts.minute ?? '').padStart(2, '0'),
    second: (parts.second ?? '').padStart(2, '0'),
    zone: parts.timeZoneName ?? timeZone,
  };
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** C `ctime()` layout, as nmap's `startstr` and `#` comment lines: `Sat Nov 21 05:38:27 2026` (day space-padded). */
export function ctimeString(epochMs: number, timeZone = 'UTC'): string {
  const w = wallClock(epochMs, timeZone);
  return `${w.weekday} ${w.month} ${w.day.padStart(2, ' ')} ${w.hour}:${w.minute}:${w.second} ${w.year}`;
}

/** The "Starting … at" layout: `2026-11-21 05:40 UTC`. */
export function shortDateString(epochMs: number, timeZone = 'UTC'): string {
  const w = wallClock(epochMs, timeZone);
  return `${w.year}-${w.monthNum}-${w.day.padStart(2, '0')} ${w.hour}:${w.minute} ${w.zone}`;
}

/** Whole epoch seconds, as nmap's XML timestamps. */
export function epochSeconds(epochMs: number): number {
  return Math.floor(epochMs / 1000);
}

/** Seconds with two decimals, as nmap's "scanned in 2.05 seconds" and `elapsed`. */
export function seconds2(ms: number): string {
  return (Math.max(0, ms) / 1000).toFixed(2);
}

/**
 * A positive number with two significant digits and never in exponent form, as nmap prints latency
 * (`0.00012`, `0.040`, `1.2`, `15`).
 */
export function twoSignificant(value: number): string {
  if (!Number.isFinite(value) || value <= 0) return '0';
  if (value >= 10) return String(Math.round(value));
  const decimals = Math.max(0, 1 - Math.floor(Math.log10(value)));
  return value.toFixed(Math.min(decimals, 20));
}

/** `1 host`, `2 hosts`. */
export function plural(n: number, singular: string, pluralForm = `${singular}s`): string {
  return `${n} ${n === 1 ? singular : pluralForm}`;
}

/** `1 IP address (1 host up) scanned in 2.05 seconds`, the tail of every "done" line. */
export function doneSummary(summary: ScanSummary): string {
  return `${plural(summary.hostsTotal, 'IP address', 'IP addresses')} (${plural(summary.hostsUp, 'host')} up) scanned in ${seconds2(summary.elapsedMs)} seconds`;
}

const SAFE_ARG = /^[A-Za-z0-9_@%+=:,./-]+$/;

/**
 * The command line as one string for headers. Arguments that a shell would split are single-quoted
 * so the line can be pasted back. The program name is prefixed when `args` starts after it.
 */
export function commandLine(args: readonly string[]): string {
  const first = args[0] ?? '';
  const hasProgram = first === 'portolan' || first.endsWith('/portolan') || first.endsWith('/portolan.js');
  const all = hasProgram ? args : ['portolan', ...args];
  return all.map((a) => (SAFE_ARG.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

/** `ssl/http` for a service found inside TLS, else its name; `unknown` when there is none. Unescaped. */
export function serviceLabel(service: Service | undefined, tunnelSeparator = '/'): string {
  if (service === undefined || service.name === '') return 'unknown';
  return service.tunnel === 'ssl' ? `ssl${tunnelSeparator}${service.name}` : service.name;
}

/** nmap's VERSION text: `product version (extrainfo)`, empty when nothing is known. Unescaped. */
export function versionText(service: Service | undefined): string {
  if (service === undefined) return '';
  const parts: string[] = [];
  if (service.product) parts.push(service.product);
  if (service.version) parts.push(service.version);
  // nmap folds the distribution's package revision into the version: `9.2p1 Debian 2+deb12u3`.
  if (service.version && service.distro && service.packageRevision) parts.push(`${service.distro} ${service.packageRevision}`);
  if (service.extrainfo) parts.push(`(${service.extrainfo})`);
  return parts.join(' ');
}

/**
 * The name to show for a host: the one the user typed if any, else the first reverse-DNS name.
 * Unescaped; undefined when the host has no name.
 */
export function displayName(host: HostResult): string | undefined {
  return (host.hostnames.find((h) => h.type === 'user') ?? host.hostnames[0])?.name;
}
