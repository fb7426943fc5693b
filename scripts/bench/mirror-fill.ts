/**
 * The mirror bench's source content, pushed to a real registry: N images `bench/m<i>:t<i>`, each an
 * OCI index of the four platform images, each platform a small config and two 4 MiB layers; and one
 * big image (one platform, a single 256 MiB layer) for the peak-memory run. Every layer is random,
 * so incompressible and distinct per image and platform, and a real gzip stream (level 0: stored
 * blocks, cheap to make) of a one-file tar, so a copier that sniffs compression keeps it as it is.
 */
import { createHash, randomBytes } from 'node:crypto';
import { pipeline, Readable } from 'node:stream';
import { createGzip, gzipSync } from 'node:zlib';
import { MT, pushBlob, pushManifest, sha256, type Descriptor, type Platform, type PushTarget } from '../../test/helpers/push.js';
import { PLATFORMS } from './fill.js';
import { pool } from './util.js';

const MIB = 2 ** 20;
const LAYERS_PER_PLATFORM = 2;
const LAYER_PAYLOAD = 4 * MIB;
const BIG_LAYER_PAYLOAD = 256 * MIB;

export interface Blob {
  digest: string;
  size: number;
}

/** One source image: what a complete copy must hold at the destination. */
export interface MirrorImage {
  id: string;
  /** Repository path at the source, and (under the prefix) at the destination. */
  repo: string;
  tag: string;
  index: Blob;
  /** The platform manifests. */
  manifests: Blob[];
  /** Configs and layers. */
  blobs: Blob[];
}

/** A ustar header for one regular file of `size` bytes (the payload follows, padded to 512). */
function tarHeader(name: string, size: number): Buffer {
  const h = Buffer.alloc(512);
  const octal = (n: number, len: number): string => `${n.toString(8).padStart(len - 1, '0')}\0`;
  h.write(name, 0, 100, 'utf8');
  h.write(octal(0o644, 8), 100);
  h.write(octal(0, 8), 108);
  h.write(octal(0, 8), 116);
  h.write(octal(size, 12), 124);
  h.write(octal(0, 12), 136);
  h.write('        ', 148);
  h.write('0', 156);
  h.write('ustar\u000000', 257);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  return h;
}

const tarTrailer = (size: number): Buffer => Buffer.alloc(((512 - (size % 512)) % 512) + 1024);

async function pushLayer(t: PushTarget, repo: string, payload: number): Promise<{ blob: Blob; diffId: string }> {
  const tar = Buffer.concat([tarHeader('data', payload), randomBytes(payload), tarTrailer(payload)]);
  const blob = await pushBlob(t, repo, gzipSync(tar, { level: 0 }));
  return { blob, diffId: sha256(tar) };
}

/** Upload a blob from a stream: POST, PATCH chunks of `chunk` bytes (hashing as they go), PUT ?digest=. */
async function pushStreamed(t: PushTarget, repo: string, body: AsyncIterable<Buffer>, chunk = 16 * MIB): Promise<Blob> {
  const expect = async (res: Response, status: number, what: string): Promise<string> => {
    if (res.status !== status) throw new Error(`${what}: expected ${status}, got ${res.status}: ${await res.text().catch(() => '')}`);
    await res.arrayBuffer();
    const loc = res.headers.get('location');
    return loc ? new URL(loc, t.url).href : '';
  };
  let location = await expect(await fetch(`${t.url}/v2/${repo}/blobs/uploads/`, { method: 'POST' }), 202, `POST upload ${repo}`);
  const hash = createHash('sha256');
  let offset = 0;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  const flush = async (): Promise<void> => {
    if (!pendingBytes) return;
    const data = Buffer.concat(pending);
    pending = [];
    pendingBytes = 0;
    const headers = { 'content-type': 'application/octet-stream', 'content-range': `${offset}-${offset + data.length - 1}` };
    location = await expect(await fetch(location, { method: 'PATCH', body: data, headers }), 202, `PATCH upload ${repo}`);
    offset += data.length;
  };
  for await (const c of body) {
    hash.update(c);
    pending.push(c);
    pendingBytes += c.length;
    if (pendingBytes >= chunk) await flush();
  }
  await flush();
  const digest = `sha256:${hash.digest('hex')}`;
  const put = `${location}${location.includes('?') ? '&' : '?'}digest=${encodeURIComponent(digest)}`;
  await expect(await fetch(put, { method: 'PUT' }), 201, `PUT blob ${digest} to ${repo}`);
  return { digest, size: offset };
}

/** A layer of `payload` random bytes, streamed (never whole in memory). */
async function pushBigLayer(t: PushTarget, repo: string, payload: number): Promise<{ blob: Blob; diffId: string }> {
  const tarHash = createHash('sha256');
  async function* tar(): AsyncGenerator<Buffer> {
    const parts = function* (): Generator<Buffer> {
      yield tarHeader('data', payload);
      for (let off = 0; off < payload; off += MIB) yield randomBytes(Math.min(MIB, payload - off));
      yield tarTrailer(payload);
    };
    for (const p of parts()) {
      tarHash.update(p);
      yield p;
    }
  }
  const gz = createGzip({ level: 0 });
  pipeline(Readable.from(tar()), gz, (err) => {
    if (err) gz.destroy(err);
  });
  const blob = await pushStreamed(t, repo, gz);
  return { blob, diffId: `sha256:${tarHash.digest('hex')}` };
}

interface PushedPlatform {
  descriptor: Descriptor;
  blobs: Blob[];
}

async function pushPlatform(
  t: PushTarget,
  repo: string,
  platform: Platform,
  layerPush: () => Promise<{ blob: Blob; diffId: string }>,
  layers: number,
): Promise<PushedPlatform> {
  const pushed: Array<{ blob: Blob; diffId: string }> = [];
  for (let k = 0; k < layers; k++) pushed.push(await layerPush());
  const config = {
    architecture: platform.architecture,
    os: platform.os,
    ...(platform.variant ? { variant: platform.variant } : {}),
    config: { Labels: { 'dev.lg-pins.bench.image': repo } },
    rootfs: { type: 'layers', diff_ids: pushed.map((l) => l.diffId) },
  };
  const cfg = await pushBlob(t, repo, new TextEncoder().encode(JSON.stringify(config)));
  const manifest = {
    schemaVersion: 2,
    mediaType: MT.ociManifest,
    config: { mediaType: MT.ociConfig, ...cfg },
    layers: pushed.map((l) => ({ mediaType: MT.ociLayer, ...l.blob })),
  };
  const bytes = new TextEncoder().encode(JSON.stringify(manifest));
  const m = await pushManifest(t, repo, sha256(bytes), bytes, MT.ociManifest);
  return {
    descriptor: { mediaType: MT.ociManifest, digest: m.digest, size: m.size, platform },
    blobs: [cfg, ...pushed.map((l) => l.blob)],
  };
}

async function pushIndex(t: PushTarget, id: string, repo: string, tag: string, platforms: PushedPlatform[]): Promise<MirrorImage> {
  const index = { schemaVersion: 2, mediaType: MT.ociIndex, manifests: platforms.map((p) => p.descriptor) };
  const pushed = await pushManifest(t, repo, tag, index, MT.ociIndex);
  return {
    id,
    repo,
    tag,
    index: { digest: pushed.digest, size: pushed.size },
    manifests: platforms.map((p) => ({ digest: p.descriptor.digest, size: p.descriptor.size })),
    blobs: platforms.flatMap((p) => p.blobs),
  };
}

/** Push `count` four-platform images, `concurrency` platform images at a time. */
export async function fillMirror(t: PushTarget, count: number, concurrency = 8): Promise<MirrorImage[]> {
  const units = Array.from({ length: count }, (_, i) => PLATFORMS.map((p) => ({ i, p }))).flat();
  const platforms = await pool(units, concurrency, ({ i, p }) =>
    pushPlatform(t, `bench/m${i}`, p, () => pushLayer(t, `bench/m${i}`, LAYER_PAYLOAD), LAYERS_PER_PLATFORM),
  );
  return pool(
    Array.from({ length: count }, (_, i) => i),
    concurrency,
    (i) => pushIndex(t, `img${i}`, `bench/m${i}`, `t${i}`, platforms.slice(i * PLATFORMS.length, (i + 1) * PLATFORMS.length)),
  );
}

/** The peak-memory image: `bench/big:big`, linux/amd64 only, one layer of `payload` bytes. */
export async function fillBig(t: PushTarget, payload = BIG_LAYER_PAYLOAD): Promise<MirrorImage> {
  const repo = 'bench/big';
  const amd64 = await pushPlatform(t, repo, PLATFORMS[0]!, () => pushBigLayer(t, repo, payload), 1);
  return pushIndex(t, 'big', repo, 'big', [amd64]);
}

/** Every blob and manifest of `images`, by digest, and each index by tag: the size of what a PUT uploads. */
export function sizesOf(images: readonly MirrorImage[]): Map<string, number> {
  const sizes = new Map<string, number>();
  for (const img of images) {
    for (const b of [img.index, ...img.manifests, ...img.blobs]) sizes.set(b.digest, b.size);
    sizes.set(img.tag, img.index.size);
  }
  return sizes;
}

/** Bytes of one full copy of `images`: blobs, platform manifests, indexes. */
export const totalBytes = (images: readonly MirrorImage[]): number =>
  images.reduce((s, img) => s + img.index.size + [...img.manifests, ...img.blobs].reduce((a, b) => a + b.size, 0), 0);
