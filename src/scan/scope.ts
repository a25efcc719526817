/**
 * --scope FILE: the hosts and networks the user may test. Checked before the first packet for every
 * literal target, and again for every address a name resolves to, right before it is scanned.
 */
import { readFileSync } from 'node:fs';
import { UsageError, quoteToken } from '../core/errors.js';
import { compileExclusions, parseExclusions, parseIpLiteral, type ExclusionSet, type Resolver, type TargetSpec } from '../core/targets.js';

const MAX_SCOPE_BYTES = 16 * 1024 * 1024;

/** An allow-list of addresses. */
export class Scope {
  constructor(
    readonly path: string,
    private readonly allowed: ExclusionSet,
  ) {}

  /** Is this address inside the scope? */
  contains(address: string): boolean {
    return this.allowed.has(address);
  }

  /** Is every address of a literal spec inside the scope? Names are checked after resolution. */
  coversSpec(spec: TargetSpec): boolean {
    switch (spec.kind) {
      case 'v4-range':
        return spec.count === 0 || this.allowed.v4RangeEnd(spec.start) >= spec.start + spec.count - 1 || everyV4(spec.start, spec.count, (a) => this.allowed.hasV4(a));
      case 'v6-range':
        return spec.count === 0n || this.allowed.v6RangeEnd(spec.start) >= spec.start + spec.count - 1n;
      case 'v4-octets': {
        const [a, b, c, d] = spec.octets;
        if (spec.count > 1 << 20) return false;
        for (const x of a) for (const y of b) for (const z of c) for (const w of d) if (!this.allowed.hasV4(((x << 24) >>> 0) + (y << 16) + (z << 8) + w)) return false;
        return true;
      }
      case 'name':
        return true;
    }
  }
}

/** Exact per-address fallback for a small range spread over several scope entries that together cover it. */
function everyV4(start: number, count: number, test: (a: number) => boolean): boolean {
  if (count > 1 << 20) return false;
  for (let a = start; a < start + count; a++) if (!test(a)) return false;
  return true;
}

/** Read and compile a scope file (target syntax, one or more per line, `#` comments; names are resolved now). */
export async function loadScope(path: string, resolve: Resolver): Promise<Scope> {
  let text: string;
  try {
    const buf = readFileSync(path);
    if (buf.length > MAX_SCOPE_BYTES) throw new UsageError('E_SCOPE', `--scope ${quoteToken(path)}: file larger than 16 MiB`);
    text = buf.toString('utf8');
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new UsageError('E_SCOPE', `--scope ${quoteToken(path)}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  const specs = parseExclusions(text);
  if (specs.length === 0) throw new UsageError('E_SCOPE', `--scope ${quoteToken(path)}: the scope is empty; list the hosts and networks you may scan`);
  return new Scope(path, await compileExclusions(specs, resolve));
}

/**
 * Refuse the whole scan before anything is sent when a literal target or a name's address lies
 * outside the scope; the message lists the offending targets.
 */
export async function assertInScope(specs: readonly TargetSpec[], scope: Scope, resolve: Resolver): Promise<void> {
  const outside: string[] = [];
  for (const spec of specs) {
    if (spec.kind !== 'name') {
      if (!scope.coversSpec(spec)) outside.push(quoteToken(spec.text));
      continue;
    }
    for (const record of await resolve(spec.name)) {
      if (parseIpLiteral(record) && !scope.contains(record)) outside.push(`${quoteToken(spec.text)} (${record})`);
    }
  }
  if (outside.length > 0) {
    const listed = outside.slice(0, 5).join(', ') + (outside.length > 5 ? ` and ${outside.length - 5} more` : '');
    throw new UsageError('E_SCOPE', `refusing to scan outside the scope in ${quoteToken(scope.path)}: ${listed}; nothing was sent`);
  }
}
