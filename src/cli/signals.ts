import { killRunningHelpers } from '../registry/cred-helper.js';
import { removeTrackedTempSync } from '../safe/temp.js';

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/**
 * On SIGINT, SIGTERM or SIGHUP, remove the temporary files of a write in progress and kill any
 * credential helper still running (in its own process group, out of the terminal's reach), then
 * die of the same signal (so the shell sees 130, 143 or 129 as usual). For the bin only: a library caller
 * keeps its own signal handling.
 */
export function installSignalCleanup(): void {
  for (const signal of SIGNALS) {
    process.once(signal, () => {
      removeTrackedTempSync();
      killRunningHelpers();
      for (const s of SIGNALS) process.removeAllListeners(s);
      process.kill(process.pid, signal);
    });
  }
}
