/** BufferedIngest against a fake backend: batching, one write in flight, failures and rollback. */
import { describe, expect, it } from 'vitest';
import type { Observation } from '../core/model.js';
import { BufferedIngest, type IngestBackend, type RangeInput } from './ingest.js';
import type { PortBatch } from './rows.js';
import type { ScanRow } from './types.js';

function observation(address: string, ports: number[], extra: Partial<Observation['host']> = {}): Observation {
  return {
    source: 'masscan',
    host: { address, family: 4, hostnames: [], status: 'up', statusReason: 'syn-ack', startedAt: 1000, endedAt: 2000, ports: ports.map((port) => ({ protocol: 'tcp', port, state: 'open', reason: 'syn-ack', tries: 1 })), ...extra },
  };
}

class FakeBackend implements IngestBackend {
  writes: { hosts: string[]; ports: number[] }[] = [];
  active = 0;
  maxActive = 0;
  failOn = -1;
  aborted = 0;
  finished = 0;
  #hostIds = new Map<string, number>();
  #pendingHosts: string[] = [];

  async upsertHosts(hosts: { address: string }[]): Promise<number[]> {
    this.active++;
    this.maxActive = Math.max(this.maxActive, this.active);
    this.#pendingHosts = hosts.map((h) => h.address);
    await new Promise((r) => setTimeout(r, 2));
    return hosts.map((h) => {
      if (!this.#hostIds.has(h.address)) this.#hostIds.set(h.address, this.#hostIds.size + 1);
      return this.#hostIds.get(h.address)!;
    });
  }
  serviceKeys(): Promise<Set<number>> {
    return Promise.resolve(new Set());
  }
  async writePorts(b: PortBatch): Promise<void> {
    await new Promise((r) => setTimeout(r, 2));
    this.active--;
    if (this.writes.length === this.failOn) throw new Error('disk full');
    this.writes.push({ hosts: this.#pendingHosts, ports: [...b.port] });
  }
  ranges: RangeInput[] = [];
  writeRanges(ranges: RangeInput[]): Promise<void> {
    this.ranges.push(...ranges);
    return Promise.resolve();
  }
  writeImportedFindings(): Promise<void> {
    return Promise.resolve();
  }
  writePackages(): Promise<void> {
    return Promise.resolve();
  }
  finish(_end: unknown, counts: { hosts: number; ports: number }): Promise<ScanRow> {
    this.finished++;
    return Promise.resolve({ id: 1, kind: 'scan', source: 'portolan', args: [], startedAt: 0, status: 'done', ...counts });
  }
  abort(): Promise<void> {
    this.aborted++;
    return Promise.resolve();
  }
}

describe('BufferedIngest', () => {
  it('writes in batches, never two at once, and counts distinct hosts', async () => {
    const backend = new FakeBackend();
    const ingest = new BufferedIngest(1, backend, { ports: 10, hosts: 100 });
    for (let i = 0; i < 9; i++) await ingest.add(observation(`192.0.2.${i % 3}`, [i * 10 + 1, i * 10 + 2, i * 10 + 3]));
    const row = await ingest.commit({ endedAt: 3000, status: 'done' });
    expect(row).toMatchObject({ hosts: 3, ports: 27 });
    expect(backend.writes.map((w) => w.ports.length)).toEqual([12, 12, 3]);
    expect(backend.maxActive).toBe(1);
  });

  it('stays serial when callers do not await add()', async () => {
    const backend = new FakeBackend();
    const ingest = new BufferedIngest(1, backend, { ports: 4, hosts: 100 });
    await Promise.all(Array.from({ length: 20 }, (_, i) => ingest.add(observation(`192.0.2.${i}`, [1, 2, 3]))));
    await ingest.commit({ endedAt: 3000, status: 'done' });
    expect(backend.maxActive).toBe(1);
    expect(backend.writes.flatMap((w) => w.ports)).toHaveLength(60);
  });

  it('writes the batch before a host repeats a port, so one statement never holds it twice', async () => {
    const backend = new FakeBackend();
    const ingest = new BufferedIngest(1, backend, { ports: 1000, hosts: 100 });
    await ingest.add(observation('192.0.2.1', [22]));
    await ingest.add(observation('192.0.2.1', [80]));
    await ingest.add(observation('192.0.2.1', [22]));
    await ingest.commit({ endedAt: 3000, status: 'done' });
    expect(backend.writes.map((w) => w.ports)).toEqual([[22, 80], [22]]);
  });

  it('reports a failed write at the next call, and rolls back on commit', async () => {
    const backend = new FakeBackend();
    backend.failOn = 0;
    const ingest = new BufferedIngest(1, backend, { ports: 2, hosts: 100 });
    await ingest.add(observation('192.0.2.1', [1, 2])); // starts the failing write
    await expect(ingest.add(observation('192.0.2.2', [1, 2]))).rejects.toThrow(/disk full/);
    await expect(ingest.commit({ endedAt: 3000, status: 'done' })).rejects.toThrow(/disk full/);
    expect(backend.aborted).toBe(1);
    expect(backend.finished).toBe(0);
    await ingest.rollback();
    expect(backend.aborted).toBe(1);
  });

  it('refuses a bad port before buffering anything, and skips down hosts with nothing to say', async () => {
    const backend = new FakeBackend();
    const ingest = new BufferedIngest(1, backend, { ports: 100, hosts: 100 });
    await expect(ingest.add(observation('192.0.2.1', [80, 65536]))).rejects.toThrow(/port 65536/);
    await expect(ingest.add(observation('192.0.2.1', [-1]))).rejects.toThrow(/port -1/);
    await expect(ingest.add(observation('', [1]))).rejects.toThrow(/address/);
    await ingest.add(observation('192.0.2.9', [], { status: 'down' }));
    const row = await ingest.commit({ endedAt: 3000, status: 'done' });
    expect(row).toMatchObject({ hosts: 0, ports: 0 });
    expect(backend.writes).toEqual([]);
  });

  it('keeps the ports of no interest as one range row per host, state and reason', async () => {
    const backend = new FakeBackend();
    const ingest = new BufferedIngest(1, backend, { ports: 1000, hosts: 100 });
    const closed = (port: number, reason = 'conn-refused') => ({ protocol: 'tcp' as const, port, state: 'closed' as const, reason: reason as 'conn-refused', tries: 1 });
    const o = observation('192.0.2.1', [22]);
    o.host.ports.push(closed(1), closed(2), closed(3), closed(5), { ...closed(7), state: 'filtered', reason: 'no-response' }, closed(9, 'reset'));
    // A port-table guess on a closed port is no reason for a row of its own.
    o.host.ports.push({ ...closed(25), service: { name: 'smtp', method: 'table', confidence: 3, cpe: [] } });
    await ingest.add(o);
    await ingest.add(observation('192.0.2.2', [80]));
    await ingest.commit({ endedAt: 3000, status: 'done' });
    expect(backend.writes.flatMap((w) => w.ports)).toHaveLength(9);
    expect(backend.ranges.map((r) => `${r.host}/${r.state}/${r.reason}/${r.ports}/${r.count}`)).toEqual(['0/closed/conn-refused/1-3,5,25/5', '0/filtered/no-response/7/1', '0/closed/reset/9/1']);
  });

  it('groups a hostile reason per port in linear time', async () => {
    const backend = new FakeBackend();
    const ingest = new BufferedIngest(1, backend, { ports: 100_000, hosts: 100 });
    const o = observation('192.0.2.1', []);
    for (let p = 1; p <= 60_000; p++) o.host.ports.push({ protocol: 'tcp', port: p, state: 'closed', reason: `r${p}` as 'conn-refused', tries: 1 });
    const started = Date.now();
    await ingest.add(o);
    await ingest.commit({ endedAt: 3000, status: 'done' });
    expect(backend.ranges).toHaveLength(60_000);
    expect(backend.ranges[59_999]).toMatchObject({ reason: 'r60000', ports: '60000', count: 1 });
    // Grouping by comparing fields alone took 16 s here (quadratic); by key, well under a second.
    expect(Date.now() - started).toBeLessThan(5000);
  });
});
