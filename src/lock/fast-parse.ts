/**
 * A fast reader for the exact YAML layout serializeLock writes (block maps two spaces deep, fleet
 * pins as one-line flow maps). A general YAML parser spends about a second on a 2,000-image lock;
 * this reads it in milliseconds. It returns undefined at the first line it does not recognise
 * (a hand-edited lock, a YAML feature lg-pins never writes), and the caller falls back to the full
 * YAML parser; whatever it returns is still validated against the lock schema.
 */
const NUMBER_LIKE = /^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|0x[0-9a-fA-F]+|0o[0-7]+|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$/;
const SPECIAL = /^(?:true|True|TRUE|false|False|FALSE|null|Null|NULL|~|)$/;
const LINE = /^( *)([^\s:#"'{}[\],][^:#]*?):(?: (.*))?$/;

type Obj = Record<string, unknown>;

/** A scalar as serializeLock writes it: plain, or double-quoted (JSON-compatible). Undefined when unsure. */
function scalar(raw: string, flow: boolean): string | undefined {
  if (raw.startsWith("'")) {
    // Single-quoted: '' is a quote; nothing else is special.
    if (raw.length < 2 || !raw.endsWith("'") || /(^|[^'])'(?!')/.test(raw.slice(1, -1).replace(/''/g, ''))) return undefined;
    return raw.slice(1, -1).replace(/''/g, "'");
  }
  if (raw.startsWith('"')) {
    try {
      const v: unknown = JSON.parse(raw);
      return typeof v === 'string' ? v : undefined;
    } catch {
      return undefined;
    }
  }
  // eslint-disable-next-line no-control-regex -- control characters are exactly what must not be plain
  if (raw !== raw.trim() || /[\u0000-\u001f\u007f]/.test(raw) || SPECIAL.test(raw) || NUMBER_LIKE.test(raw) || /^[-?:,[\]{}#&*!|>'"%@`]/.test(raw)) return undefined;
  if (raw.includes(': ') || raw.includes(' #') || raw.endsWith(':') || (flow && /[,[\]{}]/.test(raw))) return undefined;
  return raw;
}

/** `{ platform: x, digest: y, tag: z, held: text }` with plain or double-quoted values. */
function flowMap(raw: string): Obj | undefined {
  if (raw === '{}') return {};
  if (!raw.startsWith('{ ') || !raw.endsWith(' }')) return undefined;
  const out: Obj = {};
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
    if (value === undefined) return undefined;
    out[m[1]!] = value;
    if (rest.startsWith(', ')) rest = rest.slice(2);
    else if (rest.length) return undefined;
  }
  return out;
}

export function fastParseLock(text: string): unknown {
  const root: Obj = {};
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
    const key = m[2]!;
    if (Object.prototype.hasOwnProperty.call(parent, key) || key === '__proto__') return undefined;
    const raw = m[3];
    if (raw === undefined || raw === '') {
      const child: Obj = {};
      parent[key] = child;
      stack.push(child);
    } else if (raw.startsWith('{')) {
      const map = flowMap(raw);
      if (!map) return undefined;
      parent[key] = map;
    } else if (key === 'size' || key === 'lockVersion') {
      if (!/^(?:0|[1-9][0-9]*)$/.test(raw)) return undefined;
      parent[key] = Number(raw);
    } else {
      const value = scalar(raw, false);
      if (value === undefined) return undefined;
      parent[key] = value;
    }
  }
  return root;
}

/** `value` when YAML reads it back as the same plain string in this context; undefined when it needs quotes. */
export function plainScalar(value: string, flow: boolean): string | undefined {
  return value.startsWith('"') || value.startsWith("'") ? undefined : scalar(value, flow);
}
