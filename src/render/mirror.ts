import type { MirrorCopy, MirrorResult } from '../run/mirror.js';
import { formatBytes } from '../safe/limits.js';
import { shortDigest, type Output, type Paint } from './paint.js';

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

function what(c: MirrorCopy): string {
  const parts = [
    c.blobs ? `${plural(c.blobs, 'blob')}${c.mounted ? ` (${c.mounted} mounted)` : ''}` : '',
    c.manifests ? plural(c.manifests, 'manifest') : '',
    c.tags.length ? `${c.tags.length === 1 ? 'tag' : 'tags'} ${c.tags.join(', ')}` : '',
  ].filter(Boolean);
  return `${parts.join(', ')}, ${formatBytes(c.bytes)}`;
}

function copyLine(c: MirrorCopy, paint: Paint): string {
  const head = `${c.image} → ${c.destination}`;
  switch (c.status) {
    case 'complete':
      return `${paint.green('✓')} ${head}: already complete${c.signatures ? ` (with ${plural(c.signatures, 'signature tag')})` : ''}\n`;
    case 'copied':
      return `${paint.green('✓')} ${head}: copied ${what(c)}${c.signatures ? `; ${plural(c.signatures, 'signature tag')} in place` : ''}\n`;
    case 'planned': {
      if (!c.blobs && !c.manifests && !c.tags.length) return `  ${head}: nothing to copy\n`;
      const lines = [`  ${head}: would copy ${what(c)}`];
      for (const m of c.plan?.manifests ?? [])
        lines.push(`      manifest ${shortDigest(m.digest)}  ${formatBytes(m.size)}  ${m.mediaType}`);
      for (const b of c.plan?.blobs ?? []) lines.push(`      blob     ${shortDigest(b.digest)}  ${formatBytes(b.size)}`);
      if (c.tags.length) lines.push(`      then tag ${c.tags.join(', ')}`);
      return `${lines.join('\n')}\n`;
    }
    case 'failed':
      return `${paint.red('✗')} ${head}: failed (exit ${c.exitCode})\n`;
  }
}

/** `mirror`: a line per image and destination, then the total (stdout); each failure in full (stderr). */
export function mirrorText(r: MirrorResult, paint: Paint): Output {
  const out: string[] = r.copies.map((c) => copyLine(c, paint));
  for (const s of r.skipped) out.push(`- ${s.image}: skipped, ${s.why}\n`);
  const failed = r.copies.filter((c) => c.status === 'failed');
  const bytes = r.copies.reduce((n, c) => n + (c.status === 'failed' ? 0 : c.bytes), 0);
  if (r.dryRun) out.push(`Dry run: ${formatBytes(bytes)} would be copied; nothing was written.\n`);
  else if (!failed.length) out.push(`Every mirror holds what the lock pins (${formatBytes(bytes)} copied).\n`);
  else
    out.push(
      `${plural(failed.length, 'copy', 'copies')} failed (exit ${r.exitCode}); the others are complete. Run again to finish: what is there is not copied twice.\n`,
    );
  const errors = failed.map((c) => `${paint.red('error:')} ${c.image} → ${c.destination}: ${c.error}\n`).join('');
  return [
    ['stdout', out.join('')],
    ['stderr', errors],
  ];
}

export function mirrorJson(r: MirrorResult): object {
  return { ok: r.exitCode === 0, dryRun: r.dryRun, lockFile: r.lockFile, copies: r.copies, skipped: r.skipped, exitCode: r.exitCode };
}
