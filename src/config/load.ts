import { statSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { cosmiconfig, type Loader } from 'cosmiconfig';
import { SpecError, type SpecIssue } from '../errors.js';
import { applyRules } from './rules.js';
import { MODULE_NAME, SEARCH_PLACES } from './names.js';
import { CORE_SCHEMA, load as loadYaml } from 'js-yaml';
import { schemaIssues, validator } from './schema.js';
import { quote, SourceFile } from './source.js';
import { parseJson } from '../safe/json.js';
import { FileReadError, readTextSync } from '../safe/files.js';
import { LIMITS, formatBytes } from '../safe/limits.js';
import { quoteUntrusted } from '../safe/text.js';
import type { Spec } from './spec.js';
import type { SpecFile } from './types.js';

export interface LoadOptions {
  /** Where discovery starts (searching upward). Default: process.cwd(). */
  cwd?: string;
  /** An explicit spec path (`--config`); no discovery. */
  config?: string;
}

// cosmiconfig finds the file; we parse it ourselves so that every error can carry a line and column.
const found: Loader = () => ({ found: true });
const jsonLoader: Loader = (file, content) => {
  if (basename(file) !== 'package.json') return { found: true };
  // package.json counts only with an "lg-pins" key; a broken one that mentions the key is still
  // ours, so that its syntax error is reported rather than the file silently skipped.
  try {
    const pkg = JSON.parse(content) as unknown;
    return pkg && typeof pkg === 'object' && MODULE_NAME in pkg ? { [MODULE_NAME]: { found: true } } : {};
  } catch {
    return content.includes(`"${MODULE_NAME}"`) ? { [MODULE_NAME]: { found: true } } : {};
  }
};

/** Find the spec: `--config`, else cosmiconfig's upward search from cwd. */
export async function findSpec(opts: LoadOptions = {}): Promise<string> {
  const cwd = resolve(opts.cwd ?? process.cwd());
  if (opts.config) return resolve(cwd, opts.config);
  guardSearchPlaces(cwd);
  const explorer = cosmiconfig(MODULE_NAME, {
    searchPlaces: [...SEARCH_PLACES],
    searchStrategy: 'global',
    loaders: { '.yaml': found, '.yml': found, noExt: found, '.json': jsonLoader },
    cache: false,
    // An empty lg-pins.yaml is found and reported as empty, not skipped for a parent's spec.
    ignoreEmptySearchPlaces: false,
  });
  let result = await explorer.search(cwd);
  // An empty package.json has no "lg-pins" key: keep looking above it.
  while (result && result.isEmpty && basename(result.filepath) === 'package.json') {
    const parent = dirname(dirname(result.filepath));
    result = parent === dirname(result.filepath) ? null : await explorer.search(parent);
  }
  if (!result) {
    throw new SpecError(
      `no lg-pins spec found in ${cwd} or any parent directory (looked for ${SEARCH_PLACES.join(', ')}); create lg-pins.yaml or pass --config PATH`,
    );
  }
  return result.filepath;
}

/**
 * cosmiconfig reads every candidate whole with fs.readFile: a FIFO named lg-pins.yaml would block
 * it forever and a huge file would be read into memory. Look first, in its order, and refuse (exit
 * 2) a candidate that is not a regular file or directory, or is too large, before it is read.
 */
function guardSearchPlaces(cwd: string): void {
  const dirs: string[] = [];
  for (let d = cwd; ; d = dirname(d)) {
    dirs.push(d);
    if (dirname(d) === d) break;
  }
  dirs.push(join(process.env.XDG_CONFIG_HOME || join(homedir(), '.config'), MODULE_NAME));
  for (const dir of dirs) {
    for (const name of SEARCH_PLACES) {
      const file = join(dir, name);
      let st;
      try {
        st = statSync(file);
      } catch {
        continue;
      }
      if (st.isDirectory()) continue;
      if (!st.isFile())
        throw new SpecError(
          `${file} is not a regular file (a FIFO, device or socket); a spec must be a regular file. Remove it or pass --config PATH`,
        );
      if (st.size > LIMITS.specBytes)
        throw new SpecError(`${file} is ${formatBytes(st.size)}; lg-pins reads at most ${formatBytes(LIMITS.specBytes)} of a spec`);
      // The first regular candidate is cosmiconfig's answer, unless it is a package.json without our key.
      if (name !== 'package.json') return;
    }
  }
}

/** Load, validate and resolve the spec. Throws SpecError carrying every problem found. */
export async function loadSpec(opts: LoadOptions = {}): Promise<Spec> {
  const file = await findSpec(opts);
  let text: string;
  try {
    text = readTextSync(file, LIMITS.specBytes, 'a spec');
  } catch (e) {
    if (!(e instanceof FileReadError)) throw e;
    throw new SpecError(`${file}: cannot read the spec: ${e.detail}`, { cause: e });
  }
  return parseSpec(text, file);
}

/** Validate spec text that came from `file` (used for messages and to resolve relative paths). */
export function parseSpec(text: string, file: string): Spec {
  const json = file.endsWith('.json') ? jsonSyntaxIssue(text, file) : undefined;
  if (json) throw new SpecError([json]);
  // The spec has a problem (or uses YAML the fast reader does not take): read it again keeping every
  // node's position, so that each issue names its line and column.
  return fastSpec(text, file) ?? parseSpecLocated(text, file);
}

/** The full reading: positions for every node, every issue located. Exported for tests. */
export function parseSpecLocated(text: string, file: string): Spec {
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

/**
 * A .json file is read with the YAML parser (for positions), which accepts what JSON does not and
 * words JSON mistakes in YAML terms ("implicit keys"); JSON.parse says it plainly, so ask it first.
 */
function jsonSyntaxIssue(text: string, file: string): SpecIssue | undefined {
  if (text.trim() === '') return undefined;
  // Our own locator: V8's messages quote the text, which may not be the spec the user meant.
  const r = parseJson(text);
  if (r.ok) return undefined;
  const near = (text.split(/\r?\n/)[r.line - 1] ?? '').trim();
  return {
    file,
    line: r.line,
    column: r.column,
    path: '',
    message: `invalid JSON: ${r.problem}${near ? ` (at ${quoteUntrusted(near, 40)})` : ''}`,
  };
}

/**
 * The fast path for a spec with no problems: js-yaml (YAML 1.2 core schema: no timestamps, no merge
 * keys) reads a 100,000-host spec about ten times faster than a document that keeps positions. Any
 * YAML error, schema violation or rule issue returns undefined, and the located path reports it.
 */
function fastSpec(text: string, file: string): Spec | undefined {
  let whole: unknown;
  try {
    // JSON is read as YAML too: js-yaml refuses duplicate keys, which JSON.parse would let pass.
    whole = loadYaml(text, { schema: CORE_SCHEMA, json: false });
  } catch {
    return undefined;
  }
  const raw = basename(file) === 'package.json' ? (whole as Record<string, unknown> | null)?.[MODULE_NAME] : whole;
  if (!raw || typeof raw !== 'object' || retypedKey(raw) || !validator('lg-pins.schema.json')(raw)) return undefined;
  const { spec, issues } = applyRules(sanitize(raw), { issue: (path, message) => ({ file, path: path.join('.'), message }) }, file);
  return issues.length ? undefined : spec;
}

/**
 * js-yaml turns a plain key such as `007`, `0x10`, `1e3`, `~` or `True` into the text of the number,
 * boolean or null it reads (`7`, `16`, `1000`, `null`, `true`), so the id is lost. A key that looks
 * like such a text may have been retyped: the located reader, which keeps every key's own text,
 * decides then (a spec with ids like these is rare; the cost is only speed).
 */
const RETYPED = /^(?:-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:e[-+][0-9]+)?|-?Infinity|NaN|true|false|null)$/;
function retypedKey(v: unknown): boolean {
  if (Array.isArray(v)) return v.some((x) => typeof x === 'object' && x !== null && retypedKey(x));
  if (typeof v !== 'object' || v === null) return false;
  for (const [k, x] of Object.entries(v)) if (RETYPED.test(k) || (typeof x === 'object' && x !== null && retypedKey(x))) return true;
  return false;
}

/** Keep only shapes the rules can read; schema errors already report the rest. */
function sanitize(raw: unknown): SpecFile {
  const obj = (v: unknown): Record<string, unknown> =>
    v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
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
