import { LineCounter, isMap, isPair, isScalar, isSeq, parseDocument, type Document, type Node, type Pair } from 'yaml';
import { SpecError, type BadInputError, type SpecIssue } from '../errors.js';
import { hasControls, quoteUntrusted } from '../safe/text.js';

/** Longest spec or lock value quoted whole in a message (refs and ids fit; a pasted secret file does not). */
const QUOTE_MAX = 80;

export type KeyPath = ReadonlyArray<string | number>;

/**
 * A parsed YAML (or JSON) input file that remembers where every node came from, so that
 * errors can name file, line and column. `base` is the path of the config inside the
 * document (`['lg-pins']` for package.json).
 */
export class SourceFile {
  readonly doc: Document;
  private readonly lines = new LineCounter();

  constructor(
    readonly file: string,
    readonly text: string,
    readonly base: KeyPath = [],
    /** The error for this file's problems: a SpecError for the spec, a LockError for the lock. */
    private readonly fail: (issues: SpecIssue[], cause?: unknown) => BadInputError = (issues, cause) => new SpecError(issues, { cause }),
  ) {
    // stringKeys: a key is its text, so an id such as `007` or `on` stays that id (not 7 or true).
    this.doc = parseDocument(text, { lineCounter: this.lines, prettyErrors: false, uniqueKeys: true, stringKeys: true });
  }

  /** YAML syntax errors, duplicate keys included, as issues. */
  syntaxIssues(): SpecIssue[] {
    return this.doc.errors.map((e) => {
      const pos = this.lines.linePos(e.pos[0]);
      const at = { file: this.file, line: pos.line, column: pos.col };
      if (e.code === 'DUPLICATE_KEY') {
        // Name the key and where it sits, not just "Map keys must be unique".
        const key = this.keyAt(e.pos[0]);
        if (key)
          return {
            ...at,
            path: formatPath(key.path),
            message: `duplicate key ${quote(key.name)}; a key may appear only once in a mapping`,
          };
      }
      if (e.code === 'MULTIPLE_DOCS') {
        return { ...at, path: '', message: 'a second YAML document starts here ("---"); the file must hold exactly one document' };
      }
      // A short escaped excerpt of the line yaml stopped at: enough to find it, never a whole line
      // (the file may be something else than a spec, reached through a symlink).
      const near = (this.text.split(/\r?\n/)[pos.line - 1] ?? '').trim();
      return { ...at, path: '', message: `${firstLine(e.message)}${near ? ` (at ${quoteUntrusted(near, 40)})` : ''}` };
    });
  }

  /** The map key that starts at `offset`: its name and key path (relative to base when inside it). */
  private keyAt(offset: number): { name: string; path: KeyPath } | undefined {
    const walk = (node: unknown, path: (string | number)[]): { name: string; path: KeyPath } | undefined => {
      if (isMap(node)) {
        for (const p of node.items) {
          const name = isScalar(p.key) ? String(p.key.value) : undefined;
          if (name !== undefined && isNode(p.key) && p.key.range?.[0] === offset) return { name, path: [...path, name] };
          const hit = walk(p.value, [...path, name ?? '?']);
          if (hit) return hit;
        }
      } else if (isSeq(node)) {
        for (let i = 0; i < node.items.length; i++) {
          const hit = walk(node.items[i], [...path, i]);
          if (hit) return hit;
        }
      }
      return undefined;
    };
    const hit = walk(this.doc.contents, []);
    if (!hit) return undefined;
    const inBase = this.base.every((k, i) => String(hit.path[i]) === String(k)) && hit.path.length > this.base.length;
    return inBase ? { name: hit.name, path: hit.path.slice(this.base.length) } : hit;
  }

  value(): unknown {
    let whole: unknown;
    try {
      whole = this.doc.toJS({ maxAliasCount: 100 });
    } catch (e) {
      // yaml refuses alias expansions beyond maxAliasCount ("billion laughs"); that is bad input, not a crash.
      throw this.fail(
        [{ file: this.file, line: 1, column: 1, path: '', message: `cannot expand the YAML aliases: ${(e as Error).message}` }],
        e,
      );
    }
    let v = whole;
    for (const k of this.base) v = isRecord(v) ? v[String(k)] : undefined;
    return v;
  }

  /** Where `path` (relative to base) is: the key's position when `atKey`, else the value's. */
  locate(path: KeyPath, atKey = false): { line?: number; column?: number } {
    const full = [...this.base, ...path];
    let node: unknown = this.doc.contents;
    let found: Node | undefined = isNode(node) ? node : undefined;
    for (let i = 0; i < full.length; i++) {
      const k = full[i]!;
      if (isMap(node)) {
        const pair = node.items.find((p: Pair) => isScalar(p.key) && String(p.key.value) === String(k));
        if (!pair) break;
        const last = i === full.length - 1;
        const keyNode = isNode(pair.key) ? pair.key : undefined;
        found = (last && atKey ? keyNode : isNode(pair.value) ? pair.value : keyNode) ?? found;
        node = pair.value;
      } else if (isSeq(node) && typeof k === 'number') {
        const item: unknown = node.items[k];
        if (!isNode(item)) break;
        found = item;
        node = item;
      } else {
        break;
      }
    }
    const offset = found?.range?.[0];
    if (offset === undefined) return {};
    const pos = this.lines.linePos(offset);
    return { line: pos.line, column: pos.col };
  }

  issue(path: KeyPath, message: string, atKey = false): SpecIssue {
    return { file: this.file, ...this.locate(path, atKey), path: formatPath(path), message };
  }
}

function isNode(v: unknown): v is Node {
  return typeof v === 'object' && v !== null && 'range' in v && !isPair(v);
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function formatPath(path: KeyPath): string {
  return path.map((k, i) => (typeof k === 'number' ? `[${k}]` : i === 0 ? k : `.${k}`)).join('');
}

function firstLine(s: string): string {
  return s.split('\n')[0] ?? s;
}

/**
 * JSON-ish quoting for messages: strings quoted, other values as JSON; long or odd ones cut and
 * escaped (a 200 KB value helps nobody, and a control character must not reach a terminal).
 */
export function quote(v: unknown): string {
  if (typeof v === 'string') return v.length <= QUOTE_MAX && !hasControls(v) ? JSON.stringify(v) : quoteUntrusted(v, QUOTE_MAX);
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 60 ? `${s.slice(0, 57)}...` : s;
}
