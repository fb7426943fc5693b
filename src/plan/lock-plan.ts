import type { Group, Image, Spec } from '../config/spec.js';
import type { Digest } from '../digest.js';
import { CoverageError, IntegrityError, InternalError, type LgPinsError } from '../errors.js';
import type { FleetPin, Lock, LockImage, Signer } from '../lock/model.js';
import type { PlatformEntry, Resolution } from '../registry/resolve.js';
import { canRunKey } from '../platform.js';
import { coverage } from './coverage.js';
import { dict, dictFrom, own, put } from '../safe/dict.js';
import { applyRings, type ImagePins, type Waiting } from './rings.js';

/** The outcome of resolving one image: its resolution, or why it failed. */
export type ImageOutcome =
  | {
      ok: true;
      resolution: Resolution;
      /** A newer release the cadence passed over (not a change; diff mentions it). */
      passedOver?: string;
      /** Earlier releases, newest first, for `onMissing: hold` groups that have no previous pin to hold. */
      fallbacks?: Resolution[];
      /** With `verify.cosign`: who signed the resolution. */
      verifiedBy?: Signer;
    }
  | { ok: false; error: LgPinsError };

export interface ImageFailure {
  image: string;
  error: LgPinsError;
}

export interface LockPlan {
  lock: Lock;
  failures: ImageFailure[];
  /** Followers that keep their pin until their leader has run the new release for their soak. */
  waiting: Waiting[];
}

/**
 * Pure: (spec, previous lock, outcomes) → next lock and failures. An image that failed, or whose
 * release cannot serve a group that must not be held, keeps its previous entry and pins exactly.
 */
export function planLock(
  spec: Spec,
  previous: Lock | undefined,
  outcomes: ReadonlyMap<string, ImageOutcome>,
  /** The run's clock (LG_PINS_NOW), for rollout rings. */
  now: Date = new Date(),
  /** Rollout rings: a lock that proposed pins before (the open pull request's), whose `since` a same pin keeps. */
  proposed?: Lock,
): LockPlan {
  const lock: Lock = { lockVersion: 1, images: dict(), fleet: dict() };
  const failures: ImageFailure[] = [];
  const waiting: Waiting[] = [];
  const groups = Object.values(spec.fleet);
  for (const image of Object.values(spec.images)) {
    const outcome = outcomes.get(image.id);
    const users = groups.filter((g) => g.images.includes(image.id));
    const planned = outcome?.ok
      ? planImage(image, outcome.resolution, users, previous, outcome.fallbacks ?? [], outcome.verifiedBy)
      : undefined;
    if (planned && !(planned instanceof CoverageError)) {
      put(lock.images, image.id, planned.entry);
      const ringed = applyRings(
        image.id,
        users,
        planned.entry,
        planned.pins,
        previousOf(image, users, previous),
        now,
        previousOf(image, users, proposed),
      );
      for (const [group, pin] of ringed.pins) put(groupPins(lock, group), image.id, pin);
      waiting.push(...ringed.waiting);
      continue;
    }
    const error = planned ?? (outcome && !outcome.ok ? outcome.error : undefined);
    if (error) failures.push({ image: image.id, error });
    keepPrevious(image.id, users, previous, lock);
  }
  for (const g of groups) groupPins(lock, g.id);
  return { lock, failures, waiting };
}

/** The image's entry and its groups' pins in a lock, when it has the image under the same ref. */
function previousOf(image: Image, users: Group[], previous: Lock | undefined): ImagePins | undefined {
  const entry = own(previous?.images, image.id);
  if (!entry || entry.ref !== image.ref) return undefined;
  const pins = new Map<string, FleetPin>();
  for (const g of users) {
    const pin = own(own(previous?.fleet, g.id), image.id);
    if (pin) pins.set(g.id, pin);
  }
  return { entry, pins };
}

function planImage(
  image: Image,
  r: Resolution,
  users: Group[],
  previous: Lock | undefined,
  fallbacks: readonly Resolution[],
  verifiedBy?: Signer,
): { entry: LockImage; pins: Map<string, FleetPin> } | CoverageError {
  const { id, ref } = image;
  const entry: LockImage = {
    ref,
    tag: r.tag,
    ...(image.track !== undefined ? { track: image.track } : {}),
    digest: r.digest,
    mediaType: r.mediaType,
    platforms: dictFrom(r.platforms.map((p) => [p.key, { digest: p.digest, mediaType: p.mediaType, size: p.size }] as const)),
    ...(verifiedBy !== undefined ? { verifiedBy } : {}),
  };
  const covered = coverage(users, r.platforms);
  const pins = new Map<string, FleetPin>();
  const missing: Group[] = [];
  for (const g of users) {
    const hit = covered.get(g.platformKey);
    if (hit) {
      pins.set(g.id, { platform: hit.key, digest: hit.digest });
      continue;
    }
    // A pin from another repository (the spec's ref changed) is not this image's to hold.
    const sameRef = own(previous?.images, id)?.ref === ref;
    const prev = sameRef ? own(own(previous?.fleet, g.id), id) : undefined;
    const prevTag = prev?.tag ?? own(previous?.images, id)?.tag;
    const held = `${g.platformKey} is not in ${r.tag}`;
    if (g.onMissing === 'hold' && prev && prevTag && canRunKey(g.platform, prev.platform)) {
      const index = heldIndex(prev, own(previous?.images, id));
      pins.set(g.id, { platform: prev.platform, digest: prev.digest, tag: prevTag, ...(index ? { index } : {}), held });
      continue;
    }
    // Nothing to hold yet (a first lock of a `track` image): the newest earlier release that ships the platform.
    const fallback = g.onMissing === 'hold' && !prev ? firstCovering(g, fallbacks) : undefined;
    if (fallback)
      pins.set(g.id, { platform: fallback.entry.key, digest: fallback.entry.digest, tag: fallback.tag, index: fallback.index, held });
    else missing.push(g);
  }
  if (missing.length) {
    const offered = r.platforms.map((p) => p.key).join(', ') || 'no runnable platform';
    const lines = missing.map((g) => {
      const why = g.onMissing === 'hold' ? ' (onMissing: hold, but there is no earlier pin or release of that platform to hold)' : '';
      return `group ${JSON.stringify(g.id)} (${g.hosts.length} host${g.hosts.length === 1 ? '' : 's'}) needs ${g.platformKey}, which ${ref}:${r.tag} does not ship${why}`;
    });
    const advice = missing.every((g) => g.onMissing === 'hold')
      ? "Pin a release that ships it, or change the group's arch/platform."
      : 'Set onMissing: hold on the group to keep its previous pin, or change its arch/platform.';
    return new CoverageError(`${lines.join('; ')}. ${r.tag} ships ${offered}. ${advice}`);
  }
  return { entry, pins };
}

/** Carry an image's previous entry and pins over unchanged (for groups still in the spec). */
function keepPrevious(id: string, users: Group[], previous: Lock | undefined, lock: Lock): void {
  const entry = own(previous?.images, id);
  if (!entry) return;
  put(lock.images, id, entry);
  for (const g of users) {
    const pin = own(own(previous?.fleet, g.id), id);
    if (pin) put(groupPins(lock, g.id), id, pin);
  }
}

function firstCovering(g: Group, fallbacks: readonly Resolution[]): { tag: string; index: Digest; entry: PlatformEntry } | undefined {
  for (const r of fallbacks) {
    const entry = coverage([g], r.platforms).get(g.platformKey);
    if (entry) return { tag: r.tag, index: r.digest, entry };
  }
  return undefined;
}

/**
 * The index digest of the release a held pin stays on: the one it recorded when it was held
 * already, else the image's locked index when the pin was that release's. A lock written before
 * pins recorded it may leave it unknown (until the group moves).
 */
function heldIndex(prev: FleetPin, prevImage: LockImage | undefined): Digest | undefined {
  if (prev.index) return prev.index;
  if (prev.tag === undefined && prevImage) return prevImage.digest;
  return undefined;
}

/** A group's pins in the lock being built (a null-prototype record, made on first use). */
function groupPins(lock: Lock, group: string): Record<string, FleetPin> {
  let pins = own(lock.fleet, group);
  if (!pins) put(lock.fleet, group, (pins = dict<FleetPin>()));
  return pins;
}

/**
 * Plan, and never produce a lock lg-pins would refuse to read back: an image whose planned entry
 * fails `problem` (the lock schema; registry content that got past the checks at the boundary)
 * fails alone with exit 4 and keeps its previous pin; every other image is still pinned.
 */
export function planValidLock(
  spec: Spec,
  previous: Lock | undefined,
  outcomes: ReadonlyMap<string, ImageOutcome>,
  problem: (lock: Lock) => string | undefined,
  now: Date = new Date(),
  proposed?: Lock,
): LockPlan {
  const plan = planLock(spec, previous, outcomes, now, proposed);
  if (problem(plan.lock) === undefined) return plan;
  const next = new Map(outcomes);
  for (const [id, entry] of Object.entries(plan.lock.images)) {
    const fleet = dictFrom(
      Object.entries(plan.lock.fleet).flatMap(([g, pins]) => (own(pins, id) ? [[g, dictFrom([[id, own(pins, id)!]])] as const] : [])),
    );
    const why = problem({ lockVersion: 1, images: dictFrom([[id, entry]]), fleet });
    if (why !== undefined)
      next.set(id, {
        ok: false,
        error: new IntegrityError(
          `${entry.ref}: the registry's answer would not make a valid lock entry (${why}); nothing of it is pinned`,
        ),
      });
  }
  const replanned = planLock(spec, previous, next, now, proposed);
  // Never write a lock that lg-pins itself would refuse to read back.
  if (problem(replanned.lock) !== undefined)
    throw new InternalError('the next lock does not match schemas/lg-pins.lock.schema.json; nothing was written');
  return replanned;
}

/**
 * Whether a run writes its lock: only when it changed, never when every image failed (the file
 * system stays as it was), and a first run that pinned nothing creates no lock.
 */
export function shouldWrite(spec: Spec, plan: Pick<LockPlan, 'lock' | 'failures'>, changed: boolean, lockExists: boolean): boolean {
  const imageCount = Object.keys(spec.images).length;
  const allFailed = imageCount > 0 && plan.failures.length === imageCount;
  return changed && !allFailed && (lockExists || Object.keys(plan.lock.images).length > 0);
}

/** Newer releases the cadence passed over: not changes, but worth a mention. */
export function passedOver(
  spec: Spec,
  outcomes: ReadonlyMap<string, ImageOutcome>,
): Array<{ image: string; tag: string; pinned: string; cadence: string }> {
  const out: Array<{ image: string; tag: string; pinned: string; cadence: string }> = [];
  for (const [image, o] of outcomes) {
    const cadence = own(spec.images, image)?.cadence;
    if (o.ok && o.passedOver && cadence) out.push({ image, tag: o.passedOver, pinned: o.resolution.tag, cadence });
  }
  return out;
}
