/**
 * The mirror section of `npm run bench`: `lg-pins mirror --to host/prefix` against the wire minimum
 * and a `skopeo copy --all` loop, between two real registries on loopback. One SOURCE registry holds
 * N four-platform images (2 × 4 MiB random layers per platform); every timed copy goes to a FRESH
 * destination registry (empty: no blob to find, nothing a copier could mount from an earlier run).
 * Then `lg-pins mirror` again into the full destination (it should upload nothing), and the peak
 * RSS of `lg-pins mirror` copying one 256 MiB layer.
 */
import { mkdirSync, readFileSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { startRegistry, type TestRegistry } from '../../test/helpers/registry.js';
import { FLEET } from './fill.js';
import { lgPins } from './measure.js';
import { fillBig, fillMirror, sizesOf, totalBytes, type MirrorImage } from './mirror-fill.js';
import {
  countReads,
  countUploads,
  hasMirrorCommand,
  lgPinsMirror,
  mirrorWire,
  observed,
  skopeoCopyLoop,
  verifyCopy,
  writeWirePlan,
  type SourceReads,
  type Upload,
} from './mirror-measure.js';
import { BENCH_OUT, fmtMs, median, runTimed, tail } from './util.js';

/** Images land at `DST/<prefix>/<repository>`: the bench copies under a prefix, as a mirror does. */
const PREFIX = 'mirror';
/** The whole section (fill, lock, rounds, peak memory) should stay under ~4 minutes on 2 cores. */
const BUDGET_MS = 4 * 60_000;

export interface VariantResult {
  /** Wall time of every round (ms). */
  ms: number[];
  median: number;
  /** From the first round's access logs. */
  upload: Upload;
  source: SourceReads;
  /** What the destination was missing after the copy (empty: complete). */
  problems: string[];
}

export type LgPinsState = { state: 'ok' } | { state: 'not available' | 'failed'; why: string };

export interface MirrorRss {
  layerBytes: number;
  /** Undefined when lg-pins mirror did not run (see `why`). */
  lgPinsKiB: number | undefined;
  lgPinsMs: number | undefined;
  wireKiB: number;
  wireMs: number;
  problems: string[];
  why: string | undefined;
}

export interface MirrorReport {
  n: number;
  requestedRounds: number;
  rounds: number;
  concurrency: number;
  prefix: string;
  fillMs: number;
  /** One full copy: bytes, blobs, manifests. */
  copyBytes: number;
  blobs: number;
  manifests: number;
  lgPins: LgPinsState;
  wire: VariantResult;
  first: VariantResult | undefined;
  second: VariantResult | undefined;
  skopeo: VariantResult | undefined;
  rss: MirrorRss;
  durationMs: number;
  notes: string[];
}

export interface MirrorOptions {
  n: number;
  rounds: number;
  concurrency: number;
  skopeo: boolean;
  tmp: string;
  env: NodeJS.ProcessEnv;
  log: (s: string) => void;
}

class Variant {
  ms: number[] = [];
  upload: Upload | undefined;
  source: SourceReads | undefined;
  problems = new Set<string>();

  add(ms: number, upload: Upload, source: SourceReads, problems: readonly string[], notes: string[], name: string): void {
    this.ms.push(ms);
    if (this.upload && (upload.blobBytes !== this.upload.blobBytes || upload.requests !== this.upload.requests))
      notes.push(
        `${name}: round ${this.ms.length} sent ${upload.requests} requests / ${upload.blobBytes} blob bytes, round 1 ${this.upload.requests} / ${this.upload.blobBytes}.`,
      );
    this.upload ??= upload;
    this.source ??= source;
    for (const p of problems) this.problems.add(p);
  }

  result(): VariantResult | undefined {
    if (!this.upload || !this.source) return undefined;
    return { ms: this.ms, median: median(this.ms), upload: this.upload, source: this.source, problems: [...this.problems] };
  }
}

function writeSpec(dir: string, src: TestRegistry, images: readonly MirrorImage[], fleet: object): void {
  mkdirSync(dir, { recursive: true });
  const spec = {
    version: 1,
    images: Object.fromEntries(images.map((img) => [img.id, { ref: `${src.host}/${img.repo}`, tag: img.tag }])),
    fleet,
  };
  writeFileSync(join(dir, 'lg-pins.yaml'), stringify(spec));
}

async function withDestination<T>(work: (dst: TestRegistry) => Promise<T>): Promise<T> {
  const dst = await startRegistry();
  try {
    return await work(dst);
  } finally {
    await dst.stop();
  }
}

const why = (code: number, out: string): string => `exit ${code}: ${tail(out, 3).replace(/\s+/g, ' ').trim()}`;

export async function mirrorBench(o: MirrorOptions): Promise<MirrorReport> {
  const t0 = performance.now();
  const notes: string[] = [];
  const { env, concurrency } = o;
  const src = await startRegistry();
  try {
    const tf = performance.now();
    const images = await fillMirror({ url: src.url }, o.n, concurrency);
    const big = await fillBig({ url: src.url });
    const fillMs = performance.now() - tf;
    const copyBytes = totalBytes(images);
    const sizes = sizesOf([...images, big]);
    o.log(`mirror: filled ${src.host} with ${o.n} images (${(copyBytes / 1e6).toFixed(0)} MB) + one 256 MiB layer in ${fmtMs(fillMs)}`);

    const dir = join(o.tmp, 'mirror');
    const bigDir = join(o.tmp, 'mirror-big');
    writeSpec(dir, src, images, FLEET);
    writeSpec(bigDir, src, [big], { x86: FLEET.x86 });
    await lgPins(['lock'], dir, env);
    await lgPins(['lock'], bigDir, env);

    let lgPinsState: LgPinsState = (await hasMirrorCommand(env, dir))
      ? { state: 'ok' }
      : { state: 'not available', why: 'the built CLI (dist/) has no `mirror` command yet' };
    if (lgPinsState.state !== 'ok') o.log(`mirror: lg-pins mirror ${lgPinsState.state}: ${lgPinsState.why}`);

    const v = { wire: new Variant(), first: new Variant(), second: new Variant(), skopeo: new Variant() };
    let rounds = o.rounds;
    for (let r = 0; r < rounds; r++) {
      const tr = performance.now();
      const line: string[] = [];

      await withDestination(async (dst) => {
        const plan = join(o.tmp, 'mirror-wire-plan.json');
        writeWirePlan(plan, src, dst, PREFIX, images);
        const run = await observed(src, dst, () => mirrorWire(plan, concurrency, env));
        const problems = await verifyCopy(dst, PREFIX, images, concurrency);
        if (problems.length) throw new Error(`the wire-minimum copy is incomplete:\n${problems.join('\n')}`);
        v.wire.add(run.value.ms, countUploads(run.dst, sizes), countReads(run.src), problems, notes, 'wire minimum');
        line.push(`wire ${fmtMs(run.value.ms)}`);
      });

      if (lgPinsState.state === 'ok') {
        lgPinsState = await withDestination(async (dst): Promise<LgPinsState> => {
          const to = `${dst.host}/${PREFIX}`;
          const first = await observed(src, dst, () => lgPinsMirror(dir, to, env));
          if (first.value.code !== 0) {
            const out = first.value.stderr || first.value.stdout;
            return { state: /unknown command/i.test(out) ? 'not available' : 'failed', why: why(first.value.code, out) };
          }
          const problems = await verifyCopy(dst, PREFIX, images, concurrency);
          v.first.add(first.value.ms, countUploads(first.dst, sizes), countReads(first.src), problems, notes, 'lg-pins mirror');
          const second = await observed(src, dst, () => lgPinsMirror(dir, to, env));
          if (second.value.code !== 0) return { state: 'failed', why: `second run ${why(second.value.code, second.value.stderr)}` };
          v.second.add(second.value.ms, countUploads(second.dst, sizes), countReads(second.src), [], notes, 'second run');
          line.push(`lg-pins ${fmtMs(first.value.ms)}${problems.length ? ' (INCOMPLETE)' : ''}, second ${fmtMs(second.value.ms)}`);
          return { state: 'ok' };
        });
        if (lgPinsState.state !== 'ok') o.log(`mirror: lg-pins mirror ${lgPinsState.state}: ${lgPinsState.why}`);
      }

      if (o.skopeo) {
        await withDestination(async (dst) => {
          const run = await observed(src, dst, () => skopeoCopyLoop(src, dst, PREFIX, images, concurrency, env));
          const problems = await verifyCopy(dst, PREFIX, images, concurrency);
          v.skopeo.add(run.value, countUploads(run.dst, sizes), countReads(run.src), problems, notes, 'skopeo loop');
          line.push(`skopeo ${fmtMs(run.value)}`);
        });
      }

      const roundMs = performance.now() - tr;
      o.log(`mirror: round ${r + 1}/${rounds}: ${line.join(', ')}`);
      if (r === 0 && rounds > 1) {
        const reserve = 30_000; // the 256 MiB run and the report
        const fit = 1 + Math.floor((BUDGET_MS - (performance.now() - t0) - reserve) / roundMs);
        if (fit < rounds) {
          rounds = Math.max(1, fit);
          notes.push(`${rounds} round${rounds === 1 ? '' : 's'} instead of ${o.rounds}, to keep the mirror section under ~4 minutes.`);
        }
      }
    }

    o.log('mirror: peak RSS copying one 256 MiB layer …');
    const rss = await measureRss(src, big, bigDir, lgPinsState, o);

    const wire = v.wire.result();
    if (!wire) throw new Error('the wire minimum never ran');
    return {
      n: o.n,
      requestedRounds: o.rounds,
      rounds,
      concurrency,
      prefix: PREFIX,
      fillMs,
      copyBytes,
      blobs: images.reduce((s, img) => s + img.blobs.length, 0),
      manifests: images.reduce((s, img) => s + 1 + img.manifests.length, 0),
      lgPins: lgPinsState,
      wire,
      first: v.first.result(),
      second: v.second.result(),
      skopeo: v.skopeo.result(),
      rss,
      durationMs: performance.now() - t0,
      notes,
    };
  } finally {
    await src.stop();
  }
}

/** Peak RSS of `lg-pins mirror` (through rss.js, which imports the built CLI) and of the wire client, copying `big`. */
async function measureRss(src: TestRegistry, big: MirrorImage, dir: string, state: LgPinsState, o: MirrorOptions): Promise<MirrorRss> {
  const layerBytes = Math.max(...big.blobs.map((b) => b.size));
  const wire = await withDestination(async (dst) => {
    const plan = join(o.tmp, 'mirror-wire-big.json');
    writeWirePlan(plan, src, dst, PREFIX, [big]);
    return mirrorWire(plan, o.concurrency, o.env);
  });
  const base = { layerBytes, wireKiB: wire.maxRSSKiB, wireMs: wire.ms };
  if (state.state !== 'ok')
    return { ...base, lgPinsKiB: undefined, lgPinsMs: undefined, problems: [], why: `lg-pins mirror ${state.state}` };
  return withDestination(async (dst) => {
    const out = join(o.tmp, 'mirror-rss.json');
    const res = await runTimed(process.execPath, [`${BENCH_OUT}rss.js`, out, 'mirror', '--to', `${dst.host}/${PREFIX}`], {
      cwd: dir,
      env: o.env,
    });
    if (res.code !== 0 || !existsSync(out))
      return {
        ...base,
        lgPinsKiB: undefined,
        lgPinsMs: undefined,
        problems: [],
        why: `lg-pins mirror ${why(res.code, res.stderr || res.stdout)}`,
      };
    const problems = await verifyCopy(dst, PREFIX, [big], o.concurrency);
    const { maxRSSKiB } = JSON.parse(readFileSync(out, 'utf8')) as { maxRSSKiB: number };
    return { ...base, lgPinsKiB: maxRSSKiB, lgPinsMs: res.ms, problems, why: undefined };
  });
}
