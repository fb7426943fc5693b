import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import type { ErrorObject, ValidateFunction } from 'ajv/dist/2020.js';
import { AJV_OPTIONS } from './ajv-options.js';
import type { SpecIssue } from '../errors.js';
import { quote, type KeyPath, type SourceFile } from './source.js';

/** schemas/ sits at the package root, beside dist/ and src/. */
export function schemaPath(name: string): string {
  return fileURLToPath(new URL(`../../schemas/${name}`, import.meta.url));
}

const compiled = new Map<string, ValidateFunction>();
const require = createRequire(import.meta.url);

/**
 * The validator for a schema in schemas/: the one compiled at build time (dist/schemas-compiled,
 * no ajv at run time) when it was made from exactly this schema text, else compiled now.
 */
export function validator(name: string): ValidateFunction {
  let v = compiled.get(name);
  if (!v) {
    const text = readFileSync(schemaPath(name), 'utf8');
    v = precompiled(name, text) ?? compile(text);
    compiled.set(name, v);
  }
  return v;
}

function precompiled(name: string, text: string): ValidateFunction | undefined {
  try {
    const m = require(fileURLToPath(new URL(`../../dist/schemas-compiled/${name}.cjs`, import.meta.url))) as ValidateFunction & {
      schemaHash?: string;
    };
    return m.schemaHash === createHash('sha256').update(text).digest('hex') ? m : undefined;
  } catch {
    return undefined;
  }
}

function compile(text: string): ValidateFunction {
  const { Ajv2020 } = require('ajv/dist/2020.js') as typeof import('ajv/dist/2020.js');
  return new Ajv2020({ ...AJV_OPTIONS }).compile(JSON.parse(text) as object);
}

/** Validate `value` against a schema in schemas/ and turn ajv's errors into located issues. */
export function schemaIssues(name: string, value: unknown, src: SourceFile): SpecIssue[] {
  const validate = validator(name);
  if (validate(value)) return [];
  const out: SpecIssue[] = [];
  const seen = new Set<string>();
  // A value of the wrong type is reported once, as such: not also as an object lacking keys.
  const wrongType = new Set(
    (validate.errors ?? []).filter((e) => e.keyword === 'type' && !/\/oneOf\/\d+\//.test(e.schemaPath)).map((e) => e.instancePath),
  );
  for (const e of validate.errors ?? []) {
    if (e.keyword !== 'type' && wrongType.has(e.instancePath) && (e as ErrorObject & { propertyName?: string }).propertyName === undefined)
      continue;
    // The branches of a oneOf report their own `required` errors; the oneOf error says it better.
    if (/\/oneOf\/\d+\//.test(e.schemaPath)) continue;
    // propertyNames reports once for the name and once for the object; keep the named one. An
    // if/then/else reports the branch's own errors and then that the branch failed; keep the former.
    if (e.keyword === 'propertyNames' || e.keyword === 'if') continue;
    const issue = toIssue(e, value, src);
    const key = `${issue.path}|${issue.message}`;
    if (!seen.has(key)) {
      seen.add(key);
      out.push(issue);
    }
  }
  // Never valid by omission: a failure the rules above all filtered out is still reported.
  const first = validate.errors?.[0];
  if (!out.length && first) out.push(toIssue(first, value, src));
  return out;
}

/**
 * A JSON pointer as a key path: a segment is an index only where the value it indexes is an array
 * (an image or group id such as `007` or `16` stays a key).
 */
function pointerToPath(pointer: string, root: unknown): (string | number)[] {
  if (!pointer) return [];
  const out: (string | number)[] = [];
  let v = root;
  for (const raw of pointer.slice(1).split('/')) {
    const s = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    const k = Array.isArray(v) && /^\d+$/.test(s) ? Number(s) : s;
    out.push(k);
    v = v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[String(k)] : undefined;
  }
  return out;
}

function valueAt(root: unknown, path: KeyPath): unknown {
  let v = root;
  for (const k of path) v = v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[String(k)] : undefined;
  return v;
}

function toIssue(e: ErrorObject, root: unknown, src: SourceFile): SpecIssue {
  const path = pointerToPath(e.instancePath, root);
  const value = valueAt(root, path);
  const p = e.params as Record<string, unknown>;
  const propertyName = (e as ErrorObject & { propertyName?: string }).propertyName;
  if (propertyName !== undefined) {
    const where = [...path, propertyName];
    const platformKey = path[path.length - 1] === 'platforms';
    const what = platformKey ? 'platform' : path[0] === 'images' ? 'image id' : path[0] === 'fleet' ? 'group id' : 'key';
    const rule =
      path[0] === 'registries'
        ? 'must be host[:port] as written in refs'
        : platformKey
          ? 'must be os/arch[/variant], e.g. linux/arm/v7'
          : e.keyword === 'maxLength'
            ? `is ${propertyName.length} characters long; at most ${String(p.limit)} are allowed`
            : 'must be lowercase letters, digits, "-", "_" or "." and start with a letter or digit';
    return src.issue(where, `${what} ${quote(propertyName)} ${rule}`, true);
  }
  switch (e.keyword) {
    case 'additionalProperties': {
      const key = String(p.additionalProperty);
      const hint = suggest(key, Object.keys((e.parentSchema as { properties?: object }).properties ?? {}));
      return src.issue([...path, key], `unknown key ${quote(key)}${hint ? ` (did you mean ${quote(hint)}?)` : ''}`, true);
    }
    case 'required':
      return src.issue(path, `missing required key ${quote(p.missingProperty)}`, true);
    case 'type': {
      // `tag: 1.10` is the number 1.1 to YAML; say how to keep it a string.
      const hint =
        p.type === 'string' && (typeof value === 'number' || typeof value === 'boolean') ? ' (put it in quotes to make it a string)' : '';
      return src.issue(path, `must be ${article(String(p.type))}, got ${quote(value)}${hint}`);
    }
    case 'enum':
      return src.issue(path, `${quote(value)} is not one of ${(p.allowedValues as unknown[]).map((v) => quote(v)).join(', ')}`);
    case 'const':
      return src.issue(path, `${quote(value)} is not supported; the only value is ${quote(p.allowedValue)}`);
    case 'oneOf':
      return src.issue(path, oneOfMessage(value), true);
    case 'dependentRequired':
      return src.issue([...path, String(p.property)], `${quote(p.property)} needs ${quote(p.missingProperty)}`, true);
    case 'minProperties':
      return src.issue(path, `needs at least ${String(p.limit)} entr${p.limit === 1 ? 'y' : 'ies'}`, true);
    case 'uniqueItems': {
      const dup = Math.max(Number(p.i), Number(p.j));
      return src.issue([...path, dup], `duplicate entry ${quote(valueAt(root, [...path, dup]))}`);
    }
    case 'pattern':
      return src.issue(path, `${quote(value)} is not valid (${patternHint(path)})`);
    case 'minLength':
      return src.issue(path, 'must not be empty');
    case 'minimum':
    case 'maximum':
      return src.issue(path, `${quote(value)} ${e.message ?? 'is out of range'}`);
    default:
      return src.issue(path, `${quote(value)} ${e.message ?? 'is invalid'}`);
  }
}

function oneOfMessage(value: unknown): string {
  const keys = value && typeof value === 'object' ? Object.keys(value) : [];
  const pair =
    keys.includes('arch') || keys.includes('platform') || keys.includes('hosts') || keys.includes('hostsFile')
      ? ['arch', 'platform']
      : ['tag', 'track'];
  const [a, b] = pair as [string, string];
  const both = keys.includes(a) && keys.includes(b);
  return both ? `has both ${quote(a)} and ${quote(b)}; set exactly one` : `needs one of ${quote(a)} or ${quote(b)}`;
}

function patternHint(path: KeyPath): string {
  const last = path[path.length - 1];
  if (last === 'tag') return 'a tag is up to 128 of A-Z a-z 0-9 _ . - and cannot start with . or -';
  if (last === 'digest') return 'a digest is sha256: and 64 lowercase hex characters';
  if (last === 'platform') return 'a platform is os/arch[/variant], e.g. linux/arm/v7';
  return 'see the JSON Schema in schemas/';
}

function article(type: string): string {
  const t = type.replace(/,/g, ' or ');
  return /^[aeiou]/.test(t) ? `an ${t}` : `a ${t}`;
}

/** The closest known key within edit distance 2 (3 for long words: registry → registries), for "did you mean" hints. */
export function suggest(key: string, known: string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of known) {
    const d = distance(key, k);
    if (d <= (Math.min(key.length, k.length) >= 8 ? 3 : 2) && d < bestD) {
      bestD = d;
      best = k;
    }
  }
  return best;
}

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length]!;
}
