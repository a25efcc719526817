/** nmap time values: a number with an optional unit (ms, s, m, h); a bare number means seconds. */
import { UsageError, quoteToken } from './errors.js';

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parse `500ms`, `2s`, `1.5m`, `1h`, or `30` (seconds) into milliseconds. */
export function parseDuration(token: string, option: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(token.trim());
  if (!m?.[1]) {
    throw new UsageError('E_USAGE', `${option} ${quoteToken(token)}: expected a time such as 500ms, 2s, 5m or 1h`, { token });
  }
  const ms = Number(m[1]) * (UNITS[m[2] ?? 's'] ?? 1000);
  if (!Number.isFinite(ms) || ms > 2 ** 31) {
    throw new UsageError('E_USAGE', `${option} ${quoteToken(token)}: too long (at most 24 days)`, { token });
  }
  return Math.round(ms);
}

/** Parse a whole number within bounds, naming the option in the error. */
export function parseCount(token: string, option: string, min: number, max: number): number {
  if (!/^\d+$/.test(token.trim()) || Number(token) < min || Number(token) > max) {
    throw new UsageError('E_USAGE', `${option} ${quoteToken(token)}: expected a whole number from ${min} to ${max}`, { token });
  }
  return Number(token);
}

/** Parse a rate in probes per second (a positive number, fractions allowed as in nmap). */
export function parseRate(token: string, option: string): number {
  const n = Number(token.trim());
  if (!/^\d+(\.\d+)?$/.test(token.trim()) || !(n > 0) || n > 10_000_000) {
    throw new UsageError('E_USAGE', `${option} ${quoteToken(token)}: expected probes per second, a number above 0`, { token });
  }
  return n;
}
