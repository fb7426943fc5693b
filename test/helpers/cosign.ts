/**
 * Cosign signatures for tests, written through the registry API exactly the way cosign stores them
 * (cosign's SIGNATURE_SPEC and BUNDLE_SPEC), with keys generated here (ECDSA P-256, as `cosign generate-key-pair` makes):
 *
 * - `signLegacy`: the simple-signing form: a payload blob
 *   `{"critical":{"identity":{"docker-reference":…},"image":{"docker-manifest-digest":…},"type":"cosign container image signature"},"optional":null}`,
 *   an OCI image manifest with a small config blob and ONE layer per signature
 *   (`application/vnd.dev.cosign.simplesigning.v1+json`, annotated with the base64 DER ECDSA
 *   signature over the exact payload bytes), tagged `sha256-<hex>.sig` in the image's repository.
 * - `signBundle`: cosign v3's form: a Sigstore bundle v0.3 whose DSSE envelope signs an in-toto
 *   statement naming the digest, stored as an OCI artifact manifest (`artifactType` the bundle
 *   type, the empty config, one layer of bundle JSON, `subject` = the image). Distribution 2.8 has
 *   no referrers API, so the `sha256-<hex>` fallback index is maintained here, as cosign does.
 *
 * Options build the failure cases: another key (sign with another private key), a payload for
 * another digest (`signedDigest`), another repository (`dockerReference`), another type, and a
 * tampered payload (bytes changed after signing, pushed under their correct new digest).
 */
import { createHash, createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { MT, pushBlob, pushManifest, sha256, type PushTarget } from './push.js';

export const COSIGN = {
  simpleSigning: 'application/vnd.dev.cosign.simplesigning.v1+json',
  signatureAnnotation: 'dev.cosignproject.cosign/signature',
  signatureType: 'cosign container image signature',
  bundle: 'application/vnd.dev.sigstore.bundle.v0.3+json',
  predicateType: 'https://sigstore.dev/cosign/sign/v1',
  inToto: 'application/vnd.in-toto+json',
  empty: 'application/vnd.oci.empty.v1+json',
} as const;

/** The OCI empty descriptor's content: `{}`. */
const EMPTY_JSON = new TextEncoder().encode('{}');

export interface KeyPair {
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** PEM `PUBLIC KEY` (SPKI), as cosign.pub. */
  pem: string;
  /** `sha256:<hex>` of the DER SubjectPublicKeyInfo, computed here independently of src/. */
  fingerprint: string;
}

/** A fresh ECDSA P-256 key pair. */
export function generateCosignKeyPair(): KeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return {
    privateKey,
    publicKey,
    pem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    fingerprint: spkiFingerprint(publicKey),
  };
}

export function spkiFingerprint(key: KeyObject): string {
  return `sha256:${createHash('sha256')
    .update(key.export({ type: 'spki', format: 'der' }))
    .digest('hex')}`;
}

/** `sha256:<hex>` → `sha256-<hex>` plus a suffix (`.sig` for legacy signatures, nothing for the referrers fallback). */
export function cosignTag(digest: string, suffix = ''): string {
  return `${digest.replace(':', '-')}${suffix}`;
}

const host = (t: PushTarget): string => new URL(t.url).host;

/** GET a manifest; undefined on 404. */
export async function getManifest(
  t: PushTarget,
  repo: string,
  reference: string,
  accept: string,
): Promise<{ bytes: Uint8Array; contentType: string } | undefined> {
  const headers: Record<string, string> = { Accept: accept };
  if (t.authorization !== undefined) headers.Authorization = t.authorization;
  const res = await fetch(`${t.url}/v2/${repo}/manifests/${reference}`, { headers });
  const bytes = new Uint8Array(await res.arrayBuffer());
  if (res.status === 404) return undefined;
  if (res.status !== 200) throw new Error(`GET manifest ${repo}:${reference}: ${res.status}: ${Buffer.from(bytes).toString('utf8')}`);
  return { bytes, contentType: res.headers.get('content-type') ?? '' };
}

interface LayerDescriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
}

export interface LegacyOptions {
  /** `critical.identity.docker-reference`; default `<registry host>/<repo>`. */
  dockerReference?: string;
  /** `critical.type`; default cosign's. */
  type?: string;
  /** The digest the payload names; default the digest being signed (the one the `.sig` tag is derived from). */
  signedDigest?: string;
  /**
   * Change the payload after signing (the signature stays that of the original bytes); the changed
   * payload is pushed under its correct new digest, so only the signature check can catch it.
   * `true` swaps `"optional":null` for an annotation; a function edits the payload text.
   */
  tamper?: boolean | ((payload: string) => string);
  /** Add a signature layer to the `.sig` manifest already there (cosign signing twice) instead of replacing it. */
  append?: boolean;
}

export interface Signed {
  /** The tag the signature manifest was pushed under. */
  tag: string;
  /** The signature (or bundle) manifest's digest. */
  digest: string;
  /** The payload bytes as pushed. */
  payload: Uint8Array;
}

/** The simple-signing payload, compact JSON in cosign's key order. */
export function simpleSigningPayload(dockerReference: string, digest: string, type: string = COSIGN.signatureType): string {
  return JSON.stringify({
    critical: { identity: { 'docker-reference': dockerReference }, image: { 'docker-manifest-digest': digest }, type },
    optional: null,
  });
}

/** Sign `digest` (of `repo` at `t`) with `privateKey` in cosign's legacy storage: `sha256-<hex>.sig`. */
export async function signLegacy(
  t: PushTarget,
  repo: string,
  digest: string,
  privateKey: KeyObject,
  opts: LegacyOptions = {},
): Promise<Signed> {
  const signedText = simpleSigningPayload(opts.dockerReference ?? `${host(t)}/${repo}`, opts.signedDigest ?? digest, opts.type);
  const signature = sign('sha256', Buffer.from(signedText), privateKey).toString('base64');
  let pushedText = signedText;
  if (opts.tamper === true) pushedText = signedText.replace('"optional":null', '"optional":{"tampered":"after signing"}');
  else if (typeof opts.tamper === 'function') pushedText = opts.tamper(signedText);
  if (opts.tamper && pushedText === signedText) throw new Error('tamper left the payload unchanged');
  const payload = new TextEncoder().encode(pushedText);
  const pushed = await pushSignatureLayer(t, repo, digest, payload, { [COSIGN.signatureAnnotation]: signature }, opts.append);
  return { ...pushed, payload };
}

/**
 * Push one simple-signing layer (the payload blob, with `annotations`) as the `sha256-<hex>.sig`
 * manifest of `digest`, replacing it or (`append`) added after the layers already there.
 */
export async function pushSignatureLayer(
  t: PushTarget,
  repo: string,
  digest: string,
  payload: Uint8Array,
  annotations: Record<string, string>,
  append = false,
): Promise<{ tag: string; digest: string }> {
  const blob = await pushBlob(t, repo, payload);
  const layer: LayerDescriptor = { mediaType: COSIGN.simpleSigning, ...blob, annotations };

  const tag = cosignTag(digest, '.sig');
  const layers: LayerDescriptor[] = [];
  if (append) {
    const existing = await getManifest(t, repo, tag, MT.ociManifest);
    if (existing) layers.push(...(JSON.parse(Buffer.from(existing.bytes).toString('utf8')) as { layers: LayerDescriptor[] }).layers);
  }
  layers.push(layer);
  // cosign's config: an image config with zero values and one diff_id per signature layer.
  const config = {
    architecture: '',
    created: '0001-01-01T00:00:00Z',
    history: layers.map(() => ({ created: '0001-01-01T00:00:00Z' })),
    os: '',
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) },
    config: {},
  };
  const cfg = await pushBlob(t, repo, new TextEncoder().encode(JSON.stringify(config)));
  const manifest = { schemaVersion: 2, mediaType: MT.ociManifest, config: { mediaType: MT.ociConfig, ...cfg }, layers };
  const pushed = await pushManifest(t, repo, tag, manifest, MT.ociManifest);
  return { tag, digest: pushed.digest };
}

export interface BundleOptions {
  /** The digest the in-toto statement's subject names; default the subject's digest. */
  signedDigest?: string;
  /** The statement's predicateType; default cosign's signature predicate. */
  predicateType?: string;
  /** Change the statement after signing (the DSSE signature stays that of the original bytes). */
  tamper?: boolean;
}

/** The signed image: a descriptor, or what `pushMultiArch` returns (its index bytes give the size). */
export type BundleSubject = { mediaType: string; digest: string } & ({ size: number } | { bytes: Uint8Array });

/** DSSE pre-authentication encoding: `DSSEv1 <len(type)> <type> <len(body)> <body>`. */
export function pae(payloadType: string, body: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from(`DSSEv1 ${Buffer.byteLength(payloadType)} ${payloadType} ${body.byteLength} `), body]);
}

/**
 * Sign `subject` (of `repo` at `t`) with `privateKey` in cosign v3's bundle form: a Sigstore
 * bundle v0.3 (DSSE over an in-toto statement) attached as a referrer of the subject, listed in the
 * `sha256-<hex>` fallback index (kept, not replaced, when it already lists other referrers).
 */
export async function signBundle(
  t: PushTarget,
  repo: string,
  subject: BundleSubject,
  privateKey: KeyObject,
  opts: BundleOptions = {},
): Promise<Signed> {
  const named = opts.signedDigest ?? subject.digest;
  const statement = (predicate: object) =>
    JSON.stringify({
      _type: 'https://in-toto.io/Statement/v1',
      subject: [{ name: `${host(t)}/${repo}`, digest: { sha256: named.slice('sha256:'.length) } }],
      predicateType: opts.predicateType ?? COSIGN.predicateType,
      predicate,
    });
  const signedBody = Buffer.from(statement({}));
  const sig = sign('sha256', pae(COSIGN.inToto, signedBody), privateKey).toString('base64');
  const body = opts.tamper ? Buffer.from(statement({ tampered: 'after signing' })) : signedBody;
  // cosign's hint: the key's fingerprint, base64 (informational; verifiers use the key they were given).
  const hint = Buffer.from(spkiFingerprint(createPublicKey(privateKey)).slice('sha256:'.length), 'hex').toString('base64');
  const bundle = {
    mediaType: COSIGN.bundle,
    verificationMaterial: { publicKey: { hint } },
    dsseEnvelope: { payload: body.toString('base64'), payloadType: COSIGN.inToto, signatures: [{ sig, keyid: '' }] },
  };
  const pushed = await pushBundle(t, repo, subject, new TextEncoder().encode(JSON.stringify(bundle)), opts.predicateType);
  return { ...pushed, payload: body };
}

/**
 * Attach `bundleBytes` (Sigstore bundle JSON) to `subject` the way cosign v3 does: an OCI artifact
 * manifest (the empty config, one bundle layer, `subject`), listed in the `sha256-<hex>` fallback
 * index (kept, not replaced, when it already lists other referrers). Returns that tag and the
 * artifact manifest's digest.
 */
export async function pushBundle(
  t: PushTarget,
  repo: string,
  subject: BundleSubject,
  bundleBytes: Uint8Array,
  predicateType: string = COSIGN.predicateType,
): Promise<{ tag: string; digest: string }> {
  const size = 'size' in subject ? subject.size : subject.bytes.byteLength;
  const layer = await pushBlob(t, repo, bundleBytes);
  const empty = await pushBlob(t, repo, EMPTY_JSON);
  const annotations = {
    'dev.sigstore.bundle.content': 'dsse-envelope',
    'dev.sigstore.bundle.predicateType': predicateType,
    'org.opencontainers.image.created': '2026-01-01T00:00:00Z',
  };
  const manifest = {
    schemaVersion: 2,
    mediaType: MT.ociManifest,
    artifactType: COSIGN.bundle,
    config: { mediaType: COSIGN.empty, ...empty },
    layers: [{ mediaType: COSIGN.bundle, ...layer }],
    subject: { mediaType: subject.mediaType, digest: subject.digest, size },
    annotations,
  };
  const bytes = new TextEncoder().encode(JSON.stringify(manifest));
  const pushed = await pushManifest(t, repo, sha256(bytes), bytes, MT.ociManifest);

  // No referrers API on 2.8 (and no OCI-Subject header): keep the fallback index up to date.
  const tag = cosignTag(subject.digest);
  const existing = await getManifest(t, repo, tag, MT.ociIndex);
  const manifests = existing ? (JSON.parse(Buffer.from(existing.bytes).toString('utf8')) as { manifests: object[] }).manifests : [];
  manifests.push({ mediaType: MT.ociManifest, digest: pushed.digest, size: pushed.size, artifactType: COSIGN.bundle, annotations });
  await pushManifest(t, repo, tag, { schemaVersion: 2, mediaType: MT.ociIndex, manifests }, MT.ociIndex);
  return { tag, digest: pushed.digest };
}
