/**
 * Copies of the bundled example (spec, inventory, OCI layout) for end-to-end tests, without its
 * lock, each in a temp dir (helpers/tmp.ts).
 */
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './cli.js';
import { tempDir } from './tmp.js';

export function exampleDir(prefix = 'lgp-e2e-'): string {
  const dir = tempDir(prefix);
  cpSync(join(ROOT, 'lg-pins.yaml'), join(dir, 'lg-pins.yaml'));
  cpSync(join(ROOT, 'examples'), join(dir, 'examples'), { recursive: true });
  return dir;
}

/** Replace the first `from` in a file with `to`. */
export function editFile(file: string, from: string, to: string): void {
  writeFileSync(file, readFileSync(file, 'utf8').replace(from, to));
}
