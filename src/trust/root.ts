import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import type { TrustMaterial, Verifier } from '@sigstore/verify';
import { FileReadError, readTextSync } from '../safe/files.js';
import { parseJson } from '../safe/json.js';
import { LIMITS } from '../safe/limits.js';

/** What the lock and messages call the root shipped with lg-pins. */
export const BUNDLED_ROOT_NAME = 'the Sigstore public-good trusted root shipped with lg-pins';

/**
 * Sigstore's public-good trusted root (Fulcio CAs, Rekor, CT log and TSA keys), the TUF target
 * `trusted_root.json` of sigstore/root-signing; its sha256 is listed in assets/sigstore/README.md.
 * Nothing is fetched at run time.
 */
const BUNDLED_ROOT = fileURLToPath(new URL('../../assets/sigstore/trusted_root.json', import.meta.url));

const MEDIA_TYPE = /^application\/vnd\.dev\.sigstore\.trustedroot(?:\.v[0-9.]+)?\+json(?:;version=[0-9.]+)?$/;

/** A loaded trusted root: where it came from, its digest (what the lock records) and the material to verify with. */
export interface TrustedRootRef {
  /** The path as the spec wrote it, or BUNDLED_ROOT_NAME. */
  name: string;
  /** `sha256:<hex>` of the file's bytes. */
  digest: string;
  material: TrustMaterial;
  /** A verifier over the material: one certificate, SCT and Rekor entry threshold each, as cosign requires. */
  verifier: Verifier;
}

// Sigstore's libraries (CommonJS, 60-odd modules) are required only when a spec names a keyless policy.
const require = createRequire(import.meta.url);

/** Loaded roots by content digest: every image that names the same root shares one. */
const loaded = new Map<string, TrustedRootRef>();

/** The trusted root shipped with lg-pins. */
export function bundledTrustedRoot(): TrustedRootRef {
  const r = loadTrustedRoot(BUNDLED_ROOT, BUNDLED_ROOT_NAME);
  if (typeof r === 'string') throw new Error(`the bundled Sigstore trusted root is damaged: ${r}`);
  return r;
}

/**
 * Read a Sigstore trusted root (`application/vnd.dev.sigstore.trustedroot+json`, as `cosign verify
 * --trusted-root` takes it). Returns the problem as a string when the file is missing or not one.
 */
export function loadTrustedRoot(file: string, name: string): TrustedRootRef | string {
  let text: string;
  try {
    text = readTextSync(file, LIMITS.trustedRootBytes, 'a Sigstore trusted root');
  } catch (e) {
    if (!(e instanceof FileReadError)) throw e;
    return e.reason === 'missing' ? `no such file (${file})` : `cannot read ${file}: ${e.detail}`;
  }
  const digest = `sha256:${createHash('sha256').update(text).digest('hex')}`;
  const cached = loaded.get(digest);
  if (cached) return { ...cached, name };
  const json = parseJson(text);
  if (!json.ok) return `${file} is not JSON (line ${json.line}, column ${json.column}: ${json.problem})`;
  const value = json.value as Record<string, unknown> | null;
  const mediaType = value && typeof value === 'object' && !Array.isArray(value) ? value.mediaType : undefined;
  if (typeof mediaType !== 'string' || !MEDIA_TYPE.test(mediaType)) {
    return `${file} is not a Sigstore trusted root (its mediaType is not application/vnd.dev.sigstore.trustedroot+json)`;
  }
  const { TrustedRoot } = require('@sigstore/protobuf-specs') as typeof import('@sigstore/protobuf-specs');
  const { toTrustMaterial, Verifier } = require('@sigstore/verify') as typeof import('@sigstore/verify');
  let material: TrustMaterial;
  try {
    material = toTrustMaterial(TrustedRoot.fromJSON(value));
  } catch (e) {
    return `${file} is not a valid Sigstore trusted root (${e instanceof Error ? e.message : String(e)})`;
  }
  const lacks = [
    material.certificateAuthorities.length ? '' : 'certificateAuthorities (Fulcio)',
    material.tlogs.length ? '' : 'tlogs (Rekor)',
    material.ctlogs.length ? '' : 'ctlogs',
  ].filter(Boolean);
  if (lacks.length) return `${file} lists no ${lacks.join(', no ')}; keyless verification needs all three`;
  const ref: TrustedRootRef = { name, digest, material, verifier: new Verifier(material) };
  loaded.set(digest, ref);
  return ref;
}
