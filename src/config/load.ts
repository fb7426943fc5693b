import { readFileSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { cosmiconfig, type Loader } from 'cosmiconfig';
import { SpecError, type SpecIssue } from '../errors.js';
import { applyRules } from './rules.js';
import { schemaIssues } from './schema.js';
import { quote, SourceFile } from './source.js';
import type { Spec } from './spec.js';
import type { SpecFile } from './types.js';

export const MODULE_NAME = 'lg-pins';
export const SEARCH_PLACES = [
  'lg-pins.yaml',
  'lg-pins.yml',
  '.lg-pinsrc',
  '.lg-pinsrc.yaml',
  '.lg-pinsrc.yml',
  '.lg-pinsrc.json',
  'package.json',
] as const;

export interface LoadOptions {
  /** Where discovery starts (searching upward). Default: process.cwd(). */
  cwd?: string;
  /** An explicit spec path (`--config`); no discovery. */
  config?: string;
}

// cosmiconfig finds the file; we parse it ourselves so that every error can carry a line and column.
const found: Loader = () => ({ found: true });
const jsonLoader: Loader = (_file, content) => {
  try {
    return JSON.parse(content) as unknown;
  } catch {
    return { found: true };
  }
};

/** Find the spec: `--config`, else cosmiconfig's upward search from cwd. */
export async function findSpec(opts: LoadOptions = {}): Promise<string> {
  const cwd = resolve(opts.cwd ?? process.cwd());
  if (opts.config) return resolve(cwd, opts.config);
  const explorer = cosmiconfig(MODULE_NAME, {
    searchPlaces: [...SEARCH_PLACES],
    searchStrategy: 'global',
    loaders: { '.yaml': found, '.yml': found, noExt: found, '.json': jsonLoader },
    cache: false,
  });
  const result = await explorer.search(cwd);
  if (!result) {
    throw new SpecError(`no lg-pins spec found in ${cwd} or any parent directory (looked for ${SEARCH_PLACES.join(', ')}); create lg-pins.yaml or pass --config PATH`);
  }
  return result.filepath;
}

/** Load, validate and resolve the spec. Throws SpecError carrying every problem found. */
export async function loadSpec(opts: LoadOptions = {}): Promise<Spec> {
  const file = await findSpec(opts);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new SpecError(`${file}: cannot read the spec: ${code === 'ENOENT' ? 'no such file' : (e as Error).message}`, { cause: e });
  }
  return parseSpec(text, file);
}

/** Validate spec text that came from `file` (used for messages and to resolve relative paths). */
export function parseSpec(text: string, file: string): Spec {
  const src = new SourceFile(file, text, basename(file) === 'package.json' ? [MODULE_NAME] : []);
  const syntax = src.syntaxIssues();
  if (syntax.length) throw new SpecError(syntax);
  const raw = src.value();
  if (raw === null || raw === undefined) {
    const message = src.base.length
      ? `${quote(MODULE_NAME)} is ${raw === null ? 'empty' : 'missing'}; it needs at least \`version: 1\` and \`images:\``
      : 'the spec is empty; it needs at least `version: 1` and `images:`';
    throw new SpecError([{ file, line: 1, column: 1, ...src.locate([], true), path: '', message }]);
  }
  const issues: SpecIssue[] = schemaIssues('lg-pins.schema.json', raw, src);
  // Cross-field rules run on what is well-formed, so that all problems are reported at once.
  const { spec, issues: ruleIssues } = applyRules(sanitize(raw), src, file);
  issues.push(...ruleIssues);
  if (issues.length) throw new SpecError(sortIssues(issues, file));
  return spec;
}

/** Keep only shapes the rules can read; schema errors already report the rest. */
function sanitize(raw: unknown): SpecFile {
  const obj = (v: unknown): Record<string, unknown> => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {});
  const r = obj(raw);
  const images = Object.fromEntries(Object.entries(obj(r.images)).filter(([, v]) => v && typeof v === 'object' && !Array.isArray(v)));
  const fleet = Object.fromEntries(Object.entries(obj(r.fleet)).filter(([, v]) => v && typeof v === 'object' && !Array.isArray(v)));
  for (const g of Object.values(fleet) as Record<string, unknown>[]) {
    if (!Array.isArray(g.hosts)) delete g.hosts;
    if (!Array.isArray(g.images)) delete g.images;
    else g.images = (g.images as unknown[]).filter((x) => typeof x === 'string');
  }
  for (const i of Object.values(images) as Record<string, unknown>[]) {
    if (typeof i.notes !== 'object' || i.notes === null) delete i.notes;
  }
  return { ...(r as object), version: 1, registries: obj(r.registries), images, fleet } as SpecFile;
}

/** The spec's own issues first, in line order; then those of other files (hosts files) as met. */
function sortIssues(issues: SpecIssue[], specFile: string): SpecIssue[] {
  const files = [specFile, ...new Set(issues.map((i) => i.file))];
  const rank = (f: string) => files.indexOf(f);
  return [...issues].sort((a, b) => rank(a.file) - rank(b.file) || (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0));
}
