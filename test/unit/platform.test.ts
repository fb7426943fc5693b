import { describe, it, expect } from 'vitest';
import {
  PlatformError,
  canRunKey,
  variantProblem,
  UNAME_MACHINES,
  acceptablePlatforms,
  bestMatch,
  normalizePlatform,
  parsePlatform,
  platformKey,
  platformRank,
  samePlatform,
  unameToPlatform,
  type Platform,
} from '../../src/platform.js';
import { ExitCode } from '../../src/errors.js';

/** Shorthand: 'linux/arm/v7' → { os, architecture, variant } without normalizing. */
function p(s: string): Platform {
  const [os = '', architecture = '', variant] = s.split('/');
  return variant === undefined ? { os, architecture } : { os, architecture, variant };
}

describe('parsePlatform', () => {
  it.each([
    ['linux/arm/v7', { os: 'linux', architecture: 'arm', variant: 'v7' }],
    ['linux/arm', { os: 'linux', architecture: 'arm', variant: 'v7' }],
    ['linux/arm64', { os: 'linux', architecture: 'arm64' }],
    ['linux/arm64/v8', { os: 'linux', architecture: 'arm64' }],
    ['linux/amd64', { os: 'linux', architecture: 'amd64' }],
    ['linux/amd64/v3', { os: 'linux', architecture: 'amd64', variant: 'v3' }],
    ['Linux/X86_64', { os: 'linux', architecture: 'amd64' }],
    ['linux/aarch64', { os: 'linux', architecture: 'arm64' }],
    ['linux/armhf', { os: 'linux', architecture: 'arm', variant: 'v7' }],
    ['linux/riscv64', { os: 'linux', architecture: 'riscv64' }],
    ['windows/amd64', { os: 'windows', architecture: 'amd64' }],
    ['macos/arm64', { os: 'darwin', architecture: 'arm64' }],
  ])('%s', (input, expected) => {
    expect(parsePlatform(input)).toEqual(expected);
  });

  it.each([
    ['', /expected os\/arch/],
    ['linux', /expected os\/arch/],
    ['linux/', /expected os\/arch/],
    ['/amd64', /expected os\/arch/],
    ['linux/arm/v7/x', /expected os\/arch/],
    ['linux//v7', /expected os\/arch/],
    ['plan10/amd64', /unknown os "plan10"/],
    ['unknown/unknown', /unknown os "unknown"/],
    ['linux/x87', /unknown architecture "x87"/],
    ['linux/armv7l', /unknown architecture "armv7l"/],
    ['linux/arm/v 7', /invalid variant "v 7"/],
  ])('%j throws', (input, message) => {
    expect(() => parsePlatform(input)).toThrow(PlatformError);
    expect(() => parsePlatform(input)).toThrow(message);
    expect(() => parsePlatform(input)).toThrow(`invalid platform "${input}"`);
  });

  it('PlatformError is exit code 2', () => {
    expect(new PlatformError('x').exitCode).toBe(ExitCode.badInput);
  });
});

describe('normalizePlatform (containerd)', () => {
  it.each<[Platform, Platform]>([
    [p('linux/x86_64'), p('linux/amd64')],
    [p('linux/x86-64'), p('linux/amd64')],
    [p('linux/x86_64/v1'), p('linux/amd64')],
    [p('linux/amd64/v1'), p('linux/amd64')],
    [p('linux/amd64/v2'), p('linux/amd64/v2')],
    [p('linux/AMD64/V3'), p('linux/amd64/v3')],
    [p('linux/aarch64'), p('linux/arm64')],
    [p('linux/aarch64/v8'), p('linux/arm64')],
    [p('linux/arm64/8'), p('linux/arm64')],
    [p('linux/arm64/v8'), p('linux/arm64')],
    [p('linux/arm64/v8.0'), p('linux/arm64')],
    [p('linux/arm64/v8.2'), p('linux/arm64/v8.2')],
    [p('linux/arm64/9'), p('linux/arm64/v9')],
    [p('linux/arm64/v9.0'), p('linux/arm64/v9')],
    [p('linux/armhf'), p('linux/arm/v7')],
    [p('linux/armel'), p('linux/arm/v6')],
    [p('linux/arm'), p('linux/arm/v7')],
    [p('linux/arm/7'), p('linux/arm/v7')],
    [p('linux/arm/5'), p('linux/arm/v5')],
    [p('linux/arm/6'), p('linux/arm/v6')],
    [p('linux/arm/8'), p('linux/arm/v8')],
    [p('linux/arm/v6'), p('linux/arm/v6')],
    [p('linux/i386'), p('linux/386')],
    [p('macos/arm64'), p('darwin/arm64')],
    [p('Linux/PPC64LE'), p('linux/ppc64le')],
    [{ os: 'linux', architecture: 'amd64', variant: '' }, p('linux/amd64')],
    [
      { os: 'windows', architecture: 'amd64', osVersion: '10.0.17763.1234', osFeatures: ['win32k', 'b', 'win32k'] },
      { os: 'windows', architecture: 'amd64', osVersion: '10.0.17763.1234', osFeatures: ['b', 'win32k'] },
    ],
    [{ os: 'linux', architecture: 'amd64', osFeatures: [], osVersion: '' }, p('linux/amd64')],
  ])('%j', (input, expected) => {
    expect(normalizePlatform(input)).toEqual(expected);
  });

  it('does not mutate its argument', () => {
    const features = ['b', 'a'];
    normalizePlatform({ os: 'linux', architecture: 'amd64', osFeatures: features });
    expect(features).toEqual(['b', 'a']);
  });
});

describe('platformKey', () => {
  it.each([
    ['linux/arm64', 'linux/arm64/v8'],
    ['linux/arm64/v8', 'linux/arm64/v8'],
    ['linux/aarch64', 'linux/arm64/v8'],
    ['linux/arm64/v8.2', 'linux/arm64/v8.2'],
    ['linux/arm64/v9.0', 'linux/arm64/v9'],
    ['linux/arm', 'linux/arm/v7'],
    ['linux/arm/v6', 'linux/arm/v6'],
    ['linux/armhf', 'linux/arm/v7'],
    ['linux/amd64', 'linux/amd64'],
    ['linux/amd64/v1', 'linux/amd64'],
    ['linux/x86_64', 'linux/amd64'],
    ['linux/amd64/v3', 'linux/amd64/v3'],
    ['linux/riscv64', 'linux/riscv64'],
    ['linux/386', 'linux/386'],
  ])('%s → %s', (input, key) => {
    expect(platformKey(p(input))).toBe(key);
  });

  it('arm64 with and without v8 share one key', () => {
    expect(platformKey(p('linux/arm64'))).toBe(platformKey(p('linux/arm64/v8')));
  });
});

describe('samePlatform', () => {
  it('compares normalized forms', () => {
    expect(samePlatform(p('linux/arm64'), p('linux/arm64/v8'))).toBe(true);
    expect(samePlatform(p('linux/arm'), p('linux/arm/v7'))).toBe(true);
    expect(samePlatform(p('linux/x86_64'), p('linux/amd64/v1'))).toBe(true);
    expect(samePlatform(p('linux/arm/v6'), p('linux/arm/v7'))).toBe(false);
    expect(samePlatform(p('linux/amd64'), p('linux/386'))).toBe(false);
    expect(samePlatform(p('linux/amd64'), p('windows/amd64'))).toBe(false);
    expect(
      samePlatform(
        { os: 'windows', architecture: 'amd64', osVersion: '10.0.1' },
        { os: 'windows', architecture: 'amd64', osVersion: '10.0.2' },
      ),
    ).toBe(false);
  });
});

describe('unameToPlatform: the whole uname -m table', () => {
  const table: Array<[string, string]> = [
    ['x86_64', 'linux/amd64'],
    ['amd64', 'linux/amd64'],
    ['aarch64', 'linux/arm64/v8'],
    ['arm64', 'linux/arm64/v8'],
    ['armv8l', 'linux/arm/v8'],
    ['armv7l', 'linux/arm/v7'],
    ['armhf', 'linux/arm/v7'],
    ['armv6l', 'linux/arm/v6'],
    ['armel', 'linux/arm/v6'],
    ['armv5tel', 'linux/arm/v5'],
    ['armv5tejl', 'linux/arm/v5'],
    ['armv5l', 'linux/arm/v5'],
    ['i386', 'linux/386'],
    ['i486', 'linux/386'],
    ['i586', 'linux/386'],
    ['i686', 'linux/386'],
    ['riscv64', 'linux/riscv64'],
    ['ppc64le', 'linux/ppc64le'],
    ['ppc64el', 'linux/ppc64le'],
    ['s390x', 'linux/s390x'],
    ['loongarch64', 'linux/loong64'],
    ['loong64', 'linux/loong64'],
  ];
  it.each(table)('%s → %s', (machine, key) => {
    const platform = unameToPlatform(machine);
    expect(platform).toBeDefined();
    expect(platformKey(platform as Platform)).toBe(key);
    expect(platform).toEqual(normalizePlatform(platform as Platform)); // already normalized
  });

  it('UNAME_MACHINES lists exactly the table', () => {
    expect([...UNAME_MACHINES].sort()).toEqual(table.map(([m]) => m).sort());
  });

  it('arm64 has the canonical empty variant', () => {
    expect(unameToPlatform('aarch64')).toEqual({ os: 'linux', architecture: 'arm64' });
  });

  it('ignores case and surrounding spaces', () => {
    expect(unameToPlatform(' X86_64 ')).toEqual({ os: 'linux', architecture: 'amd64' });
  });

  it.each(['', 'x86', 'armv7', 'mips64', 'ppc64', 'sparc64', 'toString', '__proto__', 'linux/amd64'])('%j → undefined', (m) => {
    expect(unameToPlatform(m)).toBeUndefined();
  });

  it('returns a fresh object each time', () => {
    const a = unameToPlatform('armv7l') as Platform;
    a.variant = 'v5';
    expect(unameToPlatform('armv7l')).toEqual(p('linux/arm/v7'));
  });
});

describe('acceptablePlatforms', () => {
  const keys = (want: string): string[] =>
    acceptablePlatforms(p(want)).map((x) => `${x.os}/${x.architecture}${x.variant ? `/${x.variant}` : ''}`);
  it.each([
    ['linux/arm/v8', ['linux/arm/v8', 'linux/arm/v7', 'linux/arm/v6', 'linux/arm/v5']],
    ['linux/arm/v7', ['linux/arm/v7', 'linux/arm/v6', 'linux/arm/v5']],
    ['linux/arm', ['linux/arm/v7', 'linux/arm/v6', 'linux/arm/v5']],
    ['linux/arm/v6', ['linux/arm/v6', 'linux/arm/v5']],
    ['linux/arm/v5', ['linux/arm/v5']],
    ['linux/amd64', ['linux/amd64']],
    ['linux/amd64/v2', ['linux/amd64/v2', 'linux/amd64']],
    ['linux/amd64/v3', ['linux/amd64/v3', 'linux/amd64/v2', 'linux/amd64']],
    ['linux/amd64/v4', ['linux/amd64/v4', 'linux/amd64/v3', 'linux/amd64/v2', 'linux/amd64']],
    ['linux/arm64', ['linux/arm64']],
    ['linux/arm64/v8', ['linux/arm64']],
    ['linux/arm64/v8.2', ['linux/arm64/v8.2', 'linux/arm64/v8.1', 'linux/arm64']],
    [
      'linux/arm64/v9',
      ['linux/arm64/v9', 'linux/arm64/v8.5', 'linux/arm64/v8.4', 'linux/arm64/v8.3', 'linux/arm64/v8.2', 'linux/arm64/v8.1', 'linux/arm64'],
    ],
    [
      'linux/arm64/v9.5',
      [
        'linux/arm64/v9.5',
        'linux/arm64/v9.4',
        'linux/arm64/v9.3',
        'linux/arm64/v9.2',
        'linux/arm64/v9.1',
        'linux/arm64/v9',
        'linux/arm64/v8.9',
        'linux/arm64/v8.8',
        'linux/arm64/v8.7',
        'linux/arm64/v8.6',
        'linux/arm64/v8.5',
        'linux/arm64/v8.4',
        'linux/arm64/v8.3',
        'linux/arm64/v8.2',
        'linux/arm64/v8.1',
        'linux/arm64',
      ],
    ],
    ['linux/386', ['linux/386']],
    ['linux/riscv64', ['linux/riscv64']],
    ['linux/ppc64le/power9', ['linux/ppc64le/power9']],
  ])('%s', (want, expected) => {
    expect(keys(want)).toEqual(expected);
  });

  it('never crosses architecture', () => {
    expect(keys('linux/amd64/v3').some((k) => k.includes('386'))).toBe(false);
    expect(keys('linux/arm64/v9').some((k) => k.startsWith('linux/arm/'))).toBe(false);
  });
});

describe('platformRank and bestMatch', () => {
  it('arm/v7 takes v7 first, then v6, then v5, whatever the index order', () => {
    const want = p('linux/arm/v7');
    const all = [p('linux/arm/v5'), p('linux/arm/v6'), p('linux/arm64'), p('linux/arm/v7'), p('linux/arm/v8')];
    expect(bestMatch(want, all)).toBe(3);
    expect(bestMatch(want, [p('linux/arm/v5'), p('linux/arm/v6'), p('linux/arm/v8')])).toBe(1);
    expect(bestMatch(want, [p('linux/arm/v5'), p('linux/arm/v8')])).toBe(0);
    expect(bestMatch(want, [p('linux/arm/v8')])).toBeUndefined();
    expect(platformRank(want, p('linux/arm/v7'))).toBe(0);
    expect(platformRank(want, p('linux/arm/v6'))).toBe(1);
    expect(platformRank(want, p('linux/arm/v5'))).toBe(2);
  });

  it('a raw linux/arm candidate counts as v7; armv8l hosts take v8 then v7', () => {
    expect(bestMatch(p('linux/arm/v7'), [p('linux/arm/v6'), p('linux/arm')])).toBe(1);
    expect(bestMatch(unameToPlatform('armv8l') as Platform, [p('linux/arm/v6'), p('linux/arm/v7')])).toBe(1);
  });

  it('arm64 never gets 32-bit arm', () => {
    expect(bestMatch(p('linux/arm64'), [p('linux/arm/v7'), p('linux/arm/v8'), p('linux/arm/v6')])).toBeUndefined();
    expect(bestMatch(p('linux/arm64/v9'), [p('linux/arm/v8')])).toBeUndefined();
  });

  it('arm64 with and without v8 match each other, aarch64 too', () => {
    expect(bestMatch(p('linux/arm64/v8'), [p('linux/amd64'), p('linux/arm64')])).toBe(1);
    expect(bestMatch(p('linux/arm64'), [p('linux/amd64'), p('linux/arm64/v8')])).toBe(1);
    expect(bestMatch(p('linux/arm64'), [p('linux/aarch64/8')])).toBe(0);
    expect(bestMatch(p('linux/arm64'), [p('linux/arm64/v8.2')])).toBeUndefined();
  });

  it('arm64/v9 prefers v9, then v8.x, then plain arm64', () => {
    const want = p('linux/arm64/v9');
    expect(bestMatch(want, [p('linux/arm64'), p('linux/arm64/v8.2'), p('linux/arm64/v9.0')])).toBe(2);
    expect(bestMatch(want, [p('linux/arm64'), p('linux/arm64/v8.2')])).toBe(1);
    expect(bestMatch(want, [p('linux/arm64/v9.1'), p('linux/arm64/v8.6')])).toBeUndefined();
  });

  it('amd64 never gets 386', () => {
    expect(bestMatch(p('linux/amd64'), [p('linux/386'), p('linux/i386')])).toBeUndefined();
    expect(bestMatch(unameToPlatform('x86_64') as Platform, [p('linux/386'), p('linux/x86_64')])).toBe(1);
  });

  it('amd64/v3 takes v3, then v2, then v1', () => {
    const want = p('linux/amd64/v3');
    expect(bestMatch(want, [p('linux/amd64'), p('linux/amd64/v2'), p('linux/amd64/v3'), p('linux/amd64/v4')])).toBe(2);
    expect(bestMatch(want, [p('linux/amd64'), p('linux/amd64/v2'), p('linux/amd64/v4')])).toBe(1);
    expect(bestMatch(want, [p('linux/amd64/v4'), p('linux/amd64/v1')])).toBe(1);
    expect(bestMatch(p('linux/amd64'), [p('linux/amd64/v2')])).toBeUndefined();
  });

  it('ties go to index order', () => {
    expect(bestMatch(p('linux/amd64'), [p('linux/arm64'), p('linux/amd64'), p('linux/x86_64'), p('linux/amd64/v1')])).toBe(1);
    expect(bestMatch(p('linux/arm/v7'), [p('linux/arm/v6'), p('linux/armel')])).toBe(0);
  });

  it('buildx attestations (unknown/unknown) never match', () => {
    const unknown = p('unknown/unknown');
    expect(platformRank(unknown, unknown)).toBeUndefined();
    expect(bestMatch(p('linux/amd64'), [unknown, p('linux/unknown'), p('unknown/amd64')])).toBeUndefined();
    expect(bestMatch(p('linux/amd64'), [unknown, p('linux/amd64')])).toBe(1);
  });

  it('os must match', () => {
    expect(bestMatch(p('linux/amd64'), [p('windows/amd64'), p('darwin/amd64')])).toBeUndefined();
  });

  it('candidate os.features must be a subset of the host ones', () => {
    const host: Platform = { os: 'windows', architecture: 'amd64', osFeatures: ['win32k'] };
    const plain: Platform = { os: 'windows', architecture: 'amd64' };
    const win32k: Platform = { os: 'windows', architecture: 'amd64', osFeatures: ['win32k', 'win32k'] };
    const other: Platform = { os: 'windows', architecture: 'amd64', osFeatures: ['win32k', 'gpu'] };
    expect(platformRank(host, plain)).toBe(0);
    expect(platformRank(host, win32k)).toBe(0);
    expect(platformRank(host, other)).toBeUndefined();
    expect(platformRank(plain, win32k)).toBeUndefined();
    expect(bestMatch(plain, [other, win32k, plain])).toBe(2);
  });

  it('windows os.version must agree on major.minor.build; elsewhere it is ignored', () => {
    const host: Platform = { os: 'windows', architecture: 'amd64', osVersion: '10.0.17763.1234' };
    const cand = (v?: string): Platform => ({ os: 'windows', architecture: 'amd64', ...(v ? { osVersion: v } : {}) });
    expect(platformRank(host, cand('10.0.17763.5678'))).toBe(0);
    expect(platformRank(host, cand('10.0.20348.1'))).toBeUndefined();
    expect(platformRank(host, cand())).toBe(0);
    expect(platformRank(cand(), cand('10.0.20348.1'))).toBe(0);
    expect(bestMatch(host, [cand('10.0.20348.1'), cand('10.0.17763.1')])).toBe(1);
    const linux: Platform = { os: 'linux', architecture: 'amd64', osVersion: '1' };
    expect(platformRank(linux, { os: 'linux', architecture: 'amd64', osVersion: '2' })).toBe(0);
  });

  it('empty candidates → undefined', () => {
    expect(bestMatch(p('linux/amd64'), [])).toBeUndefined();
  });
});

describe('variantProblem (platforms written in a spec)', () => {
  it.each([
    ['linux/amd64/v9', /amd64 has no variant "v9" \(known: v1, v2, v3, v4\)/],
    ['linux/arm/v4', /arm has no variant "v4"/],
    ['linux/arm64/v7', /arm64 has no variant "v7"/],
  ])('refuses %s', (s, why) => {
    expect(variantProblem(parsePlatform(s))).toMatch(why);
  });
  it.each([
    'linux/amd64',
    'linux/amd64/v1',
    'linux/amd64/v3',
    'linux/arm/v5',
    'linux/arm64/v8',
    'linux/arm64/v8.2',
    'linux/arm64/v9',
    'linux/riscv64/rva20u64',
    'linux/ppc64le/power9',
  ])('accepts %s', (s) => {
    expect(variantProblem(parsePlatform(s))).toBeUndefined();
  });
  it('canRunKey reads lock keys and never throws', () => {
    expect(canRunKey(parsePlatform('linux/arm/v7'), 'linux/arm/v6')).toBe(true);
    expect(canRunKey(parsePlatform('linux/arm64'), 'linux/arm/v7')).toBe(false);
    expect(canRunKey(parsePlatform('linux/amd64'), 'not a platform')).toBe(false);
  });
});
