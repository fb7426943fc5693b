/**
 * Temporary files and directories lg-pins has made and not yet renamed or removed. The CLI removes
 * whatever is left when it is interrupted (SIGINT, SIGTERM, SIGHUP), so an interrupted run leaves
 * nothing beside the lock.
 */
import { rmSync } from 'node:fs';

const live = new Set<string>();

export function trackTemp(path: string): void {
  live.add(path);
}

export function untrackTemp(path: string): void {
  live.delete(path);
}

/** Remove every tracked path now (synchronously: this runs in a signal handler). */
export function removeTrackedTempSync(): void {
  for (const path of live) {
    try {
      rmSync(path, { recursive: true, force: true });
    } catch {
      // Best effort: the process is going away.
    }
  }
  live.clear();
}
