import type { InspectResult } from '../run/inspect.js';
import { table } from './table.js';

/** `inspect --json`. */
export function inspectJson(r: InspectResult): object {
  return {
    reference: r.reference,
    digest: r.digest,
    mediaType: r.mediaType,
    size: r.size,
    platforms: r.platforms.map((p) => ({ platform: p.key, digest: p.digest, mediaType: p.mediaType, size: p.size })),
  };
}

/** `inspect`: the index, then a table of its platforms. */
export function inspectText(r: InspectResult): string {
  const head = `${r.reference}\n  digest     ${r.digest}\n  mediaType  ${r.mediaType}\n  size       ${r.size}\n  platforms  ${r.platforms.length}\n`;
  const rows = [['PLATFORM', 'DIGEST', 'MEDIA TYPE', 'SIZE'], ...r.platforms.map((p) => [p.key, p.digest, p.mediaType, String(p.size)])];
  return `${head}\n${table(rows, '  ')}`;
}
