import type { Group } from '../config/spec.js';
import { bestMatch, type Platform } from '../platform.js';
import type { PlatformEntry } from '../registry/resolve.js';

/**
 * Which entry of a tag each distinct group platform runs. Computed once per distinct
 * platform, not per group or host, so a fleet of 100,000 hosts costs what its platforms cost.
 */
export function coverage(groups: readonly Group[], platforms: readonly PlatformEntry[]): Map<string, PlatformEntry | undefined> {
  const out = new Map<string, PlatformEntry | undefined>();
  const candidates: Platform[] = platforms.map((p) => p.platform);
  for (const g of groups) {
    if (out.has(g.platformKey)) continue;
    const i = bestMatch(g.platform, candidates);
    out.set(g.platformKey, i === undefined ? undefined : platforms[i]);
  }
  return out;
}
