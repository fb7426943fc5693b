import { describe, expect, it } from 'vitest';
import { computeDigest, type Digest } from '../../src/digest.js';
import type { Lock } from '../../src/lock/model.js';
import {
  blobsToAsk,
  copySteps,
  manifestsToAsk,
  mergeReferrers,
  mirrorJobs,
  stepTotals,
  type ImageGraph,
  type ManifestNode,
  type MirrorImage,
} from '../../src/plan/mirror.js';
import { parseMirrorTarget, targetName } from '../../src/reference.js';
import type { Descriptor } from '../../src/registry/manifest.js';

const d = (s: string): Digest => computeDigest(new TextEncoder().encode(s));
const blob = (s: string, size = 10): Descriptor => ({ mediaType: 'application/octet-stream', digest: d(s), size });
const bytes = (s: string) => new TextEncoder().encode(s);

describe('parseMirrorTarget', () => {
  it.each([
    ['mirror.local:5000', { kind: 'registry', host: 'mirror.local:5000', prefix: '' }],
    ['Mirror.Local/airgap/', { kind: 'registry', host: 'mirror.local', prefix: 'airgap' }],
    ['127.0.0.1:5000/a/b', { kind: 'registry', host: '127.0.0.1:5000', prefix: 'a/b' }],
    ['[::1]:5000', { kind: 'registry', host: '[::1]:5000', prefix: '' }],
    ['oci-layout://carry', { kind: 'layout', dir: '/work/carry' }],
    ['oci-layout:///abs/dir', { kind: 'layout', dir: '/abs/dir' }],
  ])('%s', (text, want) => {
    expect(parseMirrorTarget(text, '/work')).toEqual(want);
  });

  it.each([
    ['https://mirror.local', /no scheme/],
    ['oci-layout://', /needs a directory/],
    ['mirror_local', /not a registry host/],
    ['mirror.local/UPPER', /not a repository path/],
    ['-bad.host', /not a registry host/],
  ])('refuses %s', (text, problem) => {
    const r = parseMirrorTarget(text, '/work');
    expect(typeof r).toBe('string');
    expect(r).toMatch(problem);
  });

  it('names a target as it would be written', () => {
    expect(targetName({ kind: 'registry', host: 'm:5000', prefix: 'x' })).toBe('m:5000/x');
    expect(targetName({ kind: 'registry', host: 'm:5000', prefix: '' })).toBe('m:5000');
    expect(targetName({ kind: 'layout', dir: '/d' })).toBe('oci-layout:///d');
  });
});

const LOCK: Lock = {
  lockVersion: 1,
  images: {
    agent: { ref: 'reg.example/lg/agent', tag: 'v3.1.0', digest: d('agent v3.1.0'), mediaType: 'x', platforms: {} },
    tool: { ref: 'reg.example/tool', tag: 'v1', digest: d('tool v1'), mediaType: 'x', platforms: {} },
    local: { ref: 'oci-layout://./vendor', tag: 'v1', digest: d('local v1'), mediaType: 'x', platforms: {} },
  },
  fleet: {
    dc: { agent: { platform: 'linux/amd64', digest: d('agent amd64') } },
    lab: {
      agent: { platform: 'linux/riscv64', digest: d('agent old riscv64'), tag: 'v3.0.2', index: d('agent v3.0.2'), held: 'no riscv64' },
    },
    lab2: {
      agent: { platform: 'linux/riscv64', digest: d('agent old riscv64'), tag: 'v3.0.2', index: d('agent v3.0.2'), held: 'no riscv64' },
    },
    old: { tool: { platform: 'linux/arm/v7', digest: d('tool v0 arm'), tag: 'v0', held: 'no arm/v7' } },
  },
};
const IMAGES: Record<string, MirrorImage> = {
  agent: { registry: 'reg.example', repository: 'lg/agent', cosign: true, mirrors: ['m1.local/copy', 'm2.local'] },
  tool: { registry: 'reg.example', repository: 'tool', cosign: false, mirrors: ['m1.local/copy', 'm2.local'] },
  local: { cosign: false, mirrors: [] },
};

describe('mirrorJobs', () => {
  it('every pinned image to every mirror of its registry, held releases by digest (once), the tag on the pinned index', () => {
    const { jobs, skipped, problems } = mirrorJobs(LOCK, IMAGES, { to: [], cwd: '/w' });
    expect(problems).toEqual([]);
    expect(skipped).toEqual([{ image: 'local', why: 'it is read from an OCI layout, not a registry' }]);
    expect(jobs.map((j) => j.image)).toEqual(['agent', 'tool']);
    const agent = jobs[0]!;
    expect(agent.roots).toEqual([
      { digest: d('agent v3.1.0'), tag: 'v3.1.0', what: 'v3.1.0 index' },
      { digest: d('agent v3.0.2'), what: 'v3.0.2 (held by lab)' },
    ]);
    expect(agent.signatures).toBe(true);
    expect(agent.destinations.map((x) => x.name)).toEqual(['m1.local/copy/lg/agent', 'm2.local/lg/agent']);
    // A held pin from an older lock (no index recorded): its platform digest is the root.
    expect(jobs[1]!.roots[1]).toEqual({ digest: d('tool v0 arm'), what: 'v0 (held by old)' });
  });

  it('--to replaces the mirrors; --no-tags drops the image tag; --image selects', () => {
    const to = [parseMirrorTarget('oci-layout://carry', '/w'), parseMirrorTarget('air.local/x', '/w')].map((t) => {
      if (typeof t === 'string') throw new Error(t);
      return t;
    });
    const { jobs } = mirrorJobs(LOCK, IMAGES, { to, only: ['tool'], noTags: true, cwd: '/w' });
    expect(jobs).toHaveLength(1);
    expect(jobs[0]!.roots[0]).toEqual({ digest: d('tool v1'), what: 'v1 index' });
    expect(jobs[0]!.destinations).toEqual([
      { target: { kind: 'layout', dir: '/w/carry' }, repository: 'tool', name: 'oci-layout:///w/carry (tool)' },
      { target: { kind: 'registry', host: 'air.local', prefix: 'x' }, repository: 'x/tool', name: 'air.local/x/tool' },
    ]);
  });

  it('an unknown --image and a bad mirror are problems; an image with no mirror and no --to is skipped', () => {
    const images = { ...IMAGES, tool: { ...IMAGES.tool!, mirrors: ['https://bad'] }, agent: { ...IMAGES.agent!, mirrors: [] } };
    const { jobs, skipped, problems } = mirrorJobs(LOCK, images, { to: [], only: ['agent', 'tool', 'nope'], cwd: '/w' });
    expect(jobs).toEqual([]);
    expect(problems).toEqual([
      '--image nope: the lock pins no image "nope"',
      'registries.reg.example.mirrors: "https://bad" is not host[/prefix] or oci-layout://DIR (no scheme before a registry host)',
    ]);
    expect(skipped).toEqual([
      { image: 'agent', why: 'no --to, and registries.reg.example.mirrors lists none' },
      { image: 'tool', why: 'no --to, and registries.reg.example.mirrors lists none' },
    ]);
  });

  it('an image the spec no longer names is skipped, and a repeated target is copied to once', () => {
    const { jobs, skipped } = mirrorJobs(
      LOCK,
      { agent: { ...IMAGES.agent!, mirrors: ['m.local', 'M.local', 'm.local/'] } },
      { to: [], cwd: '/w' },
    );
    expect(jobs[0]!.destinations.map((x) => x.name)).toEqual(['m.local/lg/agent']);
    expect(skipped.map((s) => [s.image, s.why])).toEqual([
      ['local', 'the spec no longer names it'],
      ['tool', 'the spec no longer names it'],
    ]);
  });
});

// index → two platform manifests (sharing a layer) and a nested index → a third; plus a signature.
const L1 = blob('layer shared', 1000);
const L2 = blob('layer amd64', 2000);
const L3 = blob('layer arm', 3000);
const L4 = blob('layer riscv', 4000);
const C = (s: string) => blob(`config ${s}`, 5);
function node(name: string, manifests: Digest[], blobs: Descriptor[]): ManifestNode {
  return { digest: d(name), mediaType: manifests.length ? 'index' : 'manifest', bytes: bytes(name), manifests, blobs };
}
const AMD = node('amd64', [], [C('amd'), L1, L2]);
const ARM = node('arm', [], [C('arm'), L1, L3]);
const RISCV = node('riscv', [], [C('riscv'), L4]);
const NESTED = node('nested', [RISCV.digest], []);
const INDEX = node('index', [AMD.digest, ARM.digest, NESTED.digest], []);
const SIG = node('sig', [], [C('sig'), blob('payload', 300)]);
const GRAPH: ImageGraph = {
  nodes: new Map([INDEX, AMD, ARM, NESTED, RISCV, SIG].map((n) => [n.digest, n])),
  tops: [INDEX.digest, SIG.digest],
  tags: [
    { tag: 'sha256-x.sig', digest: SIG.digest, signature: true },
    { tag: 'v1', digest: INDEX.digest, signature: false },
  ],
};
const none = { manifests: new Map<Digest, boolean>(), blobs: new Map<Digest, boolean>(), tags: new Map<string, Digest>() };

describe('copySteps', () => {
  it('an empty target: every blob once, manifests children first, then the tags', () => {
    const all = new Map([...GRAPH.nodes.keys()].map((k) => [k, false]));
    const s = copySteps(GRAPH, { ...none, manifests: all });
    expect(s.blobs.map((b) => b.digest)).toEqual(
      [C('amd'), L1, L2, C('arm'), L3, C('riscv'), L4, C('sig'), blob('payload', 300)].map((b) => b.digest),
    );
    // The index and the signature get tags: each is put once, by its tag, after everything else.
    expect(s.manifests.map((m) => m.digest)).toEqual([AMD, ARM, RISCV, NESTED].map((n) => n.digest));
    expect(s.putByTag.map((m) => m.digest)).toEqual([INDEX, SIG].map((n) => n.digest));
    expect(s.tags).toEqual([
      { tag: 'sha256-x.sig', digest: SIG.digest },
      { tag: 'v1', digest: INDEX.digest },
    ]);
    expect(stepTotals(s)).toEqual({
      blobs: 9,
      bytes: 10000 + 5 * 4 + 300 + [AMD, ARM, RISCV, NESTED, INDEX, SIG].reduce((n, m) => n + m.bytes.length, 0),
      manifests: 6,
      tags: 2,
    });
  });

  it.each([
    ['the index is there: its subtree is taken whole', { [INDEX.digest]: true, [SIG.digest]: true }, {}, [], []],
    [
      'one platform is there: only the others',
      { [INDEX.digest]: false, [AMD.digest]: true, [ARM.digest]: false, [NESTED.digest]: false, [RISCV.digest]: false, [SIG.digest]: true },
      {},
      ['arm', 'riscv', 'nested'],
      [C('arm'), L1, L3, C('riscv'), L4],
    ],
    [
      'blobs already there are not uploaded (an interrupted run)',
      { [INDEX.digest]: false, [AMD.digest]: false, [ARM.digest]: true, [NESTED.digest]: true, [SIG.digest]: true },
      { [L1.digest]: true, [L2.digest]: true },
      ['amd64'],
      [C('amd')],
    ],
  ])('%s', (_name, manifests, blobs, want, wantBlobs) => {
    const s = copySteps(GRAPH, {
      manifests: new Map(Object.entries(manifests) as Array<[Digest, boolean]>),
      blobs: new Map(Object.entries(blobs) as Array<[Digest, boolean]>),
      tags: new Map(),
    });
    expect(s.manifests.map((m) => new TextDecoder().decode(m.bytes))).toEqual(want);
    expect(s.blobs.map((b) => b.digest)).toEqual(wantBlobs.map((b) => b.digest));
  });

  it('a tagged manifest that another manifest references is put by digest first (children before parents)', () => {
    const child = node('tagged child', [], [C('c')]);
    const parent = node('held parent', [child.digest], []);
    const graph: ImageGraph = {
      nodes: new Map([child, parent].map((n) => [n.digest, n])),
      tops: [child.digest, parent.digest],
      tags: [{ tag: 'v1', digest: child.digest, signature: false }],
    };
    const s = copySteps(graph, {
      ...none,
      manifests: new Map([
        [child.digest, false],
        [parent.digest, false],
      ]),
    });
    expect(s.manifests.map((m) => m.digest)).toEqual([child.digest, parent.digest]);
    expect(s.putByTag).toEqual([]);
    expect(s.tags).toEqual([{ tag: 'v1', digest: child.digest }]);
  });

  it('a tag already pointing at its digest is not set again; one pointing elsewhere is', () => {
    const present = new Map([...GRAPH.nodes.keys()].map((k) => [k, true]));
    const s = copySteps(GRAPH, {
      manifests: present,
      blobs: new Map(),
      tags: new Map([
        ['v1', INDEX.digest],
        ['sha256-x.sig', d('older sig')],
      ]),
    });
    expect(s).toEqual({ blobs: [], manifests: [], putByTag: [], tags: [{ tag: 'sha256-x.sig', digest: SIG.digest }] });
  });
});

describe('what to ask the target', () => {
  it('manifests top down: the tops first, then the children of those missing; blobs of missing manifests', () => {
    const known = new Map<Digest, boolean>();
    expect(manifestsToAsk(GRAPH, known)).toEqual([INDEX.digest, SIG.digest]);
    known.set(INDEX.digest, false).set(SIG.digest, true);
    expect(manifestsToAsk(GRAPH, known)).toEqual([AMD.digest, ARM.digest, NESTED.digest]);
    known.set(AMD.digest, true).set(ARM.digest, false).set(NESTED.digest, false);
    expect(manifestsToAsk(GRAPH, known)).toEqual([RISCV.digest]);
    known.set(RISCV.digest, false);
    expect(manifestsToAsk(GRAPH, known)).toEqual([]);
    expect(blobsToAsk(GRAPH, known).map((b) => b.digest)).toEqual([C('arm'), L1, L3, C('riscv'), L4].map((b) => b.digest));
  });
});

describe('mergeReferrers', () => {
  const index = (...digests: Digest[]) =>
    bytes(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.index.v1+json',
        manifests: digests.map((x) => ({ digest: x, size: 1, mediaType: 'm' })),
      }),
    );
  it('the source bytes unchanged when the target has none, or nothing more', () => {
    const src = index(d('a'), d('b'));
    expect(mergeReferrers(src, undefined)).toBe(src);
    expect(mergeReferrers(src, index(d('b')))).toBe(src);
  });
  it("the target's other referrers kept after the source's", () => {
    const merged = JSON.parse(new TextDecoder().decode(mergeReferrers(index(d('a')), index(d('z'), d('a'))))) as {
      manifests: Array<{ digest: string }>;
    };
    expect(merged.manifests.map((m) => m.digest)).toEqual([d('a'), d('z')]);
  });
  it('a target index that is not JSON is replaced by the source', () => {
    const src = index(d('a'));
    expect(mergeReferrers(src, bytes('{not json'))).toBe(src);
  });
});
