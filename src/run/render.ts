import { loadSpec, type LoadOptions } from '../config/load.js';
import type { Spec } from '../config/spec.js';
import { FileError } from '../errors.js';
import type { CommitHooks } from '../lock/commit.js';
import { readLockFile } from '../lock/read.js';
import { serializeLock } from '../lock/serialize.js';
import { commit } from './lock.js';
import { outputFileChanges, outputReport, outputsOnDisk, type OutputReport } from './outputs.js';

export interface RenderResult {
  spec: Spec;
  lockFile: string;
  outputs: OutputReport;
  /** The lock's record of its outputs changed (and the lock was rewritten with it). */
  lockChanged: boolean;
}

/**
 * Offline: write the spec's deploy outputs from the lock on disk (what `lock` wrote or git checked
 * out), never the network. Files that are already what the lock renders are left alone; files the
 * spec no longer produces are removed; the lock's record of its outputs is updated with them.
 */
export async function render(opts: LoadOptions & { hooks?: CommitHooks } = {}): Promise<RenderResult> {
  const spec = await loadSpec(opts);
  const existing = await readLockFile(spec.lockFile);
  if (!existing) throw new FileError(`${spec.lockFile}: there is no lock to render from; run \`lg-pins lock\` first`);
  const lock = existing.lock;
  const outputs = await outputsOnDisk(spec, lock, lock.outputs);
  const next = { ...lock };
  if (spec.outputs) next.outputs = outputs.changes.record;
  else delete next.outputs;
  const text = serializeLock(next);
  const lockChanged = text !== existing.text;
  await commit(spec, [...outputFileChanges(spec, outputs), ...(lockChanged ? [{ file: spec.lockFile, content: text }] : [])], opts.hooks);
  return { spec, lockFile: spec.lockFile, outputs: outputReport(outputs, true)!, lockChanged };
}
