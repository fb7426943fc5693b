/**
 * Apply one image's copy to one target: ask the target what it holds (manifests from the top down,
 * then the blobs of what is missing, then the tags), let the planner decide the steps, and carry
 * them out: blobs streamed from the source through its digest check (a cross-repository mount
 * when the store already has the blob), then the manifests children first, then the signature
 * tags, then the image's tags. A blob that fails its check stops the image before any manifest.
 */
import type { LimitFunction } from 'p-limit';
import { computeDigest, type Digest } from '../digest.js';
import { IntegrityError, LgPinsError, RegistryError } from '../errors.js';
import {
  blobsToAsk,
  copySteps,
  manifestsToAsk,
  mergeReferrers,
  stepTotals,
  type CopySteps,
  type ImageGraph,
  type ManifestNode,
  type MirrorJob,
} from '../plan/mirror.js';
import type { Descriptor } from '../registry/manifest.js';
import type { Target } from '../registry/target.js';
import { describeNetworkError } from '../transport/request.js';
import { signatureTag } from '../trust/store.js';
import type { GraphSource, ReferrersBySubject } from './graph.js';

export type MirrorEvent =
  { kind: 'planned'; blobs: number; bytes: number } | { kind: 'bytes'; n: number } | { kind: 'blob' } | { kind: 'image' };

/** What the images of one run share: a transfer limit per store, and which blobs each store has. */
export interface CopyContext {
  /** Blob transfers at once into one store (registry host or layout). */
  transfers(store: string): LimitFunction;
  /** `store\0digest` → the repository that has (or is getting) it, and whether it got there. */
  ledger: Map<string, { repo: string; done: Promise<boolean> }>;
  /** Tries per blob (a broken upload starts over: its session cannot be resumed). */
  attempts: number;
  dryRun: boolean;
  onEvent?: (e: MirrorEvent) => void;
}

export interface CopyOutcome {
  steps: CopySteps;
  totals: ReturnType<typeof stepTotals>;
  uploaded: number;
  mounted: number;
  /** Signature manifests among those put or already there. */
  signatures: number;
}

export async function copyToTarget(
  job: MirrorJob,
  graph: ImageGraph,
  referrers: ReferrersBySubject,
  from: GraphSource,
  target: Target,
  ctx: CopyContext,
): Promise<CopyOutcome> {
  const manifests = new Map<Digest, boolean>();
  for (let ask = manifestsToAsk(graph, manifests); ask.length; ask = manifestsToAsk(graph, manifests)) {
    const found = await Promise.all(ask.map((d) => target.hasManifest(d)));
    ask.forEach((d, i) => manifests.set(d, found[i]!));
  }
  // A blob is asked for just before its copy (in its transfer slot), so uploads start at once; a
  // dry run asks for every one now, to list only what is missing.
  const blobs = new Map<Digest, boolean>();
  if (ctx.dryRun) await Promise.all(blobsToAsk(graph, manifests).map(async (b) => blobs.set(b.digest, await target.hasBlob(b))));
  // A tag can point at its manifest already only when that manifest is there.
  const tags = new Map<string, Digest>();
  await Promise.all(
    graph.tags
      .filter((t) => manifests.get(t.digest) === true)
      .map(async (t) => {
        const now = await target.tagDigest(t.tag);
        if (now) tags.set(t.tag, now);
      }),
  );
  // A referrers fallback index the mirror holds that already lists every referrer of the source's
  // (an earlier run merged the two): complete as it is, so it is neither put again nor replaced.
  await Promise.all(
    graph.tags
      .filter((t) => isFallbackTag(graph, t.tag) && manifests.get(t.digest) === false)
      .map(async (t) => {
        const node = nodeOf(graph, t.digest);
        if (!node.manifests.every((c) => manifests.get(c) === true)) return;
        const there = await target.readManifest(t.tag);
        if (!there || computeDigest(mergeReferrers(node.bytes, there.bytes)) !== there.digest) return;
        manifests.set(t.digest, true);
        tags.set(t.tag, t.digest);
      }),
  );
  const steps = copySteps(graph, { manifests, blobs, tags });
  const signatureDigests = new Set(graph.tags.filter((t) => t.signature).map((t) => t.digest));
  const outcome: CopyOutcome = { steps, totals: stepTotals(steps), uploaded: 0, mounted: 0, signatures: signatureDigests.size };
  if (ctx.dryRun) return outcome;
  ctx.onEvent?.({ kind: 'planned', blobs: steps.blobs.length, bytes: steps.blobs.reduce((n, b) => n + b.size, 0) });

  let failed: unknown;
  const present = new Set<Digest>();
  await Promise.all(
    steps.blobs.map(async (b) => {
      try {
        if (failed) return;
        const how = await placeBlob(b, job, from, target, ctx, () => failed !== undefined);
        if (how === 'uploaded') outcome.uploaded++;
        if (how === 'mounted') outcome.mounted++;
        if (how === 'present') {
          present.add(b.digest);
          ctx.onEvent?.({ kind: 'planned', blobs: -1, bytes: -b.size });
        } else ctx.onEvent?.({ kind: 'blob' });
      } catch (e) {
        // An integrity failure is the verdict to report over a network one.
        if (!failed || (e instanceof IntegrityError && !(failed instanceof IntegrityError))) failed = e;
      }
    }),
  );
  if (failed) throw failed;
  // What was copied: the blobs found there after all are not counted.
  outcome.steps = { ...steps, blobs: steps.blobs.filter((b) => !present.has(b.digest)) };
  outcome.totals = stepTotals(outcome.steps);

  const holdsReferrers = new Set<Digest>();
  // Siblings at once; each manifest once everything it references that is being put is in.
  const putting = new Map<Digest, Promise<void>>();
  for (const m of steps.manifests) {
    const children = m.manifests.map((c) => putting.get(c)).filter((p): p is Promise<void> => p !== undefined);
    putting.set(
      m.digest,
      Promise.all(children).then(async () => {
        const put = await target.putManifest(m);
        if (!put.subjectIndexed) holdsReferrers.add(m.digest);
      }),
    );
  }
  await settleAll([...putting.values()]);
  for (const root of job.roots)
    if (!root.tag)
      target.keep?.({
        digest: root.digest,
        mediaType: nodeOf(graph, root.digest).mediaType,
        size: nodeOf(graph, root.digest).bytes.length,
      });
  await indexReferrers(referrers, holdsReferrers, target);
  for (const t of steps.tags) {
    const node = nodeOf(graph, t.digest);
    if (isFallbackTag(graph, t.tag)) {
      // A referrers fallback index the mirror already has: keep what only the mirror lists.
      const there = await target.readManifest(t.tag);
      const bytes = mergeReferrers(node.bytes, there?.bytes);
      await target.putManifest({ digest: computeDigest(bytes), mediaType: node.mediaType, bytes }, t.tag);
    } else {
      await target.putManifest(node, t.tag);
    }
  }
  return outcome;
}

/** Wait for every promise, then throw the first failure (none is left running unobserved). */
async function settleAll(all: Array<Promise<unknown>>): Promise<void> {
  const failed = (await Promise.allSettled(all)).find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

/** A referrers fallback index's tag (`sha256-<hex>`), as opposed to a `.sig` tag or an image tag. */
function isFallbackTag(graph: ImageGraph, tag: string): boolean {
  return !tag.endsWith('.sig') && graph.tags.some((g) => g.tag === tag && g.signature);
}

function nodeOf(graph: ImageGraph, d: Digest): ManifestNode {
  const n = graph.nodes.get(d);
  if (!n) throw new Error(`internal: ${d} is not in the image's graph`);
  return n;
}

/**
 * Referrers the source listed through its API, at a target that did not index their subjects
 * itself (no OCI-Subject): kept in the `sha256-<hex>` fallback index, merged with what is there.
 */
async function indexReferrers(referrers: ReferrersBySubject, unindexed: Set<Digest>, target: Target): Promise<void> {
  for (const [subject, list] of referrers) {
    if (!list.some((d) => unindexed.has(d.digest))) continue;
    const tag = signatureTag(subject, '');
    const mine = new Uint8Array(
      Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: list })),
    );
    const there = await target.readManifest(tag);
    const bytes = mergeReferrers(mine, there?.bytes);
    await target.putManifest({ digest: computeDigest(bytes), mediaType: 'application/vnd.oci.image.index.v1+json', bytes }, tag);
  }
}

/**
 * Get one blob into the target, once per store: wait for a copy of it already under way into the
 * same store (then mount it from that repository), mount it from the source repository when the
 * source is the same registry, or stream it, with a fresh upload for each try.
 */
async function placeBlob(
  b: Descriptor,
  job: MirrorJob,
  from: GraphSource,
  target: Target,
  ctx: CopyContext,
  cancelled: () => boolean,
): Promise<'present' | 'mounted' | 'uploaded'> {
  const key = `${target.store}\u0000${b.digest}`;
  const earlier = ctx.ledger.get(key);
  if (earlier && (await earlier.done)) {
    if (earlier.repo === target.repo) return 'present';
    if (await target.mountBlob(b, earlier.repo)) return 'mounted';
  }
  // The whole placement in one transfer slot: ask, then mount or stream (with its tries).
  const done = ctx.transfers(target.store)(async (): Promise<'present' | 'mounted' | 'uploaded'> => {
    if (cancelled()) throw new Cancelled();
    if (await target.hasBlob(b)) return 'present';
    if (from.registry === target.store && from.repo !== target.repo && (await target.mountBlob(b, from.repo))) return 'mounted';
    return upload();
  });
  async function upload(): Promise<'uploaded'> {
    for (let attempt = 1; ; attempt++) {
      let sent = 0;
      let reading: unknown;
      try {
        if (attempt > 1 && cancelled()) throw new Cancelled();
        await target.writeBlob(b, async () => {
          if (!from.source.openBlob) throw new RegistryError(`${from.name} cannot stream blobs`, { registry: from.name });
          const stream = await from.source.openBlob(from.repo, b, (n) => {
            sent += n;
            ctx.onEvent?.({ kind: 'bytes', n });
          });
          stream.once('error', (e) => (reading ??= e));
          return stream;
        });
        return 'uploaded';
      } catch (caught) {
        if (sent) ctx.onEvent?.({ kind: 'bytes', n: -sent });
        // The source's stream broke under the upload: say so, rather than blame the target.
        const e =
          reading && !(reading instanceof LgPinsError)
            ? new RegistryError(`${from.name}: reading blob ${b.digest} failed (${describeNetworkError(reading)})`, {
                registry: from.name,
                unreachable: true,
                cause: reading,
              })
            : reading instanceof IntegrityError
              ? reading
              : caught;
        if (e instanceof Cancelled || !retriable(e) || attempt >= ctx.attempts || cancelled()) throw e;
      }
    }
  }
  ctx.ledger.set(key, {
    repo: target.repo,
    done: done.then(
      () => true,
      () => false,
    ),
  });
  return done;
}

/** A try that may go better next time: the network, or a registry's 5xx/429; never an integrity verdict or a refusal. */
function retriable(e: unknown): boolean {
  if (e instanceof IntegrityError) return false;
  if (e instanceof RegistryError) return e.unreachable || e.status === undefined || e.status >= 500 || e.status === 429;
  return !(e instanceof LgPinsError);
}

class Cancelled extends Error {
  constructor() {
    super('another blob of this image failed');
  }
}
