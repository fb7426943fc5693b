/**
 * The planner's decisions while one image is resolved (plan/release.ts), with inline data and no
 * I/O: the tag to pin, the warm path, reusable signers, held groups that still lack a release, and
 * the search through older releases for them.
 */
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { CosignPolicy } from '../../src/config/spec.js';
import { parseSpec } from '../../src/config/load.js';
import { computeDigest, type Digest } from '../../src/digest.js';
import { IntegrityError } from '../../src/errors.js';
import type { Lock, LockImage } from '../../src/lock/model.js';
import { candidates } from '../../src/plan/cadence.js';
import { chooseRelease, FallbackSearch, headFirst, knownSigner, lockedEntry, MAX_FALLBACKS, needyGroups } from '../../src/plan/release.js';
import { parsePlatform, platformKey } from '../../src/platform.js';
import type { Resolution } from '../../src/registry/resolve.js';

const d = (s: string): Digest => computeDigest(new TextEncoder().encode(s));
const PUB = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({ type: 'spki', format: 'pem' });
const keyPolicy = (fingerprint: string): CosignPolicy => ({
  kind: 'key',
  key: 'keys/release.pub',
  file: '/keys/release.pub',
  publicKey: createPublicKey(PUB),
  fingerprint,
});
function release(tag: string, platforms: string[]): Resolution {
  return {
    tag,
    digest: d(`${tag}/index`),
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

const spec = parseSpec(
  `
version: 1
images:
  agent: { ref: reg.example/agent, track: "^3.0.0", cadence: minor }
  pinned: { ref: reg.example/pinned, tag: v1 }
fleet:
  dc: { arch: x86_64, hosts: [a] }
  lab: { arch: riscv64, hosts: [r], onMissing: hold }
  old: { arch: armv6l, hosts: [o], onMissing: hold, images: [agent] }
`,
  '/fleet/lg-pins.yaml',
);
const agent = spec.images.agent!;
const entry = (over: Partial<LockImage> = {}): LockImage => ({
  ref: 'reg.example/agent',
  tag: 'v3.0.0',
  digest: d('v3.0.0/index'),
  mediaType: 'x/y',
  platforms: {},
  ...over,
});
const lockWith = (image: LockImage, fleet: Lock['fleet'] = {}): Lock => ({ lockVersion: 1, images: { agent: image }, fleet });

describe('chooseRelease', () => {
  it.each([
    [
      'no pin: the newest candidate',
      ['v3.0.0', 'v3.1.0', 'v3.1.2', 'v4.0.0', 'latest'],
      undefined,
      { tag: 'v3.1.2', older: ['v3.1.0', 'v3.0.0'] },
    ],
    [
      'minor cadence keeps the pin and names what it passed over',
      ['v3.0.0', 'v3.0.1'],
      'v3.0.0',
      { tag: 'v3.0.0', passedOver: 'v3.0.1', older: [] },
    ],
    ['a newer minor replaces the pin', ['v3.0.0', 'v3.1.0'], 'v3.0.0', { tag: 'v3.1.0', older: ['v3.0.0'] }],
  ])('%s', (_name, tags, pinned, want) => {
    const choice = chooseRelease(tags, agent, pinned ? entry({ tag: pinned }) : undefined);
    expect('none' in choice).toBe(false);
    if ('none' in choice) return;
    expect({
      tag: choice.tag,
      ...(choice.passedOver ? { passedOver: choice.passedOver } : {}),
      older: choice.older.map((c) => c.tag),
    }).toEqual(want);
  });
  it('says why there is nothing to pin', () => {
    expect(chooseRelease(['v2.0.0', 'latest'], agent, undefined)).toEqual({
      none: 'no tag satisfies "^3.0.0" (pre-releases excluded) among 2 tags',
    });
  });
});

describe('reuse decisions', () => {
  it('a locked entry counts only when it came from the same ref', () => {
    expect(lockedEntry(lockWith(entry()), agent)).toEqual(entry());
    expect(lockedEntry(lockWith(entry({ ref: 'reg.example/other' })), agent)).toBeUndefined();
    expect(lockedEntry(undefined, agent)).toBeUndefined();
  });
  it('the warm path asks a HEAD only for the locked tag', () => {
    expect(headFirst(entry(), 'v3.0.0')).toBe(true);
    expect(headFirst(entry(), 'v3.1.0')).toBe(false);
    expect(headFirst(undefined, 'v3.0.0')).toBe(false);
  });
  it('a signer is reused only for the same digest and the same key', () => {
    const verified = entry({ verifiedBy: 'sha256:key' });
    expect(knownSigner(verified, d('v3.0.0/index'), keyPolicy('sha256:key'))).toBe('sha256:key');
    expect(knownSigner(verified, d('v3.1.0/index'), keyPolicy('sha256:key'))).toBeUndefined();
    expect(knownSigner(verified, d('v3.0.0/index'), keyPolicy('sha256:other'))).toBeUndefined();
    expect(knownSigner(undefined, d('v3.0.0/index'), keyPolicy('sha256:key'))).toBeUndefined();
  });
});

describe('needyGroups', () => {
  const noRiscv = release('v3.1.0', ['linux/amd64']);
  it.each([
    ['a first lock: every held group the release cannot serve', undefined, ['lab', 'old']],
    [
      'a held group with a pin of its own holds it, needing nothing',
      lockWith(entry(), { lab: { agent: { platform: 'linux/riscv64', digest: d('x') } } }),
      ['old'],
    ],
    [
      "a pin from another ref is not this image's to hold",
      lockWith(entry({ ref: 'reg.example/other' }), { lab: { agent: { platform: 'linux/riscv64', digest: d('x') } } }),
      ['lab', 'old'],
    ],
  ])('%s', (_name, previous, want) => {
    expect(needyGroups(spec, agent, previous, lockedEntry(previous, agent), noRiscv).map((g) => g.id)).toEqual(want);
  });
  it('a group the release serves, or one that does not hold, is never needy', () => {
    expect(needyGroups(spec, agent, undefined, undefined, release('v3.1.0', ['linux/amd64', 'linux/riscv64', 'linux/arm/v6']))).toEqual([]);
  });
});

describe('FallbackSearch', () => {
  const needy = needyGroups(spec, agent, undefined, undefined, release('v3.3.0', ['linux/amd64']));
  const older = (n: number) =>
    candidates(
      Array.from({ length: n }, (_, i) => `v3.0.${i}`),
      agent,
    );

  it('asks the newest first, accepts what serves a missing group, skips what does not, and stops when all are served', () => {
    const search = new FallbackSearch(needy, older(5));
    const asked: string[] = [];
    const offers: Record<string, string[]> = { 'v3.0.4': ['linux/amd64'], 'v3.0.3': ['linux/riscv64'], 'v3.0.2': ['linux/arm/v6'] };
    for (let tag = search.next(); tag !== undefined; tag = search.next()) {
      asked.push(tag);
      const r = release(tag, offers[tag] ?? []);
      if (search.useful(r)) search.accept(r);
    }
    expect(asked).toEqual(['v3.0.4', 'v3.0.3', 'v3.0.2']);
    expect(search.fallbacks.map((r) => r.tag)).toEqual(['v3.0.3', 'v3.0.2']);
    expect(search.failure('reg.example/agent', 'v3.3.0')).toBeUndefined();
  });

  it(`tries at most ${MAX_FALLBACKS} older releases`, () => {
    const search = new FallbackSearch(needy, older(MAX_FALLBACKS + 5));
    let asked = 0;
    while (search.next() !== undefined) asked++;
    expect(asked).toBe(MAX_FALLBACKS);
  });

  it('when the only release that serves a group is unsigned, that is a trust failure naming it (exit 4)', () => {
    const search = new FallbackSearch(needy, older(3));
    for (let tag = search.next(); tag !== undefined; tag = search.next()) {
      const r = release(tag, tag === 'v3.0.1' ? ['linux/riscv64', 'linux/arm/v6'] : []);
      if (search.useful(r)) search.reject(tag, new IntegrityError('no valid cosign signature'));
    }
    const failure = search.failure('reg.example/agent', 'v3.3.0');
    expect(failure).toBeInstanceOf(IntegrityError);
    expect(failure?.message).toBe(
      'reg.example/agent: group "lab" (linux/riscv64), group "old" (linux/arm/v6) cannot be held: v3.3.0 does not ship its platform and the earlier release v3.0.1 that does is not signed: no valid cosign signature',
    );
  });
});
