import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HostResult, PortResult } from '../core/model.js';
import { listeningPorts } from '../../test/helpers/listening.js';
import { createSocketLayer } from './connect.js';
import { runScan, type EngineOptions, type ScanTarget } from './engine.js';
import { timingTemplate } from './timing.js';

// Loopback only: every target here is 127.0.0.1 or ::1.

async function* targetsOf(list: ScanTarget[]): AsyncGenerator<ScanTarget> {
  for (const t of list) yield await Promise.resolve(t);
}

function range(a: number, b: number): Uint16Array {
  return Uint16Array.from({ length: b - a + 1 }, (_, i) => a + i);
}

async function scan(targets: ScanTarget[], extra: Partial<EngineOptions> & { ports: Uint16Array }, layer?: 'native' | 'js') {
  const hosts: HostResult[] = [];
  const ports: PortResult[] = [];
  const stats = await runScan(targetsOf(targets), {
    timing: timingTemplate(4),
    maxRetries: 2,
    fdCap: 900,
    createLayer: (o) => createSocketLayer({ ...o, ...(layer && { prefer: layer }) }),
    onHost: (h) => hosts.push(h),
    onPort: (_t, p) => ports.push(p),
    ...extra,
  });
  return { hosts, ports, stats };
}

let servers: Server[] = [];
const openPorts: number[] = [];

beforeAll(async () => {
  for (let i = 0; i < 3; i++) {
    const server = createServer((sock) => {
      sock.on('error', () => undefined);
      sock.end('hello from portolan test\r\n');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    if (address && typeof address === 'object') openPorts.push(address.port);
    servers.push(server);
  }
});

afterAll(async () => {
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  servers = [];
});

const local: ScanTarget = { address: '127.0.0.1', family: 4 };

describe('engine on loopback', () => {
  for (const layer of ['native', 'js'] as const) {
    it(`finds exactly the listening ports (${layer} layer)`, async () => {
      const ports = layer === 'native' ? range(1, 65535) : Uint16Array.from([...openPorts, ...range(1, 2000)]);
      const before = listeningPorts('127.0.0.1');
      const { hosts, stats } = await scan([local], { ports }, layer);
      const after = listeningPorts('127.0.0.1');
      expect(stats.socketLayer).toBe(layer);
      expect(hosts).toHaveLength(1);
      const host = hosts[0]!;
      expect(host.status).toBe('up');
      expect(host.ports).toHaveLength(new Set(ports).size);
      // Other processes may open or close listeners meanwhile: bracket the truth by before and after.
      const open = host.ports.filter((p) => p.state === 'open').map((p) => p.port);
      expect(open.filter((p) => !before.has(p) && !after.has(p))).toEqual([]);
      expect([...ports].filter((p) => before.has(p) && after.has(p) && !open.includes(p))).toEqual([]);
      for (const p of openPorts) expect(open).toContain(p);
      for (const p of host.ports) {
        if (p.state === 'open') expect(p.reason).toBe('syn-ack');
        else expect(p).toMatchObject({ state: 'closed', reason: 'conn-refused' });
      }
      // Ascending order, each port once.
      for (let i = 1; i < host.ports.length; i++) expect(host.ports[i]!.port).toBeGreaterThan(host.ports[i - 1]!.port);
    });
  }

  it('scans IPv6 loopback', async () => {
    const v6 = createServer((s) => s.on('error', () => undefined).destroy());
    await new Promise<void>((r) => v6.listen(0, '::1', r));
    const port = (v6.address() as { port: number }).port;
    try {
      const { hosts } = await scan([{ address: '::1', family: 6 }], { ports: Uint16Array.from([port, port === 65535 ? 1 : port + 1]) });
      expect(hosts[0]!.family).toBe(6);
      expect(hosts[0]!.ports.find((p) => p.port === port)?.state).toBe('open');
    } finally {
      await new Promise((r) => v6.close(r));
    }
  });

  it('streams every port result before its host and reports hosts once', async () => {
    const targets = [local, { address: '127.0.0.2', family: 4 as const }, { address: '127.0.0.3', family: 4 as const }];
    const { hosts, ports } = await scan(targets, { ports: range(1, 50) });
    expect(hosts.map((h) => h.address).sort()).toEqual(['127.0.0.1', '127.0.0.2', '127.0.0.3']);
    expect(ports).toHaveLength(150);
  });

  it('discovers loopback hosts as up and still scans them', async () => {
    const { hosts } = await scan([local], { ports: Uint16Array.from(openPorts), discoveryPorts: Uint16Array.from([80, 443]) });
    expect(hosts[0]!.status).toBe('up');
    expect(['conn-refused', 'syn-ack']).toContain(hosts[0]!.statusReason);
    expect(hosts[0]!.ports.every((p) => p.state === 'open')).toBe(true);
  });

  it('hands open connections over to the callback, which can read a banner', async () => {
    const banners: string[] = [];
    const reads: Promise<void>[] = [];
    await scan([local], {
      ports: Uint16Array.from(openPorts),
      onOpen: (conn) => {
        reads.push(
          new Promise<void>((resolve) => {
            let data = '';
            conn.socket.on('data', (d: Buffer) => (data += d.toString()));
            conn.socket.on('close', () => {
              banners.push(data);
              resolve();
            });
            conn.socket.on('error', () => resolve());
          }),
        );
      },
    });
    await Promise.all(reads);
    expect(banners).toHaveLength(openPorts.length);
    for (const b of banners) expect(b).toBe('hello from portolan test\r\n');
  });

  it('stops on abort without reporting unfinished hosts', async () => {
    const controller = new AbortController();
    const started = Date.now();
    setTimeout(() => controller.abort(), 50);
    const { hosts, stats } = await scan([local], { ports: range(1, 65535), maxRate: 2000, signal: controller.signal });
    expect(stats.interrupted).toBe(true);
    expect(hosts).toHaveLength(0);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('keeps to --max-rate', async () => {
    const started = Date.now();
    const { stats } = await scan([local], { ports: range(20000, 20299), maxRate: 1000 });
    const elapsed = Date.now() - started;
    expect(stats.probesSent).toBe(300);
    // 300 probes at 1000/s: at least ~0.25 s (a small initial burst is allowed).
    expect(elapsed).toBeGreaterThan(240);
  });

  it('keeps the window within the fd cap', async () => {
    let peak = 0;
    const { hosts } = await scan([local], {
      ports: range(30000, 34999),
      fdCap: 40,
      createLayer: (o) => {
        const layer = createSocketLayer(o);
        const open = layer.open.bind(layer);
        layer.open = (slot, ep, port, keep) => {
          const r = open(slot, ep, port, keep);
          peak = Math.max(peak, layer.inFlight);
          return r;
        };
        return layer;
      },
    });
    expect(hosts[0]!.ports).toHaveLength(5000);
    expect(peak).toBeLessThanOrEqual(40);
  });
});
