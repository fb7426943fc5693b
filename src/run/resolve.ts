/**
 * Fetching for `lock`, `diff` and `propose`: every image of the spec resolved independently (one
 * failing never stops the others). What to fetch next and what an answer means is the planner's
 * (plan/release.ts); this file only asks the sources and reports back.
 */
import pLimit from 'p-limit';
import type { Image, Spec } from '../config/spec.js';
import { IntegrityError, InternalError, LgPinsError, RegistryError } from '../errors.js';
import type { Lock, LockImage, Signer } from '../lock/model.js';
import type { ImageOutcome } from '../plan/lock-plan.js';
import { chooseRelease, FallbackSearch, headFirst, knownSigner, lockedEntry, needyGroups } from '../plan/release.js';
import { parsePlatform } from '../platform.js';
import { resolveTag, type Resolution } from '../registry/resolve.js';
import type { ContentSource } from '../registry/source.js';
import { verifyCosign } from '../trust/cosign.js';
import type { Sources } from './sources.js';

export interface ResolveCallbacks {
  onImageStart?(image: string): void;
  onImageDone?(image: string, outcome: ImageOutcome): void;
}

/** Images resolved at once: enough to keep every registry's request slots busy. */
const IMAGES_IN_FLIGHT = 64;

/** Resolve each image independently; one failing never stops the others. */
export async function resolveImages(
  spec: Spec,
  previous: Lock | undefined,
  sources: Sources,
  callbacks: ResolveCallbacks = {},
): Promise<Map<string, ImageOutcome>> {
  const tagLists = new Map<string, Promise<string[]>>();
  // Registries get at most their own concurrency of requests (in the client); images are started a
  // bounded number at a time too, so a 2,000-image spec does not hold 2,000 half-done resolutions.
  const limit = pLimit(IMAGES_IN_FLIGHT);
  const entries = await Promise.all(
    Object.values(spec.images).map((image) =>
      limit(async (): Promise<[string, ImageOutcome]> => {
        callbacks.onImageStart?.(image.id);
        let outcome: ImageOutcome;
        try {
          outcome = await resolveImage(image, spec, previous, sources, tagLists);
        } catch (e) {
          outcome = { ok: false, error: asLgPinsError(e, image) };
        }
        callbacks.onImageDone?.(image.id, outcome);
        return [image.id, outcome];
      }),
    ),
  );
  return new Map(entries);
}

async function resolveImage(
  image: Image,
  spec: Spec,
  previous: Lock | undefined,
  sources: Sources,
  tagLists: Map<string, Promise<string[]>>,
): Promise<ImageOutcome> {
  const { source, repo, display } = await sources.forImage(image);
  const locked = lockedEntry(previous, image);
  const key = image.verify?.cosign;
  // With verify.cosign, a digest is pinned only when a signature by the key signs it.
  const signed = async (r: Resolution): Promise<Signer | undefined> => {
    if (!key) return undefined;
    const known = knownSigner(locked, r.digest, key);
    if (known) return known;
    const identity = image.source.kind === 'registry' ? display : undefined;
    return verifyCosign({ source, repo, name: display, digest: r.digest, ...(identity ? { identity } : {}) }, key);
  };
  const settle = async (r: Resolution): Promise<Extract<ImageOutcome, { ok: true }>> => {
    const verifiedBy = await signed(r);
    return verifiedBy ? { ok: true, resolution: r, verifiedBy } : { ok: true, resolution: r };
  };
  if (image.tag !== undefined) return settle(runnable(await resolveOrReuse(source, repo, image.tag, locked), display, source.name));

  // One tag listing per repository per run, however many images share it.
  const listKey = `${source.name}\u0000${repo}`;
  let listing = tagLists.get(listKey);
  if (!listing) tagLists.set(listKey, (listing = source.listTags(repo)));
  const choice = chooseRelease(await listing, image, locked);
  if ('none' in choice) throw new RegistryError(`${display}: ${choice.none}`, { registry: source.name });
  const resolution = runnable(await resolveOrReuse(source, repo, choice.tag, locked), display, source.name);
  const outcome = await settle(resolution);
  if (choice.passedOver) outcome.passedOver = choice.passedOver;

  // onMissing: hold with nothing to hold yet: the newest earlier candidates that ship the group's platform.
  const needy = needyGroups(spec, image, previous, locked, resolution);
  if (!needy.length) return outcome;
  const search = new FallbackSearch(needy, choice.older);
  for (let tag = search.next(); tag !== undefined; tag = search.next()) {
    let r: Resolution;
    try {
      r = await resolveTag(source, repo, tag);
    } catch (e) {
      // An older release that cannot be read (gone, unsupported) is skipped.
      if (e instanceof RegistryError) continue;
      throw e;
    }
    if (!search.useful(r)) continue;
    try {
      // A fallback is a pin like any other: it must be signed too.
      await signed(r);
    } catch (e) {
      if (e instanceof IntegrityError && key) search.reject(tag, e);
      else if (!(e instanceof RegistryError)) throw e;
      continue;
    }
    search.accept(r);
  }
  if (search.fallbacks.length) outcome.fallbacks = search.fallbacks;
  const failure = search.failure(display, choice.tag);
  if (failure) throw failure;
  return outcome;
}

/**
 * The warm path: when the lock already pins this tag, ask the registry where the tag points with a
 * HEAD (no body, and not a pull on Docker Hub). Unchanged: reuse the locked entry, whose digests
 * were verified by hashing when they were locked; no GET at all. Otherwise, or when the registry
 * cannot tell, resolve with GETs as usual.
 */
async function resolveOrReuse(source: ContentSource, repo: string, tag: string, locked: LockImage | undefined): Promise<Resolution> {
  if (locked && headFirst(locked, tag) && source.headManifest) {
    const now = await source.headManifest(repo, tag);
    if (now === locked.digest) return fromLock(locked);
  }
  return resolveTag(source, repo, tag);
}

function fromLock(entry: LockImage): Resolution {
  return {
    tag: entry.tag,
    digest: entry.digest,
    mediaType: entry.mediaType,
    // The lock does not record the index's own size; nothing downstream of a lock run reads it.
    size: 0,
    platforms: Object.entries(entry.platforms).map(([key, p]) => ({
      key,
      platform: parsePlatform(key),
      digest: p.digest,
      mediaType: p.mediaType,
      size: p.size,
    })),
  };
}

/** A tag with no runnable platform (only attestations, or media types lg-pins does not pin) cannot be locked. */
function runnable(r: Resolution, display: string, registry: string): Resolution {
  if (r.platforms.length) return r;
  throw new RegistryError(`${display}:${r.tag} offers no runnable platform (only attestations or manifest types lg-pins does not pin)`, {
    registry,
  });
}

function asLgPinsError(e: unknown, image: Image): LgPinsError {
  if (e instanceof LgPinsError) return e;
  return new InternalError(
    `${image.ref}: internal error: ${(e as Error)?.message ?? String(e)} (a bug in lg-pins; please report it with the --verbose output)`,
    { cause: e },
  );
}
