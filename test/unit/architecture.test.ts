/**
 * The shape ARCHITECTURE.md describes, checked: no file in src/ imports a file that imports it back
 * (directly or through others, static or lazy imports alike), and the layers point one way.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/cli.js';

const SRC = join(ROOT, 'src');

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** src-relative path → the src files it imports (`import … from './x.js'`, `export … from`, `import('./x.js')`). */
function graph(): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const file of files(SRC)) {
    const text = readFileSync(file, 'utf8');
    const targets = [...text.matchAll(/(?:from|import\()\s*'(\.{1,2}\/[^']+)\.js'/g)].map((m) =>
      relative(SRC, resolve(dirname(file), `${m[1]}.ts`)),
    );
    out.set(relative(SRC, file), [...new Set(targets)]);
  }
  return out;
}

/** Strongly connected components with more than one file (Tarjan), and files that import themselves. */
function cycles(g: Map<string, string[]>): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of g.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || (g.get(v) ?? []).includes(v)) found.push(scc.sort());
    }
  };
  for (const v of g.keys()) if (!idx.has(v)) visit(v);
  return found;
}

describe('the import graph of src/', () => {
  const g = graph();

  it('reads every file and finds imports (the check is not vacuous)', () => {
    expect(g.size).toBeGreaterThan(40);
    expect(g.get('cli/main.ts')).toContain('cli/commands.ts');
  });

  it('has no cycles', () => {
    expect(cycles(g)).toEqual([]);
  });

  it('the detector finds a planted cycle', () => {
    expect(
      cycles(
        new Map([
          ['a.ts', ['b.ts']],
          ['b.ts', ['c.ts']],
          ['c.ts', ['a.ts']],
          ['d.ts', ['a.ts']],
        ]),
      ),
    ).toEqual([['a.ts', 'b.ts', 'c.ts']]);
  });

  it.each([
    [
      'plan/ (pure) imports no I/O layer',
      'plan/',
      ['run/', 'cli/', 'registry/client', 'registry/http', 'registry/layout', 'scm/', 'lock/read', 'lock/write', 'transport/'],
    ],
    ['the core never imports the CLI', '', ['cli/']],
    [
      'render/ makes text from results and reaches no network or git',
      'render/',
      ['registry/client', 'registry/http', 'scm/', 'transport/'],
    ],
  ])('%s', (_name, from, forbidden) => {
    const bad: string[] = [];
    for (const [file, targets] of g) {
      if (!file.startsWith(from) || (from === '' && file.startsWith('cli/'))) continue;
      for (const t of targets) if (forbidden.some((f) => t.startsWith(f))) bad.push(`${file} → ${t}`);
    }
    expect(bad).toEqual([]);
  });
});
