import type { Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { selfSigned } from '../../test/helpers/certs.js';
import { loopbackServers } from '../../test/helpers/loopback-server.js';
import { DEFAULT_DETECT_OPTIONS, identify, type DetectOptions } from './identify.js';
import type { Detector } from './types.js';

const { serve, closeAll } = loopbackServers();
const timers: NodeJS.Timeout[] = [];
afterEach(async () => {
  timers.splice(0).forEach(clearTimeout);
  await closeAll();
});

/** A server-first protocol: `HELLO <version>` greeting. */
const hello: Detector = {
  name: 'hello',
  ports: [],
  serverFirst: true,
  greeting: (d) => {
    const m = /^HELLO ([\d.]+)\r?\n/.exec(d.toString('latin1'));
    return m ? { service: 'hello', product: 'Hello', version: m[1]!, confidence: 10 } : undefined;
  },
  followUp: async ({ session, timing, previous }) => {
    session.send('WHO\n');
    const r = await session.read(timing.replyMs, (d) => d.includes(0x0a));
    const who = /^I AM (\w+)/.exec(r.data.toString('latin1'));
    return who ? { ...previous, extrainfo: who[1]! } : previous;
  },
};

/** A client-first protocol: answers `PING` with `PONG <product>`. */
function pinger(ports: number[] = [], tlsPorts: number[] = []): Detector {
  return {
    name: 'pinger',
    ports,
    tlsPorts,
    rarity: 1,
    probe: async ({ session, timing }) => {
      session.send('PING\n');
      const r = await session.read(timing.replyMs, (d) => d.includes(0x0a));
      const m = /^PONG (\w+)/.exec(r.data.toString('latin1'));
      return m ? { service: 'pinger', product: m[1]!, confidence: 9 } : undefined;
    },
  };
}

function options(detectors: Detector[], over: Partial<DetectOptions> = {}): DetectOptions {
  return { ...DEFAULT_DETECT_OPTIONS, unknownGreetingMs: 300, greetingMs: 500, timing: { replyMs: 300, settleMs: 50 }, budgetMs: 3000, ...over, detectors };
}

const input = (port: number) => ({ address: '127.0.0.1', family: 4 as const, port });

const pong = (s: Socket): void => {
  s.on('data', (d) => {
    if (d.toString().startsWith('PING')) s.write('PONG Acme\n');
  });
};

describe('identify', () => {
  it('matches a greeting as soon as it is whole, then follows up on the same connection', async () => {
    let connections = 0;
    const port = await serve((s) => {
      connections++;
      s.write('HELLO 1.2.3\r\n');
      s.on('data', (d) => {
        if (d.toString() === 'WHO\n') s.write('I AM tester\n');
      });
    });
    const t0 = performance.now();
    const service = await identify(input(port), options([hello, pinger()], { unknownGreetingMs: 2000 }));
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(service).toMatchObject({ name: 'hello', product: 'Hello', version: '1.2.3', extrainfo: 'tester', method: 'probed', confidence: 10 });
    expect(connections).toBe(1);
  });

  it('does not wait for a greeting on a port whose protocol speaks second', async () => {
    const port = await serve(pong);
    const t0 = performance.now();
    const service = await identify(input(port), options([hello, pinger([port])], { greetingMs: 2000, unknownGreetingMs: 2000 }));
    expect(service).toMatchObject({ name: 'pinger', product: 'Acme' });
    expect(performance.now() - t0).toBeLessThan(500);
  });

  it('probes an unknown silent port after a short greeting wait', async () => {
    const port = await serve(pong);
    const service = await identify(input(port), options([hello, pinger()]));
    expect(service).toMatchObject({ name: 'pinger', product: 'Acme', method: 'probed' });
  });

  it('finds TLS on any port and identifies the service inside the tunnel', async () => {
    const cert = selfSigned('tls.example', { bits: 1024 });
    const port = await serve(pong, cert);
    const service = await identify(input(port), options([hello, pinger()]));
    expect(service).toMatchObject({ name: 'pinger', product: 'Acme', tunnel: 'ssl' });
    expect(service.tls?.certificate?.subject).toContain('CN=tls.example');
    expect(service.tls?.certificate?.keyBits).toBe(1024);
    const ids = (service.evidence ?? []).map((e) => e.id);
    expect(ids).toContain('tls-certificate-self-signed');
    expect(ids).toContain('tls-weak-key');
  });

  it('goes straight to TLS on a port a detector names as a TLS port', async () => {
    const cert = selfSigned('tls.example');
    const port = await serve(pong, cert);
    const t0 = performance.now();
    const service = await identify(input(port), options([hello, pinger([], [port])], { unknownGreetingMs: 2000 }));
    expect(service).toMatchObject({ name: 'pinger', tunnel: 'ssl' });
    expect(performance.now() - t0).toBeLessThan(1500);
  });

  it('says tcpwrapped when the server closes right after accept', async () => {
    const port = await serve((s) => s.end());
    const service = await identify(input(port), options([hello, pinger()]));
    expect(service.name).toBe('tcpwrapped');
  });

  it('ends a tarpit within the budget and falls back to the port table', async () => {
    const port = await serve(() => undefined);
    const t0 = performance.now();
    const service = await identify({ ...input(port), port }, options([hello, pinger()], { budgetMs: 1500 }));
    expect(performance.now() - t0).toBeLessThan(2500);
    expect(service.method).toBe('table');
  });

  it('reports an unrecognised banner as unknown, escaped and truncated', async () => {
    const port = await serve((s) => s.write(`\x1b[2J\x1b]0;pwn\x07<script>alert(1)</script>\r${'A'.repeat(5000)}\n`));
    const service = await identify(input(port), options([hello]));
    expect(service.name).toBe('unknown');
    expect(service.banner).toBeDefined();
    // eslint-disable-next-line no-control-regex -- asserting no control character got through is the point
    expect(service.banner).not.toMatch(/[\x00-\x1f\x7f]/);
    expect(service.banner!.length).toBeLessThan(2000);
    expect(service.banner).toContain('\\x1b[2J');
  });

  it('catches a greeting that arrives after the greeting wait, while probes run', async () => {
    const port = await serve((s) => {
      timers.push(setTimeout(() => s.write('HELLO 9.9\n'), 450));
    });
    const service = await identify(input(port), options([hello, pinger()], { unknownGreetingMs: 100, timing: { replyMs: 500, settleMs: 50 } }));
    expect(service).toMatchObject({ name: 'hello', version: '9.9' });
  });

  it('runs probes from user signature files', async () => {
    const port = await serve((s) => s.on('data', (d) => d.toString() === 'HI?\r\n' && s.write('ACME-DB v4.2 ready\n')));
    const service = await identify(
      input(port),
      options([hello], {
        probes: [{ name: 'acme', payload: Buffer.from('HI?\r\n'), ports: [], rarity: 1 }],
        signatures: [{ service: 'acme-db', pattern: /^ACME-DB v([\d.]+)/, product: 'Acme DB', version: '$1', probe: { name: 'acme', payload: Buffer.from('HI?\r\n'), ports: [], rarity: 1 } }],
      }),
    );
    expect(service).toMatchObject({ name: 'acme-db', product: 'Acme DB', version: '4.2' });
  });

  it('returns at once with what it has when aborted', async () => {
    const port = await serve(() => undefined);
    const controller = new AbortController();
    const t0 = performance.now();
    const p = identify(input(port), options([hello, pinger()], { budgetMs: 10_000, unknownGreetingMs: 5000 }), controller.signal);
    setTimeout(() => controller.abort(), 100);
    await p;
    expect(performance.now() - t0).toBeLessThan(1000);
  });
});
