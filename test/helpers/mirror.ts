/**
 * Fixtures and read-backs for the `mirror` tests: fetch manifests and blobs by digest over plain
 * HTTP (with a mirror's credentials when it wants them), hash them here, and tell which blobs a run
 * uploaded from what a fault proxy or a registry's access log saw (a blob upload's closing PUT
 * carries `digest=`); images whose platform manifests share a layer; cosign key files.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ACCEPT_ALL, pushBlob, pushManifest, MT, type Descriptor, type MultiArchResult, type PushTarget } from './push.js';
import type { ProxiedResponse, ProxyRecord } from './proxy.js';
import type { SpecGroup } from './workspace.js';

export const PLATFORMS = [
  { os: 'linux', architecture: 'amd64' },
  { os: 'linux', architecture: 'arm64', variant: 'v8' },
  { os: 'linux', architecture: 'arm', variant: 'v7' },
];
export const FLEET: Record<string, SpecGroup> = {
  datacenter: { arch: 'x86_64', hosts: ['web-01'] },
  edge: { arch: 'armv7l', hosts: ['gw-01'] },
};

export const sha = (b: Uint8Array): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** Headers sent with every read (e.g. a mirror's credentials). */
type ReadHeaders = Record<string, string>;

export async function get(url: string, accept = ACCEPT_ALL, headers: ReadHeaders = {}): Promise<{ status: number; bytes: Buffer }> {
  const res = await fetch(url, { headers: { accept, ...headers } });
  return { status: res.status, bytes: Buffer.from(await res.arrayBuffer()) };
}

/** The config and layer digests of a platform manifest as the registry serves it. */
export async function blobsOf(base: string, manifest: string, headers: ReadHeaders = {}): Promise<string[]> {
  const m = await get(`${base}/manifests/${manifest}`, ACCEPT_ALL, headers);
  if (m.status !== 200) throw new Error(`${base}/manifests/${manifest}: HTTP ${m.status}`);
  const parsed = JSON.parse(m.bytes.toString()) as { config: { digest: string }; layers: Array<{ digest: string }> };
  return [parsed.config.digest, ...parsed.layers.map((l) => l.digest)];
}

/**
 * `base` (`http://host/v2/repo`) serves the index by digest and every platform manifest and blob
 * under it, each hashing to its digest. Returns the blob digests it checked.
 */
export async function expectWhole(
  base: string,
  img: Pick<MultiArchResult, 'digest' | 'images'>,
  headers: ReadHeaders = {},
): Promise<string[]> {
  const seen: string[] = [];
  const index = await get(`${base}/manifests/${img.digest}`, ACCEPT_ALL, headers);
  if (index.status !== 200 || sha(index.bytes) !== img.digest) throw new Error(`${base}: the index ${img.digest} is not served whole`);
  for (const child of img.images) {
    const m = await get(`${base}/manifests/${child.digest}`, ACCEPT_ALL, headers);
    if (sha(m.bytes) !== child.digest) throw new Error(`${base}: ${child.digest} does not hash to its digest (HTTP ${m.status})`);
    for (const d of await blobsOf(base, child.digest, headers)) {
      const b = await get(`${base}/blobs/${d}`, '*/*', headers);
      if (sha(b.bytes) !== d) throw new Error(`${base}: blob ${d} does not hash to its digest (HTTP ${b.status})`);
      seen.push(d);
    }
  }
  return seen;
}

/** The HTTP status of each manifest reference (digest or tag) at `base`. */
export async function manifestStatuses(base: string, refs: string[]): Promise<number[]> {
  return Promise.all(refs.map(async (r) => (await get(`${base}/manifests/${r}`)).status));
}

/**
 * The blob digests uploaded (a PUT that closed an upload session with `digest=`, answered 201)
 * among `records`: what a fault proxy saw, or a registry's access log.
 */
export function uploadedBlobs(records: ReadonlyArray<Pick<ProxyRecord, 'method' | 'path' | 'status'>>): string[] {
  return records
    .filter((r) => r.method === 'PUT' && r.path.includes('/blobs/uploads/') && r.status === 201)
    .map((r) => new URL(r.path, 'http://x').searchParams.get('digest') ?? '')
    .filter(Boolean);
}

/** A body with one bit flipped in its middle: the same length, another digest (for a proxy's `rewrite`). */
export function flipOneBit(res: ProxiedResponse): ProxiedResponse {
  const body = Buffer.from(res.body);
  const at = body.length >> 1;
  body.writeUInt8(body.readUInt8(at) ^ 0x01, at);
  return { ...res, body };
}

/** `sha256:<hex>` → cosign's tag for it (`sha256-<hex>` + suffix). */
export const cosignTagOf = (digest: string, suffix = ''): string => `${digest.replace(':', '-')}${suffix}`;

/** Write `keys/release.pub` into a workspace (the spec's `verify.cosign.key`). */
export function writeKey(dir: string, pem: string): void {
  mkdirSync(join(dir, 'keys'), { recursive: true });
  writeFileSync(join(dir, 'keys/release.pub'), pem);
}

/**
 * A one-platform (linux/amd64) OCI index under `tag` whose image has two layers: `shared` (the
 * same bytes in every repository it is pushed to) and one of its own.
 */
export async function pushWithSharedLayer(
  t: PushTarget,
  repo: string,
  tag: string,
  shared: Uint8Array,
): Promise<{ digest: string; images: Descriptor[]; shared: string }> {
  const common = await pushBlob(t, repo, shared);
  const own = await pushBlob(t, repo, new TextEncoder().encode(`the layer only ${repo} has`));
  const cfg = await pushBlob(t, repo, new TextEncoder().encode(JSON.stringify({ architecture: 'amd64', os: 'linux', repo })));
  const manifest = {
    schemaVersion: 2,
    mediaType: MT.ociManifest,
    config: { mediaType: MT.ociConfig, ...cfg },
    layers: [
      { mediaType: MT.ociLayer, ...common },
      { mediaType: MT.ociLayer, ...own },
    ],
  };
  const m = await pushManifest(t, repo, sha(new TextEncoder().encode(JSON.stringify(manifest))), manifest, MT.ociManifest);
  const child: Descriptor = { mediaType: MT.ociManifest, digest: m.digest, size: m.size, platform: { os: 'linux', architecture: 'amd64' } };
  const index = await pushManifest(t, repo, tag, { schemaVersion: 2, mediaType: MT.ociIndex, manifests: [child] }, MT.ociIndex);
  return { digest: index.digest, images: [child], shared: common.digest };
}
