import { describe, expect, it } from 'vitest';
import { parseSpec } from '../../src/config/load.js';
import { computeDigest, type Digest } from '../../src/digest.js';
import { CoverageError, RegistryError } from '../../src/errors.js';
import type { Lock } from '../../src/lock/model.js';
import { planLock, planValidLock, shouldWrite, type ImageOutcome } from '../../src/plan/lock-plan.js';
import { parsePlatform, platformKey } from '../../src/platform.js';
import type { Resolution } from '../../src/registry/resolve.js';

const d = (s: string): Digest => computeDigest(new TextEncoder().encode(s));

function resolution(tag: string, platforms: string[]): Resolution {
  return {
    tag,
    digest: d(`${tag}/index`),
    mediaType: 'application/vnd.oci.image.index.v1+json',
    size: 100,
    platforms: platforms.map((p) => {
      const platform = parsePlatform(p);
      return {
        key: platformKey(platform),
        platform,
        digest: d(`${tag}/${p}`),
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        size: 10,
      };
    }),
  };
}

const SPEC = `
version: 1
images:
  agent: { ref: reg.example/agent, tag: v2 }
  tool: { ref: reg.example/tool, tag: v1 }
fleet:
  dc: { arch: x86_64, hosts: [a, b] }
  edge: { arch: armv7l, hosts: [g1, g2, g3] }
  lab: { arch: riscv64, hosts: [r1], onMissing: hold, images: [agent] }
`;
const spec = parseSpec(SPEC, '/fleet/lg-pins.yaml');
const ok = (r: Resolution): ImageOutcome => ({ ok: true, resolution: r });

function firstLock(): Lock {
  const outcomes = new Map([
    ['agent', ok(resolution('v1', ['linux/amd64', 'linux/arm/v7', 'linux/riscv64']))],
    ['tool', ok(resolution('v1', ['linux/amd64', 'linux/arm/v6']))],
  ]);
  const plan = planLock(spec, undefined, outcomes);
  expect(plan.failures).toEqual([]);
  return plan.lock;
}

describe('planLock', () => {
  it('pins every group to the best-ranked platform of each of its images', () => {
    const lock = firstLock();
    expect(lock.images.agent!.platforms['linux/riscv64']!.digest).toBe(d('v1/linux/riscv64'));
    expect(lock.fleet.dc).toEqual({
      agent: { platform: 'linux/amd64', digest: d('v1/linux/amd64') },
      tool: { platform: 'linux/amd64', digest: d('v1/linux/amd64') },
    });
    // arm/v7 hosts take arm/v6 when there is no v7.
    expect(lock.fleet.edge!.tool).toEqual({ platform: 'linux/arm/v6', digest: d('v1/linux/arm/v6') });
    // The lab runs only the agent.
    expect(Object.keys(lock.fleet.lab!)).toEqual(['agent']);
  });

  it('holds a group with onMissing: hold, recording tag and reason, while the others move', () => {
    const prev = firstLock();
    const plan = planLock(
      spec,
      prev,
      new Map([
        ['agent', ok(resolution('v2', ['linux/amd64', 'linux/arm/v7']))],
        ['tool', ok(resolution('v1', ['linux/amd64', 'linux/arm/v6']))],
      ]),
    );
    expect(plan.failures).toEqual([]);
    expect(plan.lock.images.agent!.tag).toBe('v2');
    expect(plan.lock.fleet.dc!.agent!.digest).toBe(d('v2/linux/amd64'));
    expect(plan.lock.fleet.lab!.agent).toEqual({
      platform: 'linux/riscv64',
      digest: d('v1/linux/riscv64'),
      tag: 'v1',
      // The release it stays on: index outputs for the group name v1's index, not v2's.
      index: d('v1/index'),
      held: 'linux/riscv64 is not in v2',
    });
  });

  it('keeps holding at the original tag across later releases, and releases the hold when the platform returns', () => {
    const prev = firstLock();
    const v2 = planLock(
      spec,
      prev,
      new Map([
        ['agent', ok(resolution('v2', ['linux/amd64', 'linux/arm/v7']))],
        ['tool', ok(resolution('v1', ['linux/amd64', 'linux/arm/v6']))],
      ]),
    ).lock;
    const v3 = planLock(
      spec,
      v2,
      new Map([
        ['agent', ok(resolution('v3', ['linux/amd64', 'linux/arm/v7']))],
        ['tool', ok(resolution('v1', ['linux/amd64', 'linux/arm/v6']))],
      ]),
    ).lock;
    expect(v3.fleet.lab!.agent).toEqual({
      platform: 'linux/riscv64',
      digest: d('v1/linux/riscv64'),
      tag: 'v1',
      index: d('v1/index'),
      held: 'linux/riscv64 is not in v3',
    });
    const v4 = planLock(
      spec,
      v3,
      new Map([
        ['agent', ok(resolution('v4', ['linux/amd64', 'linux/arm/v7', 'linux/riscv64']))],
        ['tool', ok(resolution('v1', ['linux/amd64', 'linux/arm/v6']))],
      ]),
    ).lock;
    expect(v4.fleet.lab!.agent).toEqual({ platform: 'linux/riscv64', digest: d('v4/linux/riscv64') });
  });

  it('fails a group without hold, naming group, host count, platform and tag; the image keeps its previous entry', () => {
    const prev = firstLock();
    const plan = planLock(
      spec,
      prev,
      new Map([
        ['agent', ok(resolution('v2', ['linux/amd64', 'linux/arm64']))],
        ['tool', ok(resolution('v2', ['linux/amd64', 'linux/arm/v7']))],
      ]),
    );
    expect(plan.failures).toHaveLength(1);
    const f = plan.failures[0]!;
    expect(f.image).toBe('agent');
    expect(f.error).toBeInstanceOf(CoverageError);
    expect(f.error.exitCode).toBe(3);
    expect(f.error.message).toMatch(/group "edge" \(3 hosts\) needs linux\/arm\/v7, which reg\.example\/agent:v2 does not ship/);
    expect(plan.lock.images.agent).toEqual(prev.images.agent);
    expect(plan.lock.fleet.edge!.agent).toEqual(prev.fleet.edge!.agent);
    expect(plan.lock.fleet.lab!.agent).toEqual(prev.fleet.lab!.agent);
    // The other image still moves.
    expect(plan.lock.images.tool!.tag).toBe('v2');
    expect(plan.lock.fleet.edge!.tool!.platform).toBe('linux/arm/v7');
  });

  it('fails a hold group on a first lock (nothing to hold)', () => {
    const plan = planLock(
      spec,
      undefined,
      new Map([
        ['agent', ok(resolution('v2', ['linux/amd64', 'linux/arm/v7']))],
        ['tool', ok(resolution('v1', ['linux/amd64', 'linux/arm/v6']))],
      ]),
    );
    expect(plan.failures.map((f) => f.image)).toEqual(['agent']);
    expect(plan.failures[0]!.error.message).toMatch(/group "lab" \(1 host\) needs linux\/riscv64.*no earlier pin/);
    expect(plan.lock.images.agent).toBeUndefined();
  });

  it('never crosses architectures: an amd64 group is not given 386, arm64 not given arm/v7', () => {
    const s = parseSpec(
      'version: 1\nimages: { a: { ref: r.example/a, tag: t } }\nfleet:\n  x: { arch: x86_64 }\n  y: { arch: aarch64 }\n',
      '/f/lg-pins.yaml',
    );
    const plan = planLock(s, undefined, new Map([['a', ok(resolution('t', ['linux/386', 'linux/arm/v7']))]]));
    expect(plan.failures[0]!.error.message).toMatch(
      /group "x" \(0 hosts\) needs linux\/amd64.*group "y" \(0 hosts\) needs linux\/arm64\/v8/,
    );
  });

  it('keeps a failed image entry and its pins byte for byte, and drops images and groups no longer in the spec', () => {
    const prev = firstLock();
    prev.images.gone = { ...prev.images.tool!, ref: 'reg.example/gone' };
    prev.fleet.oldgroup = { agent: prev.fleet.dc!.agent! };
    const error = new RegistryError('tag "v2" not found in reg.example/agent (HTTP 404 MANIFEST_UNKNOWN)', {
      registry: 'reg.example',
      status: 404,
    });
    const plan = planLock(
      spec,
      prev,
      new Map<string, ImageOutcome>([
        ['agent', { ok: false, error }],
        ['tool', ok(resolution('v1', ['linux/amd64', 'linux/arm/v6']))],
      ]),
    );
    expect(plan.failures).toEqual([{ image: 'agent', error }]);
    expect(plan.lock.images.agent).toBe(prev.images.agent);
    expect(plan.lock.images.gone).toBeUndefined();
    expect(plan.lock.fleet.oldgroup).toBeUndefined();
    expect(plan.lock.fleet.dc!.agent).toBe(prev.fleet.dc!.agent);
  });

  it("does not hold a pin from another repository after the spec's ref changed", () => {
    const prev = firstLock();
    const moved = parseSpec(SPEC.replace('reg.example/agent', 'mirror.example/agent'), '/fleet/lg-pins.yaml');
    const plan = planLock(
      moved,
      prev,
      new Map([
        ['agent', ok(resolution('v2', ['linux/amd64', 'linux/arm/v7']))],
        ['tool', ok(resolution('v1', ['linux/amd64', 'linux/arm/v6']))],
      ]),
    );
    expect(plan.failures.map((f) => f.image)).toEqual(['agent']);
    expect(plan.failures[0]!.error.message).toMatch(/group "lab" \(1 host\) needs linux\/riscv64.*Pin a release that ships it/);
  });
});

describe('planLock with ids that are Object.prototype names', () => {
  const PROTO = parseSpec(
    `
version: 1
images:
  constructor: { ref: reg.example/agent, tag: v2 }
  prototype: { ref: reg.example/tool, tag: v1 }
fleet:
  constructor: { arch: x86_64, hosts: [a] }
  hasownproperty: { arch: riscv64, hosts: [r1], onMissing: hold, images: [constructor] }
`,
    '/fleet/lg-pins.yaml',
  );

  it('pins them like any id, keeps a failed one, and touches no prototype', () => {
    const first = planLock(
      PROTO,
      undefined,
      new Map([
        ['constructor', ok(resolution('v1', ['linux/amd64', 'linux/riscv64']))],
        ['prototype', ok(resolution('v1', ['linux/amd64']))],
      ]),
    );
    expect(first.failures).toEqual([]);
    expect(Object.keys(first.lock.images)).toEqual(['constructor', 'prototype']);
    expect(Object.keys(first.lock.fleet)).toEqual(['constructor', 'hasownproperty']);
    expect(Object.keys(first.lock.fleet.constructor)).toEqual(['constructor', 'prototype']);
    // v2 drops riscv64: the held group keeps its pin; a failed image keeps its entry.
    const next = planLock(
      PROTO,
      first.lock,
      new Map<string, ImageOutcome>([
        ['constructor', ok(resolution('v2', ['linux/amd64']))],
        ['prototype', { ok: false, error: new RegistryError('down') }],
      ]),
    );
    expect(next.lock.fleet.hasownproperty!.constructor).toMatchObject({ tag: 'v1', held: 'linux/riscv64 is not in v2' });
    expect(next.lock.images.prototype).toEqual(first.lock.images.prototype);
    expect(next.lock.fleet.constructor.prototype).toEqual(first.lock.fleet.constructor.prototype);
    expect(Object.prototype.hasOwnProperty.call(Object, 'constructor')).toBe(false);
    expect((Object as unknown as Record<string, unknown>).prototype).toBe(Object.prototype);
  });
});

describe('planValidLock and shouldWrite', () => {
  it('an image whose entry fails the check fails alone (exit 4), keeping its previous pin; the others are planned', () => {
    const previous = firstLock();
    const outcomes = new Map([
      ['agent', ok(resolution('v2', ['linux/amd64', 'linux/arm/v7', 'linux/riscv64']))],
      ['tool', ok(resolution('v2', ['linux/amd64', 'linux/arm/v6']))],
    ]);
    // A stand-in for the lock schema: refuses any lock that holds tool at v2.
    const problem = (l: Lock) => (l.images.tool?.tag === 'v2' ? '/images/tool/tag must not be v2' : undefined);
    const plan = planValidLock(spec, previous, outcomes, problem);
    expect(plan.failures.map((f) => [f.image, f.error.exitCode])).toEqual([['tool', 4]]);
    expect(plan.failures[0]!.error.message).toContain('would not make a valid lock entry (/images/tool/tag must not be v2)');
    expect(plan.lock.images.tool).toEqual(previous.images.tool);
    expect(plan.lock.images.agent!.tag).toBe('v2');
  });

  it.each([
    ['a change is written', { changed: true, exists: true, failed: 0 }, true],
    ['no change is not', { changed: false, exists: true, failed: 0 }, false],
    ['a run in which every image failed leaves the file system as it was', { changed: true, exists: true, failed: 2 }, false],
    ['a first run that pinned nothing creates no lock', { changed: true, exists: false, failed: 2 }, false],
    ['a first run with one image pinned writes', { changed: true, exists: false, failed: 1 }, true],
  ])('shouldWrite: %s', (_name, c, want) => {
    const lock = firstLock();
    const failures = ['agent', 'tool'].slice(0, c.failed).map((image) => ({ image, error: new RegistryError('down') }));
    const images = c.exists || c.failed < 2 ? lock.images : {};
    expect(shouldWrite(spec, { lock: { ...lock, images }, failures }, c.changed, c.exists)).toBe(want);
  });
});
