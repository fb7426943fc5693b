/**
 * `lg-pins mirror`: copy exactly what the lock pins (held releases included), by digest and with
 * every platform, to registry mirrors or an OCI image layout, signatures with them. One image's
 * failure does not stop the others; the exit code is the worst at the end (3 a registry, 4 an
 * integrity failure). `dryRun` asks the destinations what they hold and writes nothing.
 */
import pLimit, { type LimitFunction } from 'p-limit';
import { loadSpec, type LoadOptions } from '../config/load.js';
import { parseSourceRef } from '../config/refs.js';
import type { Spec } from '../config/spec.js';
import { LgPinsError, LockError, RegistryError, UsageError, worstExitCode, type ExitCode } from '../errors.js';
import { readLock } from '../lock/read.js';
import { copyToTarget, type CopyContext, type CopyOutcome, type MirrorEvent } from '../mirror/copy.js';
import { readGraph, type GraphSource } from '../mirror/graph.js';
import { mirrorJobs, type MirrorDestination, type MirrorImage, type MirrorJob, type MirrorTarget } from '../plan/mirror.js';
import { parseMirrorTarget, registryKey } from '../reference.js';
import type { ClientOptions } from '../registry/client.js';
import { RegistryTarget } from '../registry/push.js';
import { LayoutSource, locateLayout } from '../registry/layout.js';
import { LayoutWriter } from '../registry/layout-writer.js';
import type { Target } from '../registry/target.js';
import { dictFrom, own } from '../safe/dict.js';
import { describeNetworkError } from '../transport/request.js';
import { Sources } from './sources.js';

export interface MirrorOptions extends LoadOptions {
  /** `--to`: `host[/prefix]` or `oci-layout://DIR`; default every `registries.<host>.mirrors`. */
  to?: string[];
  /** `--from oci-layout://DIR`: read from a layout written by `mirror --to oci-layout://DIR`. */
  from?: string;
  images?: string[];
  noTags?: boolean;
  dryRun?: boolean;
  client?: ClientOptions;
  /** Progress: totals once known, then bytes, blobs and images as they are done. */
  onEvent?: (e: MirrorEvent | { kind: 'start'; copies: number }) => void;
}

export interface MirrorCopy {
  image: string;
  destination: string;
  /** `complete`: nothing was missing; `copied`: something was; `planned`: a dry run's; `failed`. */
  status: 'complete' | 'copied' | 'planned' | 'failed';
  blobs: number;
  bytes: number;
  manifests: number;
  tags: string[];
  uploaded: number;
  mounted: number;
  signatures: number;
  /** A dry run's detail: what would be copied. */
  plan?: { blobs: Array<{ digest: string; size: number }>; manifests: Array<{ digest: string; mediaType: string; size: number }> };
  exitCode?: ExitCode;
  error?: string;
}

export interface MirrorResult {
  lockFile: string;
  dryRun: boolean;
  copies: MirrorCopy[];
  skipped: Array<{ image: string; why: string }>;
  exitCode: ExitCode;
}

export async function mirror(opts: MirrorOptions = {}): Promise<MirrorResult> {
  const spec = await loadSpec(opts);
  const cwd = opts.cwd ?? process.cwd();
  const lock = await readLock(spec.lockFile);
  if (!lock) throw new LockError(`${spec.lockFile}: there is no lock yet, so nothing is pinned to mirror; run \`lg-pins lock\` first`);
  const to: MirrorTarget[] = [];
  for (const t of opts.to ?? []) {
    const parsed = parseMirrorTarget(t, cwd);
    if (typeof parsed === 'string') throw new UsageError(`--to ${parsed}`);
    to.push(parsed);
  }
  const fromLayout = opts.from === undefined ? undefined : layoutFrom(opts.from, cwd);
  const { jobs, skipped, problems } = mirrorJobs(lock, mirrorImages(spec, lock), { to, only: opts.images, noTags: opts.noTags, cwd });
  if (problems.length) throw new UsageError(problems.join('\n'));
  if (!jobs.length && !to.length)
    throw new UsageError(
      'nothing to mirror to: pass --to host[/prefix] or --to oci-layout://DIR, or list mirrors under registries.<host>.mirrors',
    );

  const sources = Sources.forSpec(spec, opts.client);
  const client =
    jobs.some((j) => j.destinations.some((d) => d.target.kind === 'registry')) || !fromLayout ? await sources.registryClient() : undefined;
  const layouts = new Map<string, LayoutWriter>();
  const limits = new Map<string, LimitFunction>();
  const ctx: CopyContext = {
    transfers: (store) => {
      let l = limits.get(store);
      if (!l) limits.set(store, (l = pLimit(own(spec.registries, registryKey(store))?.concurrency ?? 8)));
      return l;
    },
    ledger: new Map(),
    attempts: Math.max(opts.client?.policy?.attempts ?? 3, 1),
    dryRun: Boolean(opts.dryRun),
    onEvent: opts.onEvent,
  };
  const targetOf = (d: MirrorDestination): Target => {
    if (d.target.kind === 'registry') return new RegistryTarget(client!, d.target.host, d.repository);
    let w = layouts.get(d.target.dir);
    if (!w) layouts.set(d.target.dir, (w = new LayoutWriter(d.target.dir)));
    return w.forRepo(d.repository);
  };
  opts.onEvent?.({ kind: 'start', copies: jobs.reduce((n, j) => n + j.destinations.length, 0) });
  // Enough images at once that blob transfers (limited per store) never wait for an image to start.
  const perImage = pLimit(32);
  try {
    const copies = (
      await Promise.all(
        jobs.map((job) =>
          perImage(async () => {
            const from: GraphSource = fromLayout
              ? { source: fromLayout, repo: job.repository, name: `${fromLayout.name} (${job.repository})` }
              : {
                  source: client!.source(job.registry),
                  repo: job.repository,
                  name: `${job.registry}/${job.repository}`,
                  registry: job.registry,
                };
            return mirrorJob(job, from, targetOf, ctx);
          }),
        ),
      )
    ).flat();
    if (!ctx.dryRun) for (const w of layouts.values()) await w.commit();
    return { lockFile: spec.lockFile, dryRun: ctx.dryRun, copies, skipped, exitCode: worstExitCode(copies.map((c) => c.exitCode ?? 0)) };
  } finally {
    await sources.close();
  }
}

/**
 * One image to each of its destinations. A destination that already has every root (by digest)
 * under its tag is complete without a word to the source (a registry holds a manifest only with
 * everything under it); for a signed image the source is read anyway, for signatures added since.
 */
async function mirrorJob(
  job: MirrorJob,
  from: GraphSource,
  targetOf: (d: MirrorDestination) => Target,
  ctx: CopyContext,
): Promise<MirrorCopy[]> {
  const done = (d: MirrorDestination, copy: MirrorCopy): MirrorCopy => {
    ctx.onEvent?.({ kind: 'image' });
    return copy;
  };
  const targets = job.destinations.map((d) => ({ d, target: targetOf(d) }));
  const complete = job.signatures
    ? targets.map(() => false)
    : await Promise.all(targets.map(({ target }) => holdsRoots(job, target).catch(() => false)));
  const rest = targets.filter((_, i) => !complete[i]);
  const out = targets.filter((_, i) => complete[i]).map(({ d }) => done(d, copied(job, d, NOTHING, ctx.dryRun)));
  if (!rest.length) return out;
  let read: Awaited<ReturnType<typeof readGraph>>;
  try {
    read = await readGraph(from, job.roots, job.signatures);
  } catch (e) {
    return [...out, ...rest.map(({ d }) => done(d, failedCopy(job, d, e)))];
  }
  const copies = await Promise.all(
    rest.map(async ({ d, target }) => {
      try {
        return done(d, copied(job, d, await copyToTarget(job, read.graph, read.referrers, from, target, ctx), ctx.dryRun));
      } catch (e) {
        return done(d, failedCopy(job, d, e));
      }
    }),
  );
  // In the order of the job's destinations.
  return job.destinations.map((d) => [...out, ...copies].find((c) => c.destination === d.name)!);
}

/** Every root is at the target, and every root's tag points at it. */
async function holdsRoots(job: MirrorJob, target: Target): Promise<boolean> {
  const each = await Promise.all(
    job.roots.map(async (r) => (await target.hasManifest(r.digest)) && (!r.tag || (await target.tagDigest(r.tag)) === r.digest)),
  );
  return each.every(Boolean);
}

const NOTHING: CopyOutcome = {
  steps: { blobs: [], manifests: [], putByTag: [], tags: [] },
  totals: { blobs: 0, bytes: 0, manifests: 0, tags: 0 },
  uploaded: 0,
  mounted: 0,
  signatures: 0,
};

function layoutFrom(text: string, cwd: string): LayoutSource {
  const t = parseMirrorTarget(text, cwd);
  if (typeof t === 'string' || t.kind !== 'layout')
    throw new UsageError(
      `--from ${JSON.stringify(text)}: expected oci-layout://DIR, a layout written by \`lg-pins mirror --to oci-layout://DIR\``,
    );
  const found = locateLayout(t.dir);
  if (typeof found === 'string') throw new UsageError(`--from: ${found}`);
  return new LayoutSource(found.dir);
}

/** Each pinned image as `mirrorJobs` needs it: the spec's, or, for an image the spec no longer names, the lock's ref. */
function mirrorImages(spec: Spec, lock: { images: Record<string, { ref: string }> }): Record<string, MirrorImage> {
  return dictFrom<MirrorImage>(
    Object.entries(lock.images).map(([id, entry]): [string, MirrorImage] => {
      const image = own(spec.images, id);
      const source = image?.ref === entry.ref ? image.source : parseSourceRef(entry.ref, spec.dir);
      if (typeof source === 'string' || source.kind !== 'registry') return [id, { cosign: false, mirrors: [] }];
      const { registry, repository } = source.ref;
      const mirrors = own(spec.registries, registryKey(registry))?.mirrors ?? [];
      return [id, { registry, repository, cosign: Boolean(image?.verify?.cosign), mirrors }];
    }),
  );
}

function copied(job: MirrorJob, d: MirrorDestination, o: CopyOutcome, dryRun: boolean): MirrorCopy {
  const nothing = o.totals.blobs === 0 && o.totals.manifests === 0 && o.totals.tags === 0;
  return {
    image: job.image,
    destination: d.name,
    status: dryRun ? 'planned' : nothing ? 'complete' : 'copied',
    blobs: o.totals.blobs,
    bytes: o.totals.bytes,
    manifests: o.totals.manifests,
    tags: o.steps.tags.map((t) => t.tag),
    uploaded: o.uploaded,
    mounted: o.mounted,
    signatures: o.signatures,
    ...(dryRun
      ? {
          plan: {
            blobs: o.steps.blobs.map((b) => ({ digest: b.digest, size: b.size })),
            manifests: [...o.steps.manifests, ...o.steps.putByTag].map((m) => ({
              digest: m.digest,
              mediaType: m.mediaType,
              size: m.bytes.length,
            })),
          },
        }
      : {}),
  };
}

function failedCopy(job: MirrorJob, d: MirrorDestination, e: unknown): MirrorCopy {
  const err = asFailure(e);
  return {
    image: job.image,
    destination: d.name,
    status: 'failed',
    blobs: 0,
    bytes: 0,
    manifests: 0,
    tags: [],
    uploaded: 0,
    mounted: 0,
    signatures: 0,
    exitCode: err.exitCode,
    error: err.message,
  };
}

/** A failure of one copy as data: lg-pins' own errors as they are; a file or socket error is exit 3 (the target or source is unavailable). */
function asFailure(e: unknown): LgPinsError {
  if (e instanceof LgPinsError) return e;
  if (e instanceof Error && (e as NodeJS.ErrnoException).code) return new RegistryError(describeNetworkError(e), { cause: e });
  throw e;
}
