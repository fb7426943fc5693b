/**
 * Where cosign keeps a digest's signatures, read lazily (cosign's SIGNATURE_SPEC and BUNDLE_SPEC):
 * the legacy `sha256-<hex>.sig` tag, one simple-signing layer a signature with its annotations, and
 * cosign v3's Sigstore bundles attached through the OCI referrers API or its `sha256-<hex>`
 * fallback tag. Every blob is hash-checked by the source; nothing here judges a signature.
 */
import type { Digest } from '../digest.js';
import { RegistryError } from '../errors.js';
import { ManifestError, parseManifest, type Descriptor, type Manifest } from '../registry/manifest.js';
import type { ContentSource } from '../registry/source.js';
import { LIMITS } from '../safe/limits.js';

export const SIMPLE_SIGNING = 'application/vnd.dev.cosign.simplesigning.v1+json';
export const BUNDLE_V03 = 'application/vnd.dev.sigstore.bundle.v0.3+json';
const ANNOTATION = {
  signature: 'dev.cosignproject.cosign/signature',
  certificate: 'dev.sigstore.cosign/certificate',
  chain: 'dev.sigstore.cosign/chain',
  bundle: 'dev.sigstore.cosign/bundle',
} as const;

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
  /** `registry/repository` that the payload must name; unset for OCI layouts (copies). */
  identity?: string;
  digest: Digest;
}

/** One signature found in the store. */
export type Candidate =
  | {
      kind: 'simple';
      /** The simple-signing payload, exactly as stored. */
      payload: Uint8Array;
      /** Base64 signature over the payload, or undefined when the layer has none. */
      signature: string | undefined;
      /** Keyless: the signing certificate (PEM), the chain after it (PEM), the Rekor entry with its SET (JSON). */
      certificate?: string;
      chain?: string;
      rekorBundle?: string;
    }
  | { kind: 'bundle'; bytes: Uint8Array; where: string };

/**
 * The digest's signatures, legacy store first, at most LIMITS.signatures. Problems with the store
 * itself (a malformed manifest) go to `problems`; a registry that cannot be reached throws.
 */
export async function* signatures(image: SignedImage, problems: string[]): AsyncGenerator<Candidate> {
  let n = 0;
  const sig = await optionalManifest(image.source, image.repo, signatureTag(image.digest));
  const m = sig && parsed(sig, signatureTag(image.digest), problems);
  if (m && m.kind !== 'image') problems.push(`${signatureTag(image.digest)} is not a signature manifest`);
  else if (m) {
    const layers = m.layers.filter((l) => l.mediaType === SIMPLE_SIGNING);
    if (!layers.length) problems.push(`${signatureTag(image.digest)} holds no simple-signing layer`);
    for (const layer of layers) {
      if (n++ >= LIMITS.signatures) return;
      const a = layer.annotations ?? {};
      const payload = await image.source.fetchBlob(image.repo, layer.digest, layer);
      yield {
        kind: 'simple',
        payload,
        signature: a[ANNOTATION.signature] || undefined,
        ...(a[ANNOTATION.certificate] ? { certificate: a[ANNOTATION.certificate] } : {}),
        ...(a[ANNOTATION.chain] ? { chain: a[ANNOTATION.chain] } : {}),
        ...(a[ANNOTATION.bundle] ? { rekorBundle: a[ANNOTATION.bundle] } : {}),
      };
    }
  }
  for (const d of await referrersOf(image, problems)) {
    if (d.artifactType !== undefined && d.artifactType !== BUNDLE_V03) continue;
    if (n++ >= LIMITS.signatures) return;
    const fetched = await image.source.fetchManifest(image.repo, d.digest);
    const r = parsed(fetched, `referrer ${d.digest}`, problems);
    if (r?.kind !== 'image') continue;
    const layer = r.layers.find((l) => l.mediaType === BUNDLE_V03);
    if (!layer) continue;
    yield { kind: 'bundle', bytes: await image.source.fetchBlob(image.repo, layer.digest, layer), where: `referrer ${d.digest}` };
  }
}

async function optionalManifest(source: ContentSource, repo: string, reference: string) {
  try {
    return await source.fetchManifest(repo, reference);
  } catch (e) {
    if (e instanceof RegistryError && e.status === 404) return undefined;
    throw e;
  }
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

/** Referrer descriptors of the digest: the referrers API, else the `sha256-<hex>` fallback index. */
async function referrersOf(image: SignedImage, problems: string[]): Promise<Descriptor[]> {
  const viaApi = image.source.referrers ? await image.source.referrers(image.repo, image.digest) : undefined;
  if (viaApi) return viaApi;
  const fallback = await optionalManifest(image.source, image.repo, signatureTag(image.digest, ''));
  if (!fallback) return [];
  const m = parsed(fallback, signatureTag(image.digest, ''), problems);
  return m?.kind === 'index' ? m.manifests : [];
}
