import { isDigest, type Digest } from '../digest.js';
import type { Platform } from '../platform.js';

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

/** All four modern manifest types, so that an index comes back unchanged (registry.md §2). */
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

/** A manifest we cannot use. `unsupported` marks valid content of a kind lg-pins does not pin (schema 1). */
export class ManifestError extends Error {
  constructor(
    message: string,
    readonly unsupported = false,
  ) {
    super(message);
  }
}

/** Strip parameters: `application/json; charset=utf-8` → `application/json`. */
export function bareMediaType(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0]!.trim().toLowerCase();
}

/**
 * Parse and classify manifest bytes. The media type comes from Content-Type, then the body's
 * `mediaType`, then the body's shape. A Content-Type that contradicts the body is refused.
 */
export function parseManifest(bytes: Uint8Array, contentType?: string): Manifest {
  let body: unknown;
  try {
    body = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    throw new ManifestError('the manifest is not valid JSON');
  }
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw new ManifestError('the manifest is not a JSON object');
  const b = body as Record<string, unknown>;
  const header = bareMediaType(contentType);
  const declared = typeof b.mediaType === 'string' ? b.mediaType : undefined;
  const known = (t: string) => INDEX_TYPES.includes(t) || IMAGE_TYPES.includes(t) || t === MediaType.dockerSchema1 || t === MediaType.dockerSchema1Signed;
  if (declared && known(header) && header !== declared) {
    throw new ManifestError(`Content-Type ${header} contradicts the manifest's mediaType ${declared}`);
  }
  let mediaType = known(header) ? header : declared && known(declared) ? declared : undefined;
  if (!mediaType) {
    if (b.schemaVersion === 1) mediaType = MediaType.dockerSchema1;
    else if (Array.isArray(b.manifests)) mediaType = MediaType.ociIndex;
    else if (b.config && Array.isArray(b.layers)) mediaType = MediaType.ociManifest;
    else throw new ManifestError(`unrecognised manifest (Content-Type ${header || 'none'})`);
  }
  if (mediaType === MediaType.dockerSchema1 || mediaType === MediaType.dockerSchema1Signed || b.schemaVersion === 1) {
    throw new ManifestError('legacy Docker schema 1 manifests are not supported; re-push the image with a current client', true);
  }
  if (INDEX_TYPES.includes(mediaType)) {
    if (!Array.isArray(b.manifests)) throw new ManifestError('the index has no "manifests" array');
    return { kind: 'index', mediaType, manifests: b.manifests.map((d, i) => parseDescriptor(d, `manifests[${i}]`)) };
  }
  if (!Array.isArray(b.layers)) throw new ManifestError('the image manifest has no "layers" array');
  return {
    kind: 'image',
    mediaType,
    config: parseDescriptor(b.config, 'config'),
    layers: b.layers.map((d, i) => parseDescriptor(d, `layers[${i}]`)),
  };
}

export function parseDescriptor(d: unknown, where: string): Descriptor {
  if (!d || typeof d !== 'object') throw new ManifestError(`${where} is not a descriptor`);
  const r = d as Record<string, unknown>;
  if (typeof r.mediaType !== 'string') throw new ManifestError(`${where} has no mediaType`);
  if (!isDigest(r.digest)) throw new ManifestError(`${where} has an invalid digest ${JSON.stringify(r.digest)}`);
  if (typeof r.size !== 'number' || !Number.isSafeInteger(r.size) || r.size < 0) throw new ManifestError(`${where} has an invalid size`);
  const out: Descriptor = { mediaType: r.mediaType, digest: r.digest, size: r.size };
  const p = r.platform as Record<string, unknown> | undefined;
  if (p && typeof p === 'object' && typeof p.os === 'string' && typeof p.architecture === 'string') {
    const platform: Platform = { os: p.os, architecture: p.architecture };
    if (typeof p.variant === 'string' && p.variant) platform.variant = p.variant;
    if (typeof p['os.version'] === 'string') platform.osVersion = p['os.version'];
    if (Array.isArray(p['os.features'])) platform.osFeatures = p['os.features'].filter((f): f is string => typeof f === 'string');
    out.platform = platform;
  }
  if (r.annotations && typeof r.annotations === 'object') out.annotations = r.annotations as Record<string, string>;
  if (typeof r.artifactType === 'string') out.artifactType = r.artifactType;
  return out;
}

/** Buildx attestation manifests and other entries that are not runnable images (registry.md §6). */
export function isAttestation(d: Descriptor): boolean {
  if (d.annotations && 'vnd.docker.reference.type' in d.annotations) return true;
  return d.platform?.os === 'unknown' || d.platform?.architecture === 'unknown';
}

/** The platform recorded in an image config blob. */
export function platformFromConfig(bytes: Uint8Array): Platform {
  let c: Record<string, unknown>;
  try {
    c = JSON.parse(Buffer.from(bytes).toString('utf8')) as Record<string, unknown>;
  } catch {
    throw new ManifestError('the image config is not valid JSON');
  }
  if (typeof c.os !== 'string' || typeof c.architecture !== 'string') {
    throw new ManifestError('the image config names no os/architecture');
  }
  const p: Platform = { os: c.os, architecture: c.architecture };
  if (typeof c.variant === 'string' && c.variant) p.variant = c.variant;
  if (typeof c['os.version'] === 'string') p.osVersion = c['os.version'];
  return p;
}
