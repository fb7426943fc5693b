import type { Digest } from '../digest.js';
import { IntegrityError, RegistryError } from '../errors.js';
import { normalizePlatform, platformKey, type Platform } from '../platform.js';
import {
  IMAGE_TYPES,
  INDEX_TYPES,
  ManifestError,
  isAttestation,
  parseManifest,
  platformFromConfig,
  type Descriptor,
} from './manifest.js';
import type { ContentSource } from './source.js';

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

const MAX_NESTING = 4;

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
    platforms.push({ key: platformKey(platform), platform, digest, mediaType: manifest.mediaType, size: bytes.length });
  } else {
    await collect(source, repo, manifest.manifests, platforms, 0);
  }
  const seen = new Set<string>();
  const unique = platforms.filter((p) => (seen.has(p.key) ? false : (seen.add(p.key), true)));
  return { tag, digest, mediaType: manifest.mediaType, size: bytes.length, platforms: unique };
}

async function collect(source: ContentSource, repo: string, entries: Descriptor[], out: PlatformEntry[], depth: number): Promise<void> {
  for (const d of entries) {
    if (isAttestation(d)) continue;
    if (INDEX_TYPES.includes(d.mediaType)) {
      if (depth >= MAX_NESTING) throw new RegistryError(`${source.name}/${repo}: indexes nested more than ${MAX_NESTING} deep at ${d.digest}; lg-pins does not follow deeper`, { registry: source.name });
      const child = await source.fetchManifest(repo, d.digest);
      checkSize(child.bytes, d, source, repo);
      const m = parseOrFail(child.bytes, child.contentType, source, repo, d.digest);
      if (m.kind === 'index') await collect(source, repo, m.manifests, out, depth + 1);
      continue;
    }
    // Unknown child media types are skipped, never pinned.
    if (!IMAGE_TYPES.includes(d.mediaType)) continue;
    let platform = d.platform;
    if (!platform) {
      // An entry without a platform: read it from the child's config, as for a single-platform tag.
      const child = await source.fetchManifest(repo, d.digest);
      checkSize(child.bytes, d, source, repo);
      const m = parseOrFail(child.bytes, child.contentType, source, repo, d.digest);
      if (m.kind !== 'image') continue;
      const config = await source.fetchBlob(repo, m.config.digest, m.config);
      platform = wrap(() => platformFromConfig(config), source, repo, m.config.digest);
    }
    const normal = normalizePlatform(platform);
    out.push({ key: platformKey(normal), platform: normal, digest: d.digest, mediaType: d.mediaType, size: d.size });
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
    if (e instanceof ManifestError && e.unsupported) throw new RegistryError(`${source.name}/${repo}@${digest}: ${e.message}`, { registry: source.name, cause: e });
    if (e instanceof ManifestError) throw new IntegrityError(`${source.name}/${repo}@${digest}: ${e.message}`, { cause: e });
    throw e;
  }
}
