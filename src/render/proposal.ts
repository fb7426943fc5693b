import type { ImageChange } from '../plan/classify.js';
import type { DiffResult } from '../run/diff.js';
import { diffMarkdown } from './diff.js';
import { mdCode, mdInert } from './markdown.js';

/** GitHub refuses bodies over 65,536 characters; keep well under. */
const MAX_BODY = 60_000;
const MAX_TITLE = 100;

export interface Proposal {
  title: string;
  body: string;
  /** Plain text for the commit message. */
  summary: string;
  labels: string[];
}

/** One change in a few words; `v` renders each id and tag (inert Markdown for the title, as is for the commit). */
function short(c: ImageChange, v: (s: string) => string = (s) => s): string {
  const image = v(c.image);
  const from = v(c.from?.tag ?? '');
  const to = v(c.to?.tag ?? '');
  switch (c.kind) {
    case 'release':
      return `${image} ${from} → ${to}`;
    case 'tag-moved':
      return `${image} ${to} re-published`;
    case 'added':
      return `pin ${image} ${to}`;
    case 'removed':
      return `unpin ${image}`;
    case 'fleet':
      return `${image} fleet pins`;
    case 'spec':
      return `${image} spec update`;
  }
}

/**
 * GitHub renders code spans and issue references in titles. Parts are dropped whole, never cut: a
 * cut through a code span would turn what it held back into live text.
 */
function titleOf(parts: string[]): string {
  if (!parts.length) return 'lg-pins: nothing to re-pin';
  if (parts.length === 1 && `lg-pins: ${parts[0]}`.length <= MAX_TITLE) return `lg-pins: ${parts[0]}`;
  const all = `lg-pins: re-pin ${parts.length} images`;
  const shown: string[] = [];
  for (const p of parts) {
    const more = shown.length + 1 < parts.length ? ', …' : '';
    if (`${all} (${[...shown, p].join(', ')}${more})`.length > MAX_TITLE) break;
    shown.push(p);
  }
  if (!shown.length) return parts.length === 1 ? `lg-pins: re-pin 1 image` : all;
  return `${all} (${shown.join(', ')}${shown.length < parts.length ? ', …' : ''})`;
}

/** Cut at a line end: every line is whole Markdown, so what is kept stays inert. */
function truncate(body: string, max: number): string {
  const cut = body.lastIndexOf('\n', max);
  return body.slice(0, cut > 0 ? cut : 0);
}

/** The pull request's title, body and commit message, from the same plan as `diff --markdown`. */
export function proposalText(r: DiffResult, ctx: { base: string; spec: string; labels: string[] }): Proposal {
  const title = titleOf(r.changes.map((c) => short(c, (s) => mdInert(s))));
  const head = [
    `This pull request re-pins the fleet described by ${mdCode(ctx.spec)}: it updates \`lg-pins.lock.yaml\`${r.outputChanges.length ? ` and ${r.outputChanges.length === 1 ? 'one deploy output' : `${r.outputChanges.length} deploy outputs`}` : ''} from what the registries serve now, against ${mdCode(ctx.base)}.`,
    '',
  ];
  const failures = r.failures.length
    ? [
        '### Not re-pinned',
        '',
        'These images failed and keep their previous pins:',
        '',
        ...r.failures.map((f) => `- ${mdCode(f.image)}: ${mdInert(f.error.message)}`),
        '',
      ]
    : [];
  const foot = [
    '---',
    '',
    '_Opened by `lg-pins propose`. Merge to roll the new pins out; the next run updates this pull request, or closes it when nothing is left to change._',
    '',
  ];
  let body = [...head, diffMarkdown(r), ...failures, ...foot].join('\n');
  if (body.length > MAX_BODY) {
    body = [
      ...head,
      diffMarkdown({ ...r, patch: '', outputPatch: '' }),
      '_The lock diff is too long to show here; see the commit._',
      '',
      ...failures,
      ...foot,
    ].join('\n');
  }
  if (body.length > MAX_BODY) body = `${truncate(body, MAX_BODY - 40)}\n\n_(truncated; see the commit)_\n`;
  const summary = r.changes.map((c) => `- ${short(c)}${c.groups.length ? ` (${c.groups.join(', ')})` : ''}`).join('\n');
  return { title, body, summary: summary || 'No pin changes.', labels: ctx.labels };
}
