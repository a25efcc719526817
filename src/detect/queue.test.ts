import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { loopbackServers } from '../../test/helpers/loopback-server.js';
import { DEFAULT_DETECT_OPTIONS, type DetectOptions } from './identify.js';
import { DetectionQueue } from './queue.js';
import type { Detector } from './types.js';

const { serve, closeAll } = loopbackServers();
afterEach(closeAll);

const banner: Detector = {
  name: 'b',
  ports: [],
  serverFirst: true,
  greeting: (d) => (d.toString().startsWith('B ') ? { service: 'b', confidence: 10, version: d.toString().slice(2).trim() } : undefined),
};

describe('DetectionQueue', () => {
  it('bounds concurrency and held sockets, and identifies every port', async () => {
    let live = 0;
    let peak = 0;
    let n = 0;
    const port = await serve((s) => {
      live++;
      peak = Math.max(peak, live);
      s.on('close', () => live--);
      const id = ++n;
      setTimeout(() => s.write(`B ${id}\n`), 30);
    });
    const opts: DetectOptions = { ...DEFAULT_DETECT_OPTIONS, detectors: [banner], unknownGreetingMs: 1000, budgetMs: 3000 };
    const queue = new DetectionQueue(opts, 2, 1);
    const sockets = await Promise.all(
      Array.from({ length: 6 }, () => new Promise<Socket>((resolve) => {
        const s = connect({ host: '127.0.0.1', port }, () => resolve(s));
      })),
    );
    const results = await Promise.all(sockets.map((socket) => queue.submit({ address: '127.0.0.1', family: 4, port, socket })));
    await queue.drain();
    expect(results.every((r) => r.name === 'b')).toBe(true);
    // 2 running + 1 held; 3 handed back and reopened later. 6 initial connections existed before the queue saw them.
    expect(peak).toBeLessThanOrEqual(6);
    expect(queue.pending).toBe(0);
    expect(n).toBe(9);
  });
});
