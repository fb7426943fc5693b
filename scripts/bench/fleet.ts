/**
 * In-process: spec loading and fleet coverage for a big fleet (100,000 hosts in 2,000 groups of
 * 50, mixed architectures, 5 images): `parseSpec` on the spec text, then `planLock` with
 * synthetic resolutions (no network). Runs the BUILT code in dist/, like the CLI.
 */
import { createHash } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { stringify } from 'yaml';
import type * as Load from '../../src/config/load.js';
import type { Digest } from '../../src/digest.js';
import type * as LockPlan from '../../src/plan/lock-plan.js';
import type * as Plat from '../../src/platform.js';
import type { PlatformEntry } from '../../src/registry/resolve.js';
import { median, ROOT } from './util.js';

export interface FleetBenchResult {
  hosts: number;
  groups: number;
  images: number;
  specBytes: number;
  rounds: number;
  parseMs: number;
  planMs: number;
  totalMs: number;
  /** The first round alone (cold JIT), for reference. */
  firstTotalMs: number;
  pins: number;
}

/** Group platforms, spelled as a spec would (uname -m and platform strings mixed). */
const GROUP_PLATFORMS: Array<{ arch: string } | { platform: string }> = [
  { arch: 'x86_64' },
  { arch: 'aarch64' },
  { arch: 'armv7l' },
  { platform: 'linux/arm64/v8' },
  { arch: 'riscv64' },
  { arch: 'armv6l' },
  { platform: 'linux/amd64' },
  { arch: 'ppc64le' },
];
const OFFERED = ['linux/amd64', 'linux/arm64/v8', 'linux/arm/v7', 'linux/arm/v6', 'linux/riscv64', 'linux/ppc64le'];

const fakeDigest = (s: string): Digest => `sha256:${createHash('sha256').update(s).digest('hex')}` as Digest;

/** The big fleet's spec text and synthetic resolutions (every image offers the six platforms above). */
export async function bigFleet(opts: { groups?: number; hostsPerGroup?: number; images?: number } = {}): Promise<{
  text: string;
  outcomes: Map<string, LockPlan.ImageOutcome>;
  groups: number;
  perGroup: number;
  imageCount: number;
}> {
  const groups = opts.groups ?? 2000;
  const perGroup = opts.hostsPerGroup ?? 50;
  const imageCount = opts.images ?? 5;
  const { parsePlatform } = (await import(dist('platform.js'))) as typeof Plat;
  const imageIds = Array.from({ length: imageCount }, (_, k) => `app${k}`);
  const images = Object.fromEntries(imageIds.map((id, k) => [id, { ref: `registry.example.com/fleet/${id}`, tag: `1.${k}.0` }]));
  const fleet: Record<string, object> = {};
  for (let g = 0; g < groups; g++) {
    const hosts = Array.from({ length: perGroup }, (_, h) => `site${g}-host${h}`);
    // Half the groups run every image (no `images:`), half a subset of three.
    const subset = g % 2 && imageCount > 3 ? { images: [0, 1, 2].map((k) => imageIds[(g + k) % imageCount]!) } : {};
    fleet[`group${g}`] = { ...GROUP_PLATFORMS[g % GROUP_PLATFORMS.length]!, hosts, ...subset };
  }
  const text = stringify({ version: 1, images, fleet }, { lineWidth: 0 });
  const outcomes = new Map<string, LockPlan.ImageOutcome>(
    imageIds.map((id) => {
      const platforms: PlatformEntry[] = OFFERED.map((key) => ({
        key,
        platform: parsePlatform(key),
        digest: fakeDigest(`${id} ${key}`),
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        size: 1234,
      }));
      return [
        id,
        {
          ok: true,
          resolution: {
            tag: images[id]!.tag,
            digest: fakeDigest(id),
            mediaType: 'application/vnd.oci.image.index.v1+json',
            size: 900,
            platforms,
          },
        },
      ];
    }),
  );
  return { text, outcomes, groups, perGroup, imageCount };
}

const dist = (p: string) => pathToFileURL(`${ROOT}dist/${p}`).href;

export async function fleetBench(
  rounds: number,
  opts: { file: string; groups?: number; hostsPerGroup?: number; images?: number },
): Promise<FleetBenchResult> {
  const { parseSpec } = (await import(dist('config/load.js'))) as typeof Load;
  const { planLock } = (await import(dist('plan/lock-plan.js'))) as typeof LockPlan;
  const { text, outcomes, groups, perGroup, imageCount } = await bigFleet(opts);
  const file = opts.file;

  const parse: number[] = [];
  const plan: number[] = [];
  const total: number[] = [];
  let pins = 0;
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now();
    const spec = parseSpec(text, file);
    const t1 = performance.now();
    const result = planLock(spec, undefined, outcomes);
    const t2 = performance.now();
    if (result.failures.length)
      throw new Error(`fleet bench: planLock reported failures: ${result.failures.map((f) => f.error.message).join('; ')}`);
    const hostCount = Object.values(spec.fleet).reduce((n, g) => n + g.hosts.length, 0);
    if (hostCount !== groups * perGroup) throw new Error(`fleet bench: the spec has ${hostCount} hosts, expected ${groups * perGroup}`);
    pins = Object.values(result.lock.fleet).reduce((n, g) => n + Object.keys(g).length, 0);
    parse.push(t1 - t0);
    plan.push(t2 - t1);
    total.push(t2 - t0);
  }
  return {
    hosts: groups * perGroup,
    groups,
    images: imageCount,
    specBytes: Buffer.byteLength(text),
    rounds,
    parseMs: median(parse),
    planMs: median(plan),
    totalMs: median(total),
    firstTotalMs: total[0] ?? Number.NaN,
    pins,
  };
}
