// A minimal driver for the socket layer alone (no engine): sweeps a port range on one loopback
// address with a fixed window of slots, as fast as the layer reports. Build first:
//   npx tsc -p tsconfig.build.json && node scripts/build-native.mjs
//   node bench/raw-layer.mjs [--layer native|js] [--threads N] [--window 1024] [--runs 3] [--ports 1-65535] [ADDRESS]
// Prints one line per run: `layer native  open ports: N  closed: N  other: N  elapsed_ms: X`, and the
// open ports on stderr with --list. Only 127.0.0.0/8 and ::1 are accepted.
import { isIP } from 'node:net';
import { performance } from 'node:perf_hooks';
import { Outcome } from '../dist/core/status.js';
import { createSocketLayer } from '../dist/scan/connect.js';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  if (i < 0) return dflt;
  const v = args[i + 1];
  args.splice(i, 2);
  return v;
};
const layerKind = opt('--layer', 'native');
const window = Number(opt('--window', '1024'));
const runs = Number(opt('--runs', '1'));
const threads = opt('--threads', undefined);
const [first, last] = opt('--ports', '1-65535').split('-').map(Number);
const list = args.includes('--list');
const address = args.filter((a) => a !== '--list')[0] ?? '127.0.0.1';
const family = isIP(address);
const loopback = family === 4 ? address.startsWith('127.') : family === 6 && (address === '::1' || address === '0:0:0:0:0:0:0:1');
if (!loopback || !(first >= 1 && last <= 65535 && first <= last) || !(window >= 1)) {
  console.error('usage: raw-layer.mjs [--layer native|js] [--window N] [--runs N] [--ports A-B] [--list] [127.x.x.x | ::1]');
  process.exit(2);
}

function sweep() {
  return new Promise((resolve) => {
    const endpoint = { address, family };
    const portOf = new Int32Array(window);
    const retry = [];
    const open = [];
    let next = first;
    let done = 0;
    let closed = 0;
    let other = 0;
    const total = last - first + 1;
    const t0 = performance.now();
    let layer;
    const record = (slot, o) => {
      if (o === Outcome.SelfConnect || o === Outcome.LocalLimit) return void retry.push(portOf[slot]);
      done++;
      if (o === Outcome.Connected) open.push(portOf[slot]);
      else if (o === Outcome.Refused) closed++;
      else { other++; if (process.env.DEBUG_OTHER) console.error("other", portOf[slot], o); }
    };
    // Keep `slot` busy: open ports until one goes asynchronous or none are left.
    const fill = (slot) => {
      for (;;) {
        const port = retry.length > 0 ? retry.pop() : next <= last ? next++ : 0;
        if (port === 0) return;
        portOf[slot] = port;
        const o = layer.open(slot, endpoint, port, false);
        if (o === 0) return;
        record(slot, o);
      }
    };
    layer = createSocketLayer({
      maxSlots: window,
      prefer: layerKind,
      threads: threads === undefined ? undefined : Number(threads),
      onResults: (slots, outcomes, n) => {
        for (let i = 0; i < n; i++) {
          if (outcomes[i] === 0) continue;
          record(slots[i], outcomes[i]);
        }
        for (let i = 0; i < n; i++) fill(slots[i]);
        check();
      },
    });
    const check = () => {
      if (done === total) {
        const ms = performance.now() - t0;
        layer.close();
        resolve({ kind: layer.kind, ms, open: open.sort((a, b) => a - b), closed, other });
      } else if (layer.inFlight === 0) {
        // Everything left hit a local limit: give the kernel a moment.
        setTimeout(() => {
          for (let s = 0; s < window; s++) fill(s);
          check();
        }, 5);
      }
    };
    for (let s = 0; s < window; s++) fill(s);
    check();
  });
}

for (let r = 0; r < runs; r++) {
  const res = await sweep();
  console.log(`layer ${res.kind}  open ports: ${res.open.length}  closed: ${res.closed}  other: ${res.other}  elapsed_ms: ${res.ms.toFixed(1)}`);
  if (list) console.error(res.open.join('\n'));
}
