import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { FileReadError, readTextSync } from '../safe/files.js';
import { LIMITS } from '../safe/limits.js';

/**
 * Load a cosign public key (PEM `PUBLIC KEY`, ECDSA P-256, as `cosign generate-key-pair` writes).
 * Returns the problem as a string when the file is missing or not such a key.
 */
export function loadCosignKey(file: string): { file: string; publicKey: KeyObject; fingerprint: string } | string {
  let pem: string;
  try {
    pem = readTextSync(file, LIMITS.keyFileBytes, 'a public key');
  } catch (e) {
    if (!(e instanceof FileReadError)) throw e;
    return e.reason === 'missing' ? `no such file (${file})` : `cannot read ${file}: ${e.detail}`;
  }
  // createPublicKey would derive a public key from a private one and accept it silently.
  if (/-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/.test(pem)) {
    return `${file} holds a private key; give the public key (cosign.pub, "-----BEGIN PUBLIC KEY-----") and keep the private key out of the repository`;
  }
  let publicKey: KeyObject;
  try {
    publicKey = createPublicKey({ key: pem, format: 'pem' });
  } catch {
    return `${file} is not a PEM public key (expected "-----BEGIN PUBLIC KEY-----", as cosign.pub)`;
  }
  const details = publicKey.asymmetricKeyDetails;
  if (publicKey.asymmetricKeyType !== 'ec' || details?.namedCurve !== 'prime256v1') {
    const kind = `${(publicKey.asymmetricKeyType ?? 'unknown').toUpperCase()}${details?.namedCurve ? ` ${details.namedCurve}` : ''}`;
    return `${file} is ${/^[AEIOUR]/.test(kind) ? 'an' : 'a'} ${kind} key; cosign keys are ECDSA P-256`;
  }
  return { file, publicKey, fingerprint: keyFingerprint(publicKey) };
}

export function keyFingerprint(key: KeyObject): string {
  return `sha256:${createHash('sha256')
    .update(key.export({ type: 'spki', format: 'der' }))
    .digest('hex')}`;
}
