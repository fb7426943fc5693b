import { loadSpec, type LoadOptions } from '../config/load.js';
import type { Spec } from '../config/spec.js';
import { readLock } from '../lock/read.js';
import { checkLock, checkOutputs, type Stale } from '../plan/check.js';
import { readOutputs } from './outputs.js';

export interface CheckResult {
  spec: Spec;
  lockFile: string;
  /** Empty when the lock agrees with the spec. */
  stale: Stale[];
  /** 0 when the lock agrees, 1 when it is stale or missing. */
  exitCode: 0 | 1;
}

/** Offline: does the lock still agree with the spec? No network at all. */
export async function check(opts: LoadOptions = {}): Promise<CheckResult> {
  const spec = await loadSpec(opts);
  const lock = await readLock(spec.lockFile);
  const stale = lock ? checkLock(spec, lock) : [{ message: 'there is no lock yet (nothing is locked); run `lg-pins lock`' }];
  if (lock && (spec.outputs || lock.outputs)) stale.push(...checkOutputs(await readOutputs(spec, lock, lock.outputs)));
  return { spec, lockFile: spec.lockFile, stale, exitCode: stale.length ? 1 : 0 };
}
