import { describe, expect, it } from 'vitest';
import { bigHost, port, v4Ports } from '../../test/fixtures/report/hosts.js';
import { formatPortRanges as compressPorts } from '../core/port-ranges.js';
import { COLLAPSE_THRESHOLD, distinctCount, partitionPorts, sortedPorts } from './extraports.js';

describe('compressPorts', () => {
  it('writes nmap ranges from unsorted input with duplicates', () => {
    expect(compressPorts([80, 22, 23, 24, 443, 21, 80, 1000, 999])).toBe('21-24,80,443,999-1000');
    expect(compressPorts([])).toBe('');
    expect(compressPorts([65535])).toBe('65535');
  });
  it('counts distinct ports', () => {
    expect(distinctCount([1, 2, 2, 3])).toBe(3);
  });
});

describe('partitionPorts', () => {
  it('collapses a state only above the threshold', () => {
    const at = Array.from({ length: COLLAPSE_THRESHOLD }, (_, i) => port(i + 1, 'closed', 'conn-refused'));
    expect(partitionPorts(at, false).collapsed).toEqual([]);
    const above = [...at, port(COLLAPSE_THRESHOLD + 1, 'closed', 'conn-refused')];
    const p = partitionPorts(above, false);
    expect(p.shown).toEqual([]);
    expect(p.collapsed).toEqual([{ state: 'closed', count: 26, reasons: [{ reason: 'conn-refused', ports: above.map((x) => x.port) }] }]);
  });
  it('never collapses open ports and splits reasons, most frequent first', () => {
    const p = partitionPorts(v4Ports(), false);
    expect(p.counts).toEqual({ open: 3, closed: 989, filtered: 8 });
    expect(p.shown.map((x) => x.port)).toEqual([22, 80, 135, 137, 139, 443, 445, 593, 600, 700, 800]);
    expect(p.collapsed.map((g) => [g.state, g.count, g.reasons.map((r) => [r.reason, r.ports.length])])).toEqual([
      ['closed', 989, [['conn-refused', 988], ['port-unreach', 1]]],
    ]);
  });
  it('collapses every non-open state with openOnly', () => {
    const p = partitionPorts(v4Ports(), true);
    expect(p.shown.map((x) => x.port)).toEqual([22, 80, 443]);
    expect(p.collapsed.map((g) => [g.state, g.count])).toEqual([
      ['closed', 989],
      ['filtered', 8],
    ]);
  });
  it('handles all 65,535 ports quickly', () => {
    const start = performance.now();
    const p = partitionPorts(bigHost().ports, false);
    expect(p.shown.map((x) => x.port)).toEqual([22, 8080]);
    expect(p.collapsed[0]?.count).toBe(65533);
    expect(compressPorts(p.collapsed[0]?.reasons[0]?.ports ?? [])).toBe('1-21,23-8079,8081-65535');
    expect(performance.now() - start).toBeLessThan(1000);
  });
  it('sorts ports that arrive out of order without touching sorted input', () => {
    const sorted = [port(1, 'open', 'syn-ack'), port(2, 'open', 'syn-ack')];
    expect(sortedPorts(sorted)).toBe(sorted);
    expect(sortedPorts([port(9, 'open', 'syn-ack'), port(3, 'open', 'syn-ack')]).map((x) => x.port)).toEqual([3, 9]);
  });
});
