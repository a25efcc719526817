/**
 * Live sessions for detector tests against real servers on loopback (the services this machine
 * runs, or a daemon the test starts itself). A test gets the probe runner's own `SocketSession`
 * (src/detect/probe.ts), so it exercises the same byte cap, read predicates, reconnect, startTls
 * and openStream the scanner uses, and every socket it opened is destroyed when it is done.
 *
 * Only 127.0.0.1 and ::1 are accepted, by type and at run time: nothing here can reach another
 * machine.
 */
import { connect, createServer, type AddressInfo } from 'node:net';
import { makeBudget, openSession, releaseBudget } from '../../src/detect/probe.js';
import type { Session } from '../../src/detect/types.js';

/** The only addresses a live test may connect to. */
export type LoopbackHost = '127.0.0.1' | '::1';

function loopbackOnly(host: string): void {
  if (host !== '127.0.0.1' && host !== '::1') throw new Error(`live tests only talk to loopback, not ${host}`);
}

/** True when something accepts a TCP connection on host:port within `timeoutMs`. */
export function reachable(port: number, host: LoopbackHost = '127.0.0.1', timeoutMs = 1000): Promise<boolean> {
  loopbackOnly(host);
  return new Promise((resolve) => {
    const s = connect({ host, port });
    const done = (ok: boolean): void => {
      s.destroy();
      resolve(ok);
    };
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
    s.setTimeout(timeoutMs, () => done(false));
  });
}

/** Poll until host:port accepts (a daemon the test started is coming up); false after `ms`. */
export async function waitReachable(port: number, ms: number, host: LoopbackHost = '127.0.0.1'): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await reachable(port, host)) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

/** A free TCP port on `host`, closed again at once so a daemon can bind it right after. */
export function freePort(host: LoopbackHost = '127.0.0.1'): Promise<number> {
  loopbackOnly(host);
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, host, () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** Limits of the port budget behind a live session (defaults suit a local server). */
export interface LiveOptions {
  host?: LoopbackHost;
  /** The whole budget: reads and reconnects stop when it is spent (ms). */
  budgetMs?: number;
  /** Per-connection byte cap. */
  maxBytes?: number;
  /** Time allowed for a connect or TLS handshake (ms). */
  connectMs?: number;
}

/**
 * Run `fn` on a runner session to host:port, then destroy every socket the session, its
 * reconnects and its streams opened. Rejects when the connection cannot be opened.
 */
export async function withLive<T>(port: number, fn: (session: Session) => Promise<T>, opts: LiveOptions = {}): Promise<T> {
  const host = opts.host ?? '127.0.0.1';
  loopbackOnly(host);
  const budget = makeBudget(opts.budgetMs ?? 10_000, opts.maxBytes ?? 64 * 1024, opts.connectMs ?? 2000, host === '::1' ? 6 : 4);
  try {
    const session = await openSession({ address: host, port }, budget);
    if (!session) throw new Error(`cannot connect to ${host} port ${port}`);
    return await fn(session);
  } finally {
    releaseBudget(budget);
  }
}
