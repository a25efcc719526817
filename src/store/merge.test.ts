/** The service merge rule, the same on both backends. */
import { afterAll, describe, expect, it } from 'vitest';
import type { Observation } from '../core/model.js';
import { openStore } from './index.js';
import type { ServiceRow, Store } from './types.js';
import { BACKENDS, Locations, countObserved, countRows, queryRows, obs, port } from '../../test/helpers/store.js';

const where = new Locations();
afterAll(() => where.cleanup());

const T = 1_700_000_000_000;
const A = '198.51.100.7';

describe.each(BACKENDS)('service merge on %s', (kind) => {
  /** Ingest each group of observations as its own scan; returns the services of A then. */
  async function run(...scans: Observation[][]): Promise<{ store: Store; location: string; services: ServiceRow[] }> {
    const location = where.next(kind);
    const store = await openStore(location);
    for (const group of scans) {
      const ingest = await store.begin({ kind: 'import', source: group[0]?.source ?? 'portolan', args: [], startedAt: T });
      for (const o of group) await ingest.add(o);
      await ingest.commit({ endedAt: T, status: 'done' });
    }
    return { store, location, services: await store.services({ address: A }) };
  }

  it('never duplicates a port, within one ingest or across sources', async () => {
    const { store, location, services } = await run(
      [obs(A, [port(22, 'open', { name: 'ssh' })], T, 'masscan'), obs(A, [port(80), port(22)], T + 1, 'masscan'), obs(A, [port(22, 'open', { name: 'ssh', method: 'probed', confidence: 9 })], T + 2, 'masscan')],
      [obs(A, [port(22, 'open', { name: 'ssh', method: 'probed', confidence: 10, product: 'OpenSSH' })], T + 3, 'nmap')],
    );
    expect(services.map((s) => `${s.port}/${s.source}/${s.product ?? ''}`)).toEqual(['22/nmap/OpenSSH', '80/masscan/']);
    expect(await countObserved(location)).toBe(5);
    expect(await countRows(location, 'hosts')).toBe(1);
    await store.close();
  });

  it('replaces a port-table guess with any probed service, even a less confident one', async () => {
    const { store, services } = await run([obs(A, [port(8443, 'open', { name: 'https-alt', method: 'table', confidence: 3 })], T)], [obs(A, [port(8443, 'open', { name: 'http', method: 'probed', confidence: 2, product: 'Jetty' })], T + 1, 'nmap')]);
    expect(services[0]).toMatchObject({ name: 'http', method: 'probed', confidence: 2, product: 'Jetty', source: 'nmap', firstSeen: T, lastSeen: T + 1 });
    await store.close();
  });

  it('keeps a more confident service but takes state, reason and last_seen from the newer observation', async () => {
    const { store, services } = await run(
      [obs(A, [port(22, 'open', { name: 'ssh', method: 'probed', confidence: 10, product: 'OpenSSH', version: '9.2p1' })], T, 'nmap')],
      [obs(A, [port(22, 'open', { name: 'ssh', method: 'probed', confidence: 5 }, { reason: 'syn-ack' })], T + 100, 'naabu')],
    );
    expect(services[0]).toMatchObject({ name: 'ssh', product: 'OpenSSH', version: '9.2p1', confidence: 10, source: 'nmap', lastSeen: T + 100 });
    await store.close();
  });

  it('an equally confident newer service replaces the stored one', async () => {
    const { store, services } = await run([obs(A, [port(80, 'open', { name: 'http', method: 'probed', confidence: 8, product: 'nginx' })], T)], [obs(A, [port(80, 'open', { name: 'http', method: 'probed', confidence: 8, product: 'Apache httpd' })], T + 1, 'nmap')]);
    expect(services[0]).toMatchObject({ product: 'Apache httpd', source: 'nmap' });
    await store.close();
  });

  it('a port that closes keeps its last service; reopening with another service replaces it', async () => {
    const ssh = { name: 'ssh', method: 'probed' as const, confidence: 10, product: 'OpenSSH' };
    const closed = await run([obs(A, [port(2222, 'open', ssh)], T)], [obs(A, [port(2222, 'closed')], T + 10)]);
    expect(closed.services[0]).toMatchObject({ state: 'closed', reason: 'conn-refused', name: 'ssh', product: 'OpenSSH', lastSeen: T + 10, firstSeen: T });
    await closed.store.close();
    // State changed, so a weaker service wins.
    const reopened = await run([obs(A, [port(2222, 'open', ssh)], T)], [obs(A, [port(2222, 'closed')], T + 10)], [obs(A, [port(2222, 'open', { name: 'http', method: 'probed', confidence: 4 })], T + 20, 'nmap')]);
    expect(reopened.services[0]).toMatchObject({ state: 'open', name: 'http', confidence: 4, source: 'nmap', lastSeen: T + 20 });
    expect(reopened.services[0]?.product).toBeUndefined();
    await reopened.store.close();
  });

  it('an older observation never overrides the state of a newer one', async () => {
    const { store, services } = await run([obs(A, [port(443, 'open', { name: 'https', method: 'probed', confidence: 9 })], T + 1000)], [obs(A, [port(443, 'filtered')], T, 'nmap')]);
    expect(services[0]).toMatchObject({ state: 'open', reason: 'syn-ack', lastSeen: T + 1000, firstSeen: T + 1000, name: 'https' });
    await store.close();
  });

  it('ports never seen open stay out of services but are kept as history', async () => {
    const { store, location, services } = await run([
      obs(A, [port(1, 'closed'), port(2, 'filtered'), port(3, 'closed', { name: 'ident', method: 'probed' }), port(4, 'closed', { name: 'unknown', method: 'table' })], T),
    ]);
    // A probed service is worth a row whatever its state; a port-table guess on a closed port is not.
    expect(services.map((s) => `${s.port}/${s.state}/${s.name ?? ''}`)).toEqual(['3/closed/ident']);
    expect(await countObserved(location)).toBe(4);
    // The probed one has an observation row; the others are kept as port ranges per state and reason.
    expect(await countRows(location, 'observations')).toBe(1);
    const ranges = await queryRows<{ state: string; reason: string; ports: string; port_count: number }>(location, 'select state, reason, ports, port_count from observed_ranges order by state');
    expect(ranges.map((r) => `${r.state}/${r.reason}/${r.ports}/${r.port_count}`)).toEqual(['closed/conn-refused/1,4/2', 'filtered/no-response/2/1']);
    expect((await store.hosts())[0]?.openPorts).toBe(0);
    await store.close();
  });

  it('udp and tcp on one port number are two services', async () => {
    const { store, services } = await run([obs(A, [port(53, 'open', { name: 'domain' }), port(53, 'open', { name: 'domain' }, { protocol: 'udp' })], T)]);
    expect(services.map((s) => `${s.protocol}/${s.port}`).sort()).toEqual(['tcp/53', 'udp/53']);
    await store.close();
  });

  it('merges host names and keeps the newest OS hint', async () => {
    const one = obs(A, [port(22)], T, 'nmap', { osHint: 'Linux 5.x' });
    one.host.hostnames = [{ name: 'a.example', type: 'PTR' }];
    const two = obs(A, [port(22)], T + 5, 'nessus', { osHint: 'Debian 12' });
    two.host.hostnames = [{ name: 'b.example', type: 'user' }, { name: 'a.example', type: 'PTR' }];
    const three = obs(A, [], T - 50, 'masscan');
    const { store } = await run([one], [two], [three]);
    expect((await store.hosts())[0]).toMatchObject({ hostnames: ['a.example', 'b.example'], osHint: 'Debian 12', firstSeen: T - 550, lastSeen: T + 5 });
    await store.close();
  });

  it('updates services across many batches of one ingest', async () => {
    const many = (at: number, open: boolean) =>
      Array.from({ length: 12 }, (_, h) => obs(`203.0.113.${h}`, Array.from({ length: 1000 }, (_, i) => port(i + 1, open && i % 100 === 0 ? 'open' : 'filtered', open && i % 100 === 0 ? { name: 'x' } : undefined)), at));
    const { store, location } = await run(many(T, true), many(T + 1, false));
    const rows = await store.services();
    expect(rows).toHaveLength(120);
    expect(new Set(rows.map((r) => `${r.state}/${r.lastSeen}/${r.name ?? ''}`))).toEqual(new Set([`filtered/${T + 1}/x`]));
    expect(await countObserved(location)).toBe(24_000);
    await store.close();
  });
});
