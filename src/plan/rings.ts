/**
 * Rollout rings, pure: which groups of an image take its new release now, and which wait for the
 * group they follow (`after`) to run that same release (tag and index digest) for their `soak`.
 * Inputs are the spec's groups, the previous lock, the pins as they would be with every group
 * moved, and the clock; nothing here reads a file, the network or the time.
 *
 * - A group without `after` moves at once, as a group always did.
 * - A follower with no pin yet (a first lock, a group added later) takes the release at once.
 * - A follower already on the release keeps it (nothing to wait for).
 * - Otherwise it moves once its leader's pin is on the release and `since` + soak has passed;
 *   until then it keeps its pin, which records the release it stays on (`tag`, `index`).
 * - `since` (RFC 3339 UTC, to the second) is recorded on the pins of groups in a ring (a
 *   follower, or a group followed), set to now when the pin changes and carried over otherwise;
 *   a pin without one (written before rings) counts as on its release for long enough.
 */
import type { Group } from '../config/spec.js';
import type { Digest } from '../digest.js';
import type { FleetPin, LockImage } from '../lock/model.js';

export interface Waiting {
  group: string;
  image: string;
  /** The group it follows. */
  after: string;
  /** The release it waits to take. */
  tag: string;
  /** When it may move (its leader's `since` + soak), or null while its leader is not on the release yet. */
  until: string | null;
}

/** A tag and the index digest it named: what a group runs. */
interface Release {
  tag: string;
  index: Digest;
}

const release = (pin: FleetPin, entry: LockImage): Release => ({ tag: pin.tag ?? entry.tag, index: pin.index ?? entry.digest });
const same = (a: Release, b: Release) => a.tag === b.tag && a.index === b.index;

/** RFC 3339 UTC to the second: `2026-12-04T20:00:00Z`. */
export function rfc3339(d: Date): string {
  return `${d.toISOString().slice(0, 19)}Z`;
}

/** Groups in an order where every leader comes before its followers (the spec's order otherwise). */
export function ringOrder(groups: readonly Group[]): Group[] {
  const byId = new Map(groups.map((g) => [g.id, g]));
  const out: Group[] = [];
  const placed = new Set<string>();
  const place = (g: Group, depth: number): void => {
    if (placed.has(g.id) || depth > groups.length) return;
    const leader = g.after !== undefined ? byId.get(g.after) : undefined;
    if (leader) place(leader, depth + 1);
    placed.add(g.id);
    out.push(g);
  };
  for (const g of groups) place(g, 0);
  return out;
}

/**
 * The pins of one image's groups with rings applied, and who waits. `moved` holds each group's pin
 * with every group on `entry`'s release (or held, as coverage decided); `previous` the image's
 * previous entry and pins (same ref only).
 */
export function applyRings(
  image: string,
  groups: readonly Group[],
  entry: LockImage,
  moved: ReadonlyMap<string, FleetPin>,
  previous: ImagePins | undefined,
  now: Date,
  /** A lock that proposed these pins before (the open pull request's): a pin it has is not new. */
  proposed?: ImagePins,
): { pins: Map<string, FleetPin>; waiting: Waiting[] } {
  const inRing = new Set(groups.flatMap((g) => (g.after !== undefined ? [g.id, g.after] : [])));
  const pins = new Map<string, FleetPin>();
  const waiting: Waiting[] = [];
  const stamp = rfc3339(now);
  for (const g of ringOrder(groups)) {
    const next = moved.get(g.id);
    if (!next) continue;
    const prev = previous?.pins.get(g.id);
    const leader = g.after !== undefined ? pins.get(g.after) : undefined;
    let pin = next;
    if (g.after !== undefined && prev && previous && leader) {
      const wants = release(next, entry);
      if (!same(release(prev, previous.entry), wants)) {
        const onIt = same(release(leader, entry), wants);
        const since = leader.since ? Date.parse(leader.since) : Number.NEGATIVE_INFINITY;
        const until = since + g.soakMs;
        if (!onIt || until > now.getTime()) {
          const stays = release(prev, previous.entry);
          // It stays on its release: recorded, as a held pin records its own.
          pin = { ...prev, tag: stays.tag, index: stays.index };
          waiting.push({ group: g.id, image, after: g.after, tag: wants.tag, until: onIt ? rfc3339(new Date(until)) : null });
        }
      }
    }
    if (!inRing.has(g.id)) {
      pins.set(g.id, withoutSince(pin));
      continue;
    }
    // A pin the open pull request already proposed keeps the time it was first proposed, so that
    // a scheduled rerun proposes the same commit instead of a new timestamp.
    const before = unchanged(prev, previous?.entry, pin, entry)
      ? prev
      : unchanged(proposed?.pins.get(g.id), proposed?.entry, pin, entry)
        ? proposed?.pins.get(g.id)
        : undefined;
    const since = before ? before.since : stamp;
    pins.set(g.id, since ? { ...withoutSince(pin), since } : withoutSince(pin));
  }
  return { pins, waiting };
}

/** The pins of one image in a lock, with its entry. */
export interface ImagePins {
  entry: LockImage;
  pins: ReadonlyMap<string, FleetPin>;
}

/** The same pin: its digest and the release it is of. */
function unchanged(a: FleetPin | undefined, aEntry: LockImage | undefined, b: FleetPin, bEntry: LockImage): a is FleetPin {
  return Boolean(a && aEntry && a.digest === b.digest && same(release(a, aEntry), release(b, bEntry)));
}

function withoutSince(pin: FleetPin): FleetPin {
  const { since: _since, ...rest } = pin;
  return rest;
}
