/**
 * Push test content to a real registry over the distribution HTTP API (distribution-spec "Push").
 *
 * Blobs: POST /v2/<name>/blobs/uploads/ → 202 + absolute Location (keep its `_state` query) →
 * PUT Location&digest=… with the bytes. Manifests: PUT with Content-Type = mediaType; children
 * must exist first (2.8 checks them). Every non-2xx answer throws with status and body text.
 */
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import type { TokenServer } from './token-server.js';

export const MT = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar+gzip',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayer: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  inToto: 'application/vnd.in-toto+json',
} as const;

/** The Accept header that returns any of the four modern manifest types unchanged. */
export const ACCEPT_ALL = [MT.ociIndex, MT.ociManifest, MT.dockerList, MT.dockerManifest].join(', ');

/** Where to push: registry base URL and the `Authorization` header value to send (if any). */
export interface PushTarget {
  url: string;
  authorization?: string;
}

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: Platform;
  annotations?: Record<string, string>;
}

export interface MultiArchResult {
  digest: string;
  mediaType: string;
  bytes: Uint8Array;
  /** The top-level index entries, in order (a nested child index appears as one entry, without platform). */
  children: Descriptor[];
  /** Every runnable platform image, flattened across nesting, in platform order. */
  images: Descriptor[];
  /** The child index when `nested` was set. */
  nested?: { digest: string; bytes: Uint8Array; children: Descriptor[] };
}

export const sha256 = (bytes: Uint8Array): string => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

/** `Basic base64(user:pass)` for htpasswd registries and token requests. */
export const basicAuth = (user: string, pass: string): string => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;

async function request(
  t: PushTarget,
  method: string,
  url: string,
  init: { body?: Uint8Array; headers?: Record<string, string> } = {},
): Promise<Response> {
  const headers: Record<string, string> = { ...init.headers };
  if (t.authorization !== undefined) headers.Authorization = t.authorization;
  const res = await fetch(url, { method, headers, body: init.body, redirect: 'manual' });
  return res;
}

async function expectStatus(res: Response, expected: number, what: string): Promise<void> {
  if (res.status === expected) return;
  const text = await res.text().catch(() => '');
  throw new Error(`${what}: expected ${expected}, got ${res.status} ${res.statusText}: ${text}`);
}

/** Upload one blob (monolithic POST + PUT). Returns its sha256 digest and size. */
export async function pushBlob(t: PushTarget, repo: string, bytes: Uint8Array): Promise<{ digest: string; size: number }> {
  const digest = sha256(bytes);
  const start = await request(t, 'POST', `${t.url}/v2/${repo}/blobs/uploads/`);
  await expectStatus(start, 202, `POST blob upload ${repo}`);
  await start.arrayBuffer();
  const location = start.headers.get('location');
  if (!location) throw new Error(`POST blob upload ${repo}: 202 without Location`);
  // Append (never rebuild) the query: dropping or re-encoding `_state` gives 404 BLOB_UPLOAD_INVALID.
  const abs = new URL(location, t.url).href;
  const putUrl = `${abs}${abs.includes('?') ? '&' : '?'}digest=${encodeURIComponent(digest)}`;
  const put = await request(t, 'PUT', putUrl, { body: bytes, headers: { 'Content-Type': 'application/octet-stream' } });
  await expectStatus(put, 201, `PUT blob ${digest} to ${repo}`);
  await put.arrayBuffer();
  return { digest, size: bytes.byteLength };
}

/** PUT a manifest by tag or digest. Objects are serialized as compact JSON; the digest is of the exact bytes. */
export async function pushManifest(
  t: PushTarget,
  repo: string,
  reference: string,
  body: Uint8Array | object,
  mediaType: string,
): Promise<{ digest: string; size: number; bytes: Uint8Array }> {
  const bytes = body instanceof Uint8Array ? body : new TextEncoder().encode(JSON.stringify(body));
  const digest = sha256(bytes);
  const res = await request(t, 'PUT', `${t.url}/v2/${repo}/manifests/${reference}`, {
    body: bytes,
    headers: { 'Content-Type': mediaType },
  });
  await expectStatus(res, 201, `PUT manifest ${repo}:${reference}`);
  await res.arrayBuffer();
  const dcd = res.headers.get('docker-content-digest');
  if (dcd !== null && dcd !== digest) throw new Error(`PUT manifest ${repo}:${reference}: registry says ${dcd}, bytes hash to ${digest}`);
  return { digest, size: bytes.byteLength, bytes };
}

/** DELETE a manifest by digest (2.8 rejects delete-by-tag with 400 DIGEST_INVALID). Expects 202. */
export async function deleteManifest(t: PushTarget, repo: string, digest: string): Promise<void> {
  const res = await request(t, 'DELETE', `${t.url}/v2/${repo}/manifests/${digest}`);
  await expectStatus(res, 202, `DELETE manifest ${repo}@${digest}`);
  await res.arrayBuffer();
}

/** A one-file ustar archive (enough for a valid, tiny layer). */
function tarOneFile(name: string, content: Uint8Array): Uint8Array {
  const header = Buffer.alloc(512);
  const field = (value: string, offset: number, length: number): void => {
    header.write(value, offset, Math.min(length, Buffer.byteLength(value)), 'utf8');
  };
  const octal = (n: number, len: number): string => `${n.toString(8).padStart(len - 1, '0')}\0`;
  field(name, 0, 100);
  field(octal(0o644, 8), 100, 8);
  field(octal(0, 8), 108, 8);
  field(octal(0, 8), 116, 8);
  field(octal(content.byteLength, 12), 124, 12);
  field(octal(0, 12), 136, 12);
  field('        ', 148, 8);
  field('0', 156, 1);
  field('ustar\u000000', 257, 8);
  let sum = 0;
  for (const b of header) sum += b;
  field(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8);
  const padded = Buffer.alloc(Math.ceil(content.byteLength / 512) * 512);
  padded.set(content);
  return Buffer.concat([header, padded, Buffer.alloc(1024)]);
}

const platformString = (p: Platform): string => [p.os, p.architecture, p.variant].filter(Boolean).join('/');

function cleanPlatform(p: Platform): Platform {
  return p.variant ? { os: p.os, architecture: p.architecture, variant: p.variant } : { os: p.os, architecture: p.architecture };
}

/**
 * Build and push one runnable platform image: a config blob with os/architecture/variant and one
 * small gzip'd tar layer. `salt` makes the content (and so every digest) unique, e.g. a release
 * name. Pushed by `tag` if given, else by digest. Returns its descriptor (with platform).
 */
export async function pushPlatformImage(
  t: PushTarget,
  repo: string,
  platform: Platform,
  opts: { format?: 'oci' | 'docker'; salt?: string; tag?: string } = {},
): Promise<Descriptor> {
  const docker = opts.format === 'docker';
  const text = `lg-pins test image ${repo} ${platformString(platform)} ${opts.salt ?? ''}\n`;
  const tar = tarOneFile('etc/lg-pins-test', new TextEncoder().encode(text));
  const layer = await pushBlob(t, repo, gzipSync(tar));
  const config = {
    architecture: platform.architecture,
    os: platform.os,
    ...(platform.variant ? { variant: platform.variant } : {}),
    config: { Labels: { 'org.opencontainers.image.version': opts.salt ?? '' } },
    rootfs: { type: 'layers', diff_ids: [sha256(tar)] },
  };
  const cfg = await pushBlob(t, repo, new TextEncoder().encode(JSON.stringify(config)));
  const mediaType = docker ? MT.dockerManifest : MT.ociManifest;
  const manifest = {
    schemaVersion: 2,
    mediaType,
    config: { mediaType: docker ? MT.dockerConfig : MT.ociConfig, ...cfg },
    layers: [{ mediaType: docker ? MT.dockerLayer : MT.ociLayer, ...layer }],
  };
  const bytes = new TextEncoder().encode(JSON.stringify(manifest));
  const pushed = await pushManifest(t, repo, opts.tag ?? sha256(bytes), bytes, mediaType);
  return { mediaType, digest: pushed.digest, size: pushed.size, platform: cleanPlatform(platform) };
}

/** A buildx-style attestation manifest (unknown/unknown, in-toto layer) describing `subject`. */
async function pushAttestation(t: PushTarget, repo: string, subject: Descriptor): Promise<Descriptor> {
  const statement = {
    _type: 'https://in-toto.io/Statement/v0.1',
    predicateType: 'https://slsa.dev/provenance/v0.2',
    subject: [{ name: `pkg:docker/${repo}`, digest: { sha256: subject.digest.slice('sha256:'.length) } }],
    predicate: { builder: { id: 'lg-pins-test' } },
  };
  const layer = await pushBlob(t, repo, new TextEncoder().encode(JSON.stringify(statement)));
  const config = { architecture: 'unknown', os: 'unknown', config: {}, rootfs: { type: 'layers', diff_ids: [layer.digest] } };
  const cfg = await pushBlob(t, repo, new TextEncoder().encode(JSON.stringify(config)));
  const manifest = {
    schemaVersion: 2,
    mediaType: MT.ociManifest,
    config: { mediaType: MT.ociConfig, ...cfg },
    layers: [{ mediaType: MT.inToto, ...layer, annotations: { 'in-toto.io/predicate-type': statement.predicateType } }],
  };
  const pushed = await pushManifest(t, repo, sha256(new TextEncoder().encode(JSON.stringify(manifest))), manifest, MT.ociManifest);
  return {
    mediaType: MT.ociManifest,
    digest: pushed.digest,
    size: pushed.size,
    platform: { os: 'unknown', architecture: 'unknown' },
    annotations: { 'vnd.docker.reference.digest': subject.digest, 'vnd.docker.reference.type': 'attestation-manifest' },
  };
}

/** Images (+ attestations after them, buildx order) for one index level. */
async function indexEntries(
  t: PushTarget,
  repo: string,
  platforms: Platform[],
  opts: MultiArchOptions,
): Promise<{ entries: Descriptor[]; images: Descriptor[] }> {
  const images: Descriptor[] = [];
  for (const p of platforms) images.push(await pushPlatformImage(t, repo, p, { format: opts.format ?? 'oci', salt: opts.salt ?? '' }));
  const entries = [...images];
  if (opts.attestations) for (const img of images) entries.push(await pushAttestation(t, repo, img));
  return { entries, images };
}

export interface MultiArchOptions {
  /** `oci` (default): OCI image index + OCI manifests. `docker`: manifest list + schema 2 manifests. */
  format?: 'oci' | 'docker';
  /** Append buildx attestation manifests (always OCI manifests, as buildx writes them). */
  attestations?: boolean;
  /** Put every platform after the first into a child index referenced from the top-level one. */
  nested?: boolean;
  /** Makes all content unique (e.g. the release name). */
  salt?: string;
}

/**
 * Build and push a multi-arch tag: all images (by digest), optional attestations and nested child
 * index, then the index itself under `tag`.
 */
export async function pushMultiArch(
  t: PushTarget,
  repo: string,
  tag: string,
  platforms: Platform[],
  opts: MultiArchOptions = {},
): Promise<MultiArchResult> {
  const mediaType = opts.format === 'docker' ? MT.dockerList : MT.ociIndex;
  const makeIndex = (manifests: Descriptor[]): object => ({ schemaVersion: 2, mediaType, manifests });
  const topPlatforms = opts.nested ? platforms.slice(0, 1) : platforms;
  const top = await indexEntries(t, repo, topPlatforms, opts);
  const images = [...top.images];
  const children = [...top.entries];
  let nested: MultiArchResult['nested'];
  if (opts.nested) {
    const inner = await indexEntries(t, repo, platforms.slice(1), opts);
    const body = makeIndex(inner.entries);
    const pushed = await pushManifest(t, repo, sha256(new TextEncoder().encode(JSON.stringify(body))), body, mediaType);
    nested = { digest: pushed.digest, bytes: pushed.bytes, children: inner.entries };
    images.push(...inner.images);
    children.push({ mediaType, digest: pushed.digest, size: pushed.size });
  }
  const pushed = await pushManifest(t, repo, tag, makeIndex(children), mediaType);
  return { digest: pushed.digest, mediaType, bytes: pushed.bytes, children, images, ...(nested ? { nested } : {}) };
}

/**
 * For token registries: fetch a token from `ts` for `repository:<repo>:pull,push,delete`
 * (Basic credentials sent to the realm when given) and return a PushTarget using it.
 */
export async function tokenPushTarget(
  registryUrl: string,
  ts: TokenServer,
  repo: string,
  creds?: { user: string; pass: string },
): Promise<PushTarget> {
  const token = await fetchToken(ts.realm, ts.service, [`repository:${repo}:pull,push,delete`], creds);
  return { url: registryUrl, authorization: `Bearer ${token}` };
}

/** GET <realm>?service=…&scope=… and return `token` (or `access_token`). Throws on non-200. */
export async function fetchToken(
  realm: string,
  service: string | undefined,
  scopes: string[],
  creds?: { user: string; pass: string },
): Promise<string> {
  const u = new URL(realm);
  if (service !== undefined) u.searchParams.set('service', service);
  for (const s of scopes) u.searchParams.append('scope', s);
  const res = await fetch(u, { headers: creds ? { Authorization: basicAuth(creds.user, creds.pass) } : {} });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`token request ${u.href}: ${res.status}: ${text}`);
  const json = JSON.parse(text) as { token?: string; access_token?: string };
  const token = json.token ?? json.access_token;
  if (!token) throw new Error(`token response without token: ${text}`);
  return token;
}
