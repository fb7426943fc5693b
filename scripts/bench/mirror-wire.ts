/**
 * The mirror wire minimum, run as its own process: what any copier must do to copy pinned images
 * into an empty registry, and nothing else. Per image: GET the index by digest, GET its platform
 * manifests; then every blob once, `concurrency` at a time: POST an upload at the destination, GET
 * the blob at the source and PUT its body, streamed, to the upload (monolithic, ?digest=); then the
 * platform manifests (PUT by digest) and the index (PUT by its tag, which stores it and tags it in
 * one request), `concurrency` images at a time. No existence checks (the destination is empty), no
 * hashing (the registry checks every digest). Keep-alive undici Agent; only undici (and node:fs) is imported.
 *
 *   node node_modules/.cache/lg-pins-bench/scripts/bench/mirror-wire.js <plan.json> [concurrency]
 *
 * plan.json: {source, destination (base URLs), images: [{from, to (repositories), tag, digest}]}.
 * Prints one JSON line {images, blobs, blobBytes, manifests, requests, maxRSSKiB}; exits 1 on any
 * unexpected status.
 */
import { readFileSync } from 'node:fs';
import { Agent, request, type Dispatcher } from 'undici';
import { ACCEPT } from './accept.js';
import { peakRssKiB } from './peak-rss.js';

interface PlanImage {
  from: string;
  to: string;
  tag: string;
  digest: string;
}

interface Plan {
  source: string;
  destination: string;
  images: PlanImage[];
}

interface Raw {
  bytes: Buffer;
  mediaType: string;
}

interface Read {
  img: PlanImage;
  index: Raw;
  platforms: Array<{ digest: string; raw: Raw }>;
}

interface BlobJob {
  from: string;
  to: string;
  digest: string;
  size: number;
}

const [file, conc] = process.argv.slice(2);
if (!file) {
  console.error('usage: mirror-wire.js <plan.json> [concurrency]');
  process.exit(2);
}
const plan = JSON.parse(readFileSync(file, 'utf8')) as Plan;
const concurrency = Number(conc ?? '8');
const agent = new Agent({ keepAliveTimeout: 30_000, connections: concurrency });
let requests = 0;

async function pool<T, R>(items: readonly T[], work: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await work(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return out;
}

/** One request; throws unless the status is `expected`. Returns the body (read whole) and headers. */
async function send(
  method: Dispatcher.HttpMethod,
  url: string,
  expected: number,
  opts: { body?: Dispatcher.DispatchOptions['body']; headers?: Record<string, string> } = {},
): Promise<{ body: Buffer; headers: Record<string, string | string[] | undefined> }> {
  requests++;
  const res = await request(url, { method, dispatcher: agent, headers: opts.headers, body: opts.body });
  const body = Buffer.from(await res.body.arrayBuffer());
  if (res.statusCode !== expected) throw new Error(`${method} ${url}: expected ${expected}, got ${res.statusCode}: ${body.toString()}`);
  return { body, headers: res.headers };
}

async function getManifest(repo: string, digest: string): Promise<Raw> {
  const res = await send('GET', `${plan.source}/v2/${repo}/manifests/${digest}`, 200, { headers: { accept: ACCEPT } });
  return { bytes: res.body, mediaType: String(res.headers['content-type']) };
}

async function read(img: PlanImage): Promise<Read> {
  const index = await getManifest(img.from, img.digest);
  const children = (JSON.parse(index.bytes.toString()) as { manifests: Array<{ digest: string }> }).manifests;
  const platforms = await Promise.all(children.map(async (c) => ({ digest: c.digest, raw: await getManifest(img.from, c.digest) })));
  return { img, index, platforms };
}

async function copyBlob(b: BlobJob): Promise<void> {
  const start = await send('POST', `${plan.destination}/v2/${b.to}/blobs/uploads/`, 202);
  const location = new URL(String(start.headers.location), plan.destination).href;
  requests++;
  const src = await request(`${plan.source}/v2/${b.from}/blobs/${b.digest}`, { method: 'GET', dispatcher: agent });
  if (src.statusCode !== 200) throw new Error(`GET blob ${b.from}@${b.digest}: ${src.statusCode}: ${await src.body.text()}`);
  await send('PUT', `${location}${location.includes('?') ? '&' : '?'}digest=${encodeURIComponent(b.digest)}`, 201, {
    body: src.body,
    headers: { 'content-type': 'application/octet-stream', 'content-length': String(b.size) },
  });
}

async function putManifests(r: Read): Promise<void> {
  const put = (ref: string, raw: Raw) =>
    send('PUT', `${plan.destination}/v2/${r.img.to}/manifests/${ref}`, 201, {
      body: raw.bytes,
      headers: { 'content-type': raw.mediaType },
    });
  await Promise.all(r.platforms.map((p) => put(p.digest, p.raw)));
  await put(r.img.tag, r.index);
}

const reads = await pool(plan.images, read);
const unique = new Map<string, BlobJob>();
for (const r of reads) {
  for (const p of r.platforms) {
    const m = JSON.parse(p.raw.bytes.toString()) as {
      config: { digest: string; size: number };
      layers: Array<{ digest: string; size: number }>;
    };
    for (const d of [m.config, ...m.layers])
      unique.set(`${r.img.to}@${d.digest}`, { from: r.img.from, to: r.img.to, digest: d.digest, size: d.size });
  }
}
const blobs = [...unique.values()];
await pool(blobs, copyBlob);
await pool(reads, putManifests);
await agent.close();
console.log(
  JSON.stringify({
    images: reads.length,
    blobs: blobs.length,
    blobBytes: blobs.reduce((s, b) => s + b.size, 0),
    manifests: reads.reduce((s, r) => s + 1 + r.platforms.length, 0),
    requests,
    maxRSSKiB: peakRssKiB(),
  }),
);
