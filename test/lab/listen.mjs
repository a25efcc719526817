// Shared by the lab's standalone servers (listener.mjs, hostile.mjs): listen on every address of
// the namespace, v4 and v6, never die of a later server error, and live as long as the owner does.
// No imports beyond node and the lab's own scripts.
import { watchOwner } from './owner-watch.mjs';

/** Listen on `port` on `::` (dual stack); resolves with the server once it listens, rejects on bind failure. */
export function listenEverywhere(server, port) {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host: '::', ipv6Only: false, backlog: 511 }, () => {
      server.off('error', reject);
      server.on('error', () => undefined);
      resolve(server);
    });
  });
}

/**
 * The rest of a server process's life: `start()` resolves with its listening servers, then the one
 * `ready {json}` line goes out (pid and `ports`), and nothing after it. SIGTERM, SIGINT, SIGHUP or
 * watchOwner(`opts`) closes every server and exits 0; a failed bind calls `fail` (which must exit).
 */
export async function serveUntilStopped(opts, ports, start, fail) {
  // The parent may close its end of the pipe after `ready`; a late write must not kill us.
  process.stdout.on('error', () => undefined);
  let servers = [];
  const shutdown = () => {
    for (const s of servers) s.close();
    process.exit(0);
  };
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP']) process.on(sig, shutdown);
  try {
    servers = await start();
  } catch (err) {
    fail(`bind failed: ${err instanceof Error ? err.message : String(err)}`);
  }
  watchOwner(opts, shutdown);
  process.stdout.write(`ready ${JSON.stringify({ pid: process.pid, ports })}\n`);
}
