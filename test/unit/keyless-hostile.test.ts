/**
 * Keyless signatures from a hostile store: a valid keyless signature (legacy `.sig` layer or v3
 * bundle, made by the private Sigstore) with junk put in one of its slots (any JSON value, random
 * bytes, base64 of random bytes) is an IntegrityError (exit 4) or still verifies: never a crash,
 * whatever the certificate, the chain, the Rekor entry, the SET or the bundle holds.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KeylessPolicy } from '../../src/config/spec.js';
import { computeDigest, type Digest } from '../../src/digest.js';
import { IntegrityError, RegistryError } from '../../src/errors.js';
import { MediaType } from '../../src/registry/manifest.js';
import type { ContentSource } from '../../src/registry/source.js';
import { verifyCosign } from '../../src/trust/cosign.js';
import { loadTrustedRoot } from '../../src/trust/root.js';
import { createSigstore, GITHUB_ISSUER, RELEASE_IDENTITY, type PrivateSigstore } from '../helpers/sigstore.js';

const enc = (v: unknown) => new TextEncoder().encode(typeof v === 'string' ? v : JSON.stringify(v));
const DIGEST = computeDigest(enc('an image index'));
const NAME = 'registry.example/linuxguard/agent';

let sigstore: PrivateSigstore;
let policy: KeylessPolicy;
const dir = mkdtempSync(join(tmpdir(), 'lg-pins-keyless-hostile-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

beforeAll(async () => {
  sigstore = await createSigstore();
  const root = loadTrustedRoot(sigstore.writeTrustedRoot(join(dir, 'root.json')), 'root.json');
  if (typeof root === 'string') throw new Error(root);
  policy = { kind: 'keyless', identity: { exact: RELEASE_IDENTITY }, issuer: { exact: GITHUB_ISSUER }, trustedRoot: root };
});

const junk = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.string({ maxLength: 40 }),
  fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b).toString('base64')),
  fc
    .uint8Array({ maxLength: 120 })
    .map((b) => `-----BEGIN CERTIFICATE-----\n${Buffer.from(b).toString('base64')}\n-----END CERTIFICATE-----\n`),
);

/** Every path to a leaf (or a whole object) of a JSON value. */
function paths(v: unknown, at: (string | number)[] = []): (string | number)[][] {
  const out: (string | number)[][] = [at];
  if (v !== null && typeof v === 'object')
    for (const [k, c] of Object.entries(v)) out.push(...paths(c, [...at, Array.isArray(v) ? Number(k) : k]));
  return out;
}

function replaced(v: unknown, path: (string | number)[], value: unknown): unknown {
  if (!path.length) return value;
  const copy = (Array.isArray(v) ? [...(v as unknown[])] : { ...(v as object) }) as Record<string | number, unknown>;
  copy[path[0]!] = replaced(copy[path[0]!], path.slice(1), value);
  return copy;
}

/** A content source serving one signature store: a `.sig` manifest with one layer, or a fallback index with one bundle. */
function storeOf(layer: { bytes: Uint8Array; mediaType: string; annotations?: Record<string, string> }): ContentSource {
  const desc = (bytes: Uint8Array, mediaType: string, annotations?: Record<string, string>) => ({
    mediaType,
    digest: computeDigest(bytes),
    size: bytes.length,
    ...(annotations ? { annotations } : {}),
  });
  const config = enc({});
  const manifest = enc({
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    config: desc(config, 'application/vnd.oci.image.config.v1+json'),
    layers: [desc(layer.bytes, layer.mediaType, layer.annotations)],
  });
  const tag = DIGEST.replace(':', '-');
  const manifests = new Map<string, Uint8Array>();
  if (layer.annotations) manifests.set(`${tag}.sig`, manifest);
  else {
    manifests.set(computeDigest(manifest), manifest);
    manifests.set(tag, enc({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [desc(manifest, MediaType.ociManifest)] }));
  }
  const blobs = new Map<string, Uint8Array>([
    [computeDigest(layer.bytes), layer.bytes],
    [computeDigest(config), config],
  ]);
  return {
    name: 'fuzz',
    fetchManifest: async (_repo: string, ref: string) => {
      const bytes = manifests.get(ref);
      if (!bytes) throw new RegistryError(`${ref} not found`, { status: 404 });
      return { bytes, digest: computeDigest(bytes), contentType: '' };
    },
    fetchBlob: async (_repo: string, d: Digest) => blobs.get(d) ?? enc(null),
    listTags: async () => [],
  };
}

async function judged(source: ContentSource): Promise<void> {
  try {
    const signer = await verifyCosign({ source, repo: 'agent', name: NAME, identity: NAME, digest: DIGEST }, policy);
    expect(signer).toMatchObject({ identity: RELEASE_IDENTITY, issuer: GITHUB_ISSUER });
  } catch (e) {
    expect(e).toBeInstanceOf(IntegrityError);
  }
}

describe('keyless signatures with junk in any slot', () => {
  it('the unchanged fixtures verify (so the properties below start from valid signatures)', async () => {
    const legacy = await sigstore.legacySignature(NAME, DIGEST);
    await expect(
      verifyCosign(
        {
          source: storeOf({
            bytes: legacy.payload,
            mediaType: 'application/vnd.dev.cosign.simplesigning.v1+json',
            annotations: legacy.annotations,
          }),
          repo: 'agent',
          name: NAME,
          identity: NAME,
          digest: DIGEST,
        },
        policy,
      ),
    ).resolves.toMatchObject({ identity: RELEASE_IDENTITY, logIndex: legacy.logIndex });
    const bundle = await sigstore.bundleSignature(NAME, DIGEST);
    await expect(
      verifyCosign(
        {
          source: storeOf({ bytes: enc(bundle.bundle), mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json' }),
          repo: 'agent',
          name: NAME,
          digest: DIGEST,
        },
        policy,
      ),
    ).resolves.toMatchObject({ identity: RELEASE_IDENTITY, logIndex: bundle.logIndex });
  });

  it('a legacy layer: any annotation, or any field of its Rekor bundle, replaced', async () => {
    const sig = await sigstore.legacySignature(NAME, DIGEST);
    const rekor = JSON.parse(sig.annotations['dev.sigstore.cosign/bundle']!) as unknown;
    const keys = Object.keys(sig.annotations);
    await fc.assert(
      fc.asyncProperty(fc.nat(), fc.nat(), junk, fc.boolean(), async (k, p, value, inRekor) => {
        const annotations = { ...sig.annotations };
        if (inRekor) {
          const all = paths(rekor);
          annotations['dev.sigstore.cosign/bundle'] = JSON.stringify(replaced(rekor, all[p % all.length]!, value));
        } else annotations[keys[k % keys.length]!] = typeof value === 'string' ? value : JSON.stringify(value);
        await judged(storeOf({ bytes: sig.payload, mediaType: 'application/vnd.dev.cosign.simplesigning.v1+json', annotations }));
      }),
      { numRuns: 200 },
    );
  });

  it('a v3 bundle: any field replaced', async () => {
    const sig = await sigstore.bundleSignature(NAME, DIGEST);
    const all = paths(sig.bundle);
    await fc.assert(
      fc.asyncProperty(fc.nat(), junk, async (p, value) => {
        const bytes = enc(replaced(sig.bundle, all[p % all.length]!, value));
        await judged(storeOf({ bytes, mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json' }));
      }),
      { numRuns: 200 },
    );
  });
});
