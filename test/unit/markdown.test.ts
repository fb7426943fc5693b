/**
 * Markdown that registries or specs cannot make live (issue 10 §11): `diff --markdown`, the pull
 * request's title and body, and `verify --markdown`, rendered from results whose notes, held
 * reasons, tags, platform keys, ids, failure messages and findings hold hostile text, then parsed
 * with markdown-it (CommonMark + GFM tables, with raw HTML and linkify on, as GitHub renders them).
 * Nothing from the hostile text may become a link, an image or HTML, and every mention, issue
 * reference or closing keyword must sit inside a code span. Ordinary values render as before.
 */
import fc from 'fast-check';
import MarkdownIt from 'markdown-it';
import type Token from 'markdown-it/lib/token.mjs';
import { describe, expect, it } from 'vitest';
import type { Spec } from '../../src/config/spec.js';
import type { Digest } from '../../src/digest.js';
import { RegistryError } from '../../src/errors.js';
import type { Lock } from '../../src/lock/model.js';
import type { ImageChange } from '../../src/plan/classify.js';
import { diffMarkdown } from '../../src/render/diff.js';
import { mdCode, mdFence, mdInert } from '../../src/render/markdown.js';
import { proposalText } from '../../src/render/proposal.js';
import { verifyMarkdown } from '../../src/render/verify.js';
import type { DiffResult } from '../../src/run/diff.js';
import type { VerifyResult } from '../../src/run/verify.js';

const md = new MarkdownIt({ html: true, linkify: true });

const FRAGMENTS = [
  '[x](https://evil.example)',
  '![i](https://evil.example/a.png)',
  '<img src=x onerror=alert(1)>',
  '<!-- hidden -->',
  '@admin',
  'Closes #12',
  'fixes #3',
  '| col |',
  '\n# heading',
  '`',
  '``',
  '```',
  'https://evil.example/x',
  'www.evil.example',
  '<https://evil.example>',
  'me@evil.example',
  '\\',
  '\\|',
  '&#64;admin',
  '*em*',
  '\r\n## h2',
];
/** Live spellings that must never reach plain text. */
const MARKERS = ['@admin', '#12', '#3', 'Closes', 'evil.example', '<img', 'onerror', '<!--', 'heading', '&#64;'];
/** lg-pins' own HTML, the only HTML allowed. */
const OWN_HTML = new Set(['<br>', '<details><summary>Changes to <code>lg-pins.lock.yaml</code></summary>', '</details>']);

const hostile = fc
  .array(
    fc.tuple(
      fc.oneof(fc.constantFrom(...FRAGMENTS), fc.constantFrom('a', 'x y', ':', '(', ')', '!', '[', ']', '<', '>', '"', '*', '_', '~')),
      fc.constantFrom('', ' ', '\n'),
    ),
    {
      minLength: 1,
      maxLength: 6,
    },
  )
  .map((parts) => parts.map(([f, sep]) => f + sep).join(''));

const D = (c: string) => `sha256:${c.repeat(64)}` as Digest;
const oneLine = (s: string) => s.replace(/\r\n|[\r\n]/g, ' ');

interface Bad {
  note: string;
  reason: string;
  message: string;
  tag: string;
  platform: string;
}

function diffResult(b: Bad, patch = ''): DiffResult {
  const image = 'agent';
  const key = b.platform;
  const pin = (digest: Digest, held?: string) => ({ platform: key, digest, ...(held ? { tag: 'v1', held } : {}) });
  const lockOf = (tag: string, digest: string, held?: string): Lock =>
    ({
      lockVersion: 1,
      images: {
        [image]: {
          ref: 'r.example/agent',
          tag,
          digest: D(digest),
          mediaType: 'x',
          platforms: { [key]: { digest: D(digest), mediaType: 'x', size: 1 } },
        },
      },
      fleet: { edge: { [image]: pin(D(digest), held) } },
    }) as unknown as Lock;
  const spec = {
    file: '/f/lg-pins.yaml',
    dir: '/f',
    lockFile: '/f/lg-pins.lock.yaml',
    registries: {},
    images: { [image]: { id: image, notes: { [key]: b.note } } },
    fleet: { edge: { hosts: ['g1', 'g2'] } },
  } as unknown as Spec;
  const changes: ImageChange[] = [
    {
      image,
      kind: 'release',
      from: { tag: 'v1', digest: D('a') },
      to: { tag: b.tag, digest: D('b') },
      platforms: { [key]: 'changed' },
      groups: ['edge'],
      held: [{ group: 'edge', hosts: 2, platform: key, tag: 'v1', reason: b.reason }],
      moves: [{ group: 'edge', hosts: 2, from: pin(D('a')), to: pin(D('b'), b.reason) }],
    },
    {
      image: 'tool',
      kind: 'tag-moved',
      from: { tag: b.tag, digest: D('c') },
      to: { tag: b.tag, digest: D('d') },
      platforms: {},
      groups: [],
      held: [],
      moves: [],
    },
  ];
  return {
    spec,
    lockFile: spec.lockFile,
    previous: lockOf('v1', 'a'),
    previousText: '',
    lock: lockOf(b.tag, 'b', b.reason),
    text: '',
    failures: [{ image: 'helper', error: new RegistryError(b.message) }],
    waiting: [],
    passedOver: [{ image: 'agent', tag: b.tag, pinned: 'v1', cadence: 'minor' }],
    changed: true,
    written: false,
    exitCode: 3,
    changes,
    patch,
    outputChanges: [{ path: `deploy/${b.tag}.env`, change: 'update' }],
    outputPatch: '',
  };
}

function verifyResult(b: Bad): VerifyResult {
  return {
    lockFile: '/f/lg-pins.lock.yaml',
    images: [
      {
        image: 'agent',
        ref: 'r.example/agent',
        tag: b.tag,
        digests: 3,
        tagOk: false,
        signature: 'not required',
        mirrors: [
          { mirror: b.platform, complete: false },
          { mirror: 'm.example', complete: true },
        ],
      },
    ],
    findings: [
      { image: 'agent', kind: 'tag-moved', exitCode: 1, message: b.message },
      { kind: 'unreachable', exitCode: 3, message: b.reason },
    ],
    exitCode: 3,
  };
}

function walk(tokens: Token[], out: Token[] = []): Token[] {
  for (const t of tokens) {
    out.push(t);
    if (t.children) walk(t.children, out);
  }
  return out;
}

/** Parse and check: no link, image or foreign HTML; markers only in code; every hostile value whole in one code span. */
function expectInert(markdown: string, values: string[], inline = false): void {
  const tokens = walk(inline ? md.parseInline(markdown, {}) : md.parse(markdown, {}));
  const types = new Set(tokens.map((t) => t.type));
  expect(types.has('link_open'), markdown).toBe(false);
  expect(types.has('image'), markdown).toBe(false);
  for (const t of tokens.filter((x) => x.type === 'html_inline' || x.type === 'html_block'))
    expect(OWN_HTML.has(t.content.trim()), `HTML ${JSON.stringify(t.content)} in\n${markdown}`).toBe(true);
  const live = tokens
    .filter((t) => t.type === 'text')
    .map((t) => t.content)
    .join('\n');
  for (const m of MARKERS) expect(live, `${JSON.stringify(m)} outside a code span in\n${markdown}`).not.toContain(m);
  const code = tokens.filter((t) => t.type === 'code_inline').map((t) => t.content);
  for (const v of values) {
    // Ids, tags and keys are always code; prose stays plain only when nothing in it can be live.
    // Either way a value stays whole: no cell boundary or line break cut it.
    if (mdInert(v) === v && live.includes(v.trim())) continue;
    expect(code, `${JSON.stringify(v)} not whole in a code span in\n${markdown}`).toContain(oneLine(v));
  }
}

const arbBad = fc.record({ note: hostile, reason: hostile, message: hostile, tag: hostile, platform: hostile });

describe('the Markdown helpers', () => {
  it('mdCode fences past every backtick run, keeps one line, pads edge backticks, escapes pipes in tables', () => {
    expect(mdCode('v1.0.0')).toBe('`v1.0.0`');
    expect(mdCode('a`b')).toBe('``a`b``');
    expect(mdCode('`x`')).toBe('`` `x` ``');
    expect(mdCode('a ``` b')).toBe('````a ``` b````');
    expect(mdCode('one\ntwo\r\nthree')).toBe('`one two three`');
    expect(mdCode('a | b', { table: true })).toBe('`a \\| b`');
    expect(mdCode('a | b')).toBe('`a | b`');
    expect(mdCode('')).toBe('');
    expect(md.parseInline(mdCode('` x `'), {})[0]!.children!.map((t) => [t.type, t.content])).toEqual([['code_inline', '` x `']]);
  });

  it('mdInert leaves ordinary prose alone and code-spans anything that could be live', () => {
    for (const plain of [
      'no eBPF probe: the agent runs in DegradedNoEBPFArch mode',
      'linux/riscv64 is not in v1.1.0',
      'best effort (riscv64); see the docs.',
      'Déjà vu — 3 hosts → 2',
    ]) {
      expect(mdInert(plain)).toBe(plain);
    }
    for (const live of [
      'ping @admin',
      'Closes #12',
      'see https://evil.example',
      'www.evil.example',
      'GH-12',
      'commit deadbeef12',
      ':shipit:',
      '<b>x</b>',
      'a *b*',
      'x & y',
      'a\nb',
      'a | b',
      '[x](y)',
    ]) {
      expect(mdInert(live)).toBe(mdCode(live));
    }
  });

  it('mdFence cannot be closed from inside', () => {
    const text = ' ```\n+<img src=x onerror=alert(1)>\n``````';
    const tokens = md.parse(mdFence(text, 'diff'), {});
    expect(tokens.map((t) => t.type)).toEqual(['fence']);
    expect(tokens[0]!.content).toBe(`${text}\n`);
  });
});

describe('diff --markdown, the pull request and verify --markdown stay inert', () => {
  const fixed: Bad = {
    note: '[x](https://evil.example) ![i](https://evil.example/a.png) <img src=x onerror=alert(1)>',
    reason: '<!-- hidden --> @admin Closes #12\n# heading',
    message: 'fixes #3 | col | `tick` ``` @admin',
    tag: 'Closes #12 `',
    platform: 'linux/| col |/<!-- hidden -->',
  };
  const values = (b: Bad) => [b.note, b.reason, b.message, b.tag, b.platform];
  const patch = '--- a\n+++ b\n@@ -1 +1 @@\n ```\n+<img src=x onerror=alert(1)>\n-[x](https://evil.example) @admin Closes #12';

  it('hand-picked hostile values, everywhere at once', () => {
    const r = diffResult(fixed, patch);
    expectInert(
      diffMarkdown(r),
      values(fixed).filter((v) => v !== fixed.message),
    );
    const p = proposalText(r, { base: 'main', spec: 'lg-pins.yaml', labels: [] });
    expectInert(p.body, values(fixed));
    expectInert(p.title, [fixed.tag], true);
    expectInert(verifyMarkdown(verifyResult(fixed)), [fixed.message, fixed.reason, fixed.tag, fixed.platform]);
    // The lock diff stays one fenced block.
    const fences = md.parse(diffMarkdown(r), {}).filter((t) => t.type === 'fence');
    expect(fences).toHaveLength(1);
    expect(fences[0]!.content).toContain('+<img src=x onerror=alert(1)>');
  });

  it('generated hostile values (fast-check)', () => {
    fc.assert(
      fc.property(arbBad, (b) => {
        const r = diffResult(b);
        const headings = (s: string) => md.parse(s, {}).filter((t) => t.type === 'heading_open').length;
        const diffMd = diffMarkdown(r);
        expectInert(diffMd, [b.note, b.reason, b.tag, b.platform]);
        expect(headings(diffMd)).toBe(2);
        const p = proposalText(r, { base: 'main', spec: 'lg-pins.yaml', labels: [] });
        expectInert(p.body, values(b));
        expect(headings(p.body)).toBe(3);
        expectInert(p.title, [], true);
        expectInert(verifyMarkdown(verifyResult(b)), [b.message, b.reason, b.tag, b.platform]);
      }),
      { numRuns: 300 },
    );
  });

  it('ordinary values render exactly as before', () => {
    const r = diffResult({
      note: 'no eBPF probe: the agent runs in DegradedNoEBPFArch mode',
      reason: 'linux/arm/v7 is not in v2',
      message: 'registry r.example: tag "stable" not found',
      tag: 'v2',
      platform: 'linux/arm/v7',
    });
    const out = diffMarkdown(r);
    expect(out).toContain(
      `| \`linux/arm/v7\` | changed | \`${D('a')}\` | \`${D('b')}\` | no eBPF probe: the agent runs in DegradedNoEBPFArch mode |`,
    );
    expect(out).toContain('- **Held back:** `edge` (2 hosts) stays on `v1`: linux/arm/v7 is not in v2');
    expect(out).toContain('### `agent`: release `v1` → `v2`');
    expect(out).toContain('- `agent`: `v2` is available; cadence `minor` keeps `v1`.');
    const p = proposalText(r, { base: 'main', spec: 'lg-pins.yaml', labels: [] });
    expect(p.title).toBe('lg-pins: re-pin 2 images (agent v1 → v2, tool v2 re-published)');
    expect(p.body).toContain('- `helper`: registry r.example: tag "stable" not found');
    expect(p.body).toContain(
      'This pull request re-pins the fleet described by `lg-pins.yaml`: it updates `lg-pins.lock.yaml` and one deploy output from what the registries serve now, against `main`.',
    );
    expect(out).toContain('| `deploy/v2.env` | update |');
  });

  it('a long title drops whole parts, never cutting through a code span', () => {
    const r = diffResult({ ...fixed, tag: `Closes #12 ${'x'.repeat(60)}` });
    const p = proposalText(r, { base: 'main', spec: 'lg-pins.yaml', labels: [] });
    expect(p.title.length).toBeLessThanOrEqual(100);
    expectInert(p.title, [], true);
  });
});
