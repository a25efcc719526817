import { describe, expect, it } from 'vitest';
import { portKey } from '../core/finding.js';
import { diffScans, type DiffPort } from './diff.js';

const p = (address: string, port: number, state = 'open', service?: DiffPort['service'], protocol: 'tcp' | 'udp' = 'tcp'): DiffPort => ({ address, protocol, port, state, ...(service && { service }) });
const ssh = (version: string) => ({ name: 'ssh', product: 'OpenSSH', version });
const lines = (entries: ReturnType<typeof diffScans>) => entries.map((e) => `${e.kind} ${e.address} ${e.protocol}/${e.port}${e.changes.length > 0 ? ` (${e.changes.join('; ')})` : ''}`);

describe('diffScans', () => {
  it('reports new, closed, changed and unchanged ports', () => {
    const before = [p('198.18.0.9', 22, 'open', ssh('9.2p1')), p('198.18.0.9', 80), p('198.18.0.9', 443, 'closed'), p('198.18.0.10', 25)];
    const after = [p('198.18.0.9', 22, 'open', ssh('9.6p1')), p('198.18.0.9', 80, 'filtered'), p('198.18.0.9', 443), p('198.18.0.10', 25), p('198.18.0.10', 53, 'open', undefined, 'udp')];
    expect(lines(diffScans({ before, after }))).toEqual([
      'changed 198.18.0.9 tcp/22 (version 9.2p1 → 9.6p1)',
      'closed 198.18.0.9 tcp/80 (now filtered)',
      'new 198.18.0.9 tcp/443 (was closed)',
      'new 198.18.0.10 udp/53',
    ]);
  });

  it('calls a port reopened when an older scan had it open', () => {
    const before = [p('198.18.0.9', 23, 'closed')];
    const after = [p('198.18.0.9', 23)];
    expect(diffScans({ before, after, openEarlier: new Set([portKey(after[0]!)]) })[0]?.kind).toBe('reopened');
    expect(diffScans({ before, after })[0]?.kind).toBe('new');
  });

  it('tells a port the second scan did not list from a host it never looked at', () => {
    const before = [p('198.18.0.9', 22), p('198.18.0.11', 22)];
    const after = [p('198.18.0.9', 80)];
    expect(lines(diffScans({ before, after }))).toEqual(['closed 198.18.0.9 tcp/22 (not listed by the second scan)', 'new 198.18.0.9 tcp/80', 'unchecked 198.18.0.11 tcp/22 (host not in the second scan)']);
  });

  it('does not count what a ports-only scan did not learn as a change, and is empty for identical scans', () => {
    const before = [p('198.18.0.9', 22, 'open', ssh('9.2p1'))];
    expect(diffScans({ before, after: [p('198.18.0.9', 22)] })).toEqual([]);
    expect(diffScans({ before, after: before })).toEqual([]);
    expect(diffScans({ before: [], after: [] })).toEqual([]);
    expect(lines(diffScans({ before: [p('198.18.0.9', 22)], after: before }))).toEqual(['changed 198.18.0.9 tcp/22 (service (none) → ssh; product (none) → OpenSSH; version (none) → 9.2p1)']);
  });

  it('handles large scans in linear time', () => {
    const before = Array.from({ length: 100_000 }, (_, i) => p(`198.18.${i >> 8 & 255}.${i & 255}`, 1 + (i % 1000), i % 3 === 0 ? 'open' : 'closed'));
    const after = before.map((x, i) => (i % 7 === 0 ? { ...x, state: x.state === 'open' ? 'closed' : 'open' } : x));
    const started = Date.now();
    const out = diffScans({ before, after });
    expect(out.length).toBe(Math.ceil(100_000 / 7));
    expect(Date.now() - started).toBeLessThan(5000);
  });
});
