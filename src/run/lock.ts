import { readFile } from 'node:fs/promises';
import { loadSpec, type LoadOptions } from '../config/load.js';
import type { Image, Spec } from '../config/spec.js';
import { IntegrityError, LgPinsError, RegistryError, worstExitCode, type ExitCode } from '../errors.js';
import type { Lock } from '../lock/model.js';
import { readLock } from '../lock/read.js';
import { serializeLock } from '../lock/serialize.js';
import { writeFileAtomic } from '../lock/write.js';
import { chooseTag } from '../plan/cadence.js';
import { planLock, type ImageFailure, type ImageOutcome } from '../plan/lock-plan.js';
import type { ClientOptions } from '../registry/client.js';
import { resolveTag } from '../registry/resolve.js';
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
  lock: Lock;
  /** The serialized next lock. */
  text: string;
  failures: ImageFailure[];
  /** The next lock differs from the file on disk. */
  changed: boolean;
  written: boolean;
  /** 0, or the worst failure's code. */
  exitCode: ExitCode;
}

/** Resolve every image of the spec, plan the next lock, and write it when an entry changed. */
export async function lock(opts: LockOptions = {}): Promise<LockResult> {
  const spec = await loadSpec(opts);
  const previous = await readLock(spec.lockFile);
  const sources = Sources.forSpec(spec, opts.client);
  let outcomes: Map<string, ImageOutcome>;
  try {
    outcomes = await resolveImages(spec, previous, sources, opts.callbacks);
  } finally {
    await sources.close();
  }
  const plan = planLock(spec, previous, outcomes);
  const text = serializeLock(plan.lock);
  const existing = await readFile(spec.lockFile, 'utf8').catch(() => undefined);
  const changed = text !== existing;
  const imageCount = Object.keys(spec.images).length;
  const allFailed = imageCount > 0 && plan.failures.length === imageCount;
  const written = !opts.dryRun && changed && !allFailed && (existing !== undefined || Object.keys(plan.lock.images).length > 0);
  if (written) await writeFileAtomic(spec.lockFile, text);
  return {
    spec,
    lockFile: spec.lockFile,
    previous,
    lock: plan.lock,
    text,
    failures: plan.failures,
    changed,
    written,
    exitCode: worstExitCode(plan.failures.map((f) => f.error.exitCode)),
  };
}

/** Resolve each image independently; one failing never stops the others. */
export async function resolveImages(
  spec: Spec,
  previous: Lock | undefined,
  sources: Sources,
  callbacks: LockCallbacks = {},
): Promise<Map<string, ImageOutcome>> {
  const tagLists = new Map<string, Promise<string[]>>();
  const entries = await Promise.all(
    Object.values(spec.images).map(async (image): Promise<[string, ImageOutcome]> => {
      callbacks.onImageStart?.(image.id);
      let outcome: ImageOutcome;
      try {
        outcome = { ok: true, resolution: await resolveImage(image, previous, sources, tagLists) };
      } catch (e) {
        outcome = { ok: false, error: asLgPinsError(e, image) };
      }
      callbacks.onImageDone?.(image.id, outcome);
      return [image.id, outcome];
    }),
  );
  return new Map(entries);
}

async function resolveImage(image: Image, previous: Lock | undefined, sources: Sources, tagLists: Map<string, Promise<string[]>>) {
  const { source, repo, display } = sources.forImage(image);
  if (image.verify?.cosign) {
    throw new IntegrityError(`${display}: verify.cosign is set, and this version of lg-pins cannot verify cosign signatures yet; refusing to pin unverified content`);
  }
  let tag = image.tag;
  if (tag === undefined) {
    // One tag listing per repository per run, however many images share it.
    const key = `${source.name}\u0000${repo}`;
    let list = tagLists.get(key);
    if (!list) tagLists.set(key, (list = source.listTags(repo)));
    const tags = await list;
    const prev = previous?.images[image.id];
    tag = chooseTag(tags, image, prev && prev.ref === image.ref ? prev.tag : undefined);
    if (!tag) {
      throw new RegistryError(`${display}: no tag satisfies ${JSON.stringify(image.track)}${image.prerelease ? '' : ' (pre-releases excluded)'} among ${tags.length} tag${tags.length === 1 ? '' : 's'}`, { registry: source.name });
    }
  }
  return resolveTag(source, repo, tag);
}

function asLgPinsError(e: unknown, image: Image): LgPinsError {
  if (e instanceof LgPinsError) return e;
  return new RegistryError(`${image.ref}: ${(e as Error)?.message ?? String(e)}`, { cause: e });
}
