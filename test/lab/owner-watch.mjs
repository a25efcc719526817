// Shared by the lab's helper processes (listener, hostile host, watchdog): they end themselves when
// the process that started them is gone or their maximum life is over, so a crashed test run never
// leaves servers behind. No imports beyond node: these scripts run standalone inside namespaces.
import { setInterval, clearInterval } from 'node:timers';

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
