/**
 * The mirror bench's measured runs and what it reads from the registries: `lg-pins mirror` (the
 * built CLI, fresh process), the wire-minimum copier in its own process, the `skopeo copy --all`
 * loop; the requests each made, from both registries' access logs; and a cheap check that a copy
 * is complete (HEAD of every manifest, blob and tag at the destination).
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { ACCEPT_ALL } from '../../test/helpers/push.js';
import { settledAccessLog, type AccessLogEntry, type TestRegistry } from '../../test/helpers/registry.js';
import type { MirrorImage } from './mirror-fill.js';
import { BENCH_OUT, BIN, pool, runTimed, tail, type Timed } from './util.js';

const execFileAsync = promisify(execFile);

/**
 * What one run sent to the destination, from its access log. The log (Apache combined format)
 * records the RESPONSE size only, so the bytes uploaded are summed from what each completed upload
 * names: a blob upload's final `PUT …?digest=` (201) counts that blob's size, a manifest PUT (201)
 * the size of the manifest it names (by digest, or the index by its tag), sizes known from the fill.
 */
export interface Upload {
  requests: number;
  byMethod: Record<string, number>;
  /** Blob uploads completed (final PUT, 201) and their bytes. */
  blobs: number;
  blobBytes: number;
  manifests: number;
  manifestBytes: number;
  /** Cross-repository mount attempts (`POST …/blobs/uploads/?mount=`): no bytes sent. */
  mounts: number;
  /** Uploads started (POST 202) and never completed: their PATCHed bytes are not counted. */
  unfinished: number;
  /** Answers ≥ 400 other than a 404 to HEAD/GET (an existence check that found nothing). */
  errors: number;
  /** Completed uploads whose size the fill does not know (counted, bytes not summed). */
  unknown: number;
}

/** What one run read from the source. */
export interface SourceReads {
  manifestGET: number;
  blobGET: number;
  other: number;
}

const isSentinel = (e: AccessLogEntry): boolean => e.path.includes('/manifests/sentinel-');

function split(path: string): { path: string; query: URLSearchParams } {
  const q = path.indexOf('?');
  return q < 0 ? { path, query: new URLSearchParams() } : { path: path.slice(0, q), query: new URLSearchParams(path.slice(q + 1)) };
}

export function countUploads(entries: readonly AccessLogEntry[], sizes: ReadonlyMap<string, number>): Upload {
  const u: Upload = {
    requests: 0,
    byMethod: {},
    blobs: 0,
    blobBytes: 0,
    manifests: 0,
    manifestBytes: 0,
    mounts: 0,
    unfinished: 0,
    errors: 0,
    unknown: 0,
  };
  let started = 0;
  for (const e of entries) {
    if (isSentinel(e)) continue;
    u.requests++;
    u.byMethod[e.method] = (u.byMethod[e.method] ?? 0) + 1;
    const { path, query } = split(e.path);
    const ok = e.status >= 200 && e.status < 300;
    if (e.status >= 400 && !(e.status === 404 && (e.method === 'HEAD' || e.method === 'GET'))) u.errors++;
    if (e.method === 'POST' && /\/blobs\/uploads\/?$/.test(path)) {
      if (query.has('mount')) u.mounts++;
      if (e.status === 202) started++;
    } else if (e.method === 'PUT' && /\/blobs\/uploads\/[^/]+$/.test(path) && ok) {
      u.blobs++;
      const size = sizes.get(query.get('digest') ?? '');
      if (size === undefined) u.unknown++;
      else u.blobBytes += size;
    } else if (e.method === 'PUT' && /\/manifests\/[^/]+$/.test(path) && ok) {
      u.manifests++;
      const size = sizes.get(decodeURIComponent(path.slice(path.lastIndexOf('/') + 1)));
      if (size === undefined) u.unknown++;
      else u.manifestBytes += size;
    }
  }
  u.unfinished = Math.max(0, started - u.blobs);
  return u;
}

export function countReads(entries: readonly AccessLogEntry[]): SourceReads {
  const r: SourceReads = { manifestGET: 0, blobGET: 0, other: 0 };
  for (const e of entries) {
    if (isSentinel(e)) continue;
    const { path } = split(e.path);
    if (e.method === 'GET' && /\/manifests\/[^/]+$/.test(path)) r.manifestGET++;
    else if (e.method === 'GET' && /\/blobs\/sha256:[0-9a-f]+$/.test(path)) r.blobGET++;
    else r.other++;
  }
  return r;
}

/** Run `work` and collect the access-log lines it caused at the source and at the destination. */
export async function observed<T>(
  src: TestRegistry,
  dst: TestRegistry,
  work: () => Promise<T>,
): Promise<{ value: T; src: AccessLogEntry[]; dst: AccessLogEntry[] }> {
  const [s0, d0] = await Promise.all([settledAccessLog(src), settledAccessLog(dst)]);
  const value = await work();
  const [s1, d1] = await Promise.all([settledAccessLog(src), settledAccessLog(dst)]);
  return { value, src: s1.slice(s0.length), dst: d1.slice(d0.length) };
}

/** `lg-pins mirror --to <to>` in the spec directory; never throws for a non-zero exit. */
export const lgPinsMirror = (dir: string, to: string, env: NodeJS.ProcessEnv): Promise<Timed> =>
  runTimed(process.execPath, [BIN, 'mirror', '--to', to], { cwd: dir, env });

/** Whether the built CLI has a `mirror` command (`mirror --help` prints its own usage). */
export async function hasMirrorCommand(env: NodeJS.ProcessEnv, cwd: string): Promise<boolean> {
  const r = await runTimed(process.execPath, [BIN, 'mirror', '--help'], { cwd, env });
  return r.code === 0 && /Usage: lg-pins mirror/.test(r.stdout);
}

/** The copy plan the wire-minimum process reads. */
export function writeWirePlan(file: string, src: TestRegistry, dst: TestRegistry, prefix: string, images: readonly MirrorImage[]): void {
  const plan = {
    source: src.url,
    destination: dst.url,
    images: images.map((img) => ({ from: img.repo, to: `${prefix}/${img.repo}`, tag: img.tag, digest: img.index.digest })),
  };
  writeFileSync(file, JSON.stringify(plan));
}

/** The wire-minimum copier in its own process. */
export async function mirrorWire(planFile: string, concurrency: number, env: NodeJS.ProcessEnv): Promise<Timed & { maxRSSKiB: number }> {
  const r = await runTimed(process.execPath, [`${BENCH_OUT}mirror-wire.js`, planFile, String(concurrency)], { env });
  if (r.code !== 0) throw new Error(`mirror wire client exited ${r.code}:\n${tail(r.stderr || r.stdout)}`);
  const summary = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as { maxRSSKiB?: number };
  return { ...r, maxRSSKiB: summary.maxRSSKiB ?? Number.NaN };
}

/** `skopeo copy --all` once per image, `concurrency` at a time; wall time of the whole loop. */
export async function skopeoCopyLoop(
  src: TestRegistry,
  dst: TestRegistry,
  prefix: string,
  images: readonly MirrorImage[],
  concurrency: number,
  env: NodeJS.ProcessEnv,
): Promise<number> {
  const start = performance.now();
  await pool(images, concurrency, async (img) => {
    const from = `docker://${src.host}/${img.repo}:${img.tag}`;
    const to = `docker://${dst.host}/${prefix}/${img.repo}:${img.tag}`;
    try {
      await execFileAsync('skopeo', ['copy', '--all', '--src-tls-verify=false', '--dest-tls-verify=false', from, to], {
        env,
        maxBuffer: 16 * 1024 * 1024,
      });
    } catch (e) {
      const err = e as Error & { stderr?: string };
      throw new Error(`skopeo copy --all ${from} ${to} failed: ${tail(err.stderr ?? err.message, 5)}`);
    }
  });
  return performance.now() - start;
}

/**
 * Is every image complete at `dst` under `prefix`: each index, platform manifest and blob by
 * digest (HEAD, 200) and each tag pointing at its index (Docker-Content-Digest)? The problems, first few.
 */
export async function verifyCopy(
  dst: TestRegistry,
  prefix: string,
  images: readonly MirrorImage[],
  concurrency: number,
): Promise<string[]> {
  const checks = images.flatMap((img) => {
    const base = `${dst.url}/v2/${prefix}/${img.repo}`;
    return [
      ...[img.index, ...img.manifests].map((m) => ({ url: `${base}/manifests/${m.digest}`, want: m.digest })),
      ...img.blobs.map((b) => ({ url: `${base}/blobs/${b.digest}`, want: b.digest })),
      { url: `${base}/manifests/${img.tag}`, want: img.index.digest },
    ];
  });
  const problems: string[] = [];
  await pool(checks, concurrency, async (c) => {
    const res = await fetch(c.url, { method: 'HEAD', headers: { accept: ACCEPT_ALL } });
    const got = res.headers.get('docker-content-digest');
    if (res.status !== 200) problems.push(`HEAD ${c.url}: ${res.status}`);
    else if (got !== null && got !== c.want) problems.push(`HEAD ${c.url}: serves ${got}, expected ${c.want}`);
  });
  return problems.length > 5 ? [...problems.slice(0, 5), `… ${problems.length - 5} more`] : problems;
}
