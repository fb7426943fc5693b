import { randomBytes } from 'node:crypto';
import { chmod, open, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/**
 * Write a file atomically: a temporary file in the same directory, flushed to disk, then renamed
 * over the target. Readers see the old file or the new one, never a half-written one; two
 * concurrent writers leave one complete file.
 */
export async function writeFileAtomic(file: string, content: string): Promise<void> {
  const tmp = join(dirname(file), `.${basename(file)}.lg-pins-tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  // Keep the mode of the file being replaced (a lock someone made group-writable stays so).
  const mode = await stat(file).then((st) => st.mode & 0o777, () => 0o644);
  const handle = await open(tmp, 'wx', mode);
  try {
    await handle.writeFile(content, 'utf8');
    await handle.sync();
  } catch (e) {
    await handle.close();
    await rm(tmp, { force: true });
    throw e;
  }
  await handle.close();
  try {
    await chmod(tmp, mode);
    await rename(tmp, file);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}
