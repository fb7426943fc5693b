import { describe, expect, it } from 'vitest';
import { computeDigest } from '../../src/digest.js';
import { isAttestation, ManifestError, MediaType, parseManifest, platformFromConfig } from '../../src/registry/manifest.js';

const enc = (o: unknown) => new TextEncoder().encode(JSON.stringify(o));
const desc = (s: string, extra: object = {}) => ({ mediaType: MediaType.ociManifest, digest: computeDigest(enc(s)), size: 10, ...extra });

describe('parseManifest', () => {
  const index = {
    schemaVersion: 2,
    mediaType: MediaType.ociIndex,
    manifests: [desc('a', { platform: { os: 'linux', architecture: 'arm', variant: 'v7' } })],
  };

  it('classifies by Content-Type, then mediaType, then shape', () => {
    expect(parseManifest(enc(index), `${MediaType.ociIndex}; charset=utf-8`).kind).toBe('index');
    expect(parseManifest(enc({ ...index, mediaType: undefined }), 'application/json').kind).toBe('index');
    const image = { schemaVersion: 2, config: desc('c', { mediaType: MediaType.ociConfig }), layers: [] };
    expect(parseManifest(enc(image), '')).toMatchObject({ kind: 'image', mediaType: MediaType.ociManifest });
    const list = { schemaVersion: 2, mediaType: MediaType.dockerList, manifests: [] };
    expect(parseManifest(enc(list), MediaType.dockerList)).toMatchObject({ kind: 'index', mediaType: MediaType.dockerList });
  });

  it('reads platform fields including os.version and os.features', () => {
    const m = parseManifest(
      enc({
        ...index,
        manifests: [
          desc('w', { platform: { os: 'windows', architecture: 'amd64', 'os.version': '10.0.17763.1', 'os.features': ['win32k'] } }),
        ],
      }),
      MediaType.ociIndex,
    );
    expect(m.kind === 'index' && m.manifests[0]!.platform).toEqual({
      os: 'windows',
      architecture: 'amd64',
      osVersion: '10.0.17763.1',
      osFeatures: ['win32k'],
    });
  });

  it.each([
    ['a Content-Type that contradicts mediaType', enc(index), MediaType.dockerList, /contradicts/],
    ['schema 1', enc({ schemaVersion: 1, name: 'x', fsLayers: [] }), '', /schema 1/],
    ['not JSON', new TextEncoder().encode('<html>'), 'text/html', /not valid JSON/],
    [
      'a bad child digest',
      enc({ ...index, manifests: [{ mediaType: MediaType.ociManifest, digest: 'sha256:zz', size: 1 }] }),
      MediaType.ociIndex,
      /manifests\[0\]\.digest is not a valid digest/,
    ],
    [
      'a negative size',
      enc({ ...index, manifests: [desc('a', { size: -1 })] }),
      MediaType.ociIndex,
      /manifests\[0\]\.size must be a whole number of bytes, got -1/,
    ],
    ['null', enc(null), MediaType.ociIndex, /the manifest must be an object, got null/],
    ['an array', enc([1]), '', /the manifest must be an object, got an array/],
    ['manifests that are not an array', enc({ ...index, manifests: null }), MediaType.ociIndex, /"manifests" must be an array, got null/],
    [
      'a descriptor that is a number',
      enc({ ...index, manifests: [7] }),
      MediaType.ociIndex,
      /manifests\[0\] must be a descriptor object, got a number/,
    ],
    [
      'a media type with an escape sequence',
      enc({ ...index, manifests: [desc('a', { mediaType: 'application/x\u001b[31m' })] }),
      MediaType.ociIndex,
      /manifests\[0\]\.mediaType "application\/x\\u001b\[31m" is not a media type/,
    ],
    [
      'a platform field with a newline',
      enc({ ...index, manifests: [desc('a', { platform: { os: 'linux\nfake: line', architecture: 'amd64' } })] }),
      MediaType.ociIndex,
      /manifests\[0\]\.platform\.os "linux\\nfake: line" is not a platform name/,
    ],
    [
      'an architecture that is a number',
      enc({ ...index, manifests: [desc('a', { platform: { os: 'linux', architecture: 64 } })] }),
      MediaType.ociIndex,
      /platform\.architecture must be a string, got a number/,
    ],
    [
      'annotations that are not strings',
      enc({ ...index, manifests: [desc('a', { annotations: { a: 1 } })] }),
      MediaType.ociIndex,
      /an annotation of manifests\[0\] "a" must be a string/,
    ],
    [
      'layers that are not an array',
      enc({ schemaVersion: 2, mediaType: MediaType.ociManifest, config: desc('c'), layers: {} }),
      MediaType.ociManifest,
      /layers must be an array, got an object/,
    ],
  ])('refuses %s', (_n, bytes, ct, why) => {
    expect(() => parseManifest(bytes, ct)).toThrow(ManifestError);
    expect(() => parseManifest(bytes, ct)).toThrow(why);
  });
});

describe('attestations and configs', () => {
  it('recognises buildx attestation entries by annotation or unknown platform', () => {
    const base = { mediaType: MediaType.ociManifest, digest: computeDigest(enc('x')), size: 1 };
    expect(isAttestation({ ...base, platform: { os: 'unknown', architecture: 'unknown' } })).toBe(true);
    expect(isAttestation({ ...base, annotations: { 'vnd.docker.reference.type': 'attestation-manifest' } })).toBe(true);
    expect(isAttestation({ ...base, platform: { os: 'linux', architecture: 'amd64' } })).toBe(false);
  });
  it('reads the platform from a config blob', () => {
    expect(platformFromConfig(enc({ os: 'linux', architecture: 'arm', variant: 'v6', rootfs: {} }))).toEqual({
      os: 'linux',
      architecture: 'arm',
      variant: 'v6',
    });
    expect(() => platformFromConfig(enc({ rootfs: {} }))).toThrow(/no os\/architecture/);
  });
});

describe('unsupported versus broken', () => {
  const catchIt = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      return e as ManifestError;
    }
    throw new Error('expected a throw');
  };
  it('marks schema 1 as unsupported (a registry-side problem, exit 3) and a contradiction as broken (exit 4)', () => {
    expect(catchIt(() => parseManifest(enc({ schemaVersion: 1, fsLayers: [] }), MediaType.dockerSchema1)).unsupported).toBe(true);
    const idx = { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [] };
    expect(catchIt(() => parseManifest(enc(idx), MediaType.dockerManifest)).unsupported).toBe(false);
  });
});
