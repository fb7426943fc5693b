/**
 * Synthetic registry answers for planner tests: a release `tag` whose index and platform digests
 * are hashes of readable names (`v2/index`, `v2/linux/amd64`), so a test can name the digest it expects.
 */
import { computeDigest, type Digest } from '../../src/digest.js';
import { parsePlatform, platformKey } from '../../src/platform.js';
import type { Resolution } from '../../src/registry/resolve.js';

/** The sha256 of a readable name. */
export const digestOf = (s: string): Digest => computeDigest(new TextEncoder().encode(s));

/** `tag` offering `platforms`; `build` names its content (a re-published tag is another build of the same tag). */
export function fakeRelease(tag: string, platforms: readonly string[], build = tag): Resolution {
  return {
    tag,
    digest: digestOf(`${build}/index`),
    mediaType: 'application/vnd.oci.image.index.v1+json',
    size: 1,
    platforms: platforms.map((p) => {
      const platform = parsePlatform(p);
      return {
        key: platformKey(platform),
        platform,
        digest: digestOf(`${build}/${p}`),
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        size: 1,
      };
    }),
  };
}
