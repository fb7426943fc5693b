/**
 * The private Sigstore of test/helpers/sigstore.ts checked with the real verifier the product uses
 * (@sigstore/verify on the helper's trusted root), without a registry: a good signature verifies in
 * both stores (the legacy `.sig` annotations turned into a v0.1 bundle here, independently of src/)
 * with the identity and issuer asked for, and each failure option fails the library's check it is
 * meant to fail, or (for what only the product checks) passes the library with the flaw in place.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { bundleFromJSON } from '@sigstore/bundle';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { toSignedEntity, toTrustMaterial, Verifier, type Signer } from '@sigstore/verify';
import { beforeAll, describe, expect, it } from 'vitest';
import { COSIGN } from '../helpers/cosign.js';
import {
  createSigstore,
  GITHUB_ISSUER,
  KEYLESS_ANNOTATIONS,
  RELEASE_IDENTITY,
  type BundleSignature,
  type KeylessOptions,
  type LegacySignature,
  type PrivateSigstore,
} from '../helpers/sigstore.js';
import { tempDir } from '../helpers/tmp.js';

const NAME = 'registry.test:5000/linuxguard/agent';
const DIGEST = `sha256:${createHash('sha256').update('the agent image').digest('hex')}`;
const OTHER = `sha256:${createHash('sha256').update('another agent image').digest('hex')}`;
const STORES = ['legacy', 'bundle'] as const;
type Store = (typeof STORES)[number];

let sigstore: PrivateSigstore;
let verifier: Verifier;
beforeAll(async () => {
  sigstore = await createSigstore();
  verifier = new Verifier(toTrustMaterial(TrustedRoot.fromJSON(sigstore.trustedRoot())));
});

/** The legacy annotations as the v0.1 bundle they amount to (message signature over the payload, inclusion promise only). */
function legacyBundleJSON(s: LegacySignature): object {
  const a = s.annotations;
  const der = (pem: string) => new X509Certificate(pem).raw.toString('base64');
  const tlogEntries: object[] = [];
  const rekor = a[KEYLESS_ANNOTATIONS.bundle];
  if (rekor !== undefined) {
    const { SignedEntryTimestamp, Payload } = JSON.parse(rekor) as {
      SignedEntryTimestamp: string;
      Payload: { body: string; integratedTime: number; logIndex: number; logID: string };
    };
    const body = JSON.parse(Buffer.from(Payload.body, 'base64').toString('utf8')) as { kind: string; apiVersion: string };
    tlogEntries.push({
      logIndex: String(Payload.logIndex),
      logId: { keyId: Buffer.from(Payload.logID, 'hex').toString('base64') },
      kindVersion: { kind: body.kind, version: body.apiVersion },
      integratedTime: String(Payload.integratedTime),
      inclusionPromise: { signedEntryTimestamp: SignedEntryTimestamp },
      canonicalizedBody: Payload.body,
    });
  }
  return {
    mediaType: 'application/vnd.dev.sigstore.bundle+json;version=0.1',
    verificationMaterial: {
      x509CertificateChain: {
        certificates: [der(a[KEYLESS_ANNOTATIONS.certificate] ?? ''), der(a[KEYLESS_ANNOTATIONS.chain] ?? '')].map((rawBytes) => ({
          rawBytes,
        })),
      },
      tlogEntries,
    },
    messageSignature: {
      messageDigest: { algorithm: 'SHA2_256', digest: createHash('sha256').update(s.payload).digest('base64') },
      signature: a[COSIGN.signatureAnnotation],
    },
  };
}

const made = (store: Store, o: KeylessOptions = {}): Promise<LegacySignature | BundleSignature> =>
  store === 'legacy' ? sigstore.legacySignature(NAME, DIGEST, o) : sigstore.bundleSignature(NAME, DIGEST, o);

function verify(s: LegacySignature | BundleSignature): Signer {
  if ('bundle' in s) return verifier.verify(toSignedEntity(bundleFromJSON(s.bundle)));
  return verifier.verify(toSignedEntity(bundleFromJSON(legacyBundleJSON(s)), Buffer.from(s.payload)));
}

/** The verification error (code, and message with its cause's), or a failure if it verified. */
function failure(s: LegacySignature | BundleSignature): { code: string; message: string } {
  try {
    verify(s);
  } catch (e) {
    const err = e as Error & { code?: string; cause?: unknown };
    const cause = err.cause instanceof Error ? `: ${err.cause.message}` : '';
    return { code: err.code ?? err.name, message: `${err.message}${cause}` };
  }
  throw new Error('verified, but should not have');
}

/** The certificate a Rekor body names (hashedrekord publicKey or dsse verifier: base64 PEM), as DER. */
function rekorCertificate(s: LegacySignature | BundleSignature): Buffer {
  const body64 =
    'bundle' in s
      ? (s.bundle as { verificationMaterial: { tlogEntries: { canonicalizedBody: string }[] } }).verificationMaterial.tlogEntries[0]
          ?.canonicalizedBody
      : (JSON.parse(s.annotations[KEYLESS_ANNOTATIONS.bundle] ?? '{}') as { Payload?: { body: string } }).Payload?.body;
  const body = JSON.parse(Buffer.from(body64 ?? '', 'base64').toString('utf8')) as {
    spec: { signature?: { publicKey: { content: string } }; signatures?: { verifier: string }[] };
  };
  const pem64 = body.spec.signature?.publicKey.content ?? body.spec.signatures?.[0]?.verifier ?? '';
  return new X509Certificate(Buffer.from(pem64, 'base64').toString('utf8')).raw;
}

describe('private Sigstore: trusted root', () => {
  it('is a trusted root with one CA, one Rekor and one CT log, written as JSON; logs can be left out', () => {
    const file = sigstore.writeTrustedRoot(join(tempDir('lgp-sigstore-'), 'trusted_root.json'), { omitCtlog: true });
    const written = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown[]>;
    expect(written.mediaType).toBe('application/vnd.dev.sigstore.trustedroot+json;version=0.1');
    expect(written.ctlogs).toEqual([]);
    const full = toTrustMaterial(TrustedRoot.fromJSON(sigstore.trustedRoot()));
    expect([full.certificateAuthorities.length, full.tlogs.length, full.ctlogs.length]).toEqual([1, 1, 1]);
    expect(toTrustMaterial(TrustedRoot.fromJSON(sigstore.trustedRoot({ omitTlog: true }))).tlogs).toEqual([]);
  });
});

describe.each(STORES)('private Sigstore: %s keyless signatures', (store) => {
  it('verifies, with the identity and issuer given, logged at the clock', async () => {
    const s = await made(store);
    const signer = verify(s);
    expect(signer.identity?.subjectAlternativeName).toBe(RELEASE_IDENTITY);
    expect(signer.identity?.extensions?.issuer).toBe(GITHUB_ISSUER);
    expect(s.integratedTime).toBe(sigstore.clock.getTime() / 1000);
    expect(s.logIndex).toEqual(expect.any(Number));
    const payload = Buffer.from(s.payload).toString('utf8');
    expect(payload).toContain(DIGEST.slice('sha256:'.length));
    if (store === 'legacy') expect(payload).toContain(`"docker-reference":"${NAME}"`);
    else expect(payload).toContain(`"name":"${NAME}"`);
  });

  it.each([false, true])('reads the issuer from either extension (legacy OID: %s)', async (legacyIssuerOid) => {
    const identity = 'https://gitlab.com/linuxguard/agent//.gitlab-ci.yml@refs/heads/main';
    const issuer = 'https://gitlab.com';
    const signer = verify(await made(store, { identity, issuer, legacyIssuerOid }));
    expect(signer.identity?.subjectAlternativeName).toBe(identity);
    expect(signer.identity?.extensions?.issuer).toBe(issuer);
  });

  const failures: [keyof KeylessOptions, string, RegExp][] = [
    ['untrustedCa', 'CERTIFICATE_ERROR', /Failed to verify certificate chain: no valid certificate path found/],
    ['certExpiredAtLogTime', 'CERTIFICATE_ERROR', /not valid or expired/],
    ['noSct', 'CERTIFICATE_ERROR', /expected 1 SCTs, got 0/],
    ['untrustedCtLog', 'CERTIFICATE_ERROR', /SCT verification failed/],
    ['noTlog', 'TIMESTAMP_ERROR', /expected 1 timestamps, got 0/],
    ['untrustedRekor', 'TLOG_INCLUSION_PROMISE_ERROR', /inclusion promise could not be verified/],
    ['badSet', 'TLOG_INCLUSION_PROMISE_ERROR', /inclusion promise could not be verified/],
    ['tlogForOtherSignature', 'TLOG_BODY_ERROR', /signature mismatch/],
    ['tamper', 'SIGNATURE_ERROR', /signature verification failed/],
  ];
  it.each(failures)('%s fails with %s', async (option, code, message) => {
    const f = failure(await made(store, { [option]: true }));
    expect(f.code).toBe(code);
    expect(f.message).toMatch(message);
  });

  it('certExpiredAtLogTime: integrated an hour after the clock; noTlog: no entry', async () => {
    expect((await made(store, { certExpiredAtLogTime: true })).integratedTime).toBe(sigstore.clock.getTime() / 1000 + 3600);
    const none = await made(store, { noTlog: true });
    expect([none.logIndex, none.integratedTime]).toEqual([undefined, undefined]);
  });

  it('tlogOtherCertificate passes the library (it does not compare the certificate in the Rekor body: the product must)', async () => {
    // @sigstore/verify compares only the entry's signature and digest; lg-pins must refuse an entry naming another certificate.
    const s = await made(store, { tlogOtherCertificate: true });
    expect(verify(s).identity?.subjectAlternativeName).toBe(RELEASE_IDENTITY);
    const signing = new X509Certificate(s.certificate);
    const named = new X509Certificate(rekorCertificate(s));
    expect(named.raw.equals(signing.raw)).toBe(false);
    expect(named.publicKey.export({ type: 'spki', format: 'der' })).toEqual(signing.publicKey.export({ type: 'spki', format: 'der' }));
    const good = await made(store);
    expect(rekorCertificate(good).equals(new X509Certificate(good.certificate).raw)).toBe(true);
  });

  it('signedDigest and dockerReference pass the library (the payload is the product’s to check) and are in the payload', async () => {
    const other = await made(store, { signedDigest: OTHER });
    verify(other);
    expect(Buffer.from(other.payload).toString('utf8')).toContain(OTHER.slice('sha256:'.length));
    expect(Buffer.from(other.payload).toString('utf8')).not.toContain(DIGEST.slice('sha256:'.length));
    if (store === 'legacy') {
      const moved = await made(store, { dockerReference: 'registry.test:5000/someone/else' });
      verify(moved);
      expect(Buffer.from(moved.payload).toString('utf8')).toContain('"docker-reference":"registry.test:5000/someone/else"');
    }
  });
});
