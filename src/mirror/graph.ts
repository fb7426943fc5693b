/**
 * Read what one pinned image copies from its source: every manifest under its roots (nested
 * indexes too), each one's blobs, and, for a signed image, its signature store (the `.sig` tag and
 * the referrers: through the API, or the `sha256-<hex>` fallback index) for the index and every
 * platform manifest. Manifests are small and read whole, each verified against its digest by the
 * source; blobs are only described here (the copy streams them).
 */
import type { Digest } from '../digest.js';
import { IntegrityError, RegistryError } from '../errors.js';
import type { ImageGraph, ManifestNode, MirrorRoot } from '../plan/mirror.js';
import { ManifestError, parseManifest, type Descriptor } from '../registry/manifest.js';
import type { ContentSource } from '../registry/source.js';
import { LIMITS } from '../safe/limits.js';
import { signatureTag } from '../trust/store.js';

export interface GraphSource {
  source: ContentSource;
  repo: string;
  /** For messages: `registry/repository` or the layout. */
  name: string;
  /** The registry host it is read from; undefined for a layout. */
  registry?: string;
}

/** Referrers a source lists through its API, per subject, for a destination that has no API. */
export type ReferrersBySubject = Map<Digest, Descriptor[]>;

export async function readGraph(
  from: GraphSource,
  roots: readonly MirrorRoot[],
  withSignatures: boolean,
): Promise<{ graph: ImageGraph; referrers: ReferrersBySubject }> {
  const nodes = new Map<Digest, ManifestNode>();
  const tops: Digest[] = [];
  const tags: ImageGraph['tags'] = [];
  const referrers: ReferrersBySubject = new Map();
  const pending = new Map<Digest, Promise<ManifestNode>>();

  const load = (digest: Digest, depth: number, what: string): Promise<ManifestNode> => {
    let p = pending.get(digest);
    if (!p) {
      if (pending.size >= LIMITS.indexEntries)
        throw new IntegrityError(`${from.name}: more than ${LIMITS.indexEntries} manifests under ${what}; refusing to copy it`);
      p = (async () => {
        const fetched = await from.source.fetchManifest(from.repo, digest);
        const node = toNode(digest, fetched.bytes, fetched.contentType, from.name, what);
        nodes.set(digest, node);
        if (node.manifests.length && depth >= LIMITS.indexDepth)
          throw new IntegrityError(`${from.name}@${digest}: indexes nest deeper than ${LIMITS.indexDepth}; refusing to copy it`);
        await Promise.all(node.manifests.map((c) => load(c, depth + 1, what)));
        return node;
      })();
      pending.set(digest, p);
    }
    return p;
  };

  await Promise.all(
    roots.map(async (r) => {
      tops.push(r.digest);
      await load(r.digest, 0, r.what);
      if (r.tag) tags.push({ tag: r.tag, digest: r.digest, signature: false });
    }),
  );
  if (withSignatures) {
    // Signed by cosign: usually the index; with --recursive, every platform manifest too.
    const subjects = [...nodes.keys()];
    await Promise.all(
      subjects.map(async (subject) => {
        const sig = await optional(from, signatureTag(subject));
        if (sig) {
          await load(sig, 0, `the signature of ${subject}`);
          tops.push(sig);
          tags.push({ tag: signatureTag(subject), digest: sig, signature: true });
        }
        const viaApi = from.source.referrers ? await from.source.referrers(from.repo, subject) : undefined;
        if (viaApi) {
          if (!viaApi.length) return;
          referrers.set(subject, viaApi);
          await Promise.all(viaApi.map((d) => load(d.digest, 1, `a referrer of ${subject}`)));
          tops.push(...viaApi.map((d) => d.digest));
          return;
        }
        const fallback = await optional(from, signatureTag(subject, ''));
        if (!fallback) return;
        const node = await load(fallback, 0, `the referrers of ${subject}`);
        // A fallback tag that is not an index holds no referrers; it is left where it is.
        if (!INDEX_MEDIA.has(node.mediaType)) return;
        tops.push(fallback);
        tags.push({ tag: signatureTag(subject, ''), digest: fallback, signature: true });
      }),
    );
  }
  // Deterministic order whatever the network did: roots first as given, then signatures; signature
  // tags before the image's own, so that a tag goes live only once everything it needs is there.
  tops.sort((a, b) => rank(roots, a) - rank(roots, b) || a.localeCompare(b));
  tags.sort((a, b) => Number(b.signature) - Number(a.signature) || a.tag.localeCompare(b.tag));
  return { graph: { nodes, tops: [...new Set(tops)], tags }, referrers };
}

const INDEX_MEDIA = new Set(['application/vnd.oci.image.index.v1+json', 'application/vnd.docker.distribution.manifest.list.v2+json']);

function rank(roots: readonly MirrorRoot[], d: Digest): number {
  const i = roots.findIndex((r) => r.digest === d);
  return i < 0 ? roots.length : i;
}

/** The digest a signature-store tag points at, or undefined when there is none. */
async function optional(from: GraphSource, tag: string): Promise<Digest | undefined> {
  try {
    const head = from.source.headManifest ? await from.source.headManifest(from.repo, tag) : undefined;
    return head ?? (await from.source.fetchManifest(from.repo, tag)).digest;
  } catch (e) {
    if (e instanceof RegistryError && e.status === 404) return undefined;
    throw e;
  }
}

function toNode(digest: Digest, bytes: Uint8Array, contentType: string, name: string, what: string): ManifestNode {
  let m;
  try {
    m = parseManifest(bytes, contentType);
  } catch (e) {
    if (!(e instanceof ManifestError)) throw e;
    throw new IntegrityError(`${name}@${digest} (${what}) is not a manifest lg-pins can copy: ${e.message}`);
  }
  if (m.kind === 'index') return { digest, mediaType: m.mediaType, bytes, manifests: m.manifests.map((d) => d.digest), blobs: [] };
  return { digest, mediaType: m.mediaType, bytes, manifests: [], blobs: [m.config, ...m.layers] };
}
