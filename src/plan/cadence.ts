import * as semver from '../semver.js';
import type { SemVer } from '../semver.js';
import type { Image } from '../config/spec.js';
import { isTag } from '../reference.js';

export interface Candidate {
  tag: string;
  version: SemVer;
}

/** Registry bookkeeping tags that are never release candidates (cosign, referrers fallback). */
const NOT_A_RELEASE = /^(?:latest|sha256-[a-f0-9]{64}(?:\.(?:sig|att|sbom))?|sha512-[a-f0-9]{128}(?:\.(?:sig|att|sbom))?)$/;

/** Parse a release tag: strict semver with an optional leading `v`. */
export function tagVersion(tag: string): SemVer | undefined {
  // Only tags a registry could hold (semver build metadata `+x` is not one): a lock must be able to name it.
  if (NOT_A_RELEASE.test(tag) || !isTag(tag)) return undefined;
  const v = semver.parse(tag.startsWith('v') ? tag.slice(1) : tag);
  return v ?? undefined;
}

/** Tags that satisfy the image's range, newest first (for equal versions, `v`-less first, then by name). */
export function candidates(tags: readonly string[], image: Pick<Image, 'track' | 'prerelease'>): Candidate[] {
  if (!image.track) return [];
  const out: Candidate[] = [];
  for (const tag of tags) {
    const version = tagVersion(tag);
    if (!version) continue;
    if (version.prerelease.length && !image.prerelease) continue;
    if (!semver.satisfies(version, image.track, { includePrerelease: image.prerelease })) continue;
    out.push({ tag, version });
  }
  return out.sort((a, b) => semver.rcompare(a.version, b.version) || (a.tag < b.tag ? -1 : a.tag > b.tag ? 1 : 0));
}

/**
 * The tag a `track` image should pin: with no pin the newest candidate; with a pin, the newest
 * candidate only when the cadence lets it replace the pin (contract: "Release cadence").
 * A pin outside the range (the range was edited) is replaced by the newest candidate.
 */
export function chooseTag(
  tags: readonly string[],
  image: Pick<Image, 'track' | 'prerelease' | 'cadence'>,
  pinned?: string,
): string | undefined {
  const list = candidates(tags, image);
  const newest = list[0];
  if (!newest) return undefined;
  const pv = pinned ? tagVersion(pinned) : undefined;
  if (!pinned || !pv || !semver.satisfies(pv, image.track ?? '*', { includePrerelease: image.prerelease })) return newest.tag;
  if (semver.lte(newest.version, pv)) return pinned; // never a downgrade
  switch (image.cadence) {
    case 'patch':
      return newest.tag;
    case 'minor':
      return newest.version.major > pv.major ||
        (newest.version.major === pv.major && newest.version.minor > pv.minor) ||
        finalOf(newest.version, pv, 'minor')
        ? newest.tag
        : pinned;
    case 'major':
      return newest.version.major > pv.major || finalOf(newest.version, pv, 'major') ? newest.tag : pinned;
  }
}

/**
 * A pre-release pin (`v1.1.0-rc.1`, with `prerelease: true`) moves on to newer releases of its own
 * line: under `minor` the same major.minor, under `major` the same major. Otherwise the final
 * `v1.1.0` would be passed over because its major.minor is not newer than the candidate's.
 */
function finalOf(newest: SemVer, pinned: SemVer, line: 'minor' | 'major'): boolean {
  if (!pinned.prerelease.length || semver.lte(newest, pinned)) return false;
  return newest.major === pinned.major && (line === 'major' || newest.minor === pinned.minor);
}
