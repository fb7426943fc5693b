import { createPatch } from 'diff';
import { ExitCode, worstExitCode, type ExitCode as Code } from '../errors.js';
import { classify, type ImageChange } from '../plan/classify.js';
import { lock, type LockOptions, type LockResult } from './lock.js';

export interface DiffResult extends LockResult {
  changes: ImageChange[];
  /** Unified diff of the lock file, current → next (empty when nothing changes). */
  patch: string;
  /** Deploy outputs that would be created, updated or removed, after the lock. */
  outputChanges: OutputFileChange[];
  /** Unified diff of those outputs. */
  outputPatch: string;
}

export interface OutputFileChange {
  path: string;
  change: 'create' | 'update' | 'remove';
}

/** Resolve fresh, plan exactly as `lock` would, compare with the lock; write nothing. */
export async function diff(opts: Omit<LockOptions, 'dryRun'> = {}): Promise<DiffResult> {
  const r = await lock({ ...opts, dryRun: true });
  const changes = classify(r.spec, r.previous, r.lock);
  const patch = r.changed ? lockPatch(r.previousText ?? '', r.text) : '';
  const plan = r.outputPlan?.changes;
  const outputChanges: OutputFileChange[] = [
    ...(plan?.write ?? []).map((w) => ({ path: w.path, change: w.before === undefined ? ('create' as const) : ('update' as const) })),
    ...(plan?.remove ?? []).map((path) => ({ path, change: 'remove' as const })),
  ];
  const outputPatch = (plan?.write ?? [])
    .map((w) => createPatch(w.path, w.before ?? '', w.content, 'committed', 'rendered', { context: 3 }))
    .join('');
  return { ...r, changes, patch, outputChanges, outputPatch, exitCode: diffExitCode(r, changes.length + outputChanges.length) };
}

export function lockPatch(before: string, after: string): string {
  return createPatch('lg-pins.lock.yaml', before, after, 'committed', 'resolved', { context: 3 });
}

/** 0 nothing changes, 1 something does; failures win with their own (higher) code. */
function diffExitCode(r: LockResult, changes: number): Code {
  const worst = worstExitCode(r.failures.map((f) => f.error.exitCode));
  if (worst > ExitCode.changes) return worst;
  return changes > 0 ? ExitCode.changes : ExitCode.ok;
}
