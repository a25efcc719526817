// The lab's hostile host: servers that misbehave on purpose, to prove a version scanner bounds every
// read, every wait and every byte it keeps. Started by lab.mjs inside the `hostile` namespace only
// (`ip netns exec <p>-hostile node test/lab/hostile.mjs ...`); the port table is HOSTILE_PORTS in
// service-table.mjs.
//
//   --owner-pid PID     exit when this process is gone (a crashed test leaves nothing behind)
//   --max-life-s N      exit after this long whatever happens
//
// Prints exactly one line, `ready {json}`, once every port is bound. Exit code 2 on a bad argument
// or a failed bind. Resources stay bounded: at most MAX_CONNS connections per port, idle connections
// closed after IDLE_MS (except the tarpit, whose whole point is never closing), and no input kept.
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import { setInterval, clearInterval } from 'node:timers';
import { listenEverywhere, serveUntilStopped } from './listen.mjs';
import { parseOwnerArgs } from './owner-watch.mjs';
import { HOSTILE_PORTS } from './service-table.mjs';

const MAX_CONNS = 256;
const IDLE_MS = 60_000;
const MAX_GARBAGE_BYTES = 1 << 20;
const HUGE_LINE_BYTES = 1 << 20;

function fail(msg) {
  process.stderr.write(`hostile: ${msg}\n`);
  process.exit(2);
}

// 64 KiB of printable lines for the endless stream.
const ENDLESS_CHUNK = Buffer.from(
  Array.from({ length: 1024 }, (_, i) => `endless ${String(i).padStart(4, '0')} ${'x'.repeat(48)}\r\n`).join(''),
);
const DRIP = Buffer.from('220 drip drip drip ');
const HUGE_LINE = Buffer.concat([Buffer.from('220 '), Buffer.alloc(HUGE_LINE_BYTES - 4, 'A')]);
// Colour, clear-screen, an OSC window-title set, HTML/script, a NUL, a bell, and a carriage return
// that would make a terminal overwrite the harmless start with a fake prompt.
const ANSI_BANNER = Buffer.from(
  '220 \x1b[31;1mHARMLESS\x1b[0m FTP \x1b]0;pwned-title\x07ready <script>alert(1)</script> \x00nul \x1b[2J' +
    '\rroot@lab:~# rm -rf / \x1b[8m<img src=x onerror=alert(2)>\x1b[0m\r\n',
  'latin1',
);
const SSH_BANNER = Buffer.from('SSH-2.0-OpenSSH_9.9p1 Debian-1\r\n');

/** What each behaviour does with a fresh connection. */
const HANDLERS = {
  tarpit(sock) {
    sock.on('data', () => undefined); // read and discard, so the peer's writes never block us
  },
  endless(sock) {
    const pump = () => {
      while (!sock.destroyed && sock.write(ENDLESS_CHUNK));
    };
    sock.on('drain', pump);
    sock.on('data', () => undefined);
    pump();
  },
  drip(sock) {
    let i = 0;
    const timer = setInterval(() => {
      if (sock.destroyed) return clearInterval(timer);
      sock.write(DRIP.subarray(i % DRIP.length, (i % DRIP.length) + 1));
      i++;
    }, 1000);
    sock.on('close', () => clearInterval(timer));
    sock.on('data', () => undefined);
  },
  reset(sock) {
    sock.resetAndDestroy(); // SO_LINGER 0 + close: the kernel sends RST
  },
  close(sock) {
    sock.destroy();
  },
  garbage(sock) {
    let sent = 0;
    sock.on('data', () => {
      if (sent >= MAX_GARBAGE_BYTES) return sock.destroy();
      const n = 256 + Math.floor(Math.random() * 3840);
      sent += n;
      sock.write(randomBytes(n));
    });
  },
  hugeline(sock) {
    sock.write(HUGE_LINE);
    sock.on('data', () => undefined);
  },
  ansi(sock) {
    sock.write(ANSI_BANNER);
    sock.on('data', () => undefined);
  },
  sshgarbage(sock) {
    sock.write(SSH_BANNER);
    let answered = false;
    sock.on('data', () => {
      if (answered) return;
      answered = true;
      // A binary packet whose length field claims ~2 GiB, then noise.
      const head = Buffer.from([0x7f, 0xff, 0xff, 0xf0, 0x0a, 0x14]);
      sock.write(Buffer.concat([head, randomBytes(2048)]));
    });
  },
};

function serve({ port, behaviour }) {
  const handle = HANDLERS[behaviour];
  if (!handle) fail(`no handler for ${behaviour}`);
  const server = net.createServer({ pauseOnConnect: false }, (sock) => {
    sock.on('error', () => sock.destroy());
    if (behaviour !== 'tarpit') sock.setTimeout(IDLE_MS, () => sock.destroy());
    handle(sock);
  });
  server.maxConnections = MAX_CONNS;
  return listenEverywhere(server, port);
}

const opts = parseOwnerArgs(process.argv.slice(2), { ownerPid: 0, maxLifeS: 3 * 3600 }, fail);
await serveUntilStopped(
  opts,
  HOSTILE_PORTS.map((h) => h.port),
  () => Promise.all(HOSTILE_PORTS.map(serve)),
  fail,
);
