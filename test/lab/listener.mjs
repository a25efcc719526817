// A tiny TCP listener for the lab hosts. Plain JS, no dependencies, so it starts in ~50 ms inside
// any namespace via `ip netns exec NS node test/lab/listener.mjs ...`.
//
//   --ports 22,80,443          ports to listen on (dual-stack: [::] with ipv6Only false)
//   --banner 22=TEXT           written as soon as a client connects (\r \n \t \\ \xHH escapes)
//   --reply 80=TEXT            written once, after the client's first bytes (an HTTP-ish answer)
//   --idle-ms 2000             a connection idle this long is closed
//   --owner-pid PID            exit when this process is gone (a crashed test leaves no listener)
//   --max-life-s 21600         exit after this long whatever happens
//
// Prints exactly one line, `ready {json}`, once every port is bound, and nothing afterwards, so the
// parent may stop reading stdout. Exit code 2 on a bad argument or a failed bind.
import net from 'node:net';
import { listenEverywhere, serveUntilStopped } from './listen.mjs';
import { parseOwnerArgs } from './owner-watch.mjs';

const MAX_BYTES_PER_CONN = 64 * 1024;
const MAX_CONNS_PER_PORT = 1024;

function fail(msg) {
  process.stderr.write(`listener: ${msg}\n`);
  process.exit(2);
}

function unescape(s) {
  return s.replace(/\\(x[0-9a-fA-F]{2}|[rnt\\])/g, (_m, e) => {
    if (e === 'r') return '\r';
    if (e === 'n') return '\n';
    if (e === 't') return '\t';
    if (e === '\\') return '\\';
    return String.fromCharCode(parseInt(e.slice(1), 16));
  });
}

function parsePort(text) {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 65535) fail(`bad port ${JSON.stringify(text)}`);
  return n;
}

function parseArgs(argv) {
  const opts = { ports: [], banner: new Map(), reply: new Map(), idleMs: 2000, ownerPid: 0, maxLifeS: 6 * 3600 };
  parseOwnerArgs(argv, opts, fail, (key, value) => {
    if (key === '--ports') {
      opts.ports = value.split(',').filter(Boolean).map(parsePort);
    } else if (key === '--banner' || key === '--reply') {
      const eq = value.indexOf('=');
      if (eq < 1) fail(`${key} wants PORT=TEXT`);
      (key === '--banner' ? opts.banner : opts.reply).set(parsePort(value.slice(0, eq)), unescape(value.slice(eq + 1)));
    } else if (key === '--idle-ms') {
      opts.idleMs = Math.max(10, Math.min(600_000, Number(value) || 2000));
    } else {
      return false;
    }
    return true;
  });
  if (opts.ports.length === 0) fail('--ports is required');
  return opts;
}

function serve(port, opts) {
  const banner = opts.banner.get(port);
  const reply = opts.reply.get(port);
  const server = net.createServer((sock) => {
    let seen = 0;
    let replied = false;
    sock.on('error', () => sock.destroy());
    sock.setTimeout(opts.idleMs, () => sock.destroy());
    sock.on('data', (chunk) => {
      seen += chunk.length;
      if (seen > MAX_BYTES_PER_CONN) {
        sock.destroy();
        return;
      }
      if (reply !== undefined && !replied) {
        replied = true;
        sock.end(reply);
      }
    });
    if (banner !== undefined) sock.write(banner);
  });
  server.maxConnections = MAX_CONNS_PER_PORT;
  return listenEverywhere(server, port);
}

const opts = parseArgs(process.argv.slice(2));
await serveUntilStopped(opts, opts.ports, () => Promise.all(opts.ports.map((p) => serve(p, opts))), fail);
