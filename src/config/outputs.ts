import { isAbsolute, normalize, relative, resolve, sep } from 'node:path';
import type { SpecIssue } from '../errors.js';
import { suggest } from './schema.js';
import { quote, type SourceFile } from './source.js';
import type { Output, Spec } from './spec.js';
import type { OutputSpec } from './types.js';

type Issues = Pick<SourceFile, 'issue'>;

/** The one placeholder an output path may hold. */
export const GROUP_PLACEHOLDER = '{group}';

/**
 * `outputs:` → checked outputs. The rules a schema cannot say: a path inside the spec's directory
 * (never the spec or the lock), `{group}` the only placeholder, one file for every group only with
 * `digest: index` (one index digest serves every platform), subsets that name real groups and
 * images, and no two outputs writing the same file.
 */
export function checkOutputs(
  outputs: OutputSpec[],
  ids: { images: string[]; groups: string[] },
  spec: Pick<Spec, 'dir' | 'file' | 'lockFile'>,
  src: Issues,
  issues: SpecIssue[],
): Output[] {
  const out: Output[] = [];
  const claimed = new Map<string, number>();
  outputs.forEach((o, n) => {
    if (!o || typeof o !== 'object' || typeof o.path !== 'string' || typeof o.format !== 'string') return;
    const at = ['outputs', n];
    const before = issues.length;
    const perGroup = o.path.includes(GROUP_PLACEHOLDER);
    const digest = o.digest ?? 'platform';
    const other = /\{[^}]*\}/.exec(o.path.split(GROUP_PLACEHOLDER).join(''));
    if (other)
      issues.push(src.issue([...at, 'path'], `${quote(o.path)}: ${quote(other[0])} is not a placeholder; the only one is {group}`));
    const where = resolve(spec.dir, normalize(o.path.split(GROUP_PLACEHOLDER).join('g')));
    const rel = relative(spec.dir, where);
    if (isAbsolute(o.path) || rel === '' || rel === '..' || rel.startsWith(`..${sep}`)) {
      issues.push(src.issue([...at, 'path'], `${quote(o.path)} must be a file inside the spec's directory (a relative path without ..)`));
    } else if (!perGroup && (where === spec.file || where === spec.lockFile)) {
      issues.push(src.issue([...at, 'path'], `${quote(o.path)} is the spec or the lock; give the output a file of its own`));
    }
    if (!perGroup && digest === 'platform') {
      issues.push(
        src.issue(
          [...at, 'path'],
          `${quote(o.path)} has no {group}, so every group shares one file: that needs digest: index (one index digest serves every platform), or put {group} in the path`,
        ),
      );
    }
    subset(o.groups, ids.groups, 'group', [...at, 'groups'], src, issues);
    subset(o.images, ids.images, 'image', [...at, 'images'], src, issues);
    const key = normalize(o.path);
    const first = claimed.get(key);
    if (first !== undefined) {
      issues.push(
        src.issue([...at, 'path'], `${quote(o.path)} is also the path of outputs[${first}]; each output needs a file of its own`),
      );
    } else claimed.set(key, n);
    if (issues.length > before) return;
    out.push({
      format: o.format,
      path: o.path,
      perGroup,
      digest,
      reference: o.reference ?? 'digest',
      ...(o.groups ? { groups: o.groups } : {}),
      ...(o.images ? { images: o.images } : {}),
    });
  });
  return out;
}

function subset(names: string[] | undefined, known: string[], what: string, at: (string | number)[], src: Issues, issues: SpecIssue[]) {
  if (!Array.isArray(names)) return;
  names.forEach((name, i) => {
    if (typeof name !== 'string' || known.includes(name)) return;
    const hint = suggest(name, known);
    issues.push(
      src.issue(
        [...at, i],
        `${quote(name)} is not ${what === 'image' ? 'an image' : 'a fleet group'} of this spec${hint ? ` (did you mean ${quote(hint)}?)` : ''}`,
      ),
    );
  });
}
