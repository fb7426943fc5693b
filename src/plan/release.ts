/**
 * Pure decisions of resolving one image, between the fetches `run/` makes: which tag to pin, when a
 * locked entry or signature can be reused, which held groups still lack a release, and which older
 * releases to try for them. `run/resolve.ts` asks, fetches, and reports back; nothing here does I/O.
 */
import type { CosignPolicy, Group, Image, Spec } from '../config/spec.js';
import { IntegrityError } from '../errors.js';
import type { Lock, LockImage, Signer } from '../lock/model.js';
import type { Resolution } from '../registry/resolve.js';
import { own } from '../safe/dict.js';
import { candidates, chooseTag, tagVersion, type Candidate } from './cadence.js';
import { coverage } from './coverage.js';
import { satisfies } from './signer.js';

/** Older candidates tried, at most, when looking for a release that still ships a held group's platform. */
export const MAX_FALLBACKS = 10;

/** The previous entry of an image, when it was locked from the same ref (another ref's pins are not its own). */
export function lockedEntry(previous: Lock | undefined, image: Image): LockImage | undefined {
  const prev = own(previous?.images, image.id);
  return prev && prev.ref === image.ref ? prev : undefined;
}

/**
 * A signer already recorded for this very digest that satisfies the policy (the same key; a keyless
 * identity and issuer the policy accepts, under the same trusted root): digests and signatures are
 * immutable, no need to ask again.
 */
export function knownSigner(locked: LockImage | undefined, digest: string, policy: CosignPolicy): Signer | undefined {
  return locked && locked.digest === digest && satisfies(policy, locked.verifiedBy) ? locked.verifiedBy : undefined;
}

/** Ask the registry where the locked tag points (a HEAD) before fetching anything: the warm path. */
export function headFirst(locked: LockImage | undefined, tag: string): boolean {
  return locked !== undefined && locked.tag === tag;
}

export interface ReleaseChoice {
  tag: string;
  /** A newer release the cadence passed over (not a change; diff mentions it). */
  passedOver?: string;
  /** Candidates older than the chosen tag, newest first: where held groups look for a release. */
  older: Candidate[];
}

/**
 * The tag a `track` image pins from a repository's tags (cadence, range, pre-releases), or the
 * reason there is none.
 */
export function chooseRelease(tags: readonly string[], image: Image, locked: LockImage | undefined): ReleaseChoice | { none: string } {
  const tag = chooseTag(tags, image, locked?.tag);
  if (!tag) {
    return {
      none: `no tag satisfies ${JSON.stringify(image.track)}${image.prerelease ? '' : ' (pre-releases excluded)'} among ${tags.length} tag${tags.length === 1 ? '' : 's'}`,
    };
  }
  const list = candidates(tags, image);
  const choice: ReleaseChoice = { tag, older: list.slice(list.findIndex((c) => c.tag === tag) + 1) };
  const newest = list[0];
  // Only a NEWER release is passed over (not the same version spelled with or without `v`).
  const chosen = tagVersion(tag);
  if (newest && newest.tag !== tag && (!chosen || newest.version.compare(chosen) > 0)) choice.passedOver = newest.tag;
  return choice;
}

/**
 * Groups of `onMissing: hold` that the release cannot serve and that have nothing to hold yet (no
 * previous pin of this image from the same ref): they need an earlier release.
 */
export function needyGroups(spec: Spec, image: Image, previous: Lock | undefined, locked: LockImage | undefined, r: Resolution): Group[] {
  return Object.values(spec.fleet).filter(
    (g) =>
      g.images.includes(image.id) &&
      g.onMissing === 'hold' &&
      !(locked && own(own(previous?.fleet, g.id), image.id)) &&
      !coverage([g], r.platforms).get(g.platformKey),
  );
}

/**
 * The search for earlier releases that ship the needy groups' platforms: newest first, at most
 * MAX_FALLBACKS, until every group is covered. `run/` fetches each tag `next()` names and reports
 * what came back; the search says what it means.
 */
export class FallbackSearch {
  private missing: Group[];
  private readonly queue: string[];
  private readonly found: Resolution[] = [];
  private unsigned: { tag: string; error: IntegrityError } | undefined;

  constructor(needy: readonly Group[], older: readonly Candidate[]) {
    this.missing = [...needy];
    this.queue = older.slice(0, MAX_FALLBACKS).map((c) => c.tag);
  }

  /** The next tag to fetch, or undefined when the search is over. */
  next(): string | undefined {
    return this.missing.length ? this.queue.shift() : undefined;
  }

  /** Whether a fetched release ships a platform a missing group needs (then its signature is checked). */
  useful(r: Resolution): boolean {
    const covered = coverage(this.missing, r.platforms);
    return this.missing.some((g) => covered.get(g.platformKey));
  }

  /** A useful release that is signed (or needs no signature): it serves the groups it covers. */
  accept(r: Resolution): void {
    const covered = coverage(this.missing, r.platforms);
    this.found.push(r);
    this.missing = this.missing.filter((g) => !covered.get(g.platformKey));
  }

  /** A useful release that is not signed: skipped, remembered for the message. */
  reject(tag: string, error: IntegrityError): void {
    this.unsigned ??= { tag, error };
  }

  /** Releases found, newest first. */
  get fallbacks(): Resolution[] {
    return this.found;
  }

  /**
   * When the only releases that ship a held group's platform are unsigned: a trust failure (exit
   * 4), not "no release" (which planLock reports as a coverage failure).
   */
  failure(display: string, tag: string): IntegrityError | undefined {
    if (!this.missing.length || !this.unsigned) return undefined;
    const groups = this.missing.map((g) => `group ${JSON.stringify(g.id)} (${g.platformKey})`).join(', ');
    return new IntegrityError(
      `${display}: ${groups} cannot be held: ${tag} does not ship its platform and the earlier release ${this.unsigned.tag} that does is not signed: ${this.unsigned.error.message}`,
    );
  }
}
