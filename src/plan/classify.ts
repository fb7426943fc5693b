import type { Spec } from '../config/spec.js';
import type { FleetPin, Lock, LockImage } from '../lock/model.js';
import { dict, own, put } from '../safe/dict.js';
import { sameSigner } from './signer.js';

/**
 * The contract's kinds, plus `spec`: the image's rule in the spec changed (its ref, `track` range or cosign key)
 * while it resolves to the same content and no group moves; the lock records the new rule.
 */
export const CHANGE_KINDS = ['added', 'removed', 'release', 'tag-moved', 'fleet', 'spec'] as const;
export type ChangeKind = (typeof CHANGE_KINDS)[number];
export type PlatformChange = 'added' | 'removed' | 'changed' | 'unchanged';

/** One group's pin of one image, before and after. */
export interface GroupMove {
  group: string;
  hosts: number;
  from?: FleetPin;
  to?: FleetPin;
}

export interface HeldGroup {
  group: string;
  hosts: number;
  platform: string;
  tag: string;
  reason: string;
}

export interface ImageChange {
  image: string;
  kind: ChangeKind;
  from?: { tag: string; digest: string };
  to?: { tag: string; digest: string };
  /** Per platform key. */
  platforms: Record<string, PlatformChange>;
  /** Groups whose pin of this image changes, sorted. */
  groups: string[];
  /** Groups held back after the change. */
  held: HeldGroup[];
  /** Details of every group that moves. */
  moves: GroupMove[];
}

/** A group moves when the digest (or platform) it runs changes; a hold note alone is not a move. */
const sameTarget = (a?: FleetPin, b?: FleetPin) => a?.digest === b?.digest && a?.platform === b?.platform;
const samePin = (a?: FleetPin, b?: FleetPin) => sameTarget(a, b) && a?.tag === b?.tag && a?.held === b?.held;

/**
 * Pure: what differs between two locks, image by image. An index whose digest changed while every
 * platform stayed the same (a re-pushed attestation) is a `tag-moved` change that moves no group.
 */
export function classify(spec: Spec, before: Lock | undefined, after: Lock): ImageChange[] {
  const prevImages = before?.images ?? {};
  const ids = [...new Set([...Object.keys(prevImages), ...Object.keys(after.images)])].sort();
  const hostCount = (g: string) => own(spec.fleet, g)?.hosts.length ?? 0;
  const changes: ImageChange[] = [];
  for (const id of ids) {
    const a = own(prevImages, id);
    const b = own(after.images, id);
    const groups = [...new Set([...Object.keys(before?.fleet ?? {}), ...Object.keys(after.fleet)])].sort();
    const moves: GroupMove[] = [];
    let pinsChanged = false;
    for (const g of groups) {
      const from = own(own(before?.fleet, g), id);
      const to = own(own(after.fleet, g), id);
      if (!samePin(from, to)) pinsChanged = true;
      if (sameTarget(from, to)) continue;
      const move: GroupMove = { group: g, hosts: hostCount(g) };
      if (from) move.from = from;
      if (to) move.to = to;
      moves.push(move);
    }
    const kind = kindOf(a, b, pinsChanged);
    if (!kind) continue;
    const change: ImageChange = {
      image: id,
      kind,
      platforms: platformChanges(a, b),
      groups: moves.map((m) => m.group),
      held: Object.entries(after.fleet)
        .flatMap(([g, pins]) => {
          const pin = own(pins, id);
          return pin?.held ? [{ group: g, hosts: hostCount(g), platform: pin.platform, tag: pin.tag ?? '', reason: pin.held }] : [];
        })
        .sort((x, y) => (x.group < y.group ? -1 : 1)),
      moves,
    };
    if (a) change.from = { tag: a.tag, digest: a.digest };
    if (b) change.to = { tag: b.tag, digest: b.digest };
    changes.push(change);
  }
  return changes;
}

function kindOf(a: LockImage | undefined, b: LockImage | undefined, fleetMoved: boolean): ChangeKind | undefined {
  if (!a && b) return 'added';
  if (a && !b) return 'removed';
  if (!a || !b) return undefined;
  if (a.tag !== b.tag) return 'release';
  if (a.digest !== b.digest) return 'tag-moved';
  if (fleetMoved) return 'fleet';
  return a.ref !== b.ref || a.track !== b.track || !sameSigner(a.verifiedBy, b.verifiedBy) ? 'spec' : undefined;
}

function platformChanges(a: LockImage | undefined, b: LockImage | undefined): Record<string, PlatformChange> {
  const keys = [...new Set([...Object.keys(a?.platforms ?? {}), ...Object.keys(b?.platforms ?? {})])].sort();
  const out = dict<PlatformChange>();
  for (const k of keys) {
    const x = own(a?.platforms, k);
    const y = own(b?.platforms, k);
    put(out, k, !x ? 'added' : !y ? 'removed' : x.digest === y.digest ? 'unchanged' : 'changed');
  }
  return out;
}
