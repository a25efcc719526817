import { existsSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { HostResult } from '../core/model.js';
import { HostSpool } from './host-spool.js';

function host(i: number, ports: number, banner = ''): HostResult {
  return {
    address: `198.18.${i >> 8}.${i & 255}`,
    family: 4,
    hostnames: [],
    status: 'up',
    statusReason: 'syn-ack',
    startedAt: 1000,
    endedAt: 2000,
    ports: Array.from({ length: ports }, (_, p) => ({
      protocol: 'tcp',
      port: p + 1,
      state: 'open',
      reason: 'syn-ack',
      tries: 1,
      ...(banner !== '' ? { service: { name: 'x', method: 'probed', confidence: 5, cpe: [], banner } } : {}),
    })),
  };
}

const spoolDirs = () => readdirSync(tmpdir()).filter((n) => n.startsWith('portolan-spool-'));

describe('HostSpool', () => {
  it('keeps a small scan in memory, in order, and writes no file', () => {
    const before = spoolDirs().length;
    const spool = new HostSpool();
    for (let i = 0; i < 10; i++) spool.add(host(i, 3));
    expect(spoolDirs()).toHaveLength(before);
    expect([...spool.hosts()].map((h) => h.address)).toEqual(Array.from({ length: 10 }, (_, i) => host(i, 0).address));
    spool.discard();
  });

  it('spills a large scan to a private file and reads back every host, multi-byte text intact', () => {
    const before = new Set(spoolDirs());
    const spool = new HostSpool();
    // Multi-byte banners put character boundaries at every offset of the 1 MiB read chunks.
    const banner = 'é€𝄞'.repeat(300);
    const n = 3000;
    for (let i = 0; i < n; i++) spool.add(host(i, 20, i % 7 === 0 ? banner.slice(i % 5) : ''));
    const dir = spoolDirs().find((d) => !before.has(d));
    expect(dir).toBeDefined();
    const file = join(tmpdir(), dir!, 'hosts.jsonl');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(file).size).toBeGreaterThan(1 << 20);
    const back = [...spool.hosts()];
    expect(back).toHaveLength(n);
    expect(spool.size).toBe(n);
    for (let i = 0; i < n; i += 97) expect(back[i]).toEqual(host(i, 20, i % 7 === 0 ? banner.slice(i % 5) : ''));
    // Read twice: the file is read from its start each time.
    expect([...spool.hosts()]).toHaveLength(n);
    spool.discard();
    spool.discard();
    expect(existsSync(join(tmpdir(), dir!))).toBe(false);
    expect(spool.size).toBe(0);
  });
});
