import { afterEach, describe, expect, it } from 'vitest';
import { selfSigned } from '../../test/helpers/certs.js';
import { loopbackServers } from '../../test/helpers/loopback-server.js';
import { makeBudget, openSession, releaseBudget } from './probe.js';

const { serve, closeAll } = loopbackServers();
afterEach(closeAll);

const target = (port: number) => ({ address: '127.0.0.1', port });

describe('SocketSession', () => {
  it('returns a greeting as soon as the completeness predicate holds', async () => {
    const port = await serve((s) => s.write('220 hello\r\n'));
    const budget = makeBudget(5000, 65536, 1000, 4);
    const session = await openSession(target(port), budget);
    const t0 = performance.now();
    const r = await session!.read(3000, (d) => d.includes(0x0a));
    expect(r.end).toBe('complete');
    expect(r.data.toString()).toBe('220 hello\r\n');
    expect(performance.now() - t0).toBeLessThan(1000);
    releaseBudget(budget);
  });

  it('keeps bytes that arrive between reads for the next read', async () => {
    const port = await serve((s) => {
      s.write('one\n');
      setTimeout(() => s.write('two\n'), 20);
    });
    const budget = makeBudget(5000, 65536, 1000, 4);
    const session = (await openSession(target(port), budget))!;
    expect((await session.read(2000, (d) => d.includes(0x0a))).data.toString()).toBe('one\n');
    await new Promise((r) => setTimeout(r, 80));
    const second = await session.read(2000, (d) => d.includes(0x0a));
    expect(second.data.toString()).toBe('two\n');
    expect(session.received.toString()).toBe('one\ntwo\n');
    releaseBudget(budget);
  });

  it('stops an endless stream at the byte cap and drops the connection', async () => {
    const port = await serve((s) => {
      const chunk = Buffer.alloc(16384, 0x41);
      const pump = (): void => {
        while (!s.destroyed && s.write(chunk));
        if (!s.destroyed) s.once('drain', pump);
      };
      s.on('error', () => undefined);
      pump();
    });
    const budget = makeBudget(5000, 32768, 1000, 4);
    const session = (await openSession(target(port), budget))!;
    const r = await session.read(3000);
    expect(r.end).toBe('cap');
    expect(session.received.length).toBe(32768);
    expect(session.ended).toBe(true);
    releaseBudget(budget);
  });

  it('bounds a drip feed by the read timeout and the port budget', async () => {
    const timers: NodeJS.Timeout[] = [];
    const port = await serve((s) => {
      s.on('error', () => undefined);
      timers.push(setInterval(() => s.write('x'), 100));
    });
    const budget = makeBudget(600, 65536, 1000, 4);
    const session = (await openSession(target(port), budget))!;
    const t0 = performance.now();
    const r = await session.read(10_000, (d) => d.includes(0x0a));
    const took = performance.now() - t0;
    timers.forEach(clearInterval);
    expect(r.end).toBe('timeout');
    expect(took).toBeLessThan(1500);
    expect(r.data.length).toBeGreaterThan(0);
    releaseBudget(budget);
  });

  it('reports a reset after accept and a clean close', async () => {
    const resetPort = await serve((s) => s.resetAndDestroy());
    const closePort = await serve((s) => s.end());
    const budget = makeBudget(3000, 65536, 1000, 4);
    // The RST may beat the connect callback: then there is no session at all, which is as good.
    const a = await openSession(target(resetPort), budget);
    if (a) expect(['reset', 'closed']).toContain((await a.read(2000)).end);
    const b = (await openSession(target(closePort), budget))!;
    expect((await b.read(2000)).end).toBe('closed');
    releaseBudget(budget);
  });

  it('returns complete when the last bytes arrive together with the close', async () => {
    const port = await serve((s) => s.end('HTTP/1.0 200 OK\r\n\r\nbody'));
    const budget = makeBudget(3000, 65536, 1000, 4);
    const s = (await openSession(target(port), budget))!;
    const r = await s.read(2000, (d) => d.includes('\r\n\r\n'));
    expect(r.end).toBe('complete');
    releaseBudget(budget);
  });

  it('a completeness predicate that throws on garbage counts as "not yet"', async () => {
    const port = await serve((s) => s.write(Buffer.from([0xff, 0x00, 0x13])));
    const budget = makeBudget(3000, 65536, 1000, 4);
    const s = (await openSession(target(port), budget))!;
    const r = await s.read(150, () => {
      throw new Error('hostile');
    });
    expect(r.end).toBe('timeout');
    expect([...r.data]).toEqual([0xff, 0x00, 0x13]);
    releaseBudget(budget);
  });

  it('opens TLS sessions and upgrades with STARTTLS', async () => {
    const cert = selfSigned('probe.test');
    const tlsPort = await serve((s) => s.write('inside\n'), cert);
    const budget = makeBudget(5000, 65536, 2000, 4);
    const t = (await openSession({ ...target(tlsPort), tunnel: 'ssl' }, budget))!;
    expect((await t.read(2000, (d) => d.includes(0x0a))).data.toString()).toBe('inside\n');

    const { TLSSocket } = await import('node:tls');
    const plainPort = await serve((s) => {
      s.write('220 ready\r\n');
      s.once('data', () => {
        s.write('220 go ahead\r\n');
        const secure = new TLSSocket(s, { isServer: true, ...cert });
        secure.on('error', () => undefined);
        secure.on('secure', () => secure.write('250 secret\r\n'));
      });
    });
    const p = (await openSession(target(plainPort), budget))!;
    await p.read(2000, (d) => d.includes(0x0a));
    p.send('STARTTLS\r\n');
    await p.read(2000, (d) => d.includes(0x0a));
    const info = await p.startTls();
    expect(info?.protocol).toMatch(/^TLSv1\.[23]$/);
    expect(info?.certificate?.subject).toContain('CN=probe.test');
    expect(info?.certificate?.selfSigned).toBe(true);
    expect((await p.read(2000, (d) => d.includes(0x0a))).data.toString()).toBe('250 secret\r\n');
    releaseBudget(budget);
  });

  it('gives up on a connect once the budget is spent', async () => {
    const budget = makeBudget(0, 65536, 1000, 4);
    expect(await openSession(target(1), budget)).toBeUndefined();
  });
});
