// Socket layer tests against real sockets on 127.0.0.1 and ::1 only (plus a private network
// namespace's own loopback for the ICMP cases). Both layers run the same cases.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect as netConnect, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Outcome } from '../core/status.js';
import type { Family } from '../core/model.js';
import { createSocketLayer, SocketLayerError } from './connect.js';
import { JsSocketLayer } from './js-layer.js';
import { loadNative, nativeAddonPath, NativeSocketLayer } from './native-layer.js';
import type { Endpoint, SocketLayer } from './socket-layer.js';

type TestLayer = SocketLayer & { openBoundToSelf(slot: number, ep: Endpoint, port: number, keep: boolean): Outcome | 0 };
const here = dirname(fileURLToPath(import.meta.url));
const native = loadNative().binding;
if (process.platform === 'linux' && !native) throw new Error(`native addon must be built for these tests: ${loadNative().error?.message}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const fdCount = () => readdirSync('/proc/self/fd').length;

/** A layer plus promise-based waiting for slot results. */
class Harness {
  readonly layer: TestLayer;
  /** Every slot a result was delivered for, in order. */
  readonly delivered: number[] = [];
  private readonly waiting = new Map<number, (o: number) => void>();
  onBatch: ((slots: Int32Array, outcomes: Uint8Array, n: number) => void) | undefined;

  constructor(kind: 'native' | 'js', maxSlots = 64, threads = 2) {
    const opts = { maxSlots, onResults: (s: Int32Array, o: Uint8Array, n: number) => this.handle(s, o, n) };
    this.layer = kind === 'native' ? new NativeSocketLayer(native!, opts, threads) : new JsSocketLayer(opts);
  }

  private handle(slots: Int32Array, outcomes: Uint8Array, n: number): void {
    this.onBatch?.(slots, outcomes, n);
    for (let i = 0; i < n; i++) {
      const w = this.waiting.get(slots[i]!);
      this.delivered.push(slots[i]!);
      if (!w || outcomes[i] === 0) continue;
      this.waiting.delete(slots[i]!);
      w(outcomes[i]!);
    }
  }

  /** Start a probe on `slot` and resolve with its outcome, sync or async. */
  probe(slot: number, ep: Endpoint, port: number, keep = false, selfBind = false): Promise<number> {
    const r = selfBind ? this.layer.openBoundToSelf(slot, ep, port, keep) : this.layer.open(slot, ep, port, keep);
    if (r !== 0) return Promise.resolve(r);
    return new Promise((resolve) => this.waiting.set(slot, resolve));
  }

  /** Sweep `ports` with a window of `window` slots; SelfConnect and LocalLimit are retried. */
  async sweep(ep: Endpoint, ports: number[], window: number): Promise<Map<number, number>> {
    const out = new Map<number, number>();
    const queue = [...ports].reverse();
    const run = async (slot: number): Promise<void> => {
      for (let port = queue.pop(); port !== undefined; port = queue.pop()) {
        const o = await this.probe(slot, ep, port);
        if (o === Outcome.SelfConnect || o === Outcome.LocalLimit) queue.push(port);
        else out.set(port, o);
      }
    };
    await Promise.all(Array.from({ length: window }, (_, slot) => run(slot)));
    return out;
  }
}

// Server sockets must keep reading (resume): a paused one would never see the client's RST, and
// server.close() would wait for it forever.
function listen(host: string, onConn: (s: Socket) => void = () => {}): Promise<Server> {
  return new Promise((resolve) => {
    const srv = createServer((s) => {
      s.on('error', () => {}).resume();
      onConn(s);
    });
    srv.listen({ port: 0, host }, () => resolve(srv));
  });
}
const portOf = (srv: Server) => (srv.address() as AddressInfo).port;
const close = (srv: Server) => new Promise<void>((r) => srv.close(() => r()));

/** A port nothing listens on (bound then released a moment ago). */
async function closedPort(host: string): Promise<number> {
  const srv = await listen(host);
  const port = portOf(srv);
  await close(srv);
  return port;
}

/** A listener in a child whose event loop is frozen, so it never accepts: its tiny queue fills and SYNs are dropped. */
async function frozenListener(host: string): Promise<{ child: ChildProcess; port: number }> {
  const code = `const s=require('net').createServer();s.listen({port:0,host:${JSON.stringify(host)},backlog:1},()=>{
    process.stdout.write(s.address().port+'\\n');setTimeout(()=>Atomics.wait(new Int32Array(new SharedArrayBuffer(4)),0,0,60000),50)})`;
  const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve) => child.stdout.once('data', (d: Buffer) => resolve(Number(d.toString()))));
  await sleep(100);
  return { child, port };
}

const families: [Family, string][] = [[4, '127.0.0.1'], [6, '::1']];

describe.each(native ? (['native', 'js'] as const) : (['js'] as const))('%s socket layer', (kind) => {
  describe.each(families)('IPv%i', (family, address) => {
    const ep: Endpoint = { address, family };
    let h: Harness;
    beforeAll(() => {
      h = new Harness(kind);
    });
    afterAll(() => h.layer.close());

    it('reports an open port as Connected and a closed one as Refused', async () => {
      const srv = await listen(address);
      expect(await h.probe(0, ep, portOf(srv))).toBe(Outcome.Connected);
      expect(await h.probe(1, ep, await closedPort(address))).toBe(Outcome.Refused);
      expect(h.layer.inFlight).toBe(0);
      await close(srv);
    });

    it('hands over a kept connection that reads the greeting', async () => {
      const srv = await listen(address, (s) => s.write('SSH-2.0-portolan_test\r\n'));
      expect(await h.probe(2, ep, portOf(srv), true)).toBe(Outcome.Connected);
      expect(h.layer.inFlight).toBe(1);
      expect(h.layer.takeConnection(3)).toBeUndefined();
      const sock = h.layer.takeConnection(2)!;
      expect(sock).toBeDefined();
      expect(h.layer.inFlight).toBe(0);
      expect(h.layer.takeConnection(2)).toBeUndefined();
      const line = await new Promise<string>((resolve, reject) => {
        sock.once('data', (d: Buffer) => resolve(d.toString()));
        sock.once('error', reject);
      });
      expect(line).toBe('SSH-2.0-portolan_test\r\n');
      expect(sock.remotePort).toBe(portOf(srv));
      sock.write('bye\n');
      sock.destroy();
      await close(srv);
    });

    it('aborts an in-flight connect without reporting it', async () => {
      const { child, port } = await frozenListener(address);
      const fillers = Array.from({ length: 4 }, () => netConnect({ host: address, port }).on('error', () => {}));
      try {
        await sleep(100);
        const before = h.delivered.length;
        expect(h.layer.open(4, ep, port, false)).toBe(0);
        await sleep(150);
        expect(h.layer.inFlight).toBe(1);
        h.layer.abort(4);
        h.layer.abort(4); // a second abort, and one of an idle slot, are no-ops
        h.layer.abort(5);
        expect(h.layer.inFlight).toBe(0);
        await sleep(100);
        expect(h.delivered.slice(before)).not.toContain(4);
      } finally {
        fillers.forEach((f) => f.destroy());
        child.kill('SIGKILL');
      }
    });

    it('withdraws a result the handler aborts before reaching it', async () => {
      const srv = await listen(address);
      let seen = false;
      for (let attempt = 0; attempt < 5 && !seen; attempt++) {
        h.onBatch = (slots, outcomes, n) => {
          const order = Array.from(slots.subarray(0, n));
          const later = Math.max(order.indexOf(6), order.indexOf(7));
          if (order.indexOf(6) < 0 || order.indexOf(7) < 0) return;
          h.layer.abort(slots[later]!);
          expect(outcomes[later]).toBe(0);
          seen = true;
        };
        const got = Promise.all([h.probe(6, ep, portOf(srv)), h.probe(7, ep, portOf(srv))]);
        // Hold the event loop while both connects finish: the native layer then hands both over in
        // one wake, and the JS layer batches whatever one turn gathered. Without this the two
        // results could arrive in separate batches and the case would go unexercised.
        const until = Date.now() + 60;
        while (Date.now() < until) {
          /* busy on purpose */
        }
        await Promise.race([got, sleep(300)]);
        h.onBatch = undefined;
        h.layer.abort(6);
        h.layer.abort(7);
      }
      expect(seen).toBe(true);
      await close(srv);
    });

    it('detects a self-connect', async () => {
      const port = await closedPort(address);
      expect(await h.probe(8, ep, port, false, true)).toBe(Outcome.SelfConnect);
      expect(await h.probe(8, ep, port, true, true)).toBe(Outcome.SelfConnect);
      expect(h.layer.inFlight).toBe(0);
    });

    it('leaves no TIME_WAIT behind after 2,000 probes to a listener', async () => {
      const srv = await listen(address);
      const port = portOf(srv);
      const results = await h.sweep(ep, Array.from({ length: 2000 }, () => port), 32);
      expect([...results.values()]).toEqual([Outcome.Connected]);
      await sleep(50);
      const ss = execFileSync('ss', ['-tanH', 'state', 'time-wait', `( dport = :${port} or sport = :${port} )`]).toString();
      expect(ss.trim().split('\n').filter(Boolean)).toHaveLength(0);
      await close(srv);
    });
  });

  it('returns to its fd baseline after a 50k sweep of 127.0.0.1', async () => {
    const h = new Harness(kind, 512);
    const before = fdCount();
    const ports = Array.from({ length: 50_000 }, (_, i) => i + 1);
    const results = await h.sweep({ address: '127.0.0.1', family: 4 }, ports, 512);
    expect(results.size).toBe(50_000);
    expect([...results.values()].every((o) => o === Outcome.Connected || o === Outcome.Refused)).toBe(true);
    expect(h.layer.inFlight).toBe(0);
    h.layer.close();
    await sleep(50);
    expect(fdCount()).toBeLessThanOrEqual(before);
  });

  it('keeps its books straight under random open/abort/keep/take (a bounded fuzz)', async () => {
    const srv = await listen('127.0.0.1');
    const closed = await closedPort('127.0.0.1');
    const ep: Endpoint = { address: '127.0.0.1', family: 4 };
    const state: ('free' | 'busy' | 'kept')[] = Array.from({ length: 32 }, () => 'free');
    const keep: boolean[] = [];
    const errors: string[] = [];
    const stats = { results: 0, taken: 0, abortedInBatch: 0 };
    let seed = 12345;
    const rnd = (n: number) => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 16) % n;
    const h = new Harness(kind, 32);
    h.onBatch = (slots, outcomes, n) => {
      for (let i = 0; i < n; i++) {
        const slot = slots[i]!;
        if (outcomes[i] === 0) continue;
        if (state[slot] !== 'busy') errors.push(`result ${outcomes[i]} for ${state[slot]} slot ${slot}`);
        state[slot] = outcomes[i] === Outcome.Connected && keep[slot] ? 'kept' : 'free';
        stats.results++;
        // Now and then abort a slot whose entry may come later in this batch: it must be withdrawn.
        const other = slots[n - 1]!;
        if (i < n - 1 && rnd(4) === 0 && state[other] === 'busy') {
          h.layer.abort(other);
          state[other] = 'free';
          stats.abortedInBatch++;
        }
      }
    };
    const before = fdCount();
    for (let op = 0; op < 8_000; op++) {
      if (op % 16 === 0) await sleep(0);
      const slot = rnd(32);
      if (state[slot] === 'free') {
        keep[slot] = rnd(2) === 0;
        const o = h.layer.open(slot, ep, rnd(3) === 0 ? portOf(srv) : closed, keep[slot]);
        state[slot] = o === 0 ? 'busy' : 'free';
      } else if (state[slot] === 'kept' && rnd(2) === 0) {
        const sock = h.layer.takeConnection(slot);
        if (sock) stats.taken++;
        sock?.resetAndDestroy();
        state[slot] = 'free';
      } else if (rnd(8) === 0) {
        h.layer.abort(slot);
        state[slot] = 'free';
      }
      if (h.layer.inFlight !== state.filter((x) => x !== 'free').length) errors.push(`inFlight ${h.layer.inFlight} at op ${op}`);
      if (errors.length) break;
    }
    for (let slot = 0; slot < 32; slot++) h.layer.abort(slot);
    expect(errors).toEqual([]);
    expect(stats.results > 1000 && stats.taken > 100 && stats.abortedInBatch > 10, JSON.stringify(stats)).toBe(true);
    expect(h.layer.inFlight).toBe(0);
    await sleep(100);
    h.layer.close();
    expect(fdCount()).toBeLessThanOrEqual(before);
    await close(srv);
  });

  it('rejects hostile arguments with TypeError and a busy slot with ERR_PORTOLAN_SLOT_BUSY', async () => {
    const h = new Harness(kind, 8);
    const ep: Endpoint = { address: '127.0.0.1', family: 4 };
    for (const port of [0, 70000, -1, 1.5, NaN, Infinity, '80' as unknown as number]) {
      expect(() => h.layer.open(0, ep, port, false), `port ${port}`).toThrow(TypeError);
    }
    for (const slot of [-1, 8, 1 << 30, 0.5, NaN, '0' as unknown as number, undefined as unknown as number]) {
      expect(() => h.layer.open(slot, ep, 80, false), `slot ${slot}`).toThrow(TypeError);
      expect(() => h.layer.abort(slot), `abort ${slot}`).toThrow(TypeError);
      expect(() => h.layer.takeConnection(slot), `take ${slot}`).toThrow(TypeError);
    }
    for (const bad of [{ address: 'localhost', family: 4 }, { address: '::1', family: 4 }, { address: '127.0.0.1', family: 5 }]) {
      expect(() => h.layer.open(0, bad as Endpoint, 80, false), JSON.stringify(bad)).toThrow(TypeError);
    }
    const srv = await listen('127.0.0.1');
    expect(await h.probe(1, ep, portOf(srv), true)).toBe(Outcome.Connected); // kept: the slot stays busy
    expect(() => h.layer.open(1, ep, portOf(srv), false)).toThrow(expect.objectContaining({ code: 'ERR_PORTOLAN_SLOT_BUSY' }) as Error);
    h.layer.close();
    expect(h.layer.inFlight).toBe(0);
    expect(() => h.layer.open(2, ep, portOf(srv), false)).toThrow(expect.objectContaining({ code: 'ERR_PORTOLAN_CLOSED' }) as Error);
    await close(srv);
  });
});

describe.skipIf(!native)('native layer threads', () => {
  it('gives the same answers with 1, 2 and 3 probe threads', async () => {
    const srv = await listen('127.0.0.1');
    const ports = [...Array.from({ length: 3000 }, (_, i) => 20_000 + i), portOf(srv)];
    const runs: string[] = [];
    for (const threads of [1, 2, 3]) {
      const h = new Harness('native', 100, threads);
      const res = await h.sweep({ address: '127.0.0.1', family: 4 }, ports, 100);
      expect(res.size).toBe(ports.length);
      expect(res.get(portOf(srv))).toBe(Outcome.Connected);
      runs.push(JSON.stringify([...res].sort((a, b) => a[0] - b[0])));
      h.layer.close();
    }
    expect(new Set(runs).size).toBe(1);
    await close(srv);
  });
});

describe.skipIf(!native)('local limits and ICMP (child processes)', () => {
  let dir: string;
  beforeAll(() => {
    // The JS layer as plain ESM for a child node (no TS loader there), next to a tiny driver.
    dir = mkdtempSync(join(tmpdir(), 'portolan-connect-'));
    for (const [from, to] of [['../core/status.ts', 'core/status.js'], ['js-layer.ts', 'scan/js-layer.js']] as const) {
      const options = { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } };
      const js = ts.transpileModule(readFileSync(join(here, from), 'utf8'), options).outputText;
      mkdirSync(dirname(join(dir, to)), { recursive: true });
      writeFileSync(join(dir, to), js);
    }
    writeFileSync(join(dir, 'package.json'), '{"type":"module"}');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /**
   * Runs `body` (ESM, top-level await allowed) in a child node and parses the JSON it prints: with a
   * 64-fd limit, or inside a fresh network namespace (never the host's) with `nftRules` loaded.
   */
  function child(body: string, how: { fdLimit: number } | { nftRules: string }): unknown {
    const file = join(dir, `child-${Math.random().toString(36).slice(2)}.mjs`);
    writeFileSync(
      file,
      `import { createRequire } from 'node:module';\nimport { JsSocketLayer } from './scan/js-layer.js';\n` +
        `const native = createRequire(import.meta.url)(${JSON.stringify(nativeAddonPath())});\n` +
        `const done = () => new Promise((r) => setTimeout(r, 300));\n${body}`,
    );
    const node = `exec "${process.execPath}" "${file}"`;
    const rules = join(dir, 'rules.nft');
    if ('nftRules' in how) writeFileSync(rules, how.nftRules);
    const r =
      'fdLimit' in how
        ? spawnSync('bash', ['-c', `ulimit -n ${how.fdLimit} && ${node}`], { encoding: 'utf8', timeout: 60_000 })
        : spawnSync('unshare', ['--net', 'bash', '-c', `ip link set lo up && nft -f "${rules}" && ${node}`], { encoding: 'utf8', timeout: 60_000 });
    if (r.status !== 0) throw new Error(`child failed (${r.status}): ${r.stderr}`);
    return JSON.parse(r.stdout.trim().split('\n').pop()!) as unknown;
  }

  it('reports EMFILE as LocalLimit in both layers', async () => {
    const port = await closedPort('127.0.0.1');
    const out = child(
      `const seen = { native: [], js: [] };
       const n = native.create(256, (s, o, c) => { for (let i = 0; i < c; i++) seen.native.push(o[i]); }, 2);
       const a = native.sockaddr('127.0.0.1', 4);
       for (let i = 0; i < 200; i++) { const r = n.open(i, a, ${port}, false); if (r) seen.native.push(r); }
       await done(); n.close();
       const j = new JsSocketLayer({ maxSlots: 256, onResults: (s, o, c) => { for (let i = 0; i < c; i++) seen.js.push(o[i]); } });
       for (let i = 0; i < 200; i++) { const r = j.open(i, { address: '127.0.0.1', family: 4 }, ${port}, false); if (r) seen.js.push(r); }
       await done(); j.close();
       console.log(JSON.stringify(seen));`,
      { fdLimit: 64 },
    ) as Record<'native' | 'js', number[]>;
    for (const k of ['native', 'js'] as const) {
      expect(out[k], k).toHaveLength(200);
      expect(out[k].filter((o) => o === Outcome.LocalLimit).length, k).toBeGreaterThan(0);
      expect(out[k].every((o) => o === Outcome.LocalLimit || o === Outcome.Refused), k).toBe(true);
    }
  });

  const netns = spawnSync('unshare', ['-n', 'nft', 'list', 'ruleset']).status === 0;
  it.skipIf(!netns)('classifies ICMP errors exactly (native, in a private network namespace)', () => {
    const O = Outcome;
    // [family, nft reject verdict, expected outcome]; each case gets its own port from 1001 up.
    const cases: [4 | 6, string, number][] = [
      [4, 'icmp type port-unreachable', O.PortUnreach], [4, 'icmp type host-unreachable', O.HostUnreach],
      [4, 'icmp type net-unreachable', O.NetUnreach], [4, 'icmp type prot-unreachable', O.ProtoUnreach],
      [4, 'icmp type admin-prohibited', O.AdminProhibited], [4, 'icmp type host-prohibited', O.AdminProhibited],
      [4, 'icmp type net-prohibited', O.AdminProhibited], [4, 'tcp reset', O.Refused],
      [6, 'icmpv6 type port-unreachable', O.PortUnreach], [6, 'icmpv6 type addr-unreachable', O.HostUnreach],
      [6, 'icmpv6 type no-route', O.NetUnreach], [6, 'icmpv6 type admin-prohibited', O.AdminProhibited],
      [6, 'icmpv6 type policy-fail', O.AdminProhibited], [6, 'icmpv6 type reject-route', O.AdminProhibited],
      [6, 'tcp reset', O.Refused],
    ];
    const rules = cases.map(([f, verdict], i) => `${f === 4 ? 'ip daddr 127.0.0.1' : 'ip6 daddr ::1'} tcp dport ${1001 + i} reject with ${verdict}`);
    const out = child(
      `const got = {}, probes = ${JSON.stringify(cases.map(([f]) => f))};
       const L = native.create(64, (s, o, c) => { for (let i = 0; i < c; i++) got[s[i]] = o[i]; }, 2);
       probes.forEach((f, slot) => { got[slot] = L.open(slot, native.sockaddr(f === 4 ? '127.0.0.1' : '::1', f), 1001 + slot, false) || undefined; });
       for (let t = 0; t < 30 && Object.keys(got).filter((k) => got[k]).length < probes.length; t++) await new Promise((r) => setTimeout(r, 100));
       L.close();
       console.log(JSON.stringify(probes.map((_, slot) => got[slot] ?? 'pending')));`,
      { nftRules: `table inet portolan_test {\n chain in {\n type filter hook input priority 0;\n${rules.join('\n')}\n }\n}\n` },
    );
    expect(out).toEqual(cases.map(([, , o]) => o));
  });
});

describe.skipIf(!native)('createSocketLayer', () => {
  it('prefers native, honours prefer, and lets PORTOLAN_SOCKET override', () => {
    const saved = process.env.PORTOLAN_SOCKET;
    const make = (env: string | undefined, prefer?: 'native' | 'js') => {
      if (env === undefined) delete process.env.PORTOLAN_SOCKET;
      else process.env.PORTOLAN_SOCKET = env;
      const layer = createSocketLayer({ maxSlots: 4, onResults: () => {}, prefer });
      layer.close();
      return layer.kind;
    };
    try {
      expect([make(undefined), make(undefined, 'js'), make('js', 'native'), make('native', 'js')]).toEqual(['native', 'js', 'js', 'native']);
      expect(() => make('fast')).toThrow(SocketLayerError);
    } finally {
      if (saved === undefined) delete process.env.PORTOLAN_SOCKET;
      else process.env.PORTOLAN_SOCKET = saved;
    }
  });
});
