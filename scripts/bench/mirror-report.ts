/**
 * The "Mirror" section of the Markdown report: setup, one row per variant, the targets with
 * PASS/FAIL/SKIP, the peak memory, every round.
 */
import type { MirrorReport, VariantResult } from './mirror.js';
import type { Upload } from './mirror-measure.js';
import { fmtMs, fmtRatio } from './util.js';

type Result = 'PASS' | 'FAIL' | 'SKIP';

const row = (cells: Array<string | number>): string => `| ${cells.join(' | ')} |`;
const mb = (bytes: number): string => `${(bytes / 1e6).toFixed(1)} MB`;
const kibMb = (kib: number): string => mb(kib * 1024);
const mib = (bytes: number): string => `${Math.round(bytes / 2 ** 20)} MiB`;

function fmtUpload(u: Upload): string {
  const parts = [`${u.blobs} blobs, ${mb(u.blobBytes)}`, `${u.manifests} manifests, ${(u.manifestBytes / 1e3).toFixed(1)} kB`];
  if (u.mounts) parts.push(`${u.mounts} mount attempts`);
  if (u.unfinished) parts.push(`${u.unfinished} uploads never completed`);
  if (u.unknown) parts.push(`${u.unknown} of unknown size`);
  if (u.errors) parts.push(`**${u.errors} error answers**`);
  return parts.join('; ');
}

const fmtRequests = (u: Upload): string =>
  `${u.requests} (${Object.entries(u.byMethod)
    .sort((a, b) => b[1] - a[1])
    .map(([m, c]) => `${m} ${c}`)
    .join(', ')})`;

function lgPinsWhy(m: MirrorReport): string {
  return m.lgPins.state === 'ok' ? 'not measured' : `lg-pins mirror ${m.lgPins.state} (${m.lgPins.why})`;
}

function targets(m: MirrorReport, skopeoNote: string): Array<{ target: string; measured: string; result: Result }> {
  const skip = (target: string, measured: string) => ({ target, measured, result: 'SKIP' as const });
  const { first, second, wire, skopeo, rss } = m;
  const out: Array<{ target: string; measured: string; result: Result }> = [];
  const t1 = 'lg-pins mirror ≤ 1.2× the wire minimum';
  out.push(
    first
      ? {
          target: t1,
          measured: `${fmtMs(first.median)} vs ${fmtMs(wire.median)} = ${fmtRatio(first.median / wire.median)}`,
          result: first.median <= 1.2 * wire.median ? 'PASS' : 'FAIL',
        }
      : skip(t1, lgPinsWhy(m)),
  );
  const t2 = 'lg-pins mirror beats the skopeo loop';
  out.push(
    !first
      ? skip(t2, lgPinsWhy(m))
      : !skopeo
        ? skip(t2, skopeoNote)
        : {
            target: t2,
            measured: `${fmtMs(first.median)} vs ${fmtMs(skopeo.median)} = ${fmtRatio(first.median / skopeo.median)} its time`,
            result: first.median < skopeo.median ? 'PASS' : 'FAIL',
          },
  );
  const t3 = 'Second run ≤ 0.2× the first';
  out.push(
    first && second
      ? {
          target: t3,
          measured: `${fmtMs(second.median)} vs ${fmtMs(first.median)} = ${fmtRatio(second.median / first.median)}`,
          result: second.median <= 0.2 * first.median ? 'PASS' : 'FAIL',
        }
      : skip(t3, lgPinsWhy(m)),
  );
  const t4 = 'Second run uploads nothing (no blob upload, no manifest PUT)';
  out.push(
    second
      ? {
          target: t4,
          measured: fmtUpload(second.upload),
          result: second.upload.blobs + second.upload.manifests + second.upload.unfinished === 0 ? 'PASS' : 'FAIL',
        }
      : skip(t4, lgPinsWhy(m)),
  );
  const t5 = `Peak RSS < 150 MB copying a ${mib(rss.layerBytes)} layer`;
  out.push(
    rss.lgPinsKiB !== undefined
      ? {
          target: t5,
          measured: `${kibMb(rss.lgPinsKiB)} (the wire client: ${kibMb(rss.wireKiB)})`,
          result: rss.lgPinsKiB * 1024 < 150e6 ? 'PASS' : 'FAIL',
        }
      : skip(t5, rss.why ?? 'not measured'),
  );
  const t6 = 'The copy is complete: every index, platform manifest and blob by digest, every tag → its index';
  const problems = [...(first?.problems ?? []), ...rss.problems];
  out.push(
    first
      ? {
          target: t6,
          measured: problems.length
            ? `**missing at the destination:** ${problems.join('; ')}`
            : `all present (${m.rounds} copies + the 256 MiB one)`,
          result: problems.length ? 'FAIL' : 'PASS',
        }
      : skip(t6, lgPinsWhy(m)),
  );
  return out;
}

export function renderMirror(m: MirrorReport, skopeoNote: string): string[] {
  const L: string[] = [];
  L.push('## Mirror', '');
  L.push('### Setup', '');
  L.push(
    `- Two real registries (Debian \`docker-registry\`) on 127.0.0.1. The SOURCE holds N=${m.n} images \`bench/m<i>:t<i>\`, each an OCI index of the four platforms (linux/amd64, linux/arm64/v8, linux/arm/v7, linux/riscv64), each platform a small config and two layers of 4 MiB random bytes (incompressible, distinct per image and platform; a level-0 gzip of a one-file tar): ${m.blobs} blobs + ${m.manifests} manifests = ${mb(m.copyBytes)} per copy; filled (with the 256 MiB image below) in ${fmtMs(m.fillMs)}, untimed.`,
    `- The spec: \`img<i>: { ref: 127.0.0.1:SRC/bench/m<i>, tag: t<i> }\`, the same fleet of 4 groups; \`lg-pins lock\` run once, untimed. Copies go to \`127.0.0.1:DST/${m.prefix}/bench/m<i>\`.`,
    '- Every first copy goes to a FRESH destination registry (empty, started for that run, so nothing can be found or mounted from an earlier one). Times are wall time of a fresh process (startup included), the median of the rounds.',
    '- **lg-pins mirror** = `node bin/lg-pins.js mirror --to 127.0.0.1:DST/' +
      `${m.prefix}\` in the spec directory; **second run** = the same again right after, into the now complete destination.`,
    `- **wire minimum** = a bare Node process (undici, keep-alive): GET each index and its platform manifests, then each blob once, ${m.concurrency} at a time (POST an upload at the destination, GET at the source, PUT the streamed body with ?digest=), then the platform manifests by digest and each index by its tag (one PUT stores and tags it), ${m.concurrency} images at a time. No existence checks, no hashing of its own.`,
    `- **skopeo loop** = \`skopeo copy --all --src-tls-verify=false --dest-tls-verify=false docker://SRC/bench/m<i>:t<i> docker://DST/${m.prefix}/bench/m<i>:t<i>\`, ${m.concurrency} at a time.`,
    "- **uploaded** is read from the destination's access log. Its combined format records the response size only, not the request body's, so bytes are summed from what each completed upload names: a blob upload's final `PUT …?digest=` (201) counts that blob's size, a manifest PUT (201) that manifest's size (sizes known from the fill). **destination requests** counts every request there; **source GETs** counts manifest / blob GETs at the source.",
    '- Every copy is checked after the run: HEAD of every index, platform manifest and blob by digest and of every tag (its Docker-Content-Digest must be the index) at the destination.',
    '',
  );

  L.push('### Results', '');
  L.push(
    row([
      'variant',
      'rounds',
      'wall time',
      '÷ wire min',
      '÷ skopeo loop',
      'uploaded',
      'destination requests',
      'source GETs (manifest / blob)',
    ]),
  );
  L.push(row(['---', '---:', '---:', '---:', '---:', '---', '---', '---:']));
  const line = (name: string, v: VariantResult | undefined, missing: string, of?: VariantResult): void => {
    if (!v) {
      L.push(row([name, 0, missing, '', '', '', '', '']));
      return;
    }
    L.push(
      row([
        name,
        v.ms.length,
        `${fmtMs(v.median)}${of ? ` (${fmtRatio(v.median / of.median)} the first)` : ''}`,
        of ? '' : fmtRatio(v.median / m.wire.median),
        of ? '' : m.skopeo ? fmtRatio(v.median / m.skopeo.median) : 'n/a',
        fmtUpload(v.upload),
        fmtRequests(v.upload),
        `${v.source.manifestGET} / ${v.source.blobGET}${v.source.other ? ` (+${v.source.other})` : ''}`,
      ]),
    );
  };
  line('lg-pins mirror', m.first, lgPinsWhy(m));
  line('second run', m.second, lgPinsWhy(m), m.first);
  line('wire minimum', m.wire, '');
  line('skopeo loop', m.skopeo, skopeoNote);
  L.push('');

  L.push('### Targets', '');
  L.push(row(['target', 'measured', 'result']), row(['---', '---', '---']));
  for (const t of targets(m, skopeoNote)) L.push(row([t.target, t.measured, `**${t.result}**`]));
  L.push('');

  const r = m.rss;
  L.push(
    `Peak memory: one image \`bench/big:big\` (linux/amd64 only, its spec's fleet one x86_64 group), one layer of ${mib(r.layerBytes)} (${mb(r.layerBytes)}), copied into a fresh destination. ` +
      (r.lgPinsKiB !== undefined
        ? `lg-pins mirror (through rss.js, which imports dist/cli/main.js and reads its peak RSS, VmHWM in /proc/self/status, at the end) ${kibMb(r.lgPinsKiB)} max RSS, ${fmtMs(r.lgPinsMs ?? Number.NaN)}; `
        : `lg-pins mirror not measured (${r.why ?? 'unknown'}); `) +
      `the wire client ${kibMb(r.wireKiB)}, ${fmtMs(r.wireMs)}.`,
    '',
  );

  L.push('### Rounds (ms)', '');
  L.push(row(['variant', 'every round']), row(['---', '---']));
  for (const [name, v] of [
    ['lg-pins mirror', m.first],
    ['second run', m.second],
    ['wire minimum', m.wire],
    ['skopeo loop', m.skopeo],
  ] as const) {
    if (v) L.push(row([name, v.ms.map((x) => Math.round(x)).join(', ')]));
  }
  L.push('');
  return L;
}
