import { isDigest, type Digest } from '../digest.js';
import type { Platform } from '../platform.js';
import { ManifestError, ShapeError } from '../errors.js';
import { asArray, asObject, at, kindOf, parseJsonBytes } from '../safe/json.js';

export { ManifestError };
import { hasControls, quoteUntrusted } from '../safe/text.js';

export const MediaType = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerSchema1: 'application/vnd.docker.distribution.manifest.v1+json',
  dockerSchema1Signed: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
} as const;

/** All four modern manifest types, so that an index comes back unchanged (a registry rewrites what Accept leaves out). */
export const MANIFEST_ACCEPT = [MediaType.ociIndex, MediaType.ociManifest, MediaType.dockerList, MediaType.dockerManifest].join(', ');

export const INDEX_TYPES: readonly string[] = [MediaType.ociIndex, MediaType.dockerList];
export const IMAGE_TYPES: readonly string[] = [MediaType.ociManifest, MediaType.dockerManifest];

export interface Descriptor {
  mediaType: string;
  digest: Digest;
  size: number;
  platform?: Platform;
  annotations?: Record<string, string>;
  /** Referrers (OCI 1.1): what kind of artifact the manifest is. */
  artifactType?: string;
}

export type Manifest =
  | { kind: 'index'; mediaType: string; manifests: Descriptor[] }
  | { kind: 'image'; mediaType: string; config: Descriptor; layers: Descriptor[] };

/** Strip parameters: `application/json; charset=utf-8` → `application/json`. */
export function bareMediaType(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0]!.trim().toLowerCase();
}

/** A media type (RFC 6838 type/subtype, no parameters). */
const MEDIA_TYPE_RE = /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$/;
/** A platform field (os, architecture, variant, os.version, a feature): no control characters, bounded. */
const PLATFORM_FIELD_MAX = 64;

/**
 * How a bad value is shown: a short escaped excerpt of registry content, or nothing at all for a
 * file that merely points at content (an OCI layout's index.json may be a symlink to anything).
 */
type Shown = (v: string) => string;
const excerptOf: Shown = (v) => ` ${quoteUntrusted(v)}`;
export const unquoted: Shown = () => '';

function mediaTypeAt(v: unknown, field: string, shown: Shown = excerptOf): string {
  if (typeof v !== 'string') throw new ManifestError(`${field} must be a string, got ${kindOf(v)}`);
  if (!MEDIA_TYPE_RE.test(v)) throw new ManifestError(`${field}${shown(v)} is not a media type`);
  return v;
}

function platformField(v: unknown, field: string, shown: Shown): string {
  if (typeof v !== 'string') throw new ManifestError(`${field} must be a string, got ${kindOf(v)}`);
  if (v.length > PLATFORM_FIELD_MAX || hasControls(v)) throw new ManifestError(`${field}${shown(v)} is not a platform name`);
  return v;
}

/** Shape errors of registry JSON are malformed content: a ManifestError naming the field. */
function shaped<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof ShapeError) throw new ManifestError(e.message);
    throw e;
  }
}

/**
 * Parse and classify manifest bytes. The media type comes from Content-Type, then the body's
 * `mediaType`, then the body's shape. A Content-Type that contradicts the body is refused. Every
 * field lg-pins uses is checked for its type and grammar; a malformed one is a ManifestError
 * naming the field (never a TypeError).
 */
export function parseManifest(bytes: Uint8Array, contentType?: string): Manifest {
  const json = parseJsonBytes(bytes);
  if (!json.ok) throw new ManifestError(`the manifest is not valid JSON (line ${json.line}, column ${json.column}: ${json.problem})`);
  const b = shaped(() => asObject(json.value, 'the manifest'));
  const header = bareMediaType(contentType);
  const declared = b.mediaType === undefined ? undefined : mediaTypeAt(b.mediaType, 'mediaType');
  const known = (t: string) =>
    INDEX_TYPES.includes(t) || IMAGE_TYPES.includes(t) || t === MediaType.dockerSchema1 || t === MediaType.dockerSchema1Signed;
  if (declared && known(header) && header !== declared) {
    throw new ManifestError(`Content-Type ${header} contradicts the manifest's mediaType ${declared}`);
  }
  let mediaType = known(header) ? header : declared && known(declared) ? declared : undefined;
  if (!mediaType) {
    if (b.schemaVersion === 1) mediaType = MediaType.dockerSchema1;
    else if (Array.isArray(b.manifests)) mediaType = MediaType.ociIndex;
    else if (b.config && Array.isArray(b.layers)) mediaType = MediaType.ociManifest;
    else throw new ManifestError(`unrecognised manifest (Content-Type ${header ? quoteUntrusted(header) : 'none'})`);
  }
  if (mediaType === MediaType.dockerSchema1 || mediaType === MediaType.dockerSchema1Signed || b.schemaVersion === 1) {
    throw new ManifestError('legacy Docker schema 1 manifests are not supported; re-push the image with a current client', true);
  }
  if (INDEX_TYPES.includes(mediaType)) {
    if (!Array.isArray(b.manifests)) throw new ManifestError(`the index's "manifests" must be an array, got ${kindOf(b.manifests)}`);
    const entries = b.manifests;
    const manifests: Descriptor[] = [];
    // A loop, not map(): an index of a million entries is refused by size before it gets here, but never recurse or spread.
    for (let i = 0; i < entries.length; i++) manifests.push(parseDescriptor(entries[i], `manifests[${i}]`));
    return { kind: 'index', mediaType, manifests };
  }
  const layers = shaped(() => asArray(b.layers, 'layers'));
  return {
    kind: 'image',
    mediaType,
    config: parseDescriptor(b.config, 'config'),
    layers: layers.map((d, i) => parseDescriptor(d, `layers[${i}]`)),
  };
}

export function parseDescriptor(d: unknown, where: string, shown: Shown = excerptOf): Descriptor {
  if (!d || typeof d !== 'object' || Array.isArray(d)) throw new ManifestError(`${where} must be a descriptor object, got ${kindOf(d)}`);
  const r = d as Record<string, unknown>;
  const mediaType = mediaTypeAt(r.mediaType, at(where, 'mediaType'), shown);
  if (!isDigest(r.digest))
    throw new ManifestError(
      `${at(where, 'digest')} is not a valid digest${typeof r.digest === 'string' ? shown(r.digest) : ` (got ${kindOf(r.digest)})`}`,
    );
  if (typeof r.size !== 'number' || !Number.isSafeInteger(r.size) || r.size < 0)
    throw new ManifestError(
      `${at(where, 'size')} must be a whole number of bytes, got ${typeof r.size === 'number' ? String(r.size) : kindOf(r.size)}`,
    );
  const out: Descriptor = { mediaType, digest: r.digest, size: r.size };
  if (r.platform !== undefined && r.platform !== null) out.platform = parsePlatformObject(r.platform, at(where, 'platform'), shown);
  if (r.annotations !== undefined && r.annotations !== null) {
    const a = shaped(() => asObject(r.annotations, at(where, 'annotations')));
    for (const [k, v] of Object.entries(a))
      if (typeof v !== 'string') throw new ManifestError(`an annotation of ${where}${shown(k)} must be a string, got ${kindOf(v)}`);
    out.annotations = a as Record<string, string>;
  }
  if (r.artifactType !== undefined) out.artifactType = mediaTypeAt(r.artifactType, at(where, 'artifactType'), shown);
  return out;
}

/** An index entry's (or a config's) platform: os and architecture required, every field checked. */
function parsePlatformObject(v: unknown, where: string, shown: Shown = excerptOf): Platform {
  const p = shaped(() => asObject(v, where));
  const platform: Platform = {
    os: platformField(p.os, at(where, 'os'), shown),
    architecture: platformField(p.architecture, at(where, 'architecture'), shown),
  };
  if (p.variant !== undefined && p.variant !== '') platform.variant = platformField(p.variant, at(where, 'variant'), shown);
  if (p['os.version'] !== undefined) platform.osVersion = platformField(p['os.version'], at(where, 'os.version'), shown);
  if (p['os.features'] !== undefined) {
    platform.osFeatures = shaped(() => asArray(p['os.features'], at(where, 'os.features'))).map((f, i) =>
      platformField(f, `${at(where, 'os.features')}[${i}]`, shown),
    );
  }
  return platform;
}

/** Buildx attestation manifests and other entries that are not runnable images (README "The spec", Matching). */
export function isAttestation(d: Descriptor): boolean {
  if (d.annotations && Object.prototype.hasOwnProperty.call(d.annotations, 'vnd.docker.reference.type')) return true;
  return d.platform?.os === 'unknown' || d.platform?.architecture === 'unknown';
}

/** The platform recorded in an image config blob. */
export function platformFromConfig(bytes: Uint8Array): Platform {
  const json = parseJsonBytes(bytes);
  if (!json.ok) throw new ManifestError(`the image config is not valid JSON (line ${json.line}, column ${json.column}: ${json.problem})`);
  const c = shaped(() => asObject(json.value, 'the image config'));
  if (c.os === undefined || c.architecture === undefined) throw new ManifestError('the image config names no os/architecture');
  return parsePlatformObject(
    { os: c.os, architecture: c.architecture, variant: c.variant, 'os.version': c['os.version'] },
    'the image config',
  );
}
