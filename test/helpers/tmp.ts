/**
 * The one temporary-directory helper of the test suites: every directory it makes is removed when
 * the test process exits, or earlier by removeTempDirs() (in an afterAll).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const made: string[] = [];
let hooked = false;

/** A fresh directory under the system's temp dir, named `<prefix>XXXXXX`. */
export function tempDir(prefix = 'lgp-'): string {
  if (!hooked) {
    hooked = true;
    process.on('exit', removeTempDirs);
  }
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}

/** Remove every directory made so far. */
export function removeTempDirs(): void {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
}
