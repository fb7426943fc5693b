import { loadSpec, type LoadOptions } from '../config/load.js';
import { validator } from '../config/schema.js';
import type { Spec } from '../config/spec.js';
import { FileError, worstExitCode, type ExitCode } from '../errors.js';
import type { Lock } from '../lock/model.js';
import { readLockFile } from '../lock/read.js';
import { serializeLock } from '../lock/serialize.js';
import { commitFiles, type CommitHooks, type FileChange } from '../lock/commit.js';
import { passedOver, planValidLock, shouldWrite, type ImageFailure, type ImageOutcome } from '../plan/lock-plan.js';
import type { Waiting } from '../plan/rings.js';
import type { ClientOptions } from '../registry/client.js';
import { excerpt } from '../safe/text.js';
import { resolveImages, type ResolveCallbacks } from './resolve.js';
import { outputFileChanges, outputReport, outputsOnDisk, type OutputReport, type OutputsOnDisk } from './outputs.js';
import { Sources } from './sources.js';

export { resolveImages };

export type LockCallbacks = ResolveCallbacks;

export interface LockOptions extends LoadOptions {
  /** Plan only: resolve and compute the next lock, write nothing. */
  dryRun?: boolean;
  callbacks?: LockCallbacks;
  client?: ClientOptions;
  /** For tests: a fault injected while the files are committed. */
  hooks?: CommitHooks;
  /** The clock rollout rings judge soak times by (the CLI: LG_PINS_NOW, else the system's). */
  now?: Date;
  /** `propose`: the lock of the open pull request, whose `since` a pin it already proposed keeps. */
  proposed?: Lock;
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
  /** Rollout rings: followers that keep their pin for now, and until when. */
  waiting: Waiting[];
  /** Newer releases the cadence passed over: not changes, but worth a mention. */
  passedOver: Array<{ image: string; tag: string; pinned: string; cadence: string }>;
  /** The next lock differs from the file on disk. */
  changed: boolean;
  written: boolean;
  /** Deploy outputs: written, removed, unchanged (when the spec has outputs, or had). */
  outputs?: OutputReport;
  /** The planned output changes (what a dry run would write): for `diff` and `propose`. */
  outputPlan?: OutputsOnDisk;
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
  const plan = planValidLock(spec, previous, outcomes, lockProblem, opts.now ?? new Date(), opts.proposed);
  // Deploy outputs render from the next lock and are committed with it (or, with no outputs left
  // in the spec, the files lg-pins wrote before are removed).
  const outputs = spec.outputs || previous?.outputs ? await outputsOnDisk(spec, plan.lock, previous?.outputs) : undefined;
  if (spec.outputs && outputs) plan.lock.outputs = outputs.changes.record;
  const text = serializeLock(plan.lock);
  const changed = text !== existing?.text;
  const outputChanges = outputFileChanges(spec, outputs);
  const written = !opts.dryRun && shouldWrite(spec, plan, changed || outputChanges.length > 0, existing !== undefined);
  if (written) await commit(spec, [...outputChanges, ...(changed ? [{ file: spec.lockFile, content: text }] : [])], opts.hooks);
  return {
    spec,
    lockFile: spec.lockFile,
    previous,
    previousText: existing?.text,
    lock: plan.lock,
    text,
    failures: plan.failures,
    waiting: plan.waiting,
    passedOver: passedOver(spec, outcomes),
    changed,
    written,
    ...(outputs ? { outputs: outputReport(outputs, written)!, outputPlan: outputs } : {}),
    exitCode: worstExitCode(plan.failures.map((f) => f.error.exitCode)),
  };
}

/** Commit outputs and the lock as one (lock/commit.ts); an OS refusal is exit 2 naming the file. */
export async function commit(spec: Spec, changes: FileChange[], hooks?: CommitHooks): Promise<void> {
  if (!changes.length) return;
  try {
    await commitFiles(changes, hooks);
  } catch (e) {
    if (e instanceof FileError) throw e;
    const file = (e as NodeJS.ErrnoException).path ?? spec.lockFile;
    throw new FileError(`cannot write ${file}: ${describeFsError(e)}`, { cause: e });
  }
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
