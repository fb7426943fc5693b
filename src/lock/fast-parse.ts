/**
 * A fast reader for the exact YAML layout serializeLock writes (block maps two spaces deep, fleet
 * pins as one-line flow maps). A general YAML parser spends about a second on a 2,000-image lock;
 * this reads it in milliseconds. It returns undefined at the first line it does not recognise
 * (a hand-edited lock, a YAML feature lg-pins never writes), and the caller falls back to the full
 * YAML parser; whatever it returns is still validated against the lock schema.
 */
import { dict, put, type Dict } from '../safe/dict.js';
import { hasUnescaped, plainOk } from './yaml-scalar.js';

// A key is plain, or double-quoted as serializeLock quotes an id YAML would read as something else.
const LINE = /^( *)("(?:[^"\\]|\\.)*"|[^\s:#"'{}[\],][^:#]*?):(?: (.*))?$/;

type Obj = Dict<unknown>;

/** A scalar as serializeLock writes it: plain, or double-quoted (JSON-compatible). Undefined when unsure. */
function scalar(raw: string, flow: boolean): string | undefined {
  if (raw.startsWith("'")) {
    // Single-quoted: '' is a quote; nothing else is special.
    if (raw.length < 2 || !raw.endsWith("'") || /(^|[^'])'(?!')/.test(raw.slice(1, -1).replace(/''/g, ''))) return undefined;
    return raw.slice(1, -1).replace(/''/g, "'");
  }
  if (raw.startsWith('"')) {
    // JSON.parse would take a raw DEL or line separator that serializeLock escapes: let YAML decide.
    if (hasUnescaped(raw)) return undefined;
    try {
      const v: unknown = JSON.parse(raw);
      return typeof v === 'string' ? v : undefined;
    } catch {
      return undefined;
    }
  }
  // A plain scalar some YAML reader would retype (`007`, `on`, a date) is not one serializeLock wrote.
  return plainOk(raw, flow) ? raw : undefined;
}

/** `{ platform: x, digest: y, tag: z, held: text }` with plain or double-quoted values. */
function flowMap(raw: string): Obj | undefined {
  const out: Obj = dict();
  if (raw === '{}') return out;
  if (!raw.startsWith('{ ') || !raw.endsWith(' }')) return undefined;
  let rest = raw.slice(2, -2);
  while (rest.length) {
    const m = /^([A-Za-z]+): /.exec(rest);
    if (!m) return undefined;
    rest = rest.slice(m[0].length);
    let value: string | undefined;
    if (rest.startsWith('"')) {
      // The closing quote is the first one not escaped.
      let i = 1;
      while (i < rest.length && rest[i] !== '"') i += rest[i] === '\\' ? 2 : 1;
      value = scalar(rest.slice(0, i + 1), true);
      rest = rest.slice(i + 1);
    } else if (rest.startsWith("'")) {
      // The closing quote is the first one not doubled.
      let i = 1;
      while (i < rest.length && !(rest[i] === "'" && rest[i + 1] !== "'")) i += rest[i] === "'" ? 2 : 1;
      value = scalar(rest.slice(0, i + 1), true);
      rest = rest.slice(i + 1);
    } else {
      const end = rest.indexOf(', ');
      value = scalar(end < 0 ? rest : rest.slice(0, end), true);
      rest = end < 0 ? '' : rest.slice(end);
    }
    if (value === undefined || Object.prototype.hasOwnProperty.call(out, m[1]!)) return undefined;
    put<unknown>(out, m[1]!, value);
    if (rest.startsWith(', ')) rest = rest.slice(2);
    else if (rest.length) return undefined;
  }
  return out;
}

export function fastParseLock(text: string): unknown {
  const root: Obj = dict();
  // The open maps, one per indentation level (0, 2, 4, ...).
  const stack: Obj[] = [root];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = LINE.exec(line);
    if (!m) return undefined;
    const indent = m[1]!.length;
    if (indent % 2 !== 0 || indent / 2 >= stack.length) return undefined;
    stack.length = indent / 2 + 1;
    const parent = stack[stack.length - 1]!;
    const key = scalar(m[2]!, false);
    if (key === undefined || Object.prototype.hasOwnProperty.call(parent, key)) return undefined;
    const raw = m[3];
    if (raw === undefined || raw === '') {
      const child: Obj = dict();
      put<unknown>(parent, key, child);
      stack.push(child);
    } else if (raw.startsWith('{')) {
      const map = flowMap(raw);
      if (!map) return undefined;
      put<unknown>(parent, key, map);
    } else if (key === 'size' || key === 'lockVersion' || key === 'logIndex') {
      if (!/^(?:0|[1-9][0-9]*)$/.test(raw)) return undefined;
      put<unknown>(parent, key, Number(raw));
    } else {
      const value = scalar(raw, false);
      if (value === undefined) return undefined;
      put<unknown>(parent, key, value);
    }
  }
  return root;
}
