/**
 * The peak resident set of THIS process, in KiB: `VmHWM` from /proc/self/status. Not
 * `process.resourceUsage().maxRSS`: on Linux a spawned child's maxrss starts at its PARENT's RSS
 * at fork time (the forked copy's high-water mark is carried across exec), so a child of the bench
 * (hundreds of MB after a fill) would report the bench. Elsewhere, maxRSS is the fallback.
 */
import { readFileSync } from 'node:fs';

export function peakRssKiB(): number {
  try {
    const m = /^VmHWM:\s*(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m?.[1]) return Number(m[1]);
  } catch {
    // not Linux
  }
  return process.resourceUsage().maxRSS;
}
