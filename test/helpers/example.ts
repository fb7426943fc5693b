/**
 * Copies of the bundled example (spec, inventory, OCI layout) for end-to-end tests, without its
 * lock, each in a temp dir removed when the test process exits.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './cli.js';

const made: string[] = [];
let hooked = false;

export function exampleDir(prefix = 'lgp-e2e-'): string {
  if (!hooked) {
    hooked = true;
    process.on('exit', () => {
      for (const d of made) rmSync(d, { recursive: true, force: true });
    });
  }
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  cpSync(join(ROOT, 'lg-pins.yaml'), join(dir, 'lg-pins.yaml'));
  cpSync(join(ROOT, 'examples'), join(dir, 'examples'), { recursive: true });
  return dir;
}

/** Replace the first `from` in a file with `to`. */
export function editFile(file: string, from: string, to: string): void {
  writeFileSync(file, readFileSync(file, 'utf8').replace(from, to));
}
