import pLimit from 'p-limit';
import { loadSpec, type LoadOptions } from '../config/load.js';
import type { Image, Spec } from '../config/spec.js';
import { FileError, IntegrityError, InternalError, LgPinsError, RegistryError, worstExitCode, type ExitCode } from '../errors.js';
import { validator } from '../config/schema.js';
import type { Lock, LockImage } from '../lock/model.js';
import { parsePlatform } from '../platform.js';
import type { ContentSource } from '../registry/source.js';
import { verifyCosign } from '../verify/cosign.js';
import { readLockFile } from '../lock/read.js';
import { serializeLock } from '../lock/serialize.js';
import { writeFileAtomic } from '../lock/write.js';
import { candidates, chooseTag, tagVersion } from '../plan/cadence.js';
import { coverage } from '../plan/coverage.js';
import { planLock, type ImageFailure, type ImageOutcome, type LockPlan } from '../plan/lock-plan.js';
import { dictFrom, own } from '../safe/dict.js';
import { excerpt } from '../safe/text.js';
import type { ClientOptions } from '../registry/client.js';
import { resolveTag, type Resolution } from '../registry/resolve.js';
import { Sources } from './sources.js';

export interface LockCallbacks {
  onImageStart?(image: string): void;
  onImageDone?(image: string, outcome: ImageOutcome): void;
}

export interface LockOptions extends LoadOptions {
  /** Plan only: resolve and compute the next lock, write nothing. */
  dryRun?: boolean;
  callbacks?: LockCallbacks;
  client?: ClientOptions;
}

export interface LockResult {
  spec: Spec;
  lockFile: string;
  previous: Lock | undefined;
  /** The lock file's text before the run, when there was one. */
  previousText: string | undefined;
  lock: Lock;
  /** The serialized next lock. */
  text: string;
  failures: ImageFailure[];
  /** Newer releases the cadence passed over: not changes, but worth a mention. */
  passedOver: Array<{ image: string; tag: string; pinned: string; cadence: string }>;
  /** The next lock differs from the file on disk. */
  changed: boolean;
  written: boolean;
  /** 0, or the worst failure's code. */
  exitCode: ExitCode;
}

/** Resolve every image of the spec, plan the next lock, and write it when an entry changed. */
export async function lock(opts: LockOptions = {}): Promise<LockResult> {
  const spec = await loadSpec(opts);
  const existing = await readLockFile(spec.lockFile);
  const previous = existing?.lock;
  const sources = Sources.forSpec(spec, opts.client);
  let outcomes: Map<string, ImageOutcome>;
  try {
    outcomes = await resolveImages(spec, previous, sources, opts.callbacks);
  } finally {
    await sources.close();
  }
  const plan = planValid(spec, previous, outcomes);
  const text = serializeLock(plan.lock);
  const changed = text !== existing?.text;
  const imageCount = Object.keys(spec.images).length;
  const allFailed = imageCount > 0 && plan.failures.length === imageCount;
  const written = !opts.dryRun && changed && !allFailed && (existing !== undefined || Object.keys(plan.lock.images).length > 0);
  if (written) {
    try {
      await writeFileAtomic(spec.lockFile, text);
    } catch (e) {
      if (e instanceof FileError) throw e;
      throw new FileError(`cannot write ${spec.lockFile}: ${describeFsError(e)}`, { cause: e });
    }
  }
  const passedOver: LockResult['passedOver'] = [];
  for (const [image, o] of outcomes) if (o.ok && o.passedOver) passedOver.push({ image, tag: o.passedOver, pinned: o.resolution.tag, cadence: own(spec.images, image)!.cadence });
  return {
    spec,
    lockFile: spec.lockFile,
    previous,
    previousText: existing?.text,
    lock: plan.lock,
    text,
    failures: plan.failures,
    passedOver,
    changed,
    written,
    exitCode: worstExitCode(plan.failures.map((f) => f.error.exitCode)),
  };
}

/**
 * Plan, and never produce a lock lg-pins would refuse to read back. An image whose planned entry
 * fails the lock schema (registry content that got past the checks at the boundary) fails alone
 * with exit 4 and keeps its previous pin; every other image is still pinned.
 */
function planValid(spec: Spec, previous: Lock | undefined, outcomes: Map<string, ImageOutcome>): LockPlan {
  const valid = validator('lg-pins.lock.schema.json');
  const plain = (v: unknown): unknown => JSON.parse(JSON.stringify(v));
  const plan = planLock(spec, previous, outcomes);
  if (valid(plain(plan.lock))) return plan;
  const next = new Map(outcomes);
  for (const [id, entry] of Object.entries(plan.lock.images)) {
    const fleet = dictFrom(Object.entries(plan.lock.fleet).flatMap(([g, pins]) => (own(pins, id) ? [[g, dictFrom([[id, own(pins, id)]])] as const] : [])));
    if (valid(plain({ lockVersion: 1, images: dictFrom([[id, entry]]), fleet }))) continue;
    const e = valid.errors?.[0];
    const where = e ? `${excerpt(e.instancePath, 80)} ${e.message ?? ''}`.trim() : 'the lock schema';
    next.set(id, { ok: false, error: new IntegrityError(`${entry.ref}: the registry's answer would not make a valid lock entry (${where}); nothing of it is pinned`) });
  }
  const replanned = planLock(spec, previous, next);
  // Never write a lock that lg-pins itself would refuse to read back.
  if (!valid(plain(replanned.lock))) throw new InternalError('the next lock does not match schemas/lg-pins.lock.schema.json; nothing was written');
  return replanned;
}

/** Resolve each image independently; one failing never stops the others. */
export async function resolveImages(
  spec: Spec,
  previous: Lock | undefined,
  sources: Sources,
  callbacks: LockCallbacks = {},
): Promise<Map<string, ImageOutcome>> {
  const tagLists = new Map<string, Promise<string[]>>();
  // Registries get at most their own concurrency of requests (in the client); images are started a
  // bounded number at a time too, so a 2,000-image spec does not hold 2,000 half-done resolutions.
  const limit = pLimit(IMAGES_IN_FLIGHT);
  const entries = await Promise.all(
    Object.values(spec.images).map((image) => limit(async (): Promise<[string, ImageOutcome]> => {
      callbacks.onImageStart?.(image.id);
      let outcome: ImageOutcome;
      try {
        outcome = await resolveImage(image, spec, previous, sources, tagLists);
      } catch (e) {
        outcome = { ok: false, error: asLgPinsError(e, image) };
      }
      callbacks.onImageDone?.(image.id, outcome);
      return [image.id, outcome];
    })),
  );
  return new Map(entries);
}

/** Images resolved at once: enough to keep every registry's request slots busy. */
const IMAGES_IN_FLIGHT = 64;

/** Older candidates tried, at most, when looking for a release that still ships a held group's platform. */
const MAX_FALLBACKS = 10;

async function resolveImage(
  image: Image,
  spec: Spec,
  previous: Lock | undefined,
  sources: Sources,
  tagLists: Map<string, Promise<string[]>>,
): Promise<ImageOutcome> {
  const { source, repo, display } = await sources.forImage(image);
  const prev = own(previous?.images, image.id);
  const locked = prev && prev.ref === image.ref ? prev : undefined;
  const key = image.verify?.cosign;
  // With verify.cosign, a digest is pinned only when a signature by the key signs it. A locked entry
  // the same key verified before is not asked again (digests are immutable).
  const signed = async (r: Resolution): Promise<string | undefined> => {
    if (!key) return undefined;
    if (locked && locked.digest === r.digest && locked.verifiedBy === key.fingerprint) return key.fingerprint;
    const identity = image.source.kind === 'registry' ? display : undefined;
    return verifyCosign({ source, repo, name: display, digest: r.digest, ...(identity ? { identity } : {}) }, key);
  };
  const settle = async (r: Resolution): Promise<ImageOutcome> => {
    const verifiedBy = await signed(r);
    return verifiedBy ? { ok: true, resolution: r, verifiedBy } : { ok: true, resolution: r };
  };
  if (image.tag !== undefined) return settle(runnable(await resolveOrReuse(source, repo, image.tag, locked), display, source.name));

  // One tag listing per repository per run, however many images share it.
  const listKey = `${source.name}\u0000${repo}`;
  let listing = tagLists.get(listKey);
  if (!listing) tagLists.set(listKey, (listing = source.listTags(repo)));
  const tags = await listing;
  const tag = chooseTag(tags, image, locked?.tag);
  if (!tag) {
    throw new RegistryError(`${display}: no tag satisfies ${JSON.stringify(image.track)}${image.prerelease ? '' : ' (pre-releases excluded)'} among ${tags.length} tag${tags.length === 1 ? '' : 's'}`, { registry: source.name });
  }
  const list = candidates(tags, image);
  const resolution = runnable(await resolveOrReuse(source, repo, tag, locked), display, source.name);
  const outcome = await settle(resolution);
  if (!outcome.ok) return outcome;
  const newest = list[0];
  // Only a NEWER release is passed over (not the same version spelled with or without `v`).
  const chosen = tagVersion(tag);
  if (newest && newest.tag !== tag && (!chosen || newest.version.compare(chosen) > 0)) outcome.passedOver = newest.tag;

  // onMissing: hold with nothing to hold yet: the newest earlier candidate that ships the group's platform.
  const samePrev = locked !== undefined;
  const needy = Object.values(spec.fleet).filter(
    (g) => g.images.includes(image.id) && g.onMissing === 'hold' && !(samePrev && own(own(previous?.fleet, g.id), image.id)) && !coverage([g], resolution.platforms).get(g.platformKey),
  );
  if (needy.length) {
    const fallbacks: Resolution[] = [];
    let missing = needy;
    const older = list.slice(list.findIndex((c) => c.tag === tag) + 1, undefined).slice(0, MAX_FALLBACKS);
    let unsigned: { tag: string; error: IntegrityError } | undefined;
    for (const c of older) {
      if (!missing.length) break;
      let r: Resolution;
      try {
        r = await resolveTag(source, repo, c.tag);
      } catch (e) {
        // An older release that cannot be read (gone, unsupported) is skipped.
        if (!(e instanceof RegistryError)) throw e;
        continue;
      }
      const covered = coverage(missing, r.platforms);
      if (!missing.some((g) => covered.get(g.platformKey))) continue;
      try {
        // A fallback is a pin like any other: it must be signed too.
        await signed(r);
      } catch (e) {
        // Not signed (or its signature cannot be read): skipped, but remembered for the message.
        if (!(e instanceof RegistryError) && !(e instanceof IntegrityError && key)) throw e;
        if (e instanceof IntegrityError) unsigned ??= { tag: c.tag, error: e };
        continue;
      }
      fallbacks.push(r);
      missing = missing.filter((g) => !covered.get(g.platformKey));
    }
    if (fallbacks.length) outcome.fallbacks = fallbacks;
    // The only releases that ship a held group's platform are unsigned: a trust failure (exit 4), not "no release".
    if (missing.length && unsigned) {
      const groups = missing.map((g) => `group ${JSON.stringify(g.id)} (${g.platformKey})`).join(', ');
      throw new IntegrityError(`${display}: ${groups} cannot be held: ${tag} does not ship its platform and the earlier release ${unsigned.tag} that does is not signed: ${unsigned.error.message}`);
    }
  }
  return outcome;
}

/**
 * The warm path: when the lock already pins this tag, ask the registry where the tag points with a
 * HEAD (no body, and not a pull on Docker Hub). Unchanged: reuse the locked entry, whose digests
 * were verified by hashing when they were locked; no GET at all. Otherwise, or when the registry
 * cannot tell, resolve with GETs as usual.
 */
async function resolveOrReuse(source: ContentSource, repo: string, tag: string, locked: LockImage | undefined): Promise<Resolution> {
  if (locked && locked.tag === tag && source.headManifest) {
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
    platforms: Object.entries(entry.platforms).map(([key, p]) => ({ key, platform: parsePlatform(key), digest: p.digest, mediaType: p.mediaType, size: p.size })),
  };
}

/** A tag with no runnable platform (only attestations, or media types lg-pins does not pin) cannot be locked. */
function runnable(r: Resolution, display: string, registry: string): Resolution {
  if (r.platforms.length) return r;
  throw new RegistryError(`${display}:${r.tag} offers no runnable platform (only attestations or manifest types lg-pins does not pin)`, { registry });
}

function asLgPinsError(e: unknown, image: Image): LgPinsError {
  if (e instanceof LgPinsError) return e;
  return new InternalError(`${image.ref}: internal error: ${(e as Error)?.message ?? String(e)} (a bug in lg-pins; please report it with the --verbose output)`, { cause: e });
}

function describeFsError(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  const words: Record<string, string> = { EACCES: 'permission denied', EPERM: 'operation not permitted', ENOSPC: 'no space left on the device', EROFS: 'read-only file system', ENOENT: 'the directory does not exist' };
  return code && words[code] ? `${words[code]} (${code})` : (e as Error).message;
}
