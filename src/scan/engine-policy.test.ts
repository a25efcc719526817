/**
 * Scheduling policy of the engine against a scripted socket layer: no sockets, no network. The
 * script decides per (port, try) whether the probe is answered, refused by a local limit, or lost.
 */
import { describe, expect, it } from 'vitest';
import type { HostResult } from '../core/model.js';
import { Outcome } from '../core/status.js';
import { runScan, type EngineOptions } from './engine.js';
import type { ScanTarget } from './host-task.js';
import type { Endpoint, SocketLayer, SocketLayerOptions } from './socket-layer.js';
import { timingTemplate } from './timing.js';

type Script = (port: number, tryNo: number) => Outcome | 'silent' | 'local-limit-once';

class ScriptedLayer implements SocketLayer {
  readonly kind = 'js' as const;
  inFlight = 0;
  readonly tries = new Map<number, number>();
  maxInFlight = 0;
  private readonly live = new Set<number>();
  private readonly limited = new Set<number>();
  constructor(
    private readonly opts: SocketLayerOptions,
    private readonly script: Script,
  ) {}
  open(slot: number, _ep: Endpoint, port: number): Outcome | 0 {
    const tryNo = this.tries.get(port) ?? 0;
    let action = this.script(port, tryNo);
    if (action === 'local-limit-once') {
      if (!this.limited.has(port)) {
        this.limited.add(port);
        return Outcome.LocalLimit;
      }
      action = Outcome.Refused;
    }
    this.tries.set(port, tryNo + 1);
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    this.live.add(slot);
    if (action !== 'silent') {
      const outcome = action;
      setTimeout(() => {
        if (!this.live.delete(slot)) return;
        this.inFlight--;
        this.opts.onResults(Int32Array.of(slot), Uint8Array.of(outcome), 1);
      }, 1);
    }
    return 0;
  }
  abort(slot: number): void {
    if (this.live.delete(slot)) this.inFlight--;
  }
  takeConnection(): undefined {
    return undefined;
  }
  close(): void {
    this.live.clear();
    this.inFlight = 0;
  }
}

async function* one(): AsyncGenerator<ScanTarget> {
  yield await Promise.resolve({ address: '198.18.0.99', family: 4 as const });
}

async function run(script: Script, ports: number[], extra: Partial<EngineOptions> = {}) {
  let layer: ScriptedLayer | undefined;
  const hosts: HostResult[] = [];
  const timing = { ...timingTemplate(4), minRttTimeoutMs: 20, maxRttTimeoutMs: 40, initialRttTimeoutMs: 40 };
  const stats = await runScan(one(), {
    ports: Uint16Array.from(ports),
    timing,
    maxRetries: 6,
    fdCap: 64,
    createLayer: (o) => (layer = new ScriptedLayer(o, script)),
    onHost: (h) => hosts.push(h),
    ...extra,
  });
  return { stats, hosts, layer: layer! };
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

describe('engine policy', () => {
  it('retries a silent port once while no retransmission has ever been answered', async () => {
    const { hosts, layer } = await run((port) => (port === 1 ? Outcome.Refused : 'silent'), range(50));
    for (let p = 2; p <= 50; p++) expect(layer.tries.get(p)).toBe(2);
    const filtered = hosts[0]!.ports.filter((p) => p.state === 'filtered');
    expect(filtered).toHaveLength(49);
    expect(filtered.every((p) => p.reason === 'no-response' && p.tries === 2)).toBe(true);
  });

  it('gives more tries once retransmissions prove useful (lossy path)', async () => {
    // Odd ports answer on their second try, even ports only on their third: the path loses probes.
    const { hosts } = await run((port, tryNo) => (tryNo >= (port % 2 === 1 ? 1 : 2) ? Outcome.Refused : 'silent'), range(200));
    const ports = hosts[0]!.ports;
    // Odd ports always get the one retry every port has, so they are all found closed.
    expect(ports.filter((p) => p.port % 2 === 1).every((p) => p.state === 'closed' && p.tries === 2)).toBe(true);
    // Once a retransmission has been answered, ports get a third try, and even ports are found too.
    const evenClosed = ports.filter((p) => p.port % 2 === 0 && p.state === 'closed');
    expect(evenClosed.length).toBeGreaterThan(0);
    expect(evenClosed.every((p) => p.tries === 3)).toBe(true);
    expect(ports.every((p) => p.tries <= 7)).toBe(true);
  });

  it('never turns a local limit into a port state, and does not count it as a try', async () => {
    const { hosts, stats, layer } = await run(() => 'local-limit-once', range(30));
    expect(stats.localLimitHits).toBeGreaterThan(0);
    expect(hosts[0]!.ports.every((p) => p.state === 'closed' && p.tries === 1)).toBe(true);
    for (const t of layer.tries.values()) expect(t).toBe(1);
  });

  it('retries a self-connect instead of reporting the port open', async () => {
    const { hosts } = await run((port, tryNo) => (port === 7 && tryNo === 0 ? Outcome.SelfConnect : Outcome.Refused), range(10));
    expect(hosts[0]!.ports.find((p) => p.port === 7)).toMatchObject({ state: 'closed', reason: 'conn-refused' });
  });

  it('stays within the fd cap', async () => {
    const { layer } = await run(() => 'silent', range(500), { fdCap: 32 });
    expect(layer.maxInFlight).toBeLessThanOrEqual(32);
  });

  it('gives up on a host at --host-timeout and reports no ports for it', async () => {
    const base = { ...timingTemplate(4), minRttTimeoutMs: 1000, maxRttTimeoutMs: 1000, initialRttTimeoutMs: 1000, hostTimeoutMs: 150 };
    const started = Date.now();
    const { hosts } = await run(() => 'silent', range(100), { timing: base });
    expect(Date.now() - started).toBeLessThan(900);
    expect(hosts[0]!.timedOut).toBe(true);
    expect(hosts[0]!.ports).toHaveLength(0);
  });

  it('shrinks its window when the event loop stalls', async () => {
    // Block the loop for 200 ms while probes are waiting to time out.
    setTimeout(() => {
      const until = Date.now() + 200;
      while (Date.now() < until);
    }, 5);
    const { stats } = await run(() => 'silent', range(300));
    expect(stats.lagBackoffs).toBeGreaterThan(0);
  });
});
