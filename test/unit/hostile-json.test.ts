/**
 * Property tests (issue 10, items 7 and 10): every reader of JSON a registry, a layout or a
 * signature store sends fails only with lg-pins' own typed errors (exit 3 or 4 naming the field),
 * never a TypeError (exit 70), whatever the shape: null, numbers where strings belong, arrays where
 * objects belong, missing arrays, strings with control characters.
 */
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CosignKey } from '../../src/config/spec.js';
import { parseDigest, type Digest } from '../../src/digest.js';
import { IntegrityError, LgPinsError, RegistryError } from '../../src/errors.js';
import { parseTokenResponse } from '../../src/registry/auth.js';
import { RegistryClient } from '../../src/registry/client.js';
import { LayoutSource } from '../../src/registry/layout.js';
import { ManifestError, MediaType, parseManifest, platformFromConfig } from '../../src/registry/manifest.js';
import { resolveFetched } from '../../src/registry/resolve.js';
import type { ContentSource } from '../../src/registry/source.js';
import { keyFingerprint } from '../../src/trust/keys.js';
import { verifyCosign } from '../../src/trust/cosign.js';

const RUNS = { numRuns: 300 };
const enc = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
const digestOf = (b: Uint8Array) => parseDigest(`sha256:${createHash('sha256').update(b).digest('hex')}`);
const DIGEST = digestOf(enc('x'));

/** Any JSON value, with hostile strings in it. */
const hostileString = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.constantFrom('linux', 'amd64', MediaType.ociManifest, 'a\u001b[31m', 'x\ny', '\u202e', '__proto__', 'constructor'),
);
const anyJson = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.double(),
    hostileString,
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(hostileString, tie('value'), { maxKeys: 4 }),
  ),
})).value;
/** A descriptor with junk in some slots. */
const descriptor = fc.record(
  {
    mediaType: fc.oneof(fc.constant(MediaType.ociManifest), fc.constant(MediaType.ociIndex), anyJson),
    digest: fc.oneof(fc.constant(DIGEST), anyJson),
    size: fc.oneof(fc.constant(1), anyJson),
    platform: fc.oneof(
      fc.record(
        { os: fc.oneof(fc.constant('linux'), anyJson), architecture: fc.oneof(fc.constant('amd64'), anyJson), variant: anyJson },
        { requiredKeys: [] },
      ),
      anyJson,
    ),
    annotations: anyJson,
    artifactType: anyJson,
  },
  { requiredKeys: [] },
);
const manifestLike = fc.oneof(
  anyJson,
  fc.record(
    {
      schemaVersion: fc.oneof(fc.constant(2), anyJson),
      mediaType: fc.oneof(fc.constant(MediaType.ociIndex), anyJson),
      manifests: fc.oneof(fc.array(descriptor, { maxLength: 3 }), anyJson),
    },
    { requiredKeys: [] },
  ),
  fc.record(
    {
      schemaVersion: fc.constant(2),
      mediaType: fc.constant(MediaType.ociManifest),
      config: fc.oneof(descriptor, anyJson),
      layers: fc.oneof(fc.array(descriptor, { maxLength: 2 }), anyJson),
    },
    { requiredKeys: [] },
  ),
);

/** Only lg-pins' typed errors (or ManifestError, which the resolver turns into exit 4), never TypeError. */
function expectTyped(e: unknown): void {
  if (e instanceof LgPinsError || e instanceof ManifestError) return;
  throw e;
}

const dir = mkdtempSync(join(tmpdir(), 'lgp-hostile-json-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('manifests, configs and token answers', () => {
  it('parseManifest and platformFromConfig throw nothing but ManifestError', () => {
    fc.assert(
      fc.property(manifestLike, fc.constantFrom('', MediaType.ociIndex, MediaType.ociManifest, 'application/json'), (m, ct) => {
        try {
          parseManifest(enc(m), ct);
        } catch (e) {
          expectTyped(e);
        }
        try {
          platformFromConfig(enc(m));
        } catch (e) {
          expectTyped(e);
        }
      }),
      RUNS,
    );
  });

  it('resolving any manifest a source serves fails only with RegistryError or IntegrityError', async () => {
    await fc.assert(
      fc.asyncProperty(manifestLike, anyJson, async (top, child) => {
        const source: ContentSource = {
          name: 'fuzz',
          fetchManifest: async () => ({ bytes: enc(child), digest: DIGEST, contentType: '' }),
          fetchBlob: async () => enc(child),
          listTags: async () => [],
        };
        const bytes = enc(top);
        try {
          const r = await resolveFetched(source, 'repo', 'v1', bytes, digestOf(bytes), '');
          for (const p of r.platforms) expect(p.key).toMatch(/^[a-z0-9]+\/[a-z0-9_]+(?:\/[a-z0-9._-]+)?$/);
        } catch (e) {
          expect(e).toBeInstanceOf(LgPinsError);
        }
      }),
      RUNS,
    );
  });

  it('parseTokenResponse never throws and never returns a token that cannot go in a header', () => {
    fc.assert(
      fc.property(
        fc.oneof(anyJson, fc.record({ token: anyJson, access_token: anyJson, expires_in: anyJson }, { requiredKeys: [] })),
        (body) => {
          const t = parseTokenResponse(body);
          if (t) {
            expect(t.token).toMatch(/^[\x21-\x7e]+$/);
            expect(t.expiresIn).toBeGreaterThan(0);
            expect(t.expiresIn).toBeLessThanOrEqual(86400);
          }
        },
      ),
      RUNS,
    );
  });
});

describe('OCI layouts', () => {
  it('any index.json is a RegistryError (exit 3) or a list of valid tags', async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(anyJson, fc.record({ manifests: fc.oneof(fc.array(descriptor, { maxLength: 3 }), anyJson) }, { requiredKeys: [] })),
        async (index) => {
          const layout = join(dir, `layout-${n++}`);
          mkdirSync(layout);
          writeFileSync(join(layout, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
          writeFileSync(join(layout, 'index.json'), JSON.stringify(index));
          try {
            for (const t of await new LayoutSource(layout).listTags('')) expect(t).toMatch(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/);
          } catch (e) {
            expect((e as LgPinsError).exitCode).toBe(3);
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe('signature stores', () => {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const key: CosignKey = { kind: 'key', key: 'cosign.pub', file: '/dev/null', publicKey, fingerprint: keyFingerprint(publicKey) };
  const signed = (bytes: Uint8Array) => sign('sha256', bytes, privateKey).toString('base64');
  const desc = (bytes: Uint8Array, mediaType: string, annotations?: Record<string, string>) => ({
    mediaType,
    digest: digestOf(bytes),
    size: bytes.length,
    ...(annotations ? { annotations } : {}),
  });
  const config = enc({});
  /** Payloads shaped like cosign's, with junk anywhere in them. */
  const payload = fc.oneof(
    anyJson,
    fc.record(
      {
        critical: fc.oneof(
          anyJson,
          fc.record(
            {
              type: fc.oneof(fc.constant('cosign container image signature'), anyJson),
              image: fc.oneof(
                anyJson,
                fc.record({ 'docker-manifest-digest': fc.oneof(fc.constant(DIGEST), anyJson) }, { requiredKeys: [] }),
              ),
              identity: fc.oneof(
                anyJson,
                fc.record({ 'docker-reference': fc.oneof(fc.constant('fuzz/repo'), anyJson) }, { requiredKeys: [] }),
              ),
            },
            { requiredKeys: [] },
          ),
        ),
      },
      { requiredKeys: [] },
    ),
  );
  const statement = fc.oneof(
    anyJson,
    fc.record(
      {
        predicateType: fc.oneof(fc.constant('https://sigstore.dev/cosign/sign/v1'), anyJson),
        subject: fc.oneof(
          anyJson,
          fc.array(
            fc.oneof(
              anyJson,
              fc.record({ digest: fc.oneof(anyJson, fc.record({ sha256: fc.oneof(fc.constant(DIGEST.slice(7)), anyJson) })) }),
            ),
            { maxLength: 2 },
          ),
        ),
      },
      { requiredKeys: [] },
    ),
  );

  it('validly signed payloads and bundles of any shape are an IntegrityError (exit 4) or verify, never a crash', async () => {
    await fc.assert(
      fc.asyncProperty(payload, statement, fc.boolean(), async (p, st, legacy) => {
        const payloadBytes = enc(p);
        const body = Buffer.from(JSON.stringify(st) ?? 'null');
        const type = 'application/vnd.in-toto+json';
        const pae = Buffer.concat([Buffer.from(`DSSEv1 ${type.length} ${type} ${body.length} `), body]);
        const bundle = enc({
          dsseEnvelope: {
            payload: body.toString('base64'),
            payloadType: type,
            signatures: [{ sig: sign('sha256', pae, privateKey).toString('base64') }],
          },
        });
        const sigManifest = enc({
          schemaVersion: 2,
          mediaType: MediaType.ociManifest,
          config: desc(config, 'application/vnd.oci.image.config.v1+json'),
          layers: [
            desc(payloadBytes, 'application/vnd.dev.cosign.simplesigning.v1+json', {
              'dev.cosignproject.cosign/signature': signed(payloadBytes),
            }),
          ],
        });
        const referrer = enc({
          schemaVersion: 2,
          mediaType: MediaType.ociManifest,
          artifactType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
          config: desc(config, 'application/vnd.oci.empty.v1+json'),
          layers: [desc(bundle, 'application/vnd.dev.sigstore.bundle.v0.3+json')],
        });
        const fallback = enc({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [desc(referrer, MediaType.ociManifest)] });
        const manifests = new Map<string, Uint8Array>([
          [digestOf(referrer), referrer],
          [`${DIGEST.replace(':', '-')}`, fallback],
        ]);
        if (legacy) manifests.set(`${DIGEST.replace(':', '-')}.sig`, sigManifest);
        const blobs = new Map<string, Uint8Array>([
          [digestOf(payloadBytes), payloadBytes],
          [digestOf(bundle), bundle],
          [digestOf(config), config],
        ]);
        const source: ContentSource = {
          name: 'fuzz',
          fetchManifest: async (_repo: string, ref: string) => {
            const bytes = manifests.get(ref);
            if (!bytes) throw new RegistryError(`${ref} not found`, { status: 404 });
            return { bytes, digest: digestOf(bytes), contentType: '' };
          },
          fetchBlob: async (_repo: string, d: Digest) => blobs.get(d) ?? enc(null),
          listTags: async () => [],
        };
        try {
          await verifyCosign({ source, repo: 'repo', name: 'fuzz/repo', identity: 'fuzz/repo', digest: DIGEST }, key);
        } catch (e) {
          expect(e).toBeInstanceOf(IntegrityError);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('tag lists from a registry', () => {
  let server: Server;
  let body = '{}';
  let client: RegistryClient;
  beforeAll(async () => {
    server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(body);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    client = new RegistryClient({ credentials: async () => undefined, policy: { backoffMs: 1, attempts: 1 } });
  });
  afterAll(async () => {
    await client.close();
    await new Promise<void>((r) => server.close(() => r()));
  });

  it('any JSON answer is a list of valid tags or a RegistryError naming the field', async () => {
    const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(anyJson, fc.record({ name: anyJson, tags: fc.oneof(fc.array(anyJson, { maxLength: 5 }), anyJson) }, { requiredKeys: [] })),
        async (answer) => {
          body = JSON.stringify(answer) ?? 'null';
          try {
            for (const t of await client.source(host).listTags('repo')) expect(t).toMatch(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/);
          } catch (e) {
            expect((e as LgPinsError).exitCode).toBe(3);
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});
