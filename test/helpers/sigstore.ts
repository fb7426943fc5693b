/**
 * A private Sigstore for keyless cosign signatures in tests, built in-process from @sigstore/mock's
 * pieces (no network; only its deep modules are imported: the package root loads nock, which
 * patches node:http for the whole process):
 *
 * - a Fulcio-like CA: a self-signed root issuing 10-minute leaf certificates for an ephemeral P-256
 *   key, with the identity as URI SAN and the OIDC issuer extension (1.3.6.1.4.1.57264.1.8, a
 *   UTF8String, or with `legacyIssuerOid` the Fulcio v1 1.3.6.1.4.1.57264.1.1, raw bytes), each with
 *   an SCT embedded by
 * - a CT log, and
 * - a Rekor log, whose entries carry a signed entry timestamp (SET) and a one-leaf inclusion proof
 *   with a signed checkpoint (the proof says logIndex 0 of a tree of 1, whatever the entry's own
 *   logIndex: as with a sharded Rekor, the verifier checks the proof against the checkpoint only);
 * - the trusted root JSON naming the three, as `cosign verify --trusted-root` takes it.
 *
 * Signatures come in cosign's two stores: `legacySignature` (the simple-signing layer of
 * `sha256-<hex>.sig`: signature, certificate, chain and Rekor bundle annotations, a hashedrekord
 * entry) and `bundleSignature` (a Sigstore bundle v0.3: DSSE over an in-toto statement, a dsse
 * entry) return the material; `sign` pushes it with cosign.ts's pushSignatureLayer / pushBundle.
 * The Rekor bodies and the two forms of a logged entry are in rekor.ts. KeylessOptions build the
 * failure cases, each breaking exactly one check of the verifier (the self-check is
 * test/unit/sigstore-fixture.test.ts), or for what only lg-pins checks, nothing else.
 */
import { createHash, generateKeyPairSync, X509Certificate } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { initializeCA, type CA } from '@sigstore/mock/dist/fulcio/ca.js';
import { initializeCTLog } from '@sigstore/mock/dist/fulcio/ctlog.js';
import { initializeTLog, type TLog } from '@sigstore/mock/dist/rekor/tlog.js';
import { COSIGN, pushBundle, pushSignatureLayer, simpleSigningPayload, type BundleSubject, type Signed } from './cosign.js';
import type { PushTarget } from './push.js';
import { bundleEntry, DSSE, envelope, HASHEDREKORD, legacyRekorBundle, type Kind, type MockEntry } from './rekor.js';

export const GITHUB_ISSUER = 'https://token.actions.githubusercontent.com';
export const RELEASE_IDENTITY = 'https://github.com/linuxguard/agent/.github/workflows/release.yml@refs/tags/v3.1.0';
/** The identity of the certificate a `tlogOtherCertificate` Rekor entry names instead of the signing one. */
const OTHER_IDENTITY = 'https://github.com/someone-else/tools/.github/workflows/release.yml@refs/heads/main';
/** The image a `tlogForOtherSignature` entry's payload names. */
const OTHER_DIGEST = `sha256:${createHash('sha256').update('another image').digest('hex')}`;

/** cosign's keyless annotations on a `.sig` layer (next to COSIGN.signatureAnnotation). */
export const KEYLESS_ANNOTATIONS = {
  certificate: 'dev.sigstore.cosign/certificate',
  chain: 'dev.sigstore.cosign/chain',
  bundle: 'dev.sigstore.cosign/bundle',
} as const;

const REKOR_URL = 'https://rekor.sigstore.mock';
const VALID_FROM = '2020-01-01T00:00:00.000Z';
const HOUR_MS = 60 * 60 * 1000;

export interface KeylessOptions {
  /** The certificate's URI SAN; default RELEASE_IDENTITY. */
  identity?: string;
  /** The certificate's OIDC issuer; default GITHUB_ISSUER. */
  issuer?: string;
  /** Put the issuer in the Fulcio v1 extension 1.3.6.1.4.1.57264.1.1 (raw bytes) instead of 1.3.6.1.4.1.57264.1.8. */
  legacyIssuerOid?: boolean;
  /** The certificate comes from another CA (same name, another key), not in the trusted root. */
  untrustedCa?: boolean;
  /** Rekor integrates the entry an hour after the certificate was issued (it is valid for 10 minutes). */
  certExpiredAtLogTime?: boolean;
  /** The certificate has no embedded SCT. */
  noSct?: boolean;
  /** The certificate's SCT is from a CT log not in the trusted root. */
  untrustedCtLog?: boolean;
  /** No Rekor entry at all. */
  noTlog?: boolean;
  /** The entry is logged by a Rekor whose key is not in the trusted root. */
  untrustedRekor?: boolean;
  /** The SET is corrupted (the last byte of its ECDSA signature flipped; still well-formed DER). */
  badSet?: boolean;
  /** The entry is a valid logged entry for another payload signed by the same key: it does not match this signature. */
  tlogForOtherSignature?: boolean;
  /**
   * The entry's body names another certificate (same key, another identity) than the one that
   * signed; its signature and hash match. @sigstore/verify does not compare it: the product must.
   */
  tlogOtherCertificate?: boolean;
  /** The digest the payload / statement names; default the digest being signed. */
  signedDigest?: string;
  /** Legacy store only: `critical.identity.docker-reference`; default `<registry host>/<repo>`. */
  dockerReference?: string;
  /**
   * Change the payload after signing. The Rekor entry describes the changed payload (with the
   * original signature), so that only the signature check fails; the real Rekor would refuse
   * such an entry, but then the entry check would hide the signature check.
   */
  tamper?: boolean;
}

/** What tests assert about a keyless signature. */
export interface KeylessFacts {
  identity: string;
  issuer: string;
  /** The Rekor entry's logIndex and integratedTime (seconds); undefined with `noTlog`. */
  logIndex: number | undefined;
  integratedTime: number | undefined;
  /** The signing (leaf) certificate, PEM. */
  certificate: string;
}

export interface LegacySignature extends KeylessFacts {
  /** The simple-signing payload as pushed. */
  payload: Uint8Array;
  /** The layer's annotations: signature, certificate, chain and (unless `noTlog`) the Rekor bundle. */
  annotations: Record<string, string>;
}

export interface BundleSignature extends KeylessFacts {
  /** The Sigstore bundle v0.3, as JSON. */
  bundle: object;
  /** The in-toto statement as pushed (the DSSE payload). */
  payload: Uint8Array;
}

export type KeylessSignOptions = KeylessOptions & {
  store: 'legacy' | 'bundle';
  /** Legacy store only: add a layer to the `.sig` manifest already there instead of replacing it. */
  append?: boolean;
};
export type KeylessSigned = Signed & Omit<KeylessFacts, 'certificate'>;

export interface PrivateSigstore {
  /** The time the CA, CT log and Rekor work at (whole seconds). */
  clock: Date;
  /** The trusted root JSON (`application/vnd.dev.sigstore.trustedroot+json;version=0.1`). */
  trustedRoot(opts?: TrustedRootOptions): object;
  /** Write the trusted root JSON to `file`; returns `file`. */
  writeTrustedRoot(file: string, opts?: TrustedRootOptions): string;
  /** A legacy (`.sig` layer) keyless signature of `digest` whose payload names `name` (`<registry host>/<repo>`). */
  legacySignature(name: string, digest: string, opts?: KeylessOptions): Promise<LegacySignature>;
  /** A cosign v3 bundle keyless signature of `digest`, the statement's subject named `name`. */
  bundleSignature(name: string, digest: string, opts?: KeylessOptions): Promise<BundleSignature>;
  /** Make a keyless signature of `subject` (in `repo` at `t`) and push it in the chosen store. */
  sign(t: PushTarget, repo: string, subject: BundleSubject, opts: KeylessSignOptions): Promise<KeylessSigned>;
}

export interface TrustedRootOptions {
  omitCtlog?: boolean;
  omitTlog?: boolean;
}

const bytesOf = (v: ArrayBufferView): Buffer => Buffer.from(v.buffer, v.byteOffset, v.byteLength);
const pemOf = (der: Buffer): string =>
  ['-----BEGIN CERTIFICATE-----', ...(der.toString('base64').match(/.{1,64}/g) ?? []), '-----END CERTIFICATE-----', ''].join('\n');
const newKeys = () => generateKeyPairSync('ec', { namedCurve: 'prime256v1' });

/** A promise made on first use, then shared. */
function lazy<T>(make: () => Promise<T>): () => Promise<T> {
  let p: Promise<T> | undefined;
  return () => (p ??= make());
}

/** A trusted-root log entry (Rekor or CT log) for a DER SubjectPublicKeyInfo. */
const logInstance = (baseUrl: string, spki: Buffer) => ({
  baseUrl,
  hashAlgorithm: 'SHA2_256',
  publicKey: { rawBytes: spki.toString('base64'), keyDetails: 'PKIX_ECDSA_P256_SHA_256', validFor: { start: VALID_FROM } },
  logId: { keyId: createHash('sha256').update(spki).digest('base64') },
});

/**
 * A fresh private Sigstore. `clock` (default: a minute from now) is when certificates are issued and
 * entries integrated; it must not be before now, since the mock's root certificate is valid from
 * its creation (real time) for a year.
 */
export async function createSigstore(opts: { clock?: Date } = {}): Promise<PrivateSigstore> {
  const requested = opts.clock ?? new Date(Date.now() + 60_000);
  const clock = new Date(Math.floor(requested.getTime() / 1000) * 1000);
  const caKeys = newKeys();
  const rekorKeys = newKeys();
  const ctLog = await initializeCTLog(newKeys(), clock);
  const ca = await initializeCA(caKeys, ctLog, clock);
  const rekor = await initializeTLog(REKOR_URL, rekorKeys, clock);
  const rootDer = bytesOf(ca.rootCertificate);
  const root = new X509Certificate(rootDer);
  if (clock < new Date(root.validFrom) || clock > new Date(root.validTo)) {
    throw new Error(
      `createSigstore: clock ${clock.toISOString()} is outside the mock root's validity (${root.validFrom} to ${root.validTo})`,
    );
  }

  const otherCa = lazy(() => initializeCA(newKeys(), ctLog, clock));
  const caWithoutCtLog = lazy(() => initializeCA(caKeys, undefined, clock));
  const caWithOtherCtLog = lazy(async () => initializeCA(caKeys, await initializeCTLog(newKeys(), clock), clock));
  const lateRekor = lazy(() => initializeTLog(REKOR_URL, rekorKeys, new Date(clock.getTime() + HOUR_MS)));
  const otherRekor = lazy(() => initializeTLog(REKOR_URL, newKeys(), clock));

  function trustedRoot(o: TrustedRootOptions = {}): object {
    return {
      mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
      tlogs: o.omitTlog ? [] : [logInstance(REKOR_URL, bytesOf(rekor.publicKey))],
      certificateAuthorities: [
        {
          subject: { organization: 'sigstore.mock', commonName: 'sigstore' },
          uri: 'https://fulcio.sigstore.mock',
          certChain: { certificates: [{ rawBytes: rootDer.toString('base64') }] },
          validFor: { start: VALID_FROM },
        },
      ],
      ctlogs: o.omitCtlog ? [] : [logInstance('https://ctfe.sigstore.mock', bytesOf(ctLog.publicKey))],
      timestampAuthorities: [],
    };
  }

  /** Sign `signed` with a fresh key, certify it and log `pushed` (what verifiers will see) as `o` says. */
  async function make(kind: Kind, signed: Buffer, pushed: Buffer, other: Buffer, o: KeylessOptions) {
    const identity = o.identity ?? RELEASE_IDENTITY;
    const issuer = o.issuer ?? GITHUB_ISSUER;
    const key = newKeys();
    const publicKey = new Uint8Array(key.publicKey.export({ type: 'spki', format: 'der' }));
    const extensions = [
      o.legacyIssuerOid ? { oid: '1.3.6.1.4.1.57264.1.1', value: issuer, legacy: true } : { oid: '1.3.6.1.4.1.57264.1.8', value: issuer },
    ];
    const issuing: CA = o.untrustedCa
      ? await otherCa()
      : o.noSct
        ? await caWithoutCtLog()
        : o.untrustedCtLog
          ? await caWithOtherCtLog()
          : ca;
    const leaf = bytesOf(await issuing.issueCertificate({ publicKey, subjectAltName: identity, extensions }));
    const sig = kind.sign(signed, key.privateKey);
    let entry: MockEntry | undefined;
    if (!o.noTlog) {
      const named = o.tlogOtherCertificate
        ? bytesOf(await ca.issueCertificate({ publicKey, subjectAltName: OTHER_IDENTITY, extensions }))
        : leaf;
      const body = o.tlogForOtherSignature
        ? kind.body(other, kind.sign(other, key.privateKey), pemOf(leaf))
        : kind.body(pushed, sig, pemOf(named));
      const log: TLog = o.untrustedRekor ? await otherRekor() : o.certExpiredAtLogTime ? await lateRekor() : rekor;
      const entries = (await log.log(body)) as Record<string, MockEntry>;
      entry = Object.values(entries)[0];
      if (!entry) throw new Error('the mock Rekor returned no entry');
      if (o.badSet) {
        const set = Buffer.from(entry.verification.signedEntryTimestamp, 'base64');
        set.writeUInt8(set.readUInt8(set.length - 1) ^ 0x01, set.length - 1);
        entry.verification.signedEntryTimestamp = set.toString('base64');
      }
    }
    const chain = pemOf(bytesOf((o.untrustedCa ? await otherCa() : ca).rootCertificate));
    const facts: KeylessFacts = {
      identity,
      issuer,
      logIndex: entry?.logIndex,
      integratedTime: entry?.integratedTime,
      certificate: pemOf(leaf),
    };
    return { facts, leaf, chain, sig, entry };
  }

  async function legacySignature(name: string, digest: string, o: KeylessOptions = {}): Promise<LegacySignature> {
    const text = (d: string) => Buffer.from(simpleSigningPayload(o.dockerReference ?? name, d));
    const signed = text(o.signedDigest ?? digest);
    const pushed = o.tamper ? Buffer.from(signed.toString().replace('"optional":null', '"optional":{"tampered":"after signing"}')) : signed;
    const { facts, chain, sig, entry } = await make(HASHEDREKORD, signed, pushed, text(OTHER_DIGEST), o);
    const annotations: Record<string, string> = {
      [COSIGN.signatureAnnotation]: sig,
      [KEYLESS_ANNOTATIONS.certificate]: facts.certificate,
      [KEYLESS_ANNOTATIONS.chain]: chain,
    };
    if (entry) annotations[KEYLESS_ANNOTATIONS.bundle] = legacyRekorBundle(entry);
    return { ...facts, payload: new Uint8Array(pushed), annotations };
  }

  async function bundleSignature(name: string, digest: string, o: KeylessOptions = {}): Promise<BundleSignature> {
    const statement = (d: string, predicate: object = {}) =>
      Buffer.from(
        JSON.stringify({
          _type: 'https://in-toto.io/Statement/v1',
          subject: [{ name, digest: { sha256: d.slice('sha256:'.length) } }],
          predicateType: COSIGN.predicateType,
          predicate,
        }),
      );
    const signed = statement(o.signedDigest ?? digest);
    const pushed = o.tamper ? statement(o.signedDigest ?? digest, { tampered: 'after signing' }) : signed;
    const { facts, leaf, sig, entry } = await make(DSSE, signed, pushed, statement(OTHER_DIGEST), o);
    const tlogEntries = entry ? [bundleEntry(entry, DSSE.name)] : [];
    const bundle = {
      mediaType: COSIGN.bundle,
      verificationMaterial: { certificate: { rawBytes: leaf.toString('base64') }, tlogEntries },
      dsseEnvelope: envelope(pushed, sig),
    };
    return { ...facts, bundle, payload: new Uint8Array(pushed) };
  }

  async function signAndPush(t: PushTarget, repo: string, subject: BundleSubject, o: KeylessSignOptions): Promise<KeylessSigned> {
    const name = `${new URL(t.url).host}/${repo}`;
    if (o.store === 'legacy') {
      const { certificate: _, annotations, ...s } = await legacySignature(name, subject.digest, o);
      return { ...s, ...(await pushSignatureLayer(t, repo, subject.digest, s.payload, annotations, o.append)) };
    }
    const { certificate: _, bundle, ...s } = await bundleSignature(name, subject.digest, o);
    return { ...s, ...(await pushBundle(t, repo, subject, new TextEncoder().encode(JSON.stringify(bundle)))) };
  }

  return {
    clock,
    trustedRoot,
    writeTrustedRoot(file, o) {
      writeFileSync(file, `${JSON.stringify(trustedRoot(o), null, 2)}\n`);
      return file;
    },
    legacySignature,
    bundleSignature,
    sign: signAndPush,
  };
}
