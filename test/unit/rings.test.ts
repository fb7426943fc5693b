import { describe, expect, it } from 'vitest';
import { digestOf, fakeRelease } from '../helpers/resolution.js';
import { parseSpec } from '../../src/config/load.js';
import { formatDuration, parseDuration } from '../../src/config/rings.js';
import type { Lock } from '../../src/lock/model.js';
import { planLock, type ImageOutcome } from '../../src/plan/lock-plan.js';
import { ringOrder } from '../../src/plan/rings.js';
import type { Resolution } from '../../src/registry/resolve.js';

const d = digestOf;
const ALL = ['linux/amd64', 'linux/arm/v7', 'linux/riscv64'];
/** A release: `tag` published as `build` (a re-published tag is another build, another index). */
const release = (tag: string, platforms = ALL, build = tag): Resolution => fakeRelease(tag, platforms, build);
const ok = (r: Resolution): ImageOutcome => ({ ok: true, resolution: r });
const at = (iso: string) => new Date(iso);

const RINGS = `
version: 1
images:
  agent: { ref: reg.example/agent, tag: v2 }
fleet:
  canary:     { arch: x86_64, hosts: [web-01] }
  datacenter: { arch: x86_64, hosts: [web-02, web-03], after: canary, soak: 3d }
  edge:       { arch: armv7l, hosts: [gw-01], after: datacenter, soak: 1d }
  lab:        { arch: riscv64, hosts: [r1] }
`;
const spec = parseSpec(RINGS, '/fleet/lg-pins.yaml');

function lockWith(r: Resolution, previous: Lock | undefined, now: string, s = spec) {
  const plan = planLock(s, previous, new Map([['agent', ok(r)]]), at(now));
  expect(plan.failures).toEqual([]);
  return plan;
}
const pin = (lock: Lock, group: string) => lock.fleet[group]!.agent!;

describe('durations', () => {
  it.each([
    ['30m', 30 * 60_000],
    ['12h', 12 * 3_600_000],
    ['3d', 3 * 86_400_000],
    ['1d12h', 36 * 3_600_000],
    ['2w', 14 * 86_400_000],
    ['45s', 45_000],
    ['0', 0],
  ])('%s', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
    expect(parseDuration(formatDuration(ms))).toBe(ms);
  });
  it.each(['', '3', 'd', '3days', '1.5h', '-1h', '3D', '1h 30m'])('%j is not a duration', (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });
});

describe('rollout rings', () => {
  const T0 = '2026-12-01T09:00:00Z';
  const first = () => lockWith(release('v1'), undefined, T0).lock;

  it('a first lock: every group takes the release at once; since on the pins of ring groups only', () => {
    const plan = lockWith(release('v1'), undefined, T0);
    expect(plan.waiting).toEqual([]);
    for (const g of ['canary', 'datacenter', 'edge']) expect(pin(plan.lock, g)).toMatchObject({ since: T0 });
    expect(pin(plan.lock, 'edge')).toEqual({ platform: 'linux/arm/v7', digest: d('v1/linux/arm/v7'), since: T0 });
    expect(pin(plan.lock, 'lab')).toEqual({ platform: 'linux/riscv64', digest: d('v1/linux/riscv64') });
  });

  it('a new release: the first ring moves, the next waits for its soak, the last for its leader', () => {
    const plan = lockWith(release('v2'), first(), '2026-12-04T10:00:00Z');
    expect(pin(plan.lock, 'canary')).toEqual({ platform: 'linux/amd64', digest: d('v2/linux/amd64'), since: '2026-12-04T10:00:00Z' });
    expect(pin(plan.lock, 'datacenter')).toEqual({
      platform: 'linux/amd64',
      digest: d('v1/linux/amd64'),
      tag: 'v1',
      index: d('v1/index'),
      since: T0,
    });
    expect(pin(plan.lock, 'edge')).toEqual({
      platform: 'linux/arm/v7',
      digest: d('v1/linux/arm/v7'),
      tag: 'v1',
      index: d('v1/index'),
      since: T0,
    });
    // A group outside the rings moves as groups always did.
    expect(pin(plan.lock, 'lab')).toEqual({ platform: 'linux/riscv64', digest: d('v2/linux/riscv64') });
    expect(plan.waiting).toEqual([
      { group: 'datacenter', image: 'agent', after: 'canary', tag: 'v2', until: '2026-12-07T10:00:00Z' },
      { group: 'edge', image: 'agent', after: 'datacenter', tag: 'v2', until: null },
    ]);
  });

  it('reruns change nothing while groups wait (since is carried, not renewed)', () => {
    const one = lockWith(release('v2'), first(), '2026-12-04T10:00:00Z');
    const two = lockWith(release('v2'), one.lock, '2026-12-05T10:00:00Z');
    expect(two.lock).toEqual(one.lock);
    expect(two.waiting).toEqual(one.waiting);
  });

  it.each([
    ['one second before the soak ends: still waiting', '2026-12-07T09:59:59Z', false],
    ['the second the soak ends: it moves', '2026-12-07T10:00:00Z', true],
    ['after: it moves', '2026-12-09T00:00:00Z', true],
  ])('%s', (_name, now, moves) => {
    const canaryMoved = lockWith(release('v2'), first(), '2026-12-04T10:00:00Z').lock;
    const plan = lockWith(release('v2'), canaryMoved, now);
    if (!moves) {
      expect(pin(plan.lock, 'datacenter')).toMatchObject({ digest: d('v1/linux/amd64'), tag: 'v1' });
      return;
    }
    expect(pin(plan.lock, 'datacenter')).toEqual({ platform: 'linux/amd64', digest: d('v2/linux/amd64'), since: now });
    // Its follower now counts from it.
    const until = new Date(Date.parse(now) + 86_400_000).toISOString().replace('.000Z', 'Z');
    expect(plan.waiting).toEqual([{ group: 'edge', image: 'agent', after: 'datacenter', tag: 'v2', until }]);
  });

  it('a whole chain, run by run, with no one editing anything', () => {
    let lock = first();
    const timeline: string[] = [];
    for (const now of [
      '2026-12-04T10:00:00Z',
      '2026-12-06T10:00:00Z',
      '2026-12-07T10:00:00Z',
      '2026-12-08T09:00:00Z',
      '2026-12-08T10:00:00Z',
    ]) {
      const plan = lockWith(release('v2'), lock, now);
      lock = plan.lock;
      // On the locked release: no tag of an older one recorded.
      const on = ['canary', 'datacenter', 'edge'].filter((g) => !pin(lock, g).tag);
      timeline.push(`${now}: ${on.join(',')}`);
    }
    expect(timeline).toEqual([
      '2026-12-04T10:00:00Z: canary',
      '2026-12-06T10:00:00Z: canary',
      '2026-12-07T10:00:00Z: canary,datacenter',
      '2026-12-08T09:00:00Z: canary,datacenter',
      '2026-12-08T10:00:00Z: canary,datacenter,edge',
    ]);
  });

  it('soak 0: a follower moves in the same run as its leader', () => {
    const s = parseSpec(RINGS.replace('soak: 3d', 'soak: 0').replace(', soak: 1d', ''), '/fleet/lg-pins.yaml');
    const plan = lockWith(release('v2'), lockWith(release('v1'), undefined, T0, s).lock, '2026-12-04T10:00:00Z', s);
    expect(plan.waiting).toEqual([]);
    for (const g of ['canary', 'datacenter', 'edge']) expect(pin(plan.lock, g)).toMatchObject({ since: '2026-12-04T10:00:00Z' });
    expect(pin(plan.lock, 'edge').digest).toBe(d('v2/linux/arm/v7'));
  });

  it('a moved tag (re-published) is a new release for the ring', () => {
    const v2 = lockWith(release('v2'), first(), '2026-12-04T10:00:00Z').lock;
    const settled = lockWith(release('v2'), lockWith(release('v2'), v2, '2026-12-07T10:00:00Z').lock, '2026-12-08T10:00:00Z').lock;
    expect(['canary', 'datacenter', 'edge'].map((g) => pin(settled, g).tag)).toEqual([undefined, undefined, undefined]);
    const rebuilt = lockWith(release('v2', ALL, 'v2-rebuild'), settled, '2026-12-10T10:00:00Z');
    expect(pin(rebuilt.lock, 'canary')).toEqual({
      platform: 'linux/amd64',
      digest: d('v2-rebuild/linux/amd64'),
      since: '2026-12-10T10:00:00Z',
    });
    expect(pin(rebuilt.lock, 'datacenter')).toEqual({
      platform: 'linux/amd64',
      digest: d('v2/linux/amd64'),
      tag: 'v2',
      index: d('v2/index'),
      since: '2026-12-07T10:00:00Z',
    });
    expect(rebuilt.waiting.map((w) => [w.group, w.tag, w.until])).toEqual([
      ['datacenter', 'v2', '2026-12-13T10:00:00Z'],
      ['edge', 'v2', null],
    ]);
  });

  it('a follower whose platform the release lacks is held when its turn comes, and never waits for it', () => {
    const s = parseSpec(
      RINGS.replace('edge:       { arch: armv7l,', 'edge:       { arch: armv7l, onMissing: hold,'),
      '/fleet/lg-pins.yaml',
    );
    const noArm = release('v2', ['linux/amd64', 'linux/riscv64']);
    const moved = lockWith(noArm, lockWith(release('v1'), undefined, T0, s).lock, '2026-12-04T10:00:00Z', s);
    expect(pin(moved.lock, 'edge')).toMatchObject({
      digest: d('v1/linux/arm/v7'),
      tag: 'v1',
      held: 'linux/arm/v7 is not in v2',
      since: T0,
    });
    expect(moved.waiting.map((w) => w.group)).toEqual(['datacenter']);
  });

  it('a leader held on an older release: its follower waits for it (until unknown)', () => {
    const s = parseSpec(
      RINGS.replace(
        'canary:     { arch: x86_64, hosts: [web-01] }',
        'canary:     { arch: riscv64, hosts: [web-01], onMissing: hold }',
      ).replace('  lab:        { arch: riscv64, hosts: [r1] }\n', ''),
      '/fleet/lg-pins.yaml',
    );
    const plan = lockWith(
      release('v2', ['linux/amd64', 'linux/arm/v7']),
      lockWith(release('v1'), undefined, T0, s).lock,
      '2026-12-04T10:00:00Z',
      s,
    );
    expect(pin(plan.lock, 'canary')).toMatchObject({ tag: 'v1', held: 'linux/riscv64 is not in v2' });
    expect(plan.waiting).toEqual([
      { group: 'datacenter', image: 'agent', after: 'canary', tag: 'v2', until: null },
      { group: 'edge', image: 'agent', after: 'datacenter', tag: 'v2', until: null },
    ]);
  });

  it('a follower added later takes the release at once; one whose after is removed moves at once', () => {
    const before = parseSpec(RINGS.replace(/ {2}edge: .*\n/, ''), '/fleet/lg-pins.yaml');
    const v1 = lockWith(release('v1'), undefined, T0, before).lock;
    const v2 = lockWith(release('v2'), v1, '2026-12-04T10:00:00Z', before).lock;
    const added = lockWith(release('v2'), v2, '2026-12-04T11:00:00Z');
    expect(pin(added.lock, 'edge')).toEqual({ platform: 'linux/arm/v7', digest: d('v2/linux/arm/v7'), since: '2026-12-04T11:00:00Z' });
    expect(added.waiting.map((w) => w.group)).toEqual(['datacenter']);
    const freed = parseSpec(RINGS.replace(', after: canary, soak: 3d', ''), '/fleet/lg-pins.yaml');
    const plan = lockWith(release('v2'), v2, '2026-12-04T12:00:00Z', freed);
    expect(pin(plan.lock, 'datacenter')).toMatchObject({ digest: d('v2/linux/amd64') });
    expect(pin(plan.lock, 'datacenter').tag).toBeUndefined();
  });

  it('a pin from before rings (no since) counts as on its release long enough', () => {
    const plain = parseSpec(
      RINGS.replace(', after: canary, soak: 3d', '').replace(', after: datacenter, soak: 1d', ''),
      '/fleet/lg-pins.yaml',
    );
    const old = lockWith(release('v2'), lockWith(release('v1'), undefined, T0, plain).lock, T0, plain).lock;
    expect(pin(old, 'canary').since).toBeUndefined();
    // The rings are added; datacenter is still on v1 in this (edited) lock.
    const edited: Lock = {
      ...old,
      fleet: {
        ...old.fleet,
        datacenter: { agent: { platform: 'linux/amd64', digest: d('v1/linux/amd64'), tag: 'v1', index: d('v1/index') } },
      },
    };
    const plan = lockWith(release('v2'), edited, '2026-12-04T10:00:00Z');
    expect(pin(plan.lock, 'datacenter')).toEqual({ platform: 'linux/amd64', digest: d('v2/linux/amd64'), since: '2026-12-04T10:00:00Z' });
  });

  it('orders leaders before followers whatever the spec order', () => {
    const s = parseSpec(
      'version: 1\nimages:\n  agent: { ref: reg.example/agent, tag: v2 }\nfleet:\n  c: { arch: x86_64, hosts: [h3], after: b }\n  b: { arch: x86_64, hosts: [h2], after: a }\n  a: { arch: x86_64, hosts: [h1] }\n',
      '/fleet/lg-pins.yaml',
    );
    expect(ringOrder(Object.values(s.fleet)).map((g) => g.id)).toEqual(['a', 'b', 'c']);
  });
});
