import { randomBytes } from 'node:crypto';
import { chmod, mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { FileError } from '../errors.js';
import { trackTemp, untrackTemp } from '../safe/temp.js';
import { writeTarget } from './write.js';

/** One file of a commit: new content, or removal. */
export type FileChange = { file: string; content: string } | { file: string; remove: true };

/** For tests: a fault injected after `n` files of the commit phase are in place. */
export interface CommitHooks {
  afterRename?: (done: number) => void;
}

interface Prepared {
  change: FileChange;
  target: string;
  tmp?: string;
  /** The file's content before the commit, to put back on failure (undefined: it did not exist). */
  before?: { content: Buffer; mode: number };
}

/**
 * Several files changed as one: every new content is written to a temporary file beside its
 * target and flushed first (a failure there changes nothing), then all are renamed into place,
 * removals last; if anything fails in that phase, every file already changed is put back as it
 * was. The last change should be the lock: it is the commit point readers trust.
 */
export async function commitFiles(changes: readonly FileChange[], hooks: CommitHooks = {}): Promise<void> {
  const prepared: Prepared[] = [];
  try {
    for (const change of changes) prepared.push(await prepare(change));
  } catch (e) {
    await cleanup(prepared);
    throw e;
  }
  const done: Prepared[] = [];
  try {
    for (const p of prepared) {
      if ('remove' in p.change) await rm(p.target, { force: true });
      else await rename(p.tmp!, p.target);
      done.push(p);
      hooks.afterRename?.(done.length);
    }
  } catch (e) {
    await restore(done);
    await cleanup(prepared);
    throw e;
  }
  for (const p of prepared) if (p.tmp) untrackTemp(p.tmp);
}

async function prepare(change: FileChange): Promise<Prepared> {
  await mkdir(dirname(change.file), { recursive: true }).catch((e: NodeJS.ErrnoException) => {
    throw new FileError(`cannot create the directory of ${change.file}: ${e.code ?? e.message}`, { cause: e });
  });
  const target = await writeTarget(change.file);
  const old = await stat(target).then(
    async (st) => ({ content: await readFile(target), mode: st.mode & 0o777 }),
    () => undefined,
  );
  const p: Prepared = { change, target, ...(old ? { before: old } : {}) };
  if ('remove' in change) return p;
  const tmp = join(dirname(target), `.${basename(target)}.lg-pins-tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  trackTemp(tmp);
  p.tmp = tmp;
  const mode = old?.mode ?? 0o644;
  const handle = await open(tmp, 'wx', mode);
  try {
    await handle.writeFile(change.content, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  await chmod(tmp, mode);
  return p;
}

/** Put back every file the commit already changed. */
async function restore(done: readonly Prepared[]): Promise<void> {
  for (const p of [...done].reverse()) {
    try {
      if (!p.before) await rm(p.target, { force: true });
      else {
        const tmp = `${p.target}.lg-pins-restore-${randomBytes(4).toString('hex')}`;
        trackTemp(tmp);
        await open(tmp, 'wx', p.before.mode).then(async (h) => {
          try {
            await h.writeFile(p.before!.content);
            await h.sync();
          } finally {
            await h.close();
          }
        });
        await rename(tmp, p.target);
        untrackTemp(tmp);
      }
    } catch {
      // Best effort: the error that started the rollback is the one reported.
    }
  }
}

async function cleanup(prepared: readonly Prepared[]): Promise<void> {
  for (const p of prepared) {
    if (!p.tmp) continue;
    await rm(p.tmp, { force: true });
    untrackTemp(p.tmp);
  }
}
