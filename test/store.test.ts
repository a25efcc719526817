/**
 * The store on both backends: open and migrate, ingest and read back, transactions seen from a
 * second connection, rollback leaving nothing, and opening errors as E_STORE.
 */
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { openStore } from '../src/store/index.js';
import type { Store } from '../src/store/types.js';
import { findingKey, type FindingDraft } from '../src/core/finding.js';
import { BACKENDS, Locations, countObserved, countRows, obs, port } from './helpers/store.js';

const where = new Locations();
afterAll(() => where.cleanup());

const T = 1_700_000_000_000;

/** Enough ports over several hosts that the ingest writes more than one batch before commit. */
function bulk(hosts: number, ports: number, at = T) {
  return Array.from({ length: hosts }, (_, h) =>
    obs(`10.1.${h >> 8}.${h & 255}`, Array.from({ length: ports }, (_, i) => (i % 50 === 0 ? port(i + 1, 'open', { name: 'http', method: 'probed', confidence: 10 }) : port(i + 1, 'filtered'))), at),
  );
}

describe.each(BACKENDS)('store on %s', (kind) => {
  async function fresh(): Promise<{ store: Store; location: string }> {
    const location = where.next(kind);
    return { store: await openStore(location), location };
  }

  it('opens, migrates idempotently and reports its kind', async () => {
    const { store, location } = await fresh();
    expect(store.kind).toBe(kind);
    await store.migrate();
    await store.close();
    const again = await openStore(location);
    expect(await again.scans()).toEqual([]);
    await again.close();
    if (kind === 'sqlite') {
      expect(statSync(dirname(location)).mode & 0o777).toBe(0o700);
      const db = new BetterSqlite3(location, { readonly: true });
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      db.close();
    }
  });

  it('ingests observations and reads them back with JSON parsed and epoch-ms timestamps', async () => {
    const { store, location } = await fresh();
    const ingest = await store.begin({ kind: 'import', source: 'nmap', args: ['nmap', '-sV'], startedAt: T - 1000, toolVersion: '7.93', file: 'scan.xml' });
    const tls = { protocol: 'TLSv1.3', cipher: 'TLS_AES_128_GCM_SHA256' };
    await ingest.add(
      obs('192.0.2.5', [
        port(22, 'open', { name: 'ssh', product: 'OpenSSH', version: '9.2p1', method: 'probed', confidence: 10, cpe: ['cpe:2.3:a:openbsd:openssh:9.2p1'], distro: 'Debian' }),
        port(443, 'open', { name: 'https', method: 'probed', confidence: 8, tls, evidence: [{ id: 'tls-legacy-version', detail: 'TLSv1.0' }] }),
        port(25, 'closed'),
        port(8080, 'open', undefined, { listener: { bindAddress: '0.0.0.0', scope: 'all', pid: 42, process: 'java' } }),
      ], T, 'nmap', { osHint: 'Linux 6.1' }),
    );
    await ingest.add({ ...obs('192.0.2.5', [], T + 10, 'nmap'), host: { ...obs('192.0.2.5', [], T + 10).host, hostnames: [{ name: 'mail.example', type: 'PTR' }] } });
    const scan = await ingest.commit({ endedAt: T + 2000, status: 'done', args: ['nmap', '-sV', '-oX', 'scan.xml'] });
    expect(scan).toMatchObject({ id: ingest.scanId, kind: 'import', source: 'nmap', status: 'done', hosts: 1, ports: 4, startedAt: T - 1000, endedAt: T + 2000, toolVersion: '7.93', file: 'scan.xml' });
    expect(scan.args).toEqual(['nmap', '-sV', '-oX', 'scan.xml']);
    expect(await store.scans()).toEqual([scan]);

    const [host, ...more] = await store.hosts();
    expect(more).toEqual([]);
    expect(host).toMatchObject({ address: '192.0.2.5', family: 4, hostnames: ['mail.example'], osHint: 'Linux 6.1', firstSeen: T - 500, lastSeen: T + 10, openPorts: 3 });

    const services = await store.services();
    expect(services.map((s) => s.port)).toEqual([22, 443, 8080]);
    const [ssh, https, alt] = services;
    expect(ssh).toMatchObject({ address: '192.0.2.5', protocol: 'tcp', state: 'open', reason: 'syn-ack', name: 'ssh', product: 'OpenSSH', version: '9.2p1', method: 'probed', confidence: 10, source: 'nmap', firstSeen: T, lastSeen: T });
    expect(ssh?.cpe).toEqual(['cpe:2.3:a:openbsd:openssh:9.2p1']);
    expect(ssh?.service?.distro).toBe('Debian');
    expect(typeof ssh?.firstSeen).toBe('number');
    expect(https?.tls).toEqual(tls);
    expect(https?.evidence).toEqual([{ id: 'tls-legacy-version', detail: 'TLSv1.0' }]);
    expect(alt).toMatchObject({ port: 8080, confidence: 0, cpe: [], listener: { bindAddress: '0.0.0.0', scope: 'all', pid: 42, process: 'java' } });
    expect(alt?.name).toBeUndefined();
    // The closed port is history only.
    expect(await countObserved(location)).toBe(4);
    await store.close();
  });

  it('filters hosts and services', async () => {
    const { store } = await fresh();
    const a = await store.begin({ kind: 'scan', source: 'portolan', args: [], startedAt: T });
    await a.add(obs('192.0.2.1', [port(22, 'open', { name: 'ssh', method: 'probed', confidence: 10 }), port(80, 'open', { name: 'http' })], T));
    await a.add(obs('192.0.2.2', [port(80, 'open', { name: 'http', method: 'probed', confidence: 9 })], T + 5000));
    await a.commit({ endedAt: T + 6000, status: 'done' });
    const b = await store.begin({ kind: 'import', source: 'masscan', args: [], startedAt: T + 10_000 });
    await b.add(obs('192.0.2.3', [port(443)], T + 10_000, 'masscan'));
    await b.commit({ endedAt: T + 11_000, status: 'interrupted' });

    expect((await store.scans()).map((s) => s.status)).toEqual(['interrupted', 'done']);
    expect(await store.scans(1)).toHaveLength(1);
    expect((await store.hosts({ address: '192.0.2.2' })).map((h) => h.address)).toEqual(['192.0.2.2']);
    expect((await store.hosts({ since: T + 1 })).map((h) => h.address)).toEqual(['192.0.2.2', '192.0.2.3']);
    expect(await store.hosts({ limit: 2 })).toHaveLength(2);
    const key = (q: Parameters<Store['services']>[0]) => store.services(q).then((rows) => rows.map((r) => `${r.address}:${r.port}`));
    expect(await key({ port: 80 })).toEqual(['192.0.2.1:80', '192.0.2.2:80']);
    expect(await key({ service: 'ssh' })).toEqual(['192.0.2.1:22']);
    expect(await key({ source: 'masscan' })).toEqual(['192.0.2.3:443']);
    expect(await key({ since: T + 5000 })).toEqual(['192.0.2.2:80', '192.0.2.3:443']);
    expect(await key({ address: '192.0.2.1', state: 'open' })).toEqual(['192.0.2.1:22', '192.0.2.1:80']);
    expect(await key({ state: 'closed' })).toEqual([]);
    expect(await key({ limit: 1 })).toHaveLength(1);
    await store.close();
  });

  it('lets a second connection read the old data while an ingest is open, and the new only after commit', async () => {
    const { store, location } = await fresh();
    const first = await store.begin({ kind: 'scan', source: 'portolan', args: ['first'], startedAt: T });
    await first.add(obs('192.0.2.9', [port(22, 'open', { name: 'ssh' })]));
    await first.commit({ endedAt: T + 1, status: 'done' });

    const reader = await openStore(location);
    const ingest = await store.begin({ kind: 'scan', source: 'portolan', args: ['second'], startedAt: T + 10 });
    for (const o of bulk(30, 500, T + 10)) await ingest.add(o); // 15 000 ports: several batches already written
    expect((await reader.scans()).map((s) => s.args)).toEqual([['first']]);
    expect(await reader.hosts()).toHaveLength(1);
    expect(await reader.services()).toHaveLength(1);
    expect(await countObserved(location)).toBe(1);
    // The writer's own store reads through another connection too, so it does not wait for the ingest.
    expect(await store.services()).toHaveLength(1);
    const row = await ingest.commit({ endedAt: T + 20, status: 'done' });
    expect(row).toMatchObject({ hosts: 30, ports: 15_000, status: 'done' });
    expect((await reader.scans()).map((s) => s.args)).toEqual([['second'], ['first']]);
    expect(await reader.hosts()).toHaveLength(31);
    expect(await reader.services({ state: 'open' })).toHaveLength(1 + 30 * 10);
    expect(await countObserved(location)).toBe(15_001);
    await reader.close();
    await store.close();
  });

  it('leaves no row at all after a rollback, even once batches were written', async () => {
    const { store, location } = await fresh();
    const ingest = await store.begin({ kind: 'scan', source: 'portolan', args: [], startedAt: T });
    for (const o of bulk(25, 500)) await ingest.add(o);
    await ingest.add(obs('192.0.2.7', [port(22)], T, 'nessus', { findings: [{ protocol: 'tcp', port: 22, pluginId: '1', pluginName: 'x', severity: 2, cves: [] }], packages: [{ name: 'openssh-server', version: '1:9.2p1-2', manager: 'dpkg' }] }));
    await ingest.rollback();
    await ingest.rollback(); // idempotent
    await expect(ingest.add(obs('192.0.2.8', [port(1)]))).rejects.toThrow(/rolled back/);
    for (const table of ['scans', 'hosts', 'services', 'observations', 'imported_findings', 'packages']) expect(await countRows(location, table)).toBe(0);
    // The store stays usable.
    const next = await store.begin({ kind: 'scan', source: 'portolan', args: [], startedAt: T });
    await next.add(obs('192.0.2.1', [port(80)]));
    await next.commit({ endedAt: T, status: 'done' });
    expect(await countRows(location, 'scans')).toBe(1);
    await store.close();
  });

  it('rolls back an ingest still open when the store closes', async () => {
    const { store, location } = await fresh();
    const ingest = await store.begin({ kind: 'scan', source: 'portolan', args: [], startedAt: T });
    for (const o of bulk(12, 1000)) await ingest.add(o);
    await store.close();
    expect(await countRows(location, 'scans')).toBe(0);
    expect(await countObserved(location)).toBe(0);
  });

  it('one writer at a time: another connection waits up to waitMs, then is told the store is busy', async () => {
    const { store, location } = await fresh();
    const other = await openStore(location);
    const meta = { kind: 'scan' as const, source: 'portolan' as const, args: [], startedAt: T };
    const writing = await store.begin(meta);
    const started = Date.now();
    const err = await other.begin(meta, { waitMs: 300 }).catch((e: unknown) => e);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(err).toMatchObject({ code: 'E_STORE', message: expect.stringMatching(/is busy: another portolan run is writing/) as unknown });
    // A longer wait outlasts the writer: the second ingest starts once the first commits.
    const waiting = other.begin(meta, { waitMs: 20_000 });
    await new Promise((r) => setTimeout(r, 300));
    await writing.commit({ endedAt: T, status: 'done' });
    const after = await waiting;
    await after.add(obs('192.0.2.8', [port(22, 'open', { name: 'ssh' })]));
    await after.commit({ endedAt: T, status: 'done' });
    // On the same connection, a second begin simply waits its turn.
    const first = await store.begin(meta);
    const second = store.begin(meta, { waitMs: 0 });
    await first.commit({ endedAt: T, status: 'done' });
    await (await second).commit({ endedAt: T, status: 'done' });
    expect(await countRows(location, 'scans')).toBe(4);
    await other.close();
    await store.close();
  });

  it('rolls back cleanly after a failed add', async () => {
    const { store, location } = await fresh();
    const ingest = await store.begin({ kind: 'import', source: 'nmap', args: [], startedAt: T });
    await ingest.add(obs('192.0.2.1', [port(80)]));
    await expect(ingest.add(obs('192.0.2.2', [port(70000)]))).rejects.toThrow(/port 70000/);
    await ingest.rollback();
    expect(await countRows(location, 'scans')).toBe(0);
    expect(await countRows(location, 'hosts')).toBe(0);
    await store.close();
  });

  it('keeps findings and the latest version of each package', async () => {
    const { store, location } = await fresh();
    for (const [i, version] of ['1:9.2p1-2', '1:9.2p1-2+deb12u3'].entries()) {
      const ingest = await store.begin({ kind: 'listeners', source: 'ssh', args: [], startedAt: T + i });
      await ingest.add(
        obs('192.0.2.4', [port(22, 'open', { name: 'ssh' })], T + i, 'ssh', {
          packages: [{ name: 'openssh-server', version, arch: 'amd64', manager: 'dpkg' }, { name: 'openssh-server', version, arch: 'amd64', manager: 'dpkg' }, { name: 'bash', version: '5.2', manager: 'dpkg' }],
          findings: [{ protocol: 'tcp', port: 22, pluginId: '10267', pluginName: 'SSH Server Type', severity: 0, cves: ['CVE-2023-38408'], cvss3: 9.8 }],
        }),
      );
      await ingest.commit({ endedAt: T + i, status: 'done' });
    }
    expect(await countRows(location, 'packages')).toBe(2);
    expect(await countRows(location, 'imported_findings')).toBe(2);
    const packages = await store.packages({ address: '192.0.2.4' });
    expect(packages.map((p) => `${p.name} ${p.version} ${p.arch ?? '-'} ${p.manager}`)).toEqual(['bash 5.2 - dpkg', 'openssh-server 1:9.2p1-2+deb12u3 amd64 dpkg']);
    expect(packages[1]).toMatchObject({ address: '192.0.2.4', seenAt: T + 1 });
    expect(await store.packages({ name: 'bash' })).toHaveLength(1);
    expect(await store.packages({ address: '192.0.2.99' })).toEqual([]);
    const findings = await store.importedFindings();
    expect(findings).toHaveLength(2);
    expect(findings[0]).toMatchObject({ address: '192.0.2.4', protocol: 'tcp', port: 22, pluginId: '10267', pluginName: 'SSH Server Type', severity: 0, cves: ['CVE-2023-38408'], cvss3: 9.8 });
    expect(findings[0]?.cvss2).toBeUndefined();
    expect(await store.importedFindings({ cve: 'cve-2023-38408' })).toHaveLength(2);
    expect(await store.importedFindings({ cve: 'CVE-2023-3840' })).toEqual([]);
    expect(await store.importedFindings({ cve: "%' OR 1=1 --" })).toEqual([]);
    expect(await store.importedFindings({ minSeverity: 1 })).toEqual([]);
    expect(await store.importedFindings({ port: 22, limit: 1 })).toHaveLength(1);
    await store.close();
  });

  it('gives back every port a scan recorded, closed and filtered ones from their ranges', async () => {
    const { store } = await fresh();
    const meta = { kind: 'scan' as const, source: 'portolan' as const, args: [], startedAt: T };
    const first = await store.begin(meta);
    await first.add(obs('192.0.2.30', [port(22, 'open', { name: 'ssh', method: 'probed', confidence: 10, product: 'OpenSSH' }), port(21), port(23), port(24), port(25, 'filtered'), port(80, 'closed', { name: 'http', method: 'table' })], T));
    await first.add(obs('192.0.2.31', [port(53, 'open', { name: 'domain' }, { protocol: 'udp' }), port(53, 'closed')], T));
    const a = await first.commit({ endedAt: T, status: 'done' });
    const second = await store.begin(meta);
    await second.add(obs('192.0.2.30', [port(22, 'closed')], T + 1000));
    const b = await second.commit({ endedAt: T + 1000, status: 'done' });
    const seen = await store.observedPorts(a.id);
    expect(seen.map((p) => `${p.address} ${p.protocol}/${p.port} ${p.state} ${p.service?.product ?? p.service?.name ?? '-'}`)).toEqual([
      '192.0.2.30 tcp/21 open -',
      '192.0.2.30 tcp/22 open OpenSSH',
      '192.0.2.30 tcp/23 open -',
      '192.0.2.30 tcp/24 open -',
      '192.0.2.30 tcp/25 filtered -',
      '192.0.2.30 tcp/80 closed -',
      '192.0.2.31 tcp/53 closed -',
      '192.0.2.31 udp/53 open domain',
    ]);
    expect(seen.find((p) => p.port === 80)).toMatchObject({ reason: 'conn-refused', source: 'portolan', observedAt: T });
    expect((await store.observedPorts(b.id)).map((p) => `${p.address} ${p.port} ${p.state}`)).toEqual(['192.0.2.30 22 closed']);
    expect(await store.observedPorts(a.id, { address: '192.0.2.31' })).toHaveLength(2);
    expect(await store.observedPorts(b.id + 1)).toEqual([]);
    await store.close();
  });

  it('keeps findings under stable keys: opens, updates, fixes only covered ports, reopens, and keeps the history', async () => {
    const { store } = await fresh();
    const ingest = await store.begin({ kind: 'scan', source: 'portolan', args: [], startedAt: T });
    await ingest.add(obs('203.0.113.7', [port(22, 'open', { name: 'ssh' }), port(6379, 'open', { name: 'redis' })], T));
    await ingest.add(obs('203.0.113.8', [port(80, 'open', { name: 'http' })], T));
    await ingest.commit({ endedAt: T, status: 'done' });
    const draft = (address: string, p: number, kind: FindingDraft['kind'], tier: FindingDraft['tier'], score: number, ref?: string): FindingDraft => ({
      key: findingKey(address, 'tcp', p, kind, ref),
      address,
      protocol: 'tcp',
      port: p,
      kind,
      ...(ref !== undefined && { ref, cve: { id: ref, cvss: 9.8, kev: true, confidence: 'confirmed' as const } }),
      title: `t ${p} ${kind}\u001b[31m`,
      tier,
      score,
      reasons: [{ rule: 'r', text: 'why "quoted" \\ \t', weight: score }],
      service: { name: 'x', product: 'P', version: '1.0' },
    });
    const ssh = draft('203.0.113.7', 22, 'exposure', 'medium', 40);
    const redis = draft('203.0.113.7', 6379, 'exposure', 'critical', 90);
    const cve = draft('203.0.113.7', 22, 'vulnerability', 'high', 70, 'CVE-2024-6387');
    const web = draft('203.0.113.8', 80, 'exposure', 'low', 10);
    const covered = new Set(['203.0.113.7/tcp/22', '203.0.113.7/tcp/6379', '203.0.113.8/tcp/80']);
    expect(await store.syncFindings([ssh, redis, cve, web, ssh], covered, T + 1)).toEqual({ opened: 4, updated: 0, unchanged: 0, reopened: 0, fixed: 0 });
    const all = await store.findings();
    expect(all.map((f) => `${f.tier} ${f.key}`)).toEqual(['critical 203.0.113.7/tcp/6379/exposure', 'high 203.0.113.7/tcp/22/vulnerability/CVE-2024-6387', 'medium 203.0.113.7/tcp/22/exposure', 'low 203.0.113.8/tcp/80/exposure']);
    expect(all[1]).toMatchObject({ status: 'open', ref: 'CVE-2024-6387', cve: { id: 'CVE-2024-6387', kev: true }, service: { product: 'P' }, firstSeen: T + 1, lastSeen: T + 1 });
    expect(all[1]?.reasons[0]?.text).toBe('why "quoted" \\ \t');
    expect((await store.findings({ minTier: 'high' })).map((f) => f.port)).toEqual([6379, 22]);
    expect(await store.findings({ address: '203.0.113.8' })).toHaveLength(1);

    // The CVE is gone (upgraded) on a covered port: fixed. Port 80 was not covered this time: untouched.
    expect(await store.syncFindings([{ ...ssh, score: 41 }, redis], new Set(['203.0.113.7/tcp/22', '203.0.113.7/tcp/6379']), T + 2)).toEqual({ opened: 0, updated: 1, unchanged: 1, reopened: 0, fixed: 1 });
    // Unchanged means untouched, last seen included.
    expect((await store.findings()).find((f) => f.key === redis.key)?.lastSeen).toBe(T + 1);
    expect((await store.findings()).find((f) => f.key === ssh.key)?.lastSeen).toBe(T + 2);
    expect((await store.findings({ status: ['fixed'] })).map((f) => f.key)).toEqual([cve.key]);
    expect((await store.findings({ status: ['open'] })).map((f) => f.key)).toContain(web.key);
    // Back again: reopened, with the whole history kept.
    expect(await store.syncFindings([ssh, redis, cve, web], covered, T + 3)).toEqual({ opened: 0, updated: 1, unchanged: 2, reopened: 1, fixed: 0 });
    expect((await store.findingEvents(cve.key)).map((e) => `${e.status}:${e.note ?? ''}`)).toEqual(['open:found', 'fixed:no longer found', 'open:seen again after it was fixed']);

    // An accepted risk stays out of the way until it expires; a false positive stays one.
    expect(await store.setFindingStatus(redis.key, 'accepted', T + 4, 'internal cache, firewalled upstream', T + 10)).toBe(true);
    expect(await store.setFindingStatus(web.key, 'false-positive', T + 4, 'lab host')).toBe(true);
    expect(await store.setFindingStatus('203.0.113.9/tcp/1/exposure', 'accepted', T + 4)).toBe(false);
    expect((await store.findings({ address: '203.0.113.7' })).find((f) => f.key === redis.key)).toMatchObject({ status: 'accepted', statusReason: 'internal cache, firewalled upstream', statusExpires: T + 10 });
    await store.syncFindings([ssh, redis, cve, web], covered, T + 5);
    expect((await store.findings()).find((f) => f.key === redis.key)?.status).toBe('accepted');
    await store.syncFindings([ssh, redis, cve], covered, T + 11);
    const after = await store.findings();
    expect(after.find((f) => f.key === redis.key)).toMatchObject({ status: 'open' });
    expect(after.find((f) => f.key === redis.key)?.statusReason).toBeUndefined();
    expect(after.find((f) => f.key === web.key)?.status).toBe('false-positive');
    expect((await store.findingEvents(redis.key)).map((e) => e.status)).toEqual(['open', 'accepted', 'open']);
    await store.close();
  });

  it('keeps vulnerability data: CVEs replaced whole, candidates by vendor:product with KEV and EPSS, snapshots replaced', async () => {
    const { store } = await fresh();
    const config = [{ operator: 'OR', negate: false, nodes: [{ operator: 'OR', negate: false, cpeMatch: [{ vulnerable: true, criteria: 'cpe:2.3:a:openbsd:openssh:*:*:*:*:*:*:*:*', versionEndExcluding: '9.8p1' }] }] }];
    const cve = (id: string, product: string, description = 'd') => ({ id, source: 'nvd' as const, published: T, cvss: { version: '3.1', score: 8.1, severity: 'high', vector: 'CVSS:3.1/AV:N' }, description, configurations: config, products: [{ vendor: 'OpenBSD', product }, { vendor: 'openbsd', product }] });
    const fixedIn = [{ distro: 'debian', package: 'openssh-server', version: '1:9.2p1-2+deb12u3' }];
    expect(await store.importVulns([{ ...cve('CVE-2024-6387', 'openssh'), source: 'builtin', fixedIn }, cve('CVE-2023-38408', 'openssh'), cve('CVE-2021-41617', 'other')])).toBe(3);
    await store.importVulns([cve('CVE-2023-38408', 'openssh', 'newer text\u0000 with "quotes"')]);
    expect(await store.importKev([{ cve: 'CVE-2024-6387', dateAdded: '2024-07-01', ransomware: false, name: 'regreSSHion' }])).toBe(1);
    expect(await store.importEpss([{ cve: 'CVE-2024-6387', epss: 0.5, percentile: 0.97 }, { cve: 'CVE-2023-38408', epss: 0.1 }])).toBe(2);
    const found = await store.vulnCandidates([{ vendor: 'openbsd', product: 'openssh' }]);
    expect(found.map((c) => c.id)).toEqual(['CVE-2023-38408', 'CVE-2024-6387']);
    expect(found[0]).toMatchObject({ description: 'newer text\ufffd with "quotes"', epss: { epss: 0.1 }, cvss: { score: 8.1 }, configurations: config });
    expect(found[0]?.kev).toBeUndefined();
    expect(found[1]).toMatchObject({ source: 'builtin', fixedIn, kev: { dateAdded: '2024-07-01', ransomware: false }, epss: { epss: 0.5, percentile: 0.97 } });
    expect(found[0]?.fixedIn).toBeUndefined();
    expect(await store.vulnCandidates([{ vendor: 'nobody', product: 'openssh' }])).toEqual([]);
    expect(await store.vulnCandidates([])).toEqual([]);
    // A new EPSS file is a new snapshot: what it lacks is gone.
    await store.importEpss((async function* () {
      yield await Promise.resolve({ cve: 'CVE-2024-6387', epss: 0.6 });
    })());
    expect(await store.vulnCounts()).toEqual({ cves: 3, kev: 1, epss: 1 });
    expect((await store.vulnCandidates([{ vendor: 'openbsd', product: 'openssh' }]))[0]?.epss).toBeUndefined();
    await store.close();
  });

  it('knows which ports some scan saw filtered on hosts with open services', async () => {
    const { store } = await fresh();
    const meta = { kind: 'scan' as const, source: 'portolan' as const, args: [], startedAt: T };
    for (const [i, states] of [['open', 'filtered'], ['filtered', 'filtered'], ['open', 'filtered']].entries()) {
      const ingest = await store.begin(meta);
      await ingest.add(obs('192.0.2.40', [port(443, states[0] as 'open'), port(8443, states[1] as 'filtered')], T + i));
      await ingest.add(obs('192.0.2.41', [port(25, 'filtered')], T + i));
      await ingest.commit({ endedAt: T + i, status: 'done' });
    }
    const seen = await store.filteredSightings();
    // 443: open, filtered, open again (an observation row: services knows it); 8443 from ranges.
    expect(seen.get('192.0.2.40/tcp/443')).toBe(T + 1);
    expect(seen.get('192.0.2.40/tcp/8443')).toBe(T + 2);
    // A host without any open service is of no interest here.
    expect(seen.has('192.0.2.41/tcp/25')).toBe(false);
    expect((await store.services({ port: 443 }))[0]).toMatchObject({ state: 'open', firstSeen: T });
    await store.close();
  });

  it('orders findings most severe first and filters them by scan', async () => {
    const { store } = await fresh();
    const f = (pluginId: string, severity: number, port: number) => ({ protocol: 'tcp' as const, port, pluginId, pluginName: `p${pluginId}`, severity, cves: [] });
    const ingest = await store.begin({ kind: 'import', source: 'nessus', args: [], startedAt: T });
    await ingest.add(obs('192.0.2.7', [port(80, 'open', { name: 'http' })], T, 'nessus', { findings: [f('1', 1, 80), f('2', 4, 443), f('3', 2, 80)] }));
    const scan = await ingest.commit({ endedAt: T, status: 'done' });
    expect((await store.importedFindings()).map((x) => `${x.pluginId}:${x.severity}`)).toEqual(['2:4', '3:2', '1:1']);
    expect(await store.importedFindings({ scanId: scan.id, minSeverity: 2 })).toHaveLength(2);
    expect(await store.importedFindings({ scanId: scan.id + 1 })).toEqual([]);
    await store.close();
  });

  it('stores hostile strings (NUL, lone surrogates, quotes, braces, huge banners) on both backends', async () => {
    const { store } = await fresh();
    const nasty = 'a\u0000b\ud800c"d\\e{f,g}h NULL \'i\t\\N\n\r';
    const ingest = await store.begin({ kind: 'import', source: 'amap', args: [nasty], startedAt: T, file: nasty });
    const o = obs('192.0.2.66', [port(21, 'open', { name: nasty, product: nasty, banner: nasty.repeat(10_000), cpe: [nasty] }), port(23, 'open', { name: 'telnet', fields: { [nasty]: nasty } })], T, 'amap', { osHint: nasty });
    o.host.hostnames = [{ name: nasty, type: 'PTR' }, { name: 'NULL', type: 'user' }];
    await ingest.add(o);
    const scan = await ingest.commit({ endedAt: T, status: 'done' });
    expect(scan.args[0]).toBe('a\ufffdb\ufffdc"d\\e{f,g}h NULL \'i\t\\N\n\r');
    const [svc] = await store.services({ port: 21 });
    expect(svc?.name).toBe('a\ufffdb\ufffdc"d\\e{f,g}h NULL \'i\t\\N\n\r');
    expect(svc?.banner?.length).toBe(4096);
    expect(svc?.cpe).toEqual(['a\ufffdb\ufffdc"d\\e{f,g}h NULL \'i\t\\N\n\r']);
    const [host] = await store.hosts();
    expect(host?.hostnames).toEqual(['a\ufffdb\ufffdc"d\\e{f,g}h NULL \'i\t\\N\n\r', 'NULL']);
    await store.close();
  });
});

describe('opening errors are one E_STORE line', () => {
  const expectStoreError = async (location: string, message: RegExp) => {
    const err = await openStore(location).then(
      async (s) => {
        await s.close();
        return undefined;
      },
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ name: 'UsageError', code: 'E_STORE' });
    expect((err as Error).message).toMatch(message);
    expect((err as Error).message).not.toContain('\n');
  };

  it('refuses a file that is not a database', async () => {
    const path = where.next('sqlite');
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, 'this is not a database, just text that is long enough to have a header page'.repeat(100));
    await expectStoreError(path, /is not a portolan database .*use another --db/);
  });

  it('refuses a directory and an unwritable path', async () => {
    const dir = dirname(where.next('sqlite'));
    mkdirSync(dir, { recursive: true });
    await expectStoreError(dir, /cannot open the store/);
    // Under /proc, Node's own recursive mkdir never returns: the store must not hang there.
    await expectStoreError('/proc/portolan/x.db', /cannot open the store .*--db PATH/);
    const file = where.next('sqlite');
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, '');
    await expectStoreError(`${file}/sub/x.db`, /ENOTDIR/);
  });

  it('refuses a database written by a newer portolan', async () => {
    const path = where.next('sqlite');
    const store = await openStore(path);
    await store.close();
    const db = new BetterSqlite3(path);
    db.prepare('insert into kysely_migration (name, timestamp) values (?, ?)').run('0099_future', new Date().toISOString());
    db.close();
    await expectStoreError(path, /written by a newer portolan \(0099_future\); upgrade portolan/);
  });

  it('refuses a PostgreSQL URL with a bad schema name or an unreachable server, without leaking the password', async () => {
    await expectStoreError('postgres://postgres@127.0.0.1/test?schema=x;drop', /bad PostgreSQL URL .*plain identifier/);
    await expectStoreError('postgresql://me:s3cret-pw@127.0.0.1:1/test', /cannot use the PostgreSQL store "postgresql:\/\/me:\*\*\*@127\.0\.0\.1:1\/test".*ECONNREFUSED/);
    const err = await openStore('postgres://me:s3cret-pw@127.0.0.1:1/test').catch((e: unknown) => e);
    expect(String((err as Error).message)).not.toContain('s3cret');
  });
});
