import { createPatch } from 'diff';
import { ExitCode, worstExitCode, type ExitCode as Code } from '../errors.js';
import { classify, type ImageChange } from '../plan/classify.js';
import { lock, type LockOptions, type LockResult } from './lock.js';

export interface DiffResult extends LockResult {
  changes: ImageChange[];
  /** Unified diff of the lock file, current → next (empty when nothing changes). */
  patch: string;
}

/** Resolve fresh, plan exactly as `lock` would, compare with the lock; write nothing. */
export async function diff(opts: Omit<LockOptions, 'dryRun'> = {}): Promise<DiffResult> {
  const r = await lock({ ...opts, dryRun: true });
  const changes = classify(r.spec, r.previous, r.lock);
  const patch = r.changed ? lockPatch(r.previousText ?? '', r.text) : '';
  return { ...r, changes, patch, exitCode: diffExitCode(r, changes) };
}

export function lockPatch(before: string, after: string): string {
  return createPatch('lg-pins.lock.yaml', before, after, 'committed', 'resolved', { context: 3 });
}

/** 0 nothing changes, 1 something does; failures win with their own (higher) code. */
function diffExitCode(r: LockResult, changes: ImageChange[]): Code {
  const worst = worstExitCode(r.failures.map((f) => f.error.exitCode));
  if (worst > ExitCode.changes) return worst;
  return changes.length > 0 ? ExitCode.changes : ExitCode.ok;
}
