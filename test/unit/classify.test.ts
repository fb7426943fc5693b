import { describe, expect, it } from 'vitest';
import { parseSpec } from '../../src/config/load.js';
import { computeDigest, type Digest } from '../../src/digest.js';
import type { Lock } from '../../src/lock/model.js';
import { classify } from '../../src/plan/classify.js';
import { planLock, type ImageOutcome } from '../../src/plan/lock-plan.js';
import { parsePlatform, platformKey } from '../../src/platform.js';
import type { Resolution } from '../../src/registry/resolve.js';

const d = (s: string): Digest => computeDigest(new TextEncoder().encode(s));

/** A release: tag, salt (content), platforms, and an index salt for attestation-only changes. */
function release(tag: string, platforms: string[], salt = tag, indexSalt = salt): Resolution {
  return {
    tag,
    digest: d(`${indexSalt}/index`),
    mediaType: 'application/vnd.oci.image.index.v1+json',
    size: 100,
    platforms: platforms.map((p) => {
      const platform = parsePlatform(p);
      return {
        key: platformKey(platform),
        platform,
        digest: d(`${salt}/${p}`),
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        size: 10,
      };
    }),
  };
}

const specText = (extra = '') => `
version: 1
images:
  agent: { ref: r.example/agent, tag: v1 }
${extra}
fleet:
  dc: { arch: x86_64, hosts: [a, b] }
  edge: { arch: armv7l, hosts: [g1, g2, g3] }
  lab: { arch: riscv64, hosts: [r1], onMissing: hold, images: [agent] }
`;
const ALL = ['linux/amd64', 'linux/arm/v7', 'linux/riscv64'];

function plan(spec: string, previous: Lock | undefined, outcomes: Record<string, Resolution>) {
  const s = parseSpec(spec, '/f/lg-pins.yaml');
  const m = new Map<string, ImageOutcome>(Object.entries(outcomes).map(([k, r]) => [k, { ok: true, resolution: r }]));
  const p = planLock(s, previous, m);
  return { spec: s, lock: p.lock, failures: p.failures };
}

const base = () => plan(specText(), undefined, { agent: release('v1', ALL) }).lock;

describe('classify', () => {
  it('reports nothing when nothing changed', () => {
    const prev = base();
    const next = plan(specText(), prev, { agent: release('v1', ALL) });
    expect(classify(next.spec, prev, next.lock)).toEqual([]);
  });

  it('a release: tag and digests, platform added/removed/changed, groups that move, held groups', () => {
    const prev = base();
    const next = plan(specText(), prev, { agent: release('v2', ['linux/amd64', 'linux/arm/v7', 'linux/arm64']) });
    const [c] = classify(next.spec, prev, next.lock);
    expect(c).toMatchObject({
      image: 'agent',
      kind: 'release',
      from: { tag: 'v1', digest: d('v1/index') },
      to: { tag: 'v2', digest: d('v2/index') },
      platforms: { 'linux/amd64': 'changed', 'linux/arm/v7': 'changed', 'linux/arm64/v8': 'added', 'linux/riscv64': 'removed' },
      groups: ['dc', 'edge'],
      held: [{ group: 'lab', hosts: 1, platform: 'linux/riscv64', tag: 'v1', reason: 'linux/riscv64 is not in v2' }],
    });
    expect(c!.moves.find((m) => m.group === 'edge')).toEqual({
      group: 'edge',
      hosts: 3,
      from: { platform: 'linux/arm/v7', digest: d('v1/linux/arm/v7') },
      to: { platform: 'linux/arm/v7', digest: d('v2/linux/arm/v7') },
    });
  });

  it('a tag moved to new content is tag-moved', () => {
    const prev = base();
    const next = plan(specText(), prev, { agent: release('v1', ALL, 'v1-repush') });
    const [c] = classify(next.spec, prev, next.lock);
    expect(c).toMatchObject({ kind: 'tag-moved', groups: ['dc', 'edge', 'lab'] });
    expect(Object.values(c!.platforms)).toEqual(['changed', 'changed', 'changed']);
  });

  it('a tag moved to OLDER content is still reported as tag-moved (never silently accepted)', () => {
    const v2 = plan(specText(), undefined, { agent: release('v1', ALL, 'v2') }).lock;
    const next = plan(specText(), v2, { agent: release('v1', ALL, 'v1') });
    expect(classify(next.spec, v2, next.lock)[0]).toMatchObject({
      kind: 'tag-moved',
      from: { digest: d('v2/index') },
      to: { digest: d('v1/index') },
    });
  });

  it('an index that changed only in entries no group runs (re-pushed attestation) moves no group', () => {
    const prev = base();
    const next = plan(specText(), prev, { agent: release('v1', ALL, 'v1', 'v1-new-attestation') });
    const [c] = classify(next.spec, prev, next.lock);
    expect(c).toMatchObject({ kind: 'tag-moved', groups: [], moves: [] });
    expect(Object.values(c!.platforms).every((p) => p === 'unchanged')).toBe(true);
  });

  it('hold, then un-hold when a later release ships the platform again', () => {
    const prev = base();
    const held = plan(specText(), prev, { agent: release('v2', ['linux/amd64', 'linux/arm/v7']) }).lock;
    const back = plan(specText(), held, { agent: release('v3', ALL) });
    const [c] = classify(back.spec, held, back.lock);
    expect(c!.groups).toEqual(['dc', 'edge', 'lab']);
    expect(c!.held).toEqual([]);
    expect(c!.moves.find((m) => m.group === 'lab')).toMatchObject({
      from: { digest: d('v1/linux/riscv64'), held: 'linux/riscv64 is not in v2' },
      to: { digest: d('v3/linux/riscv64') },
    });
  });

  it('a group that stays held across another release is listed as held, not as a group that moves', () => {
    const prev = base();
    const v2 = plan(specText(), prev, { agent: release('v2', ['linux/amd64', 'linux/arm/v7']) }).lock;
    const v3 = plan(specText(), v2, { agent: release('v3', ['linux/amd64', 'linux/arm/v7']) });
    const [c] = classify(v3.spec, v2, v3.lock);
    expect(c!.kind).toBe('release');
    expect(c!.groups).toEqual(['dc', 'edge']);
    expect(c!.held).toEqual([{ group: 'lab', hosts: 1, platform: 'linux/riscv64', tag: 'v1', reason: 'linux/riscv64 is not in v3' }]);
  });

  it('images added to and removed from the spec, and a group added (fleet)', () => {
    const prev = base();
    const withTool = plan(specText('  tool: { ref: r.example/tool, tag: t1 }'), prev, {
      agent: release('v1', ALL),
      tool: release('t1', ['linux/amd64', 'linux/arm/v7']),
    });
    const added = classify(withTool.spec, prev, withTool.lock);
    expect(added).toHaveLength(1);
    expect(added[0]).toMatchObject({
      image: 'tool',
      kind: 'added',
      groups: ['dc', 'edge'],
      platforms: { 'linux/amd64': 'added', 'linux/arm/v7': 'added' },
    });
    expect(added[0]!.from).toBeUndefined();
    const removed = classify(withTool.spec, withTool.lock, prev);
    expect(removed[0]).toMatchObject({ image: 'tool', kind: 'removed', groups: ['dc', 'edge'], platforms: { 'linux/amd64': 'removed' } });
    const moreFleet = specText().replace('fleet:\n', 'fleet:\n  dc2: { arch: x86_64, hosts: [c] }\n');
    const grown = plan(moreFleet, prev, { agent: release('v1', ALL) });
    expect(classify(grown.spec, prev, grown.lock)).toEqual([
      expect.objectContaining({
        image: 'agent',
        kind: 'fleet',
        groups: ['dc2'],
        platforms: { 'linux/amd64': 'unchanged', 'linux/arm/v7': 'unchanged', 'linux/riscv64': 'unchanged' },
      }),
    ]);
  });

  it('a ref or range edit that resolves to the same content is a `spec` change that moves nobody', () => {
    const prev = base();
    const mirrored = specText().replace('r.example/agent', 'mirror.example/agent');
    const next = plan(mirrored, prev, { agent: release('v1', ALL) });
    expect(classify(next.spec, prev, next.lock)).toEqual([
      expect.objectContaining({ image: 'agent', kind: 'spec', groups: [], moves: [] }),
    ]);
  });

  it('a pin re-verified with another cosign key is a `spec` change that moves nobody', () => {
    const prev = base();
    const next = JSON.parse(JSON.stringify(prev)) as Lock;
    next.images.agent!.verifiedBy = `sha256:${'b'.repeat(64)}`;
    const s = parseSpec(specText(), '/f/lg-pins.yaml');
    expect(classify(s, prev, next)).toEqual([expect.objectContaining({ image: 'agent', kind: 'spec', groups: [] })]);
  });

  it('on a first lock every image is added', () => {
    const next = plan(specText(), undefined, { agent: release('v1', ALL) });
    expect(classify(next.spec, undefined, next.lock).map((c) => [c.image, c.kind, c.groups])).toEqual([
      ['agent', 'added', ['dc', 'edge', 'lab']],
    ]);
  });
});

describe('planLock with fallbacks for held groups on a first lock of a track image', () => {
  it('pins the newest earlier release that ships the platform, recorded as held', () => {
    const s = parseSpec(specText().replace('tag: v1', 'track: "^1.0.0"'), '/f/lg-pins.yaml');
    const outcome: ImageOutcome = {
      ok: true,
      resolution: release('v1.2.0', ['linux/amd64', 'linux/arm/v7']),
      fallbacks: [release('v1.0.0', ALL)],
    };
    const p = planLock(s, undefined, new Map([['agent', outcome]]));
    expect(p.failures).toEqual([]);
    expect(p.lock.fleet.lab!.agent).toEqual({
      platform: 'linux/riscv64',
      digest: d('v1.0.0/linux/riscv64'),
      tag: 'v1.0.0',
      index: release('v1.0.0', ALL).digest,
      held: 'linux/riscv64 is not in v1.2.0',
    });
    expect(p.lock.fleet.dc!.agent!.digest).toBe(d('v1.2.0/linux/amd64'));
  });
});
