import { lstat, readlink, realpath, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { FileError } from '../errors.js';

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
