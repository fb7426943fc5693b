import { randomBytes } from 'node:crypto';
import { chmod, lstat, open, readlink, realpath, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { FileError } from '../errors.js';
import { trackTemp, untrackTemp } from '../safe/temp.js';

/**
 * Where a write to `file` lands. A symbolic link is written through to its target (the link stays:
 * a lock kept elsewhere and linked in is updated where it lives); a dangling link, a directory, a
 * FIFO or a device is refused (exit 2) rather than replaced or blocked on.
 */
export async function writeTarget(file: string): Promise<string> {
  let st;
  try {
    st = await lstat(file);
  } catch {
    return file;
  }
  if (st.isSymbolicLink()) {
    let real: string;
    try {
      real = await realpath(file);
    } catch {
      const to = await readlink(file).catch(() => '?');
      throw new FileError(
        `${file} is a symbolic link to ${resolve(dirname(file), to)}, which does not exist; create it or remove the link`,
      );
    }
    const target = await stat(real);
    if (!target.isFile()) throw new FileError(`${file} is a symbolic link to ${real}, which is ${describe(target)}, not a regular file`);
    return real;
  }
  if (!st.isFile()) throw new FileError(`${file} is ${describe(st)}, not a regular file; lg-pins will not replace it`);
  return file;
}

function describe(st: { isDirectory(): boolean; isFIFO(): boolean; isSocket(): boolean }): string {
  return st.isDirectory() ? 'a directory' : st.isFIFO() ? 'a FIFO (named pipe)' : st.isSocket() ? 'a socket' : 'a device';
}

/**
 * Write a file atomically: a temporary file beside the target, flushed to disk, then renamed over
 * it. Readers see the old file or the new one, never a half-written one; two concurrent writers
 * leave one complete file; an interrupted run leaves no temporary file (see safe/temp.ts).
 */
export async function writeFileAtomic(file: string, content: string): Promise<void> {
  const target = await writeTarget(file);
  const tmp = join(dirname(target), `.${basename(target)}.lg-pins-tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  // Keep the mode of the file being replaced (a lock someone made group-writable stays so).
  const mode = await stat(target).then(
    (st) => st.mode & 0o777,
    () => 0o644,
  );
  trackTemp(tmp);
  try {
    const handle = await open(tmp, 'wx', mode);
    try {
      await handle.writeFile(content, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await chmod(tmp, mode);
    await rename(tmp, target);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  } finally {
    untrackTemp(tmp);
  }
}
