/**
 * JSON from outside (registries, layouts, signature stores, auth files): parsed without ever
 * quoting its text (V8's messages quote the input, which may be a token), and read through shape
 * checks that name the field and what was expected instead of failing with a TypeError.
 */
import { ShapeError } from '../errors.js';

export { ShapeError };

export type JsonResult = { ok: true; value: unknown } | { ok: false; problem: string; line: number; column: number; offset: number };

/** Parse JSON text; on failure, where and what went wrong, in words, never quoting the text. */
export function parseJson(text: string): JsonResult {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    const located = locateJsonError(text);
    // An early end of input points at the last character, not past a trailing newline.
    const offset = Math.min(located.offset, text.trimEnd().length);
    const problem = located.problem;
    const before = text.slice(0, offset).split('\n');
    return { ok: false, problem, line: before.length, column: (before[before.length - 1] ?? '').length + 1, offset };
  }
}

/** Parse bytes as UTF-8 JSON. */
export function parseJsonBytes(bytes: Uint8Array): JsonResult {
  return parseJson(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
}

/**
 * A small JSON scanner run only after JSON.parse failed: the offset of the first error and what
 * was expected there. Iterative (an explicit stack), so deep nesting cannot overflow.
 */
function locateJsonError(s: string): { offset: number; problem: string } {
  let i = 0;
  const ws = () => {
    while (i < s.length && (s[i] === ' ' || s[i] === '\t' || s[i] === '\n' || s[i] === '\r')) i++;
  };
  const fail = (problem: string) => ({ offset: Math.min(i, s.length), problem });
  const end = () => (i >= s.length ? 'unexpected end of the file' : undefined);
  const str = (): string | undefined => {
    i++; // opening quote
    while (i < s.length) {
      const c = s.charCodeAt(i);
      if (c === 0x22) {
        i++;
        return undefined;
      }
      if (c < 0x20) return 'a control character inside a string (escape it)';
      if (c === 0x5c) {
        const e = s[i + 1];
        if (e === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(s.slice(i + 2, i + 6))) return 'a bad \\u escape in a string';
          i += 6;
        } else if (e !== undefined && '"\\/bfnrt'.includes(e)) i += 2;
        else return 'a bad escape in a string';
      } else i++;
    }
    return 'a string that never ends';
  };
  const scalar = (): string | undefined => {
    const rest = s.slice(i, i + 5);
    for (const word of ['true', 'false', 'null']) {
      if (rest.startsWith(word)) {
        i += word.length;
        return undefined;
      }
    }
    const m = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?/.exec(s.slice(i, i + 400));
    if (m && m[0].length > 0 && m[0] !== '-') {
      i += m[0].length;
      return undefined;
    }
    return 'expected a value (an object, array, string, number, true, false or null)';
  };
  /** A property name and its colon; the problem, or undefined. */
  const key = (): string | undefined => {
    if (s[i] !== '"') return end() ?? 'expected a double-quoted property name';
    const bad = str();
    if (bad) return bad;
    ws();
    if (s[i] !== ':') return end() ?? "expected ':' after a property name";
    i++;
    return undefined;
  };
  // Containers still open: '{' or '['.
  const stack: string[] = [];
  let expectValue = true;
  ws();
  if (i >= s.length) return fail('the text is empty');
  for (;;) {
    ws();
    if (expectValue) {
      const e = end();
      if (e) return fail(e);
      const c = s[i];
      if (c === '{' || c === '[') {
        stack.push(c);
        i++;
        ws();
        if (s[i] === (c === '{' ? '}' : ']')) {
          i++;
          stack.pop();
          expectValue = false;
          continue;
        }
        if (c === '{') {
          const bad = key();
          if (bad) return fail(bad);
        }
        continue;
      }
      const bad = c === '"' ? str() : scalar();
      if (bad) return fail(bad);
      expectValue = false;
      continue;
    }
    const top = stack[stack.length - 1];
    if (top === undefined) {
      return i < s.length ? fail('unexpected text after the JSON value') : fail('invalid JSON');
    }
    const e = end();
    if (e) return fail(e);
    if (s[i] === ',') {
      i++;
      ws();
      if (top === '{') {
        const bad = key();
        if (bad) return fail(bad);
      }
      expectValue = true;
      continue;
    }
    if (s[i] === (top === '{' ? '}' : ']')) {
      i++;
      stack.pop();
      continue;
    }
    return fail(top === '{' ? "expected ',' or '}' after a property value" : "expected ',' or ']' after an array element");
  }
}

/** What kind of JSON value this is, for messages. */
export function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'string') return 'a string';
  if (typeof v === 'number') return 'a number';
  if (typeof v === 'boolean') return 'a boolean';
  return 'nothing';
}

export function asObject(v: unknown, field: string): Record<string, unknown> {
  if (v !== null && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
  throw new ShapeError(field, 'an object', kindOf(v));
}

export function asArray(v: unknown, field: string): unknown[] {
  if (Array.isArray(v)) return v;
  throw new ShapeError(field, 'an array', kindOf(v));
}

/** A field path for messages: `manifests[3].platform.os`. */
export function at(base: string, key: string | number): string {
  return typeof key === 'number' ? `${base}[${key}]` : base ? `${base}.${key}` : key;
}
