import { verify as verifySignature } from 'node:crypto';
import type { CosignKey, CosignPolicy } from '../config/spec.js';
import { IntegrityError } from '../errors.js';
import type { KeylessSigner, Signer } from '../lock/model.js';
import { describePolicy } from '../plan/signer.js';
import { parseJsonBytes } from '../safe/json.js';
import { field, payloadProblem, statementProblem } from './payload.js';
import { signatures, signatureTag, type Candidate, type SignedImage } from './store.js';

export { signatureTag, type SignedImage } from './store.js';

/**
 * Require a cosign signature of `image.digest` that satisfies the policy, from either store (the
 * legacy `sha256-<hex>.sig` tag, or cosign v3 bundles through referrers or their fallback tag).
 * Key-based: the first signature that verifies with the key; returns the key's fingerprint.
 * Keyless: every signature is checked in full (certificate chain, SCT, Rekor entry, identity,
 * issuer, payload) and the signer with the lowest Rekor log index is returned, so reruns record
 * the same one. Throws IntegrityError (exit 4) naming the image, the digest and what was wrong.
 */
export async function verifyCosign(image: SignedImage, policy: CosignPolicy): Promise<Signer> {
  const problems: string[] = [];
  let best: KeylessSigner | undefined;
  // Sigstore's libraries (60-odd modules) are loaded only for a keyless policy.
  const { checkKeyless } = policy.kind === 'keyless' ? await import('./keyless.js') : { checkKeyless: undefined };
  for await (const c of signatures(image, problems)) {
    if (policy.kind === 'key') {
      const problem = keyProblem(c, policy, image);
      if (!problem) return policy.fingerprint;
      problems.push(problem);
      continue;
    }
    const signer = checkKeyless!(c, policy, image);
    if (typeof signer === 'string') problems.push(signer);
    else if (!best || signer.logIndex < best.logIndex) best = signer;
  }
  if (best) return best;
  const why = problems.length
    ? [...new Set(problems)].join('; ')
    : `no signature found (no ${signatureTag(image.digest)} tag and no signature referrer)`;
  const kind = policy.kind === 'key' ? 'cosign signature by' : 'keyless cosign signature by';
  throw new IntegrityError(`${image.name}@${image.digest}: no valid ${kind} ${describePolicy(policy)}: ${why}`);
}

/** Why a signature does not count for the key (undefined when it does). */
function keyProblem(c: Candidate, key: CosignKey, image: SignedImage): string | undefined {
  if (c.kind === 'bundle') return bundleProblem(c.bytes, image, key);
  if (!c.signature) return 'a signature layer has no signature annotation';
  // The payload blob is hash-checked against the layer digest by the source.
  if (!verifySignature('sha256', c.payload, key.publicKey, Buffer.from(c.signature, 'base64')))
    return 'the signature does not verify with this key (signed with another key, or the payload was altered)';
  return payloadProblem(c.payload, image);
}

/** A Sigstore bundle v0.3 with a DSSE envelope, signed by the key, whose in-toto statement names this digest. */
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
  // DSSE's pre-authentication encoding (the DSSE protocol spec): what the signature covers.
  const pae = Buffer.concat([Buffer.from(`DSSEv1 ${Buffer.byteLength(payloadType)} ${payloadType} ${body.length} `), body]);
  const ok = signatures.some((s) => {
    const sig = field(s, 'sig');
    return typeof sig === 'string' && verifySignature('sha256', pae, key.publicKey, Buffer.from(sig, 'base64'));
  });
  if (!ok) return 'the bundle signature does not verify with this key (signed with another key, or the statement was altered)';
  return statementProblem(payloadType, body, image);
}
