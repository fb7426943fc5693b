/** The names lg-pins looks for and writes: the spec's search places and the lock beside it. */
import { basename, dirname, join } from 'node:path';

export const MODULE_NAME = 'lg-pins';

/** Where cosmiconfig looks for the spec, in order, in each directory from cwd upward. */
export const SEARCH_PLACES = [
  'lg-pins.yaml',
  'lg-pins.yml',
  '.lg-pinsrc',
  '.lg-pinsrc.yaml',
  '.lg-pinsrc.yml',
  '.lg-pinsrc.json',
  'package.json',
] as const;

const SEARCHED: ReadonlySet<string> = new Set(SEARCH_PLACES);

/**
 * The lock beside a spec: `lg-pins.lock.yaml` for the names discovery finds, `<name>.lock.yaml` for
 * any other spec (`--config staging.yaml` → `staging.lock.yaml`), so two specs in one directory
 * never overwrite each other's pins.
 */
export function lockFileFor(specFile: string): string {
  const name = basename(specFile);
  if (SEARCHED.has(name)) return join(dirname(specFile), 'lg-pins.lock.yaml');
  return join(dirname(specFile), `${name.replace(/\.(ya?ml|json)$/i, '')}.lock.yaml`);
}
