import { LineCounter, isMap, isPair, isScalar, isSeq, parseDocument, type Document, type Node, type Pair } from 'yaml';
import type { SpecIssue } from '../errors.js';

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
  ) {
    this.doc = parseDocument(text, { lineCounter: this.lines, prettyErrors: false, uniqueKeys: true });
  }

  /** YAML syntax errors, duplicate keys included, as issues. */
  syntaxIssues(): SpecIssue[] {
    return this.doc.errors.map((e) => {
      const pos = this.lines.linePos(e.pos[0]);
      return { file: this.file, line: pos.line, column: pos.col, path: '', message: firstLine(e.message) };
    });
  }

  value(): unknown {
    const whole: unknown = this.doc.toJS({ maxAliasCount: 100 });
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

/** JSON-ish quoting for messages: strings quoted, other values as JSON. */
export function quote(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 60 ? `${s.slice(0, 57)}...` : s;
}
