import type { ImageChange } from '../plan/classify.js';
import type { DiffResult } from '../run/diff.js';
import { diffMarkdown } from './diff.js';

/** GitHub refuses bodies over 65,536 characters; keep well under. */
const MAX_BODY = 60_000;

export interface Proposal {
  title: string;
  body: string;
  /** Plain text for the commit message. */
  summary: string;
  labels: string[];
}

function short(c: ImageChange): string {
  switch (c.kind) {
    case 'release':
      return `${c.image} ${c.from?.tag} → ${c.to?.tag}`;
    case 'tag-moved':
      return `${c.image} ${c.to?.tag} re-published`;
    case 'added':
      return `pin ${c.image} ${c.to?.tag}`;
    case 'removed':
      return `unpin ${c.image}`;
    case 'fleet':
      return `${c.image} fleet pins`;
    case 'spec':
      return `${c.image} spec update`;
  }
}

/** The pull request's title, body and commit message, from the same plan as `diff --markdown`. */
export function proposalText(r: DiffResult, ctx: { base: string; spec: string; labels: string[] }): Proposal {
  const parts = r.changes.map(short);
  let title = parts.length === 1 ? `lg-pins: ${parts[0]}` : `lg-pins: re-pin ${parts.length} images (${parts.join(', ')})`;
  if (title.length > 100) title = `${title.slice(0, 97)}...`;
  if (!parts.length) title = 'lg-pins: nothing to re-pin';
  const head = [
    `This pull request re-pins the fleet described by \`${ctx.spec}\`: it updates \`lg-pins.lock.yaml\` from what the registries serve now, against \`${ctx.base}\`.`,
    '',
  ];
  const failures = r.failures.length
    ? ['### Not re-pinned', '', 'These images failed and keep their previous pins:', '', ...r.failures.map((f) => `- \`${f.image}\`: ${f.error.message.replace(/\n/g, ' ')}`), '']
    : [];
  const foot = ['---', '', '_Opened by `lg-pins propose`. Merge to roll the new pins out; the next run updates this pull request, or closes it when nothing is left to change._', ''];
  let body = [...head, diffMarkdown(r), ...failures, ...foot].join('\n');
  if (body.length > MAX_BODY) {
    body = [...head, diffMarkdown({ ...r, patch: '' }), '_The lock diff is too long to show here; see the commit._', '', ...failures, ...foot].join('\n');
  }
  if (body.length > MAX_BODY) body = `${body.slice(0, MAX_BODY - 40)}\n\n_(truncated; see the commit)_\n`;
  const summary = r.changes.map((c) => `- ${short(c)}${c.groups.length ? ` (${c.groups.join(', ')})` : ''}`).join('\n');
  return { title, body, summary: summary || 'No pin changes.', labels: ctx.labels };
}
