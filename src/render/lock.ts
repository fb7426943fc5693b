import type { LockResult } from '../run/lock.js';
import type { ImageFailure, ImageOutcome } from '../plan/lock-plan.js';
import { failureJson } from './failure.js';
import { outputLines } from './outputs.js';
import { type Output, type Paint, shortDigest } from './paint.js';
import { table } from './table.js';
import { waitingLine } from './diff.js';

/** `lock --json`. */
export function lockJson(r: LockResult): object {
  return {
    lockFile: r.lockFile,
    changed: r.changed,
    written: r.written,
    images: Object.fromEntries(
      Object.entries(r.lock.images).map(([id, i]) => [id, { tag: i.tag, digest: i.digest, platforms: Object.keys(i.platforms) }]),
    ),
    held: Object.entries(r.lock.fleet).flatMap(([g, p]) =>
      Object.entries(p)
        .filter(([, pin]) => pin.held)
        .map(([image, pin]) => ({ group: g, image, tag: pin.tag, reason: pin.held })),
    ),
    waiting: r.waiting,
    failures: r.failures.map(failureJson),
    ...(r.outputs ? { outputs: r.outputs } : {}),
  };
}

/** `lock` for a person: failures and held groups, what was written, then how many failed. `file` is the lock as the user names it. */
export function lockText(r: LockResult, file: string, dryRun: boolean, paint: Paint): Output {
  const notes: string[] = [failureLines(r.failures, paint)];
  for (const [g, p] of Object.entries(r.lock.fleet)) {
    for (const [image, pin] of Object.entries(p))
      if (pin.held) notes.push(`${paint.yellow('held:')} group ${g} stays on ${image} ${pin.tag}: ${pin.held}\n`);
  }
  for (const w of r.waiting) notes.push(`${paint.yellow('waiting:')} ${waitingLine(w, (s) => s)}\n`);
  const rows = Object.entries(r.lock.images).map(([id, i]) => {
    const n = Object.keys(i.platforms).length;
    return [id, i.tag, shortDigest(i.digest), `${n} platform${n === 1 ? '' : 's'}`];
  });
  const verb =
    r.written && r.changed
      ? `wrote ${file}`
      : dryRun && r.changed
        ? `${file} would change (dry run)`
        : r.changed
          ? `${file} not written`
          : r.failures.length
            ? `${file} unchanged`
            : `${file} is up to date`;
  const n = r.failures.length;
  return [
    ['stderr', notes.join('')],
    ['stdout', `${verb}\n${rows.length ? table(rows, '  ') : ''}${outputLines(r.outputs)}`],
    ['stderr', n ? `${n} image${n === 1 ? '' : 's'} failed; ${n === 1 ? 'its' : 'their'} previous pins are kept.\n` : ''],
  ];
}

/** One `error:` line per failed image. */
export function failureLines(failures: readonly ImageFailure[], paint: Paint): string {
  return failures.map((f) => `${paint.red('error:')} ${f.image}: ${f.error.message}\n`).join('');
}

/** The progress line of one image, on a terminal. */
export function progressLine(id: string, out: ImageOutcome, paint: Paint): string {
  return out.ok
    ? `${paint.green('✓')} ${id} ${out.resolution.tag} ${paint.dim(shortDigest(out.resolution.digest))}\n`
    : `${paint.red('✗')} ${id}\n`;
}
