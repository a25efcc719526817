/**
 * Throw-away TCP (or TLS) servers on 127.0.0.1 for tests of the probe runner and the CLI: each test
 * says how a connection behaves, and `closeAll` (run it in afterEach or afterAll) tears everything
 * down again.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';

export interface LoopbackServers {
  /** A server on 127.0.0.1 with the given per-connection behaviour (TLS with `tls`); resolves to its port. */
  serve: (onConnection: (s: Socket) => void, tls?: { key: string; cert: string }) => Promise<number>;
  /** Destroy every accepted socket and close every server started since the last call. */
  closeAll: () => Promise<void>;
  /** Connections accepted so far, by every server of the set. */
  readonly accepted: number;
}

/** A set of loopback servers that are torn down together. */
export function loopbackServers(): LoopbackServers {
  const servers: Server[] = [];
  const accepted: Socket[] = [];
  let acceptedCount = 0;
  return {
    serve: async (onConnection, tls) => {
      const handler = (s: Socket): void => {
        acceptedCount++;
        accepted.push(s);
        // A reset from the client under test must not become an uncaught exception.
        s.on('error', () => undefined);
        onConnection(s);
      };
      const server = tls ? createTlsServer(tls, handler) : createServer(handler);
      servers.push(server);
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      const addr = server.address();
      if (addr === null || typeof addr === 'string') throw new Error('no port');
      return addr.port;
    },
    closeAll: async () => {
      // A server socket that never reads never sees the client's FIN: destroy them, or close() waits forever.
      accepted.splice(0).forEach((s) => s.destroy());
      await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
    },
    get accepted() {
      return acceptedCount;
    },
  };
}
