/** Choosing findings on the command line: a tier option, and finding keys looked up in the store. */
import { TIERS, type Finding, type Tier } from '../core/finding.js';
import { UsageError, quoteToken } from '../core/errors.js';
import type { Store } from '../store/types.js';

/** A tier option's value (`--min-priority high`), case-insensitive. */
export function parseTier(token: string, flag: string): Tier {
  const t = TIERS.find((x) => x === token.toLowerCase());
  if (t === undefined) throw new UsageError('E_USAGE', `${flag} ${quoteToken(token)}: expected one of ${TIERS.join(', ')}`, { token });
  return t;
}

/** The error for a key the store does not hold. */
export function noFinding(key: string): UsageError {
  return new UsageError('E_USAGE', `no finding ${quoteToken(key)} in the store; portolan findings --format json lists the keys`, { token: key });
}

/** The findings with these keys, whatever their status, in the order given; an unknown key is a usage error. */
export async function findingsByKey(store: Store, keys: readonly string[]): Promise<Finding[]> {
  const found = new Map((await store.findings({ keys })).map((f) => [f.key, f]));
  return keys.map((k) => {
    const f = found.get(k);
    if (f === undefined) throw noFinding(k);
    return f;
  });
}
