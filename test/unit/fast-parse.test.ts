import { describe, expect, it } from 'vitest';
import { Document, isMap, parse } from 'yaml';
import { computeDigest, type Digest } from '../../src/digest.js';
import { fastParseLock } from '../../src/lock/fast-parse.js';
import type { Lock } from '../../src/lock/model.js';
import { parseLock } from '../../src/lock/read.js';
import { LOCK_HEADER, serializeLock } from '../../src/lock/serialize.js';

const d = (s: string): Digest => computeDigest(new TextEncoder().encode(s));
const M = 'application/vnd.oci.image.manifest.v1+json';

function lockWith(overrides: { track?: string; tag?: string; held?: string; ref?: string }): Lock {
  return {
    lockVersion: 1,
    images: {
      agent: {
        ref: overrides.ref ?? 'packages.example.com:5000/team/agent',
        tag: overrides.tag ?? 'v3.1.0',
        ...(overrides.track ? { track: overrides.track } : {}),
        digest: d('i'),
        mediaType: 'application/vnd.oci.image.index.v1+json',
        platforms: {
          'linux/amd64': { digest: d('a'), mediaType: M, size: 401 },
          'linux/arm64/v8': { digest: d('b'), mediaType: M, size: 0 },
        },
        verifiedBy: d('key'),
      },
    },
    fleet: {
      dc: { agent: { platform: 'linux/amd64', digest: d('a') } },
      lab: {
        agent: { platform: 'linux/riscv64', digest: d('r'), tag: 'v3.0.0', held: overrides.held ?? 'linux/riscv64 is not in v3.1.0' },
      },
      empty: {},
    },
  };
}

/** Values that exercise quoting: plain, quoted by YAML, quoted only in a flow map. */
const VALUES: Array<[string, Parameters<typeof lockWith>[0]]> = [
  ['plain values', {}],
  ['a range yaml must quote', { track: '>=1.0.0 <3' }],
  ['a caret range', { track: '^3.0.0' }],
  ['a tag that looks like a number', { tag: '1.10' }],
  ['a held reason with ": " and ", "', { held: 'held: because, well, "reasons"' }],
  ['single and double quotes together', { held: `it's "quoted": yes` }],
  ['a value with a comma (plain in a block, quoted in a flow map)', { held: 'a,b', ref: 'x/y,z' }],
  ['an oci-layout ref', { ref: 'oci-layout://examples/linuxguard-agent' }],
];

describe('the fast lock reader', () => {
  it.each(VALUES)('reads %s exactly as a YAML parser does', (_n, o) => {
    const text = serializeLock(lockWith(o));
    expect(fastParseLock(text)).toEqual(parse(text));
    expect(parseLock(text, 'lg-pins.lock.yaml')).toEqual(parse(text));
  });

  it.each([
    ['an anchor', 'lockVersion: 1\nimages: &a {}\n'],
    ['a tag that YAML reads as a number', 'lockVersion: 1\nimages:\n  a:\n    tag: 1.10\n'],
    ['a tag that YAML 1.1 reads as a boolean', 'lockVersion: 1\nimages:\n  a:\n    tag: on\n'],
    ['an id that YAML reads as a number', 'lockVersion: 1\nimages:\n  007:\n    tag: v1\n'],
    ['a block scalar', 'lockVersion: 1\nimages:\n  a:\n    ref: |\n      x\n'],
    ['a list', 'lockVersion: 1\nimages:\n  - a\n'],
    ['odd indentation', 'lockVersion: 1\nimages:\n   a: {}\n'],
    ['a duplicate key', 'lockVersion: 1\nlockVersion: 1\n'],
    ['a comment after a value', 'lockVersion: 1 # one\n'],
  ])('gives up on %s (the full parser decides)', (_n, text) => {
    expect(fastParseLock(text)).toBeUndefined();
  });
});

/** The lock written through a YAML document object: what serializeLock must match byte for byte (for values YAML 1.2 and 1.1 agree on). */
function viaDocument(lock: Lock): string {
  const sortKeys = <T>(r: Record<string, T>) => Object.entries(r).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const plain = {
    lockVersion: lock.lockVersion,
    images: Object.fromEntries(
      sortKeys(lock.images).map(([id, i]) => [
        id,
        {
          ref: i.ref,
          tag: i.tag,
          ...(i.track !== undefined ? { track: i.track } : {}),
          digest: i.digest,
          mediaType: i.mediaType,
          platforms: Object.fromEntries(
            sortKeys(i.platforms).map(([k, p]) => [k, { digest: p.digest, mediaType: p.mediaType, size: p.size }]),
          ),
          ...(i.verifiedBy !== undefined ? { verifiedBy: i.verifiedBy } : {}),
        },
      ]),
    ),
    fleet: Object.fromEntries(
      sortKeys(lock.fleet).map(([g, pins]) => [
        g,
        Object.fromEntries(
          sortKeys(pins).map(([id, p]) => [
            id,
            {
              platform: p.platform,
              digest: p.digest,
              ...(p.tag !== undefined ? { tag: p.tag } : {}),
              ...(p.held !== undefined ? { held: p.held } : {}),
            },
          ]),
        ),
      ]),
    ),
  };
  const doc = new Document(plain);
  const fleet = doc.get('fleet');
  if (isMap(fleet))
    for (const g of fleet.items) if (isMap(g.value)) for (const pin of g.value.items) if (isMap(pin.value)) pin.value.flow = true;
  // singleQuote: false: lg-pins double-quotes every value it quotes (JSON-compatible escapes).
  return `${LOCK_HEADER}\n${doc.toString({ lineWidth: 0, minContentWidth: 0, flowCollectionPadding: true, singleQuote: false })}`;
}

describe('the line-by-line lock writer', () => {
  it.each(VALUES)('writes %s byte for byte as the YAML library does, and reads it back', (_n, o) => {
    const lock = lockWith(o);
    const text = serializeLock(lock);
    expect(text).toBe(viaDocument(lock));
    expect(parse(text)).toEqual(parse(viaDocument(lock)));
  });

  it('writes empty maps as {}', () => {
    const text = serializeLock({ lockVersion: 1, images: {}, fleet: {} });
    expect(text).toBe(viaDocument({ lockVersion: 1, images: {}, fleet: {} }));
  });
});
