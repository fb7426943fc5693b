import { describe, expect, it } from 'vitest';
import { parseSpec } from '../../src/config/load.js';
import { computeDigest, type Digest } from '../../src/digest.js';
import type { Lock } from '../../src/lock/model.js';
import { checkLock } from '../../src/plan/check.js';
import { planLock } from '../../src/plan/lock-plan.js';
import { parsePlatform, platformKey } from '../../src/platform.js';
import type { Resolution } from '../../src/registry/resolve.js';

const d = (s: string): Digest => computeDigest(new TextEncoder().encode(s));
const SPEC = `
version: 1
images:
  agent: { ref: r.example/agent, tag: v1.0.0 }
  tool: { ref: r.example/tool, track: "^2.0.0" }
fleet:
  dc: { arch: x86_64, hosts: [a] }
  edge: { arch: armv7l, hosts: [g], images: [agent] }
  lab: { arch: riscv64, hosts: [r], onMissing: hold, images: [agent] }
`;

function release(tag: string, platforms: string[]): Resolution {
  return {
    tag,
    digest: d(`${tag}/i`),
    mediaType: 'application/vnd.oci.image.index.v1+json',
    size: 1,
    platforms: platforms.map((p) => ({
      key: platformKey(parsePlatform(p)),
      platform: parsePlatform(p),
      digest: d(`${tag}/${p}`),
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      size: 1,
    })),
  };
}

function locked(spec = SPEC): Lock {
  const s = parseSpec(spec, '/f/lg-pins.yaml');
  const p = planLock(
    s,
    undefined,
    new Map([
      ['agent', { ok: true, resolution: release('v1.0.0', ['linux/amd64', 'linux/arm/v7', 'linux/riscv64']) }],
      ['tool', { ok: true, resolution: release('2.1.0', ['linux/amd64']) }],
    ]),
  );
  expect(p.failures).toEqual([]);
  return p.lock;
}

const stale = (spec: string, lock: Lock) => checkLock(parseSpec(spec, '/f/lg-pins.yaml'), lock).map((s) => s.message);

describe('checkLock (offline)', () => {
  it('agrees right after a lock', () => {
    expect(stale(SPEC, locked())).toEqual([]);
  });

  it.each([
    [
      'an image added',
      SPEC.replace('fleet:', '  new: { ref: r.example/new, tag: x }\nfleet:'),
      /image "new" is in the spec but not in the lock/,
    ],
    [
      'an image removed',
      SPEC.replace('  tool: { ref: r.example/tool, track: "^2.0.0" }\n', ''),
      /image "tool" is in the lock but no longer in the spec/,
    ],
    [
      'a ref changed',
      SPEC.replace('r.example/agent', 'mirror.example/agent'),
      /image "agent": the spec's ref is mirror\.example\/agent, the lock has r\.example\/agent/,
    ],
    ['a tag changed', SPEC.replace('tag: v1.0.0', 'tag: v1.1.0'), /the spec pins tag v1\.1\.0, the lock has v1\.0\.0/],
    ['a range that excludes the locked tag', SPEC.replace('"^2.0.0"', '"^3.0.0"'), /the locked tag 2\.1\.0 is outside track "\^3\.0\.0"/],
    [
      'a range edited (even one that still holds the tag)',
      SPEC.replace('"^2.0.0"', '">=2.0.0"'),
      /image "tool": the spec says track ">=2\.0\.0", the lock was made for track "\^2\.0\.0"/,
    ],
    [
      'a tag image switched to track',
      SPEC.replace('tag: v1.0.0', 'track: "^1.0.0"'),
      /image "agent": the spec says track "\^1\.0\.0", the lock was made for tag v1\.0\.0/,
    ],
    ['a group added', SPEC.replace('fleet:\n', 'fleet:\n  dc2: { arch: x86_64 }\n'), /group "dc2" is in the spec but not in the lock/],
    ['a group removed', SPEC.replace('  dc: { arch: x86_64, hosts: [a] }\n', ''), /group "dc" is in the lock but no longer in the spec/],
    [
      'a group platform changed',
      SPEC.replace('edge: { arch: armv7l', 'edge: { arch: aarch64'),
      /group "edge" is linux\/arm64\/v8, but its pin of "agent" is for linux\/arm\/v7/,
    ],
    [
      'a group no longer running an image',
      SPEC.replace('dc: { arch: x86_64, hosts: [a] }', 'dc: { arch: x86_64, hosts: [a], images: [agent] }'),
      /group "dc" no longer runs image "tool", but the lock pins it/,
    ],
    [
      'a group that now runs another image',
      SPEC.replace('images: [agent] }\n  lab', 'images: [agent, tool] }\n  lab'),
      /group "edge" has no pin for image "tool"/,
    ],
    [
      'a better platform now available (armv6l → armv7l)',
      SPEC.replace('edge: { arch: armv7l', 'edge: { arch: armv6l'),
      /group "edge" is linux\/arm\/v6, but its pin of "agent" is for linux\/arm\/v7/,
    ],
  ])('is stale when %s', (_n, spec, message) => {
    const found = stale(spec, locked());
    expect(
      found.some((m) => message.test(m)),
      found.join('\n'),
    ).toBe(true);
  });

  it('finds a pin that does not match its platform digest, and a held group without hold in the spec', () => {
    const lock = locked();
    lock.fleet.dc!.agent = { platform: 'linux/amd64', digest: d('tampered') };
    expect(stale(SPEC, lock)).toEqual([
      expect.stringMatching(/group "dc": its pin sha256:[a-f0-9]{64} of "agent" is not the linux\/amd64 digest of v1\.0\.0/),
    ]);
    const held = locked();
    held.fleet.lab!.agent = { ...held.fleet.lab!.agent!, tag: 'v0.9.0', held: 'linux/riscv64 is not in v1.0.0' };
    expect(stale(SPEC, held)).toEqual([
      expect.stringMatching(/group "lab" is held on v0\.9\.0, but v1\.0\.0 now ships linux\/riscv64; the hold can be released/),
    ]);
    expect(stale(SPEC.replace(', onMissing: hold', ''), held)).toEqual([expect.stringMatching(/no longer says onMissing: hold/)]);
  });

  it('is stale when the required cosign key changed, was added, or was dropped since the lock', () => {
    const lock = locked();
    lock.images.agent!.verifiedBy = `sha256:${'a'.repeat(64)}`;
    expect(stale(SPEC, lock)).toEqual([
      expect.stringMatching(/image "agent": the lock's pin was verified with a key the spec no longer requires/),
    ]);
  });
});

describe('checkLock and rollout rings', () => {
  const RINGS = SPEC.replace(
    'edge: { arch: armv7l, hosts: [g], images: [agent] }',
    'edge: { arch: armv7l, hosts: [g], images: [agent], after: dc, soak: 1d }',
  );
  function waitingLock(spec: string): Lock {
    const s = parseSpec(spec, '/f/lg-pins.yaml');
    const first = locked(spec);
    const next = planLock(
      s,
      first,
      new Map([
        ['agent', { ok: true, resolution: release('v1.0.0', ['linux/amd64', 'linux/arm/v7', 'linux/riscv64']) }],
        ['tool', { ok: true, resolution: release('2.1.0', ['linux/amd64']) }],
      ]),
      new Date('2026-12-04T10:00:00Z'),
    );
    // The edge stays on an older release of the agent than the one locked (as a waiting follower does).
    const lock = next.lock;
    lock.fleet.edge!.agent = {
      platform: 'linux/arm/v7',
      digest: d('v0.9.0/linux/arm/v7'),
      tag: 'v0.9.0',
      index: d('v0.9.0/i'),
      since: '2026-12-01T00:00:00Z',
    };
    return lock;
  }

  it('a follower waiting on an older release is consistent', () => {
    expect(stale(RINGS, waitingLock(RINGS))).toEqual([]);
  });

  it('a pin on an older release of a group that follows no one any more is stale', () => {
    expect(stale(SPEC, waitingLock(RINGS))).toEqual([
      'group "edge" stays on v0.9.0 of "agent", but follows no group (after) any more; run `lg-pins lock`',
    ]);
  });
});
