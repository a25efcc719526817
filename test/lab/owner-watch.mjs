// Shared by the lab's helper processes (listener, hostile host, watchdog): they end themselves when
// the process that started them is gone or their maximum life is over, so a crashed test run never
// leaves servers behind. They take the same two options for it (--owner-pid, --max-life-s), read
// here too. No imports beyond node: these scripts run standalone inside namespaces.
import { setInterval, clearInterval } from 'node:timers';

/**
 * Read `--key value` argument pairs into `opts`: `--owner-pid` and `--max-life-s` (what
 * {@link watchOwner} needs) here, any other key through `other(key, value)`, which returns false for
 * a key it does not know. `fail(message)` (which must exit) on a missing value or unknown option.
 */
export function parseOwnerArgs(argv, opts, fail, other = () => false) {
  for (let i = 0; i < argv.length; i += 2) {
    const [key, value] = [argv[i], argv[i + 1]];
    if (value === undefined) fail(`${key} needs a value`);
    if (key === '--owner-pid') opts.ownerPid = Number(value) || 0;
    else if (key === '--max-life-s') opts.maxLifeS = Math.max(1, Math.min(7 * 86400, Number(value) || 1));
    else if (!other(key, value)) fail(`unknown option ${key}`);
  }
  return opts;
}

/**
 * Check once a second; call `onExpire` once when `ownerPid` (if > 0) no longer exists or
 * `maxLifeS` has passed since the call.
 */
export function watchOwner({ ownerPid, maxLifeS }, onExpire) {
  const startedAt = Date.now();
  const watch = setInterval(() => {
    let ownerGone = false;
    if (ownerPid > 0) {
      try {
        process.kill(ownerPid, 0);
      } catch (err) {
        ownerGone = err && err.code === 'ESRCH';
      }
    }
    if (!ownerGone && Date.now() - startedAt <= maxLifeS * 1000) return;
    clearInterval(watch);
    onExpire();
  }, 1000);
}
