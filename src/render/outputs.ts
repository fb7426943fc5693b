import type { OutputReport } from '../run/outputs.js';
import type { RenderResult } from '../run/render.js';

/** Lines naming what happened to each deploy output (paths relative to the spec). */
export function outputLines(o: OutputReport | undefined): string {
  if (!o) return '';
  return [...o.written.map((p) => `wrote ${p}\n`), ...o.removed.map((p) => `removed ${p} (no longer an output)\n`)].join('');
}

/** `render`: what was written and removed, or that every output is up to date. */
export function renderText(r: RenderResult): string {
  const lines = outputLines(r.outputs);
  const unchanged = r.outputs.unchanged.length;
  const rest = unchanged ? `${unchanged} output${unchanged === 1 ? '' : 's'} already up to date\n` : '';
  if (!lines && !r.outputs.unchanged.length) return 'the spec has no outputs; nothing to render\n';
  return `${lines}${rest}`;
}

export function renderJson(r: RenderResult): object {
  return { lockFile: r.lockFile, lockChanged: r.lockChanged, ...r.outputs };
}
