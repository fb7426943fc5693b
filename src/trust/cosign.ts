import { verify as verifySignature } from 'node:crypto';
import type { CosignKey } from '../config/spec.js';
import { digestAlgorithm, isDigest, type Digest } from '../digest.js';
import { IntegrityError, RegistryError } from '../errors.js';
import { parseReference } from '../reference.js';
import { ManifestError, parseManifest, type Descriptor, type Manifest } from '../registry/manifest.js';
import type { ContentSource } from '../registry/source.js';
import { parseJson, parseJsonBytes } from '../safe/json.js';
import { quoteUntrusted } from '../safe/text.js';

export const SIMPLE_SIGNING = 'application/vnd.dev.cosign.simplesigning.v1+json';
export const BUNDLE_V03 = 'application/vnd.dev.sigstore.bundle.v0.3+json';
const SIGNATURE_ANNOTATION = 'dev.cosignproject.cosign/signature';
const SIGNATURE_TYPE = 'cosign container image signature';
const COSIGN_PREDICATE = 'https://sigstore.dev/cosign/sign/v1';

/** The tag cosign stores a digest's signatures under: `sha256:<hex>` → `sha256-<hex>.sig`. */
export function signatureTag(digest: Digest, suffix = '.sig'): string {
  return `${digest.replace(':', '-')}${suffix}`;
}

export interface SignedImage {
  source: ContentSource;
  /** Repository path inside the source. */
  repo: string;
  /** For messages: `registry/repository` or the layout. */
  name: string;
  /** `registry/repository` that the payload's `docker-reference` must name; unset for OCI layouts (copies). */
  identity?: string;
  digest: Digest;
}

/**
 * Require a cosign signature made with `key` over `image.digest`: the legacy simple-signing form
 * under `sha256-<hex>.sig`, or the newer Sigstore bundle (DSSE) attached through the OCI referrers
 * API or its `sha256-<hex>` fallback tag. Every layer is hash-checked by the source; the signature
 * is checked over the exact payload bytes. Returns the key's fingerprint; throws IntegrityError
 * (exit 4) naming the image, the digest and what was wrong.
 */
export async function verifyCosign(image: SignedImage, key: CosignKey): Promise<string> {
  const problems: string[] = [];
  if (await simpleSigning(image, key, problems)) return key.fingerprint;
  if (await bundles(image, key, problems)) return key.fingerprint;
  const why = problems.length
    ? [...new Set(problems)].join('; ')
    : `no signature found (no ${signatureTag(image.digest)} tag and no signature referrer)`;
  throw new IntegrityError(
    `${image.name}@${image.digest}: no valid cosign signature by ${key.key} (${key.fingerprint.slice(0, 19)}): ${why}`,
  );
}

async function optionalManifest(source: ContentSource, repo: string, reference: string) {
  try {
    return await source.fetchManifest(repo, reference);
  } catch (e) {
    if (e instanceof RegistryError && e.status === 404) return undefined;
    throw e;
  }
}

async function simpleSigning(image: SignedImage, key: CosignKey, problems: string[]): Promise<boolean> {
  const fetched = await optionalManifest(image.source, image.repo, signatureTag(image.digest));
  if (!fetched) return false;
  const m = parsed(fetched, signatureTag(image.digest), problems);
  if (!m) return false;
  if (m.kind !== 'image') {
    problems.push(`${signatureTag(image.digest)} is not a signature manifest`);
    return false;
  }
  for (const layer of m.layers) {
    if (layer.mediaType !== SIMPLE_SIGNING) continue;
    const sig = layer.annotations?.[SIGNATURE_ANNOTATION];
    if (!sig) {
      problems.push('a signature layer has no signature annotation');
      continue;
    }
    // The payload blob is hash-checked against the layer digest by the source.
    const payload = await image.source.fetchBlob(image.repo, layer.digest, layer);
    if (!verifySignature('sha256', payload, key.publicKey, Buffer.from(sig, 'base64'))) {
      problems.push('the signature does not verify with this key (signed with another key, or the payload was altered)');
      continue;
    }
    const problem = payloadProblem(payload, image);
    if (problem) problems.push(problem);
    else return true;
  }
  if (!m.layers.some((l) => l.mediaType === SIMPLE_SIGNING)) problems.push(`${signatureTag(image.digest)} holds no simple-signing layer`);
  return false;
}

/** A JSON object's field, or undefined (whatever the value's shape: a signature store is untrusted). */
function field(v: unknown, key: string): unknown {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && Object.prototype.hasOwnProperty.call(v, key)
    ? (v as Record<string, unknown>)[key]
    : undefined;
}

/** Text from a signature, for messages: a digest or reference as is, anything else short and escaped. */
function shown(v: unknown): string {
  if (typeof v === 'string') return /^[A-Za-z0-9._:/@+-]{1,200}$/.test(v) ? v : quoteUntrusted(v, 80);
  return v === undefined ? 'nothing' : quoteUntrusted(JSON.stringify(v) ?? String(v), 40);
}

/** The simple-signing payload must name this digest, the cosign signature type, and this repository. */
function payloadProblem(payload: Uint8Array, image: SignedImage): string | undefined {
  const json = parseJsonBytes(payload);
  if (!json.ok) return 'the signed payload is not JSON';
  const c = field(json.value, 'critical');
  const type = field(c, 'type');
  if (type !== SIGNATURE_TYPE) return `the signed payload's type is ${shown(type)}, not "${SIGNATURE_TYPE}"`;
  const signed = field(field(c, 'image'), 'docker-manifest-digest');
  if (signed !== image.digest) return `the signature is for another digest (${shown(signed)})`;
  const ref = field(field(c, 'identity'), 'docker-reference');
  if (image.identity && typeof ref !== 'string') return 'the signed payload names no repository (critical.identity.docker-reference)';
  if (image.identity && typeof ref === 'string' && !sameRepository(ref, image.identity))
    return `the signature is for another repository (${shown(ref)})`;
  return undefined;
}

function sameRepository(a: string, b: string): boolean {
  const norm = (s: string) => {
    try {
      const r = parseReference(s);
      return `${r.registry}/${r.repository}`;
    } catch {
      return s;
    }
  };
  return norm(a) === norm(b);
}

/** Parse a manifest of the signature store; malformed content is a problem with the signature (exit 4), not a crash. */
function parsed(fetched: { bytes: Uint8Array; contentType: string }, what: string, problems: string[]): Manifest | undefined {
  try {
    return parseManifest(fetched.bytes, fetched.contentType);
  } catch (e) {
    if (!(e instanceof ManifestError)) throw e;
    problems.push(`${what} is not a valid manifest (${e.message})`);
    return undefined;
  }
}

async function bundles(image: SignedImage, key: CosignKey, problems: string[]): Promise<boolean> {
  const referrers = await referrersOf(image, problems);
  for (const d of referrers) {
    if (d.artifactType !== undefined && d.artifactType !== BUNDLE_V03) continue;
    const fetched = await image.source.fetchManifest(image.repo, d.digest);
    const m = parsed(fetched, `referrer ${d.digest}`, problems);
    if (m?.kind !== 'image') continue;
    const layer = m.layers.find((l) => l.mediaType === BUNDLE_V03);
    if (!layer) continue;
    const problem = bundleProblem(await image.source.fetchBlob(image.repo, layer.digest, layer), image, key);
    if (!problem) return true;
    problems.push(problem);
  }
  return false;
}

/** Referrer descriptors of the digest: the referrers API, else the `sha256-<hex>` fallback index. */
async function referrersOf(image: SignedImage, problems: string[]): Promise<Descriptor[]> {
  const viaApi = image.source.referrers ? await image.source.referrers(image.repo, image.digest) : undefined;
  if (viaApi) return viaApi;
  const fallback = await optionalManifest(image.source, image.repo, signatureTag(image.digest, ''));
  if (!fallback) return [];
  const m = parsed(fallback, signatureTag(image.digest, ''), problems);
  return m?.kind === 'index' ? m.manifests : [];
}

/** A Sigstore bundle v0.3 with a DSSE envelope whose in-toto statement names this digest. */
function bundleProblem(bytes: Uint8Array, image: SignedImage, key: CosignKey): string | undefined {
  const json = parseJsonBytes(bytes);
  if (!json.ok) return 'a signature bundle is not JSON';
  const env = field(json.value, 'dsseEnvelope');
  const payload = field(env, 'payload');
  const payloadType = field(env, 'payloadType');
  const signatures = field(env, 'signatures');
  if (typeof payload !== 'string' || typeof payloadType !== 'string' || !Array.isArray(signatures)) {
    return 'a signature bundle has no DSSE envelope';
  }
  const body = Buffer.from(payload, 'base64');
  const pae = Buffer.concat([Buffer.from(`DSSEv1 ${Buffer.byteLength(payloadType)} ${payloadType} ${body.length} `), body]);
  const ok = signatures.some((s) => {
    const sig = field(s, 'sig');
    return typeof sig === 'string' && verifySignature('sha256', pae, key.publicKey, Buffer.from(sig, 'base64'));
  });
  if (!ok) return 'the bundle signature does not verify with this key (signed with another key, or the statement was altered)';
  const statement = parseJson(body.toString('utf8'));
  if (!statement.ok) return 'the bundle statement is not JSON';
  const predicateType = field(statement.value, 'predicateType');
  if (predicateType !== COSIGN_PREDICATE) return `the bundle's predicate is ${shown(predicateType)}, not a cosign signature`;
  const alg = digestAlgorithm(image.digest);
  const hex = image.digest.slice(alg.length + 1);
  const subject = field(statement.value, 'subject');
  const subjects = Array.isArray(subject) ? subject : [];
  if (!subjects.some((s) => field(field(s, 'digest'), alg) === hex)) {
    const other = field(field(subjects[0], 'digest'), alg);
    return `the bundle signs another digest (${typeof other === 'string' && isDigest(`${alg}:${other}`) ? `${alg}:${other}` : 'none'})`;
  }
  return undefined;
}
