import { parse } from 'yaml';
import { fastParseLock } from './fast-parse.js';
import { schemaIssues, validator } from '../config/schema.js';
import { SourceFile } from '../config/source.js';
import { LockError } from '../errors.js';
import { FileReadError, readText } from '../safe/files.js';
import { LIMITS } from '../safe/limits.js';
import { normalizeLock, type Lock } from './model.js';

/**
 * Read and validate a lock file. A missing file is `undefined` (nothing locked yet); a broken
 * one (hand-edited, truncated, wrong lockVersion, bad digests) is bad input, exit 2, with file,
 * line and key path.
 */
export async function readLock(file: string): Promise<Lock | undefined> {
  return (await readLockFile(file))?.lock;
}

/** The lock and its exact text, or undefined when there is no lock yet. */
export async function readLockFile(file: string): Promise<{ text: string; lock: Lock } | undefined> {
  let text: string;
  try {
    // Bounded, and a regular file only: a lock that is a FIFO or a directory is exit 2, never a hang.
    text = await readText(file, LIMITS.lockBytes, 'a lock');
  } catch (e) {
    if (!(e instanceof FileReadError)) throw e;
    if (e.reason === 'missing') return undefined;
    throw new LockError(`${file}: cannot read the lock: ${e.detail}`, { cause: e });
  }
  return { text, lock: parseLock(text, file) };
}

export function parseLock(text: string, file: string): Lock {
  // The fast path: a lock lg-pins wrote parses and validates without a position-tracking document
  // (at 2,000 images that document costs half a second and 100+ MB). Only a lock that fails gets
  // the slow parse, for messages with line, column and key path.
  const valid = (value: unknown): value is Lock =>
    !!value &&
    typeof value === 'object' &&
    (value as { lockVersion?: unknown }).lockVersion === 1 &&
    validator('lg-pins.lock.schema.json')(value);
  const fast = fastParseLock(text);
  if (valid(fast)) return withFleet(fast);
  try {
    // stringKeys: an id key stays its text (`007`, `on`), as in the lock lg-pins wrote and the spec.
    const value: unknown = parse(text, { uniqueKeys: true, maxAliasCount: 0, stringKeys: true });
    if (valid(value)) return withFleet(value);
  } catch {
    // fall through to the located diagnosis
  }
  const src = new SourceFile(file, text, [], (issues) => new LockError(issues));
  const syntax = src.syntaxIssues();
  if (syntax.length)
    throw new LockError(
      syntax.map((i) => ({
        ...i,
        message: `${i.message} (the lock is damaged; restore it from git or delete it and run \`lg-pins lock\`)`,
      })),
    );
  const value = src.value();
  if (value === null || value === undefined) {
    throw new LockError([{ file, path: '', message: 'the lock is empty; restore it from git or delete it and run `lg-pins lock`' }]);
  }
  const version = (value as { lockVersion?: unknown }).lockVersion;
  if (typeof version === 'number' && version !== 1) {
    throw new LockError([
      src.issue(
        ['lockVersion'],
        `lockVersion ${version} is not supported by this lg-pins (it reads lockVersion 1); upgrade lg-pins or re-create the lock`,
      ),
    ]);
  }
  const issues = schemaIssues('lg-pins.lock.schema.json', value, src);
  if (issues.length) throw new LockError(issues);
  return normalizeLock(value as Lock);
}

/** Every id-keyed record null-prototype, `fleet` present (see lock/model.ts). */
function withFleet(lock: Lock): Lock {
  return normalizeLock(lock);
}
