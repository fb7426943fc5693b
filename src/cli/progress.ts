import cliProgress from 'cli-progress';
import type { MirrorOptions } from '../run/mirror.js';
import { formatBytes } from '../safe/limits.js';

/**
 * `mirror`'s progress on a terminal (stderr, redrawn in place by cli-progress): images done, blobs,
 * bytes and the rate. Nothing at all when stderr is not a terminal or with --json. The line holds
 * only lg-pins' own numbers, so it is written to the terminal directly, not through the sanitizer.
 */
export function mirrorProgress(
  stream: NodeJS.WriteStream | undefined,
): { onEvent: NonNullable<MirrorOptions['onEvent']>; stop(): void } | undefined {
  if (!stream?.isTTY) return undefined;
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format: 'mirror {bar} {images} images | {blobs} blobs | {moved} | {rate}',
      hideCursor: true,
      clearOnComplete: true,
      fps: 5,
      barsize: 20,
    },
    cliProgress.Presets.shades_classic,
  );
  const started = Date.now();
  let copies = 0;
  let done = 0;
  let blobs = 0;
  let blobsTotal = 0;
  let bytes = 0;
  let bytesTotal = 0;
  const payload = () => ({
    images: `${done}/${copies}`,
    blobs: `${blobs}/${blobsTotal}`,
    moved: `${formatBytes(bytes)}/${formatBytes(bytesTotal)}`,
    rate: `${formatBytes(Math.round(bytes / Math.max((Date.now() - started) / 1000, 0.001)))}/s`,
  });
  bar.start(1, 0, payload());
  return {
    onEvent(e) {
      if (e.kind === 'start') copies = e.copies;
      else if (e.kind === 'planned') {
        blobsTotal += e.blobs;
        bytesTotal += e.bytes;
      } else if (e.kind === 'bytes') bytes += e.n;
      else if (e.kind === 'blob') blobs++;
      else done++;
      bar.setTotal(Math.max(bytesTotal, 1));
      bar.update(bytesTotal ? bytes : 0, payload());
    },
    stop: () => bar.stop(),
  };
}
