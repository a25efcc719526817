// Shared by the lab's standalone servers (listener.mjs, hostile.mjs): listen on every address of
// the namespace, v4 and v6, and never die of a later server error. No imports beyond node.

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
