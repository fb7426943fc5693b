import { loadSpec, type LoadOptions } from '../config/load.js';
import type { Spec } from '../config/spec.js';
import { LockError, UsageError } from '../errors.js';
import type { Lock } from '../lock/model.js';
import { readLock } from '../lock/read.js';
import { canRunKey } from '../platform.js';
import { own } from '../safe/dict.js';

export interface PinFilter {
  host?: string;
  group?: string;
  image?: string;
}

export interface PinRow {
  group: string;
  image: string;
  platform: string;
  hosts: string[];
  ref: string;
  digest: string;
  /** `ref@digest`: what a host of this group pulls. */
  reference: string;
  tag: string;
  held?: string;
}

/** The pins a filter selects, from the spec's groups and the lock. Pure; errors are bad input. */
export function selectPins(spec: Spec, lock: Lock, filter: PinFilter): PinRow[] {
  const fail = (message: string) => new UsageError(message);
  if (filter.group && !own(spec.fleet, filter.group))
    throw fail(`group ${JSON.stringify(filter.group)} is not in ${spec.file} (groups: ${Object.keys(spec.fleet).join(', ') || 'none'})`);
  if (filter.image && !own(spec.images, filter.image))
    throw fail(`image ${JSON.stringify(filter.image)} is not in ${spec.file} (images: ${Object.keys(spec.images).join(', ')})`);
  const groups = Object.values(spec.fleet).filter(
    (g) =>
      (!filter.group || g.id === filter.group) && (!filter.host || g.hosts.some((h) => h.toLowerCase() === filter.host!.toLowerCase())),
  );
  if (filter.host && groups.length === 0)
    throw fail(
      `host ${JSON.stringify(filter.host)} is not in any group${filter.group ? ` named ${JSON.stringify(filter.group)}` : ''} of ${spec.file}`,
    );
  const rows: PinRow[] = [];
  for (const g of groups) {
    for (const id of g.images) {
      if (filter.image && id !== filter.image) continue;
      const pin = own(own(lock.fleet, g.id), id);
      const entry = own(lock.images, id);
      const stale = (why: string) =>
        new LockError(`${spec.lockFile}: ${why}; the lock is stale, run \`lg-pins lock\` (\`lg-pins check\` lists what changed)`);
      if (!pin || !entry) throw stale(`no pin for image ${JSON.stringify(id)} in group ${JSON.stringify(g.id)}`);
      // Never hand a deploy script a digest for another platform or repository than the spec now says.
      if (entry.ref !== own(spec.images, id)?.ref)
        throw stale(`image ${JSON.stringify(id)} is locked from ${entry.ref}, the spec says ${own(spec.images, id)?.ref ?? '?'}`);
      if (!canRunKey(g.platform, pin.platform))
        throw stale(`group ${JSON.stringify(g.id)} is ${g.platformKey}, but its pin of ${JSON.stringify(id)} is for ${pin.platform}`);
      const row: PinRow = {
        group: g.id,
        image: id,
        platform: pin.platform,
        hosts: filter.host ? [filter.host] : g.hosts,
        ref: entry.ref,
        digest: pin.digest,
        reference: `${entry.ref}@${pin.digest}`,
        tag: pin.tag ?? entry.tag,
      };
      if (pin.held) row.held = pin.held;
      rows.push(row);
    }
  }
  if (filter.image && filter.host && rows.length === 0)
    throw fail(`host ${JSON.stringify(filter.host)} does not run image ${JSON.stringify(filter.image)}`);
  return rows;
}

/** Offline: load the spec and the lock, and select pins. */
export async function pins(opts: LoadOptions & PinFilter = {}): Promise<PinRow[]> {
  const spec = await loadSpec(opts);
  const lock = await readLock(spec.lockFile);
  if (!lock) throw new LockError(`${spec.lockFile}: no lock yet; run \`lg-pins lock\` first`);
  return selectPins(spec, lock, opts);
}
