import { loadSpec, type LoadOptions } from '../config/load.js';
import { validator } from '../config/schema.js';
import type { Spec } from '../config/spec.js';
import { FileError, worstExitCode, type ExitCode } from '../errors.js';
import type { Lock } from '../lock/model.js';
import { readLockFile } from '../lock/read.js';
import { serializeLock } from '../lock/serialize.js';
import { writeFileAtomic } from '../lock/write.js';
import { passedOver, planValidLock, shouldWrite, type ImageFailure, type ImageOutcome } from '../plan/lock-plan.js';
import type { ClientOptions } from '../registry/client.js';
import { excerpt } from '../safe/text.js';
import { resolveImages, type ResolveCallbacks } from './resolve.js';
import { Sources } from './sources.js';

export { resolveImages };

export type LockCallbacks = ResolveCallbacks;

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
  let outcomes: ReadonlyMap<string, ImageOutcome>;
  try {
    outcomes = await resolveImages(spec, previous, sources, opts.callbacks);
  } finally {
    await sources.close();
  }
  const plan = planValidLock(spec, previous, outcomes, lockProblem);
  const text = serializeLock(plan.lock);
  const changed = text !== existing?.text;
  const written = !opts.dryRun && shouldWrite(spec, plan, changed, existing !== undefined);
  if (written) {
    try {
      await writeFileAtomic(spec.lockFile, text);
    } catch (e) {
      if (e instanceof FileError) throw e;
      throw new FileError(`cannot write ${spec.lockFile}: ${describeFsError(e)}`, { cause: e });
    }
  }
  return {
    spec,
    lockFile: spec.lockFile,
    previous,
    previousText: existing?.text,
    lock: plan.lock,
    text,
    failures: plan.failures,
    passedOver: passedOver(spec, outcomes),
    changed,
    written,
    exitCode: worstExitCode(plan.failures.map((f) => f.error.exitCode)),
  };
}

function describeFsError(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  const words: Record<string, string> = {
    EACCES: 'permission denied',
    EPERM: 'operation not permitted',
    ENOSPC: 'no space left on the device',
    EROFS: 'read-only file system',
    ENOENT: 'the directory does not exist',
  };
  return code && words[code] ? `${words[code]} (${code})` : (e as Error).message;
}

/** Why a lock (or one image's part of it) would not pass the lock schema, or undefined when it does. */
function lockProblem(lock: Lock): string | undefined {
  const valid = validator('lg-pins.lock.schema.json');
  if (valid(JSON.parse(JSON.stringify(lock)))) return undefined;
  const e = valid.errors?.[0];
  return e ? `${excerpt(e.instancePath, 80)} ${e.message ?? ''}`.trim() : 'the lock schema';
}
