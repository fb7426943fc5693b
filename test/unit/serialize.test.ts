import { describe, expect, it } from 'vitest';
import { computeDigest, type Digest } from '../../src/digest.js';
import { LockError } from '../../src/errors.js';
import type { Lock } from '../../src/lock/model.js';
import { parseLock } from '../../src/lock/read.js';
import { LOCK_HEADER, serializeLock } from '../../src/lock/serialize.js';

const d = (s: string): Digest => computeDigest(new TextEncoder().encode(s));
const M = 'application/vnd.oci.image.manifest.v1+json';

function sample(): Lock {
  return {
    lockVersion: 1,
    images: {
      zeta: {
        ref: 'r.example/z',
        tag: 'v1',
        digest: d('z'),
        mediaType: M,
        platforms: { 'linux/amd64': { digest: d('z'), mediaType: M, size: 3 } },
      },
      agent: {
        ref: 'r.example/agent',
        tag: 'v3.1.0',
        digest: d('i'),
        mediaType: 'application/vnd.oci.image.index.v1+json',
        platforms: {
          'linux/riscv64': { digest: d('r'), mediaType: M, size: 5 },
          'linux/amd64': { digest: d('a'), mediaType: M, size: 4 },
        },
      },
    },
    fleet: {
      lab: { agent: { platform: 'linux/riscv64', digest: d('r0'), tag: 'v3.0.0', held: 'linux/riscv64 is not in v3.1.0' } },
      dc: { zeta: { platform: 'linux/amd64', digest: d('z') }, agent: { platform: 'linux/amd64', digest: d('a') } },
    },
  };
}

describe('serializeLock', () => {
  it('writes a header, sorted maps, fields in contract order, one-line pins and a trailing newline', () => {
    const text = serializeLock(sample());
    expect(text.startsWith(`${LOCK_HEADER}\n`)).toBe(true);
    expect(text.endsWith('\n')).toBe(true);
    expect(text).not.toMatch(/\n\n\n/);
    const order = (...needles: string[]) => needles.map((n) => text.indexOf(n));
    const sorted = (xs: number[]) => xs.every((x, i) => x >= 0 && (i === 0 || x > xs[i - 1]!));
    expect(sorted(order('  agent:\n', '  zeta:\n'))).toBe(true);
    expect(
      sorted(
        order(
          '    ref: r.example/agent',
          '    tag: v3.1.0',
          '    digest:',
          '    mediaType: application/vnd.oci.image.index.v1+json',
          '    platforms:',
        ),
      ),
    ).toBe(true);
    expect(sorted(order('      linux/amd64:', '      linux/riscv64:'))).toBe(true);
    expect(sorted(order('  dc:\n', '  lab:\n'))).toBe(true);
    expect(text).toContain(
      `    agent: { platform: linux/riscv64, digest: ${d('r0')}, tag: v3.0.0, held: linux/riscv64 is not in v3.1.0 }\n`,
    );
    expect(text).not.toMatch(/\d{4}-\d\d-\d\dT/); // no timestamps
  });

  it('is byte-identical whatever the insertion order, and round-trips through parseLock', () => {
    const a = sample();
    const b: Lock = JSON.parse(JSON.stringify(a));
    b.images = Object.fromEntries(Object.entries(b.images).reverse());
    expect(serializeLock(b)).toBe(serializeLock(a));
    const parsed = parseLock(serializeLock(a), 'lg-pins.lock.yaml');
    expect(serializeLock(parsed)).toBe(serializeLock(a));
  });
});

describe('verifiedBy', () => {
  const keyless = {
    identity: 'https://github.com/linuxguard/agent/.github/workflows/release.yml@refs/tags/v3.1.0',
    issuer: 'https://token.actions.githubusercontent.com',
    logIndex: 123456789,
    trustedRoot: `sha256:${'e'.repeat(64)}`,
  };

  it('a keyless signer is a block map (its logIndex a number) that the fast reader and the YAML reader both read back', () => {
    const lock = sample();
    lock.images.agent!.verifiedBy = keyless;
    lock.images.zeta!.verifiedBy = `sha256:${'f'.repeat(64)}`;
    const text = serializeLock(lock);
    expect(text).toContain(
      [
        '    verifiedBy:',
        `      identity: ${keyless.identity}`,
        `      issuer: ${keyless.issuer}`,
        '      logIndex: 123456789',
        `      trustedRoot: ${keyless.trustedRoot}`,
      ].join('\n'),
    );
    expect(parseLock(text, 'lg-pins.lock.yaml').images.agent!.verifiedBy).toEqual(keyless);
    // A comment defeats the fast reader's exact layout: the position-keeping YAML reader reads it the same.
    const slow = parseLock(text.replace('    verifiedBy:\n', '    verifiedBy: # signer\n'), 'lg-pins.lock.yaml');
    expect(slow.images.agent!.verifiedBy).toEqual(keyless);
    expect(slow.images.zeta!.verifiedBy).toBe(`sha256:${'f'.repeat(64)}`);
  });

  it('a keyless signer missing its logIndex is a damaged lock (exit 2)', () => {
    const lock = sample();
    lock.images.agent!.verifiedBy = keyless;
    const text = serializeLock(lock).replace('      logIndex: 123456789\n', '');
    expect(() => parseLock(text, 'lg-pins.lock.yaml')).toThrow(/lg-pins\.lock\.yaml:18:\d+: images\.agent\.verifiedBy: .*logIndex/);
  });
});

describe('parseLock refuses damaged locks with file, line and key', () => {
  const good = serializeLock(sample());
  const cases: Array<[string, string, RegExp]> = [
    [
      'wrong lockVersion',
      good.replace('lockVersion: 1', 'lockVersion: 7'),
      /lg-pins\.lock\.yaml:2:\d+: lockVersion: lockVersion 7 is not supported/,
    ],
    [
      'an invalid digest',
      good.replace(d('a'), 'sha256:1234'),
      /lg-pins\.lock\.yaml:\d+:\d+: images\.agent\.platforms\.linux\/amd64\.digest: "sha256:1234" is not valid/,
    ],
    [
      'a file truncated at a line end',
      good.slice(0, good.indexOf('    digest:')),
      /lg-pins\.lock\.yaml:\d+:\d+: images\.agent: missing required key "digest"/,
    ],
    ['a file truncated mid-line', good.slice(0, good.indexOf('platforms:') + 4), /lg-pins\.lock\.yaml:\d+:\d+: .*the lock is damaged/],
    ['a YAML syntax error', good.replace('  agent:\n', '  agent: [\n'), /lg-pins\.lock\.yaml:\d+:\d+: .*the lock is damaged/],
    [
      'an unknown key',
      good.replace('    tag: v3.1.0\n', '    tag: v3.1.0\n    pinnedBy: me\n'),
      /images\.agent\.pinnedBy: unknown key "pinnedBy"/,
    ],
    ['a held pin without its tag', good.replace(', tag: v3.0.0', ''), /fleet\.lab\.agent\.held: "held" needs "tag"/],
    ['an empty file', '', /the lock is empty/],
  ];
  it.each(cases)('%s', (_name, text, message) => {
    let err: unknown;
    try {
      parseLock(text, 'lg-pins.lock.yaml');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(LockError);
    expect((err as LockError).exitCode).toBe(2);
    expect((err as LockError).message).toMatch(message);
  });
});
