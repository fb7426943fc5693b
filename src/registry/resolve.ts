import type { Digest } from '../digest.js';
import { IntegrityError, RegistryError } from '../errors.js';
import { normalizePlatform, platformKey, type Platform } from '../platform.js';
import { IMAGE_TYPES, INDEX_TYPES, ManifestError, isAttestation, parseManifest, platformFromConfig, type Descriptor } from './manifest.js';
import type { ContentSource } from './source.js';
import { LIMITS } from '../safe/limits.js';

/** One runnable platform a tag offers. */
export interface PlatformEntry {
  /** os/arch[/variant], normalized (see platformKey). */
  key: string;
  platform: Platform;
  digest: Digest;
  mediaType: string;
  size: number;
}

/** What one tag resolved to. */
export interface Resolution {
  tag: string;
  /** The index digest for a multi-arch tag, the manifest digest for a single-platform one. */
  digest: Digest;
  mediaType: string;
  size: number;
  /** Runnable platforms in index order (nested indexes flattened, attestations skipped); first of a key wins. */
  platforms: PlatformEntry[];
}

/** A platform key the lock can hold (os/arch[/variant]); an entry whose platform is not one is skipped. */
const PLATFORM_KEY_RE = /^[a-z0-9]+\/[a-z0-9_]+(?:\/[a-z0-9._-]+)?$/;

/** How much of an index one resolution may walk: entries looked at and child manifests fetched. */
interface Budget {
  entries: number;
  children: number;
}

/** Resolve `repo:tag` on `source` into its index digest and every runnable platform. */
export async function resolveTag(source: ContentSource, repo: string, tag: string): Promise<Resolution> {
  const top = await source.fetchManifest(repo, tag);
  return resolveFetched(source, repo, tag, top.bytes, top.digest, top.contentType);
}

/** Resolve content already fetched (by tag or digest). */
export async function resolveFetched(
  source: ContentSource,
  repo: string,
  tag: string,
  bytes: Uint8Array,
  digest: Digest,
  contentType: string,
): Promise<Resolution> {
  const manifest = parseOrFail(bytes, contentType, source, repo, digest);
  const platforms: PlatformEntry[] = [];
  if (manifest.kind === 'image') {
    const config = await source.fetchBlob(repo, manifest.config.digest, manifest.config);
    const platform = normalizePlatform(wrap(() => platformFromConfig(config), source, repo, manifest.config.digest));
    const key = platformKey(platform);
    if (PLATFORM_KEY_RE.test(key)) platforms.push({ key, platform, digest, mediaType: manifest.mediaType, size: bytes.length });
  } else {
    await collect(source, repo, manifest.manifests, platforms, 0, { entries: 0, children: 0 });
  }
  const seen = new Set<string>();
  const unique = platforms.filter((p) => (seen.has(p.key) ? false : (seen.add(p.key), true)));
  return { tag, digest, mediaType: manifest.mediaType, size: bytes.length, platforms: unique };
}

async function collect(
  source: ContentSource,
  repo: string,
  entries: Descriptor[],
  out: PlatformEntry[],
  depth: number,
  budget: Budget,
): Promise<void> {
  const tooBig = (what: string) =>
    new RegistryError(`${source.name}/${repo}: the index ${what}; lg-pins does not follow more`, { registry: source.name });
  const child = async (d: Descriptor) => {
    if (++budget.children > LIMITS.childManifests) throw tooBig(`needs more than ${LIMITS.childManifests} child manifests fetched`);
    const fetched = await source.fetchManifest(repo, d.digest);
    checkSize(fetched.bytes, d, source, repo);
    return parseOrFail(fetched.bytes, fetched.contentType, source, repo, d.digest);
  };
  for (const d of entries) {
    if (++budget.entries > LIMITS.indexEntries) throw tooBig(`has more than ${LIMITS.indexEntries} entries (nested indexes included)`);
    if (isAttestation(d)) continue;
    if (INDEX_TYPES.includes(d.mediaType)) {
      if (depth >= LIMITS.indexDepth) throw tooBig(`nests indexes more than ${LIMITS.indexDepth} deep (at ${d.digest})`);
      const m = await child(d);
      if (m.kind === 'index') await collect(source, repo, m.manifests, out, depth + 1, budget);
      continue;
    }
    // Unknown child media types are skipped, never pinned.
    if (!IMAGE_TYPES.includes(d.mediaType)) continue;
    let platform = d.platform;
    if (!platform) {
      // An entry without a platform: read it from the child's config, as for a single-platform tag.
      const m = await child(d);
      if (m.kind !== 'image') continue;
      const config = await source.fetchBlob(repo, m.config.digest, m.config);
      platform = wrap(() => platformFromConfig(config), source, repo, m.config.digest);
    }
    const normal = normalizePlatform(platform);
    const key = platformKey(normal);
    // A platform the lock cannot name (an unknown spelling) is no platform any group can run: skipped.
    if (!PLATFORM_KEY_RE.test(key)) continue;
    out.push({ key, platform: normal, digest: d.digest, mediaType: d.mediaType, size: d.size });
  }
}

function checkSize(bytes: Uint8Array, d: Descriptor, source: ContentSource, repo: string): void {
  if (bytes.length !== d.size) {
    throw new IntegrityError(`${source.name}/${repo}@${d.digest}: served ${bytes.length} bytes, the index says ${d.size}`);
  }
}

function parseOrFail(bytes: Uint8Array, contentType: string, source: ContentSource, repo: string, digest: string) {
  return wrap(() => parseManifest(bytes, contentType), source, repo, digest);
}

function wrap<T>(fn: () => T, source: ContentSource, repo: string, digest: string): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof ManifestError && e.unsupported)
      throw new RegistryError(`${source.name}/${repo}@${digest}: ${e.message}`, { registry: source.name, cause: e });
    if (e instanceof ManifestError) throw new IntegrityError(`${source.name}/${repo}@${digest}: ${e.message}`, { cause: e });
    throw e;
  }
}
