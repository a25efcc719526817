// Runs inside a lab namespace that holds real daemons (the `svc` host) and stops every process of
// that namespace when the lab's owner dies or the lab outlives its maximum life, so a crashed test
// run leaves no daemon behind even before the next cleanupStale(). Daemons cannot watch their owner
// themselves the way listener.mjs does.
//
//   --owner-pid PID   0: no owner (persistent lab), only --max-life-s applies
//   --max-life-s N
//
// "Every process of this namespace" is found by PID: /proc/<pid>/ns/net equal to our own. The
// namespace is unique to one lab instance and only the lab starts processes in it. A normal teardown
// signals this watchdog itself (it is recorded like a listener), and on a signal it just exits.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { setTimeout } from 'node:timers';
import { parseOwnerArgs, watchOwner } from './owner-watch.mjs';

function fail(msg) {
  process.stderr.write(`watchdog: ${msg}\n`);
  process.exit(2);
}

const opts = parseOwnerArgs(process.argv.slice(2), { ownerPid: 0, maxLifeS: 3 * 3600 }, fail);

const ownNet = readlinkSync('/proc/self/ns/net');

/** PIDs of the other live processes in our network namespace. */
function neighbours() {
  const out = [];
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || pid <= 1 || pid === process.pid) continue;
    try {
      if (readlinkSync(`/proc/${pid}/ns/net`) !== ownNet) continue;
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z') continue;
      out.push(pid);
    } catch {
      // gone already
    }
  }
  return out;
}

function signalAll(signal) {
  for (const pid of neighbours()) {
    try {
      process.kill(pid, signal);
    } catch {
      // exited meanwhile
    }
  }
}

for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP']) process.on(sig, () => process.exit(0));
process.stdout.on('error', () => undefined);

watchOwner(opts, () => {
  signalAll('SIGTERM');
  // Bounded: one grace period, then SIGKILL whatever is left, then exit.
  setTimeout(() => {
    signalAll('SIGKILL');
    process.exit(0);
  }, 3000);
});

process.stdout.write(`ready ${JSON.stringify({ pid: process.pid })}\n`);
