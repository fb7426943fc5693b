/**
 * Fill the test registry fast: the four platform images are pushed once per repository, then each
 * bench image is ONE index PUT (`t<i>` in `bench/r<i mod repos>`), made unique by an annotation,
 * so N images cost about N requests rather than N × 13 uploads.
 */
import { MT, pushManifest, pushPlatformImage, type Descriptor, type Platform, type PushTarget } from '../../test/helpers/push.js';
import { pool } from './util.js';

export const PLATFORMS: Platform[] = [
  { os: 'linux', architecture: 'amd64' },
  { os: 'linux', architecture: 'arm64', variant: 'v8' },
  { os: 'linux', architecture: 'arm', variant: 'v7' },
  { os: 'linux', architecture: 'riscv64' },
];

/** The fleet of the bench spec: one group per platform the images offer. */
export const FLEET = {
  x86: { arch: 'x86_64', hosts: ['x86-01', 'x86-02', 'x86-03'] },
  arm64: { arch: 'aarch64', hosts: ['arm64-01', 'arm64-02'] },
  armv7: { arch: 'armv7l', hosts: ['armv7-01', 'armv7-02'] },
  riscv: { arch: 'riscv64', hosts: ['rv-01'] },
};

export const REPOSITORIES = 20;

export interface BenchImage {
  id: string;
  repo: string;
  tag: string;
  digest: string;
}

export const imageAt = (i: number, repos: number): Omit<BenchImage, 'digest'> => ({
  id: `img${i}`,
  repo: `bench/r${i % repos}`,
  tag: `t${i}`,
});

/** Push `count` images (4-platform OCI indexes) into `repos` repositories. */
export async function fill(target: PushTarget, count: number, repos: number): Promise<BenchImage[]> {
  const used = Math.min(repos, count);
  const children = await pool(
    Array.from({ length: used }, (_, k) => `bench/r${k}`),
    8,
    async (repo) => {
      const descriptors: Descriptor[] = [];
      for (const p of PLATFORMS) descriptors.push(await pushPlatformImage(target, repo, p, { salt: `lg-pins-bench ${repo}` }));
      return descriptors;
    },
  );
  return pool(
    Array.from({ length: count }, (_, i) => i),
    16,
    async (i) => {
      const img = imageAt(i, used);
      const manifests = children[i % used]!;
      const index = { schemaVersion: 2, mediaType: MT.ociIndex, manifests, annotations: { 'dev.lg-pins.bench.image': img.id } };
      const pushed = await pushManifest(target, img.repo, img.tag, index, MT.ociIndex);
      return { ...img, digest: pushed.digest };
    },
  );
}
