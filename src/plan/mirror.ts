/**
 * `lg-pins mirror`, pure: which content each pinned image needs at each destination (`mirrorJobs`),
 * and, given what a destination already holds, what to upload and in which order (`copySteps`:
 * children before the manifests that reference them, nothing present twice). No I/O: the engine
 * in `mirror/` reads the graphs and the destinations' presence and applies the steps.
 */
import type { Digest } from '../digest.js';
import type { Lock } from '../lock/model.js';
import { parseMirrorTarget, targetName, type MirrorTarget } from '../reference.js';

export type { MirrorTarget };
import { own } from '../safe/dict.js';
import type { Descriptor } from '../registry/manifest.js';

/** A manifest to copy with everything under it: the pinned index (with its tag) or a held release's. */
export interface MirrorRoot {
  digest: Digest;
  /** The tag to point at it once copied; absent for held releases and with `--no-tags`. */
  tag?: string;
  /** For messages: `v3.1.0 index`, `v3.0.2 (held by edge)`. */
  what: string;
}

export interface MirrorDestination {
  target: MirrorTarget;
  /** The repository path at the destination: `[prefix/]<repository path>`. */
  repository: string;
  /** For messages: `host/prefix/repository` or `oci-layout://DIR (repository)`. */
  name: string;
}

export interface MirrorJob {
  image: string;
  /** Where the content is read from (the image's registry, unless `--from` names a layout). */
  registry: string;
  repository: string;
  roots: MirrorRoot[];
  /** Copy the signatures too (`verify.cosign` is set). */
  signatures: boolean;
  destinations: MirrorDestination[];
}

/** What `mirrorJobs` needs to know of a spec image. */
export interface MirrorImage {
  /** Undefined for an image that is not read from a registry (an OCI layout): nothing to mirror. */
  registry?: string;
  repository?: string;
  cosign: boolean;
  /** `registries.<host>.mirrors` of its registry. */
  mirrors: readonly string[];
}

export interface MirrorSelection {
  /** Explicit destinations (`--to`); when empty, each image's registry's `mirrors`. */
  to: readonly MirrorTarget[];
  /** `--image`: only these image ids. */
  only?: readonly string[];
  noTags?: boolean;
  cwd: string;
}

/**
 * Per pinned image of the lock (held releases included), what to copy where. Images the spec no
 * longer names, or that are not read from a registry, are skipped with a reason; `--image` ids the
 * lock does not pin and mirrors that do not parse are problems (a usage error).
 */
export function mirrorJobs(
  lock: Lock,
  images: Readonly<Record<string, MirrorImage>>,
  sel: MirrorSelection,
): { jobs: MirrorJob[]; skipped: Array<{ image: string; why: string }>; problems: string[] } {
  const jobs: MirrorJob[] = [];
  const skipped: Array<{ image: string; why: string }> = [];
  const problems: string[] = [];
  for (const id of sel.only ?? []) if (!own(lock.images, id)) problems.push(`--image ${id}: the lock pins no image ${JSON.stringify(id)}`);
  const wanted = sel.only ? new Set(sel.only) : undefined;
  for (const id of Object.keys(lock.images).sort()) {
    if (wanted && !wanted.has(id)) continue;
    const entry = lock.images[id]!;
    const image = own(images, id);
    if (!image?.registry || !image.repository) {
      skipped.push({ image: id, why: image ? 'it is read from an OCI layout, not a registry' : 'the spec no longer names it' });
      continue;
    }
    let targets: MirrorTarget[] = [...sel.to];
    if (!targets.length) {
      for (const m of image.mirrors) {
        const t = parseMirrorTarget(m, sel.cwd);
        if (typeof t === 'string') problems.push(`registries.${image.registry}.mirrors: ${t}`);
        else targets.push(t);
      }
    }
    if (!targets.length) {
      skipped.push({ image: id, why: `no --to, and registries.${image.registry}.mirrors lists none` });
      continue;
    }
    targets = dedupeTargets(targets);
    const repository = image.repository;
    const roots: MirrorRoot[] = [{ digest: entry.digest, ...(sel.noTags ? {} : { tag: entry.tag }), what: `${entry.tag} index` }];
    for (const [group, pins] of Object.entries(lock.fleet).sort(([a], [b]) => a.localeCompare(b))) {
      const pin = own(pins, id);
      if (!pin?.held) continue;
      // A held pin records its release's index; an older lock only the platform digest it runs.
      const digest = pin.index ?? pin.digest;
      if (roots.some((r) => r.digest === digest)) continue;
      roots.push({ digest, what: `${pin.tag ?? 'a release'} (held by ${group})` });
    }
    jobs.push({
      image: id,
      registry: image.registry,
      repository,
      roots,
      signatures: image.cosign,
      destinations: targets.map((target) => destinationOf(target, repository)),
    });
  }
  return { jobs, skipped, problems };
}

function dedupeTargets(targets: MirrorTarget[]): MirrorTarget[] {
  const seen = new Set<string>();
  return targets.filter((t) => {
    const k = targetName(t);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

function destinationOf(target: MirrorTarget, repository: string): MirrorDestination {
  if (target.kind === 'layout') return { target, repository, name: `oci-layout://${target.dir} (${repository})` };
  const repo = target.prefix ? `${target.prefix}/${repository}` : repository;
  return { target, repository: repo, name: `${target.host}/${repo}` };
}

/** A manifest of an image's graph, as read from the source (bytes exact, digest verified). */
export interface ManifestNode {
  digest: Digest;
  mediaType: string;
  bytes: Uint8Array;
  /** Manifests it references (an index's entries; a referrers fallback index's referrers). */
  manifests: Digest[];
  /** Blobs it references (an image manifest's config and layers). */
  blobs: Descriptor[];
}

/** Something to put under a tag once its manifest is in: a pinned tag or a signature store tag. */
export interface TagStep {
  tag: string;
  digest: Digest;
}

/** Everything one image copies: its manifests and the tags that point into them. */
export interface ImageGraph {
  nodes: ReadonlyMap<Digest, ManifestNode>;
  /** Manifests to copy with their subtrees, in order: the roots, then signature artifacts. */
  tops: Digest[];
  /** Image tags (pinned) and signature tags (`sha256-<hex>.sig`, the referrers fallback index). */
  tags: Array<TagStep & { signature: boolean }>;
}

/** What a destination holds, as far as it was asked: a manifest not in `manifests` was not asked (its parent is there). */
export interface Presence {
  manifests: ReadonlyMap<Digest, boolean>;
  blobs: ReadonlyMap<Digest, boolean>;
  /** What each tag of `graph.tags` points at now (absent: no such tag). */
  tags: ReadonlyMap<string, Digest>;
}

export interface CopySteps {
  /** Blobs to upload, each once, in first-needed order. */
  blobs: Descriptor[];
  /** Manifests to put by digest, every one after everything it references. */
  manifests: ManifestNode[];
  /** Tags to point, in order (signature tags first); a manifest not yet there is put with its tag. */
  tags: TagStep[];
  /** The manifests not yet there that are put with their tag (included in `tags`, not in `manifests`). */
  putByTag: ManifestNode[];
}

/**
 * What to copy, given what is there: a manifest present is taken whole (a registry accepts a
 * manifest only once everything it references is in, and `mirror` pushes children first), so its
 * subtree is skipped; a missing one is put after its missing children and blobs. A tag is set
 * when it does not already point at its digest; a missing manifest that gets a tag is put by it.
 */
export function copySteps(graph: ImageGraph, presence: Presence): CopySteps {
  const blobs = new Map<Digest, Descriptor>();
  const manifests: ManifestNode[] = [];
  const visited = new Set<Digest>();
  const visit = (d: Digest, depth: number): void => {
    if (visited.has(d) || depth > 8) return;
    visited.add(d);
    const node = graph.nodes.get(d);
    if (!node || presence.manifests.get(d) === true) return;
    for (const child of node.manifests) visit(child, depth + 1);
    for (const b of node.blobs) if (presence.blobs.get(b.digest) !== true && !blobs.has(b.digest)) blobs.set(b.digest, b);
    manifests.push(node);
  };
  for (const top of graph.tops) visit(top, 0);
  const tags = graph.tags.filter((t) => presence.tags.get(t.tag) !== t.digest).map(({ tag, digest }) => ({ tag, digest }));
  // A manifest that gets a tag is put once, under the tag, at the tag's turn (a PUT by tag stores it
  // and points the tag at it), unless another manifest put before then references it.
  const referenced = new Set(manifests.flatMap((m) => m.manifests));
  const byTag = new Set(tags.map((t) => t.digest).filter((d) => !referenced.has(d)));
  return {
    blobs: [...blobs.values()],
    manifests: manifests.filter((m) => !byTag.has(m.digest)),
    putByTag: manifests.filter((m) => byTag.has(m.digest)),
    tags,
  };
}

/** The manifests whose presence decides the next question: the tops, then children of those absent. */
export function manifestsToAsk(graph: ImageGraph, known: ReadonlyMap<Digest, boolean>): Digest[] {
  const out: Digest[] = [];
  const seen = new Set<Digest>();
  const walk = (d: Digest): void => {
    if (seen.has(d)) return;
    seen.add(d);
    const there = known.get(d);
    if (there === undefined) out.push(d);
    else if (!there) for (const c of graph.nodes.get(d)?.manifests ?? []) walk(c);
  };
  for (const t of graph.tops) walk(t);
  return out;
}

/** The blobs whose presence matters: those of manifests known to be absent. */
export function blobsToAsk(graph: ImageGraph, known: ReadonlyMap<Digest, boolean>): Descriptor[] {
  const out = new Map<Digest, Descriptor>();
  for (const [d, there] of known) {
    if (there) continue;
    for (const b of graph.nodes.get(d)?.blobs ?? []) out.set(b.digest, b);
  }
  return [...out.values()];
}

/** Totals of steps, for `--dry-run` and the summary. */
export function stepTotals(steps: CopySteps): { blobs: number; bytes: number; manifests: number; tags: number } {
  const manifests = [...steps.manifests, ...steps.putByTag];
  return {
    blobs: steps.blobs.length,
    bytes: steps.blobs.reduce((n, b) => n + b.size, 0) + manifests.reduce((n, m) => n + m.bytes.length, 0),
    manifests: manifests.length,
    tags: steps.tags.length,
  };
}

/**
 * The referrers fallback index (`sha256-<hex>`) to put at a target that already has one: the
 * source's exact bytes when the target's lists nothing the source's does not, else both lists as
 * one (the source's entries first, then the target's others), so that a copy never drops a
 * signature only the mirror had. Entries are compared by digest and kept as written.
 */
export function mergeReferrers(source: Uint8Array, target: Uint8Array | undefined): Uint8Array {
  const entries = (bytes: Uint8Array): Array<{ digest?: unknown }> => {
    try {
      const v = JSON.parse(Buffer.from(bytes).toString('utf8')) as { manifests?: unknown };
      return Array.isArray(v.manifests) ? v.manifests.filter((e): e is { digest?: unknown } => !!e && typeof e === 'object') : [];
    } catch {
      return [];
    }
  };
  if (!target) return source;
  const mine = entries(source);
  const known = new Set(mine.map((e) => e.digest));
  const extra = entries(target).filter((e) => typeof e.digest === 'string' && !known.has(e.digest));
  if (!extra.length) return source;
  const merged = { schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [...mine, ...extra] };
  return new Uint8Array(Buffer.from(JSON.stringify(merged)));
}
