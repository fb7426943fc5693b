/**
 * What a signature signs must name the pinned digest and the image's repository: the simple-signing
 * payload of the legacy store, or the in-toto statement of a cosign v3 bundle. Both are untrusted
 * JSON, read field by field.
 */
import { digestAlgorithm, isDigest } from '../digest.js';
import { parseReference } from '../reference.js';
import { parseJson, parseJsonBytes } from '../safe/json.js';
import { quoteUntrusted } from '../safe/text.js';
import type { SignedImage } from './store.js';

const SIGNATURE_TYPE = 'cosign container image signature';
export const COSIGN_PREDICATE = 'https://sigstore.dev/cosign/sign/v1';
export const IN_TOTO = 'application/vnd.in-toto+json';

/** A JSON object's field, or undefined (whatever the value's shape: a signature store is untrusted). */
export function field(v: unknown, key: string): unknown {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && Object.prototype.hasOwnProperty.call(v, key)
    ? (v as Record<string, unknown>)[key]
    : undefined;
}

/** Text from a signature, for messages: a digest or reference as is, anything else short and escaped. */
export function shown(v: unknown): string {
  if (typeof v === 'string') return /^[A-Za-z0-9._:/@+-]{1,200}$/.test(v) ? v : quoteUntrusted(v, 80);
  return v === undefined ? 'nothing' : quoteUntrusted(JSON.stringify(v) ?? String(v), 40);
}

/** The simple-signing payload must name this digest, the cosign signature type, and this repository. */
export function payloadProblem(payload: Uint8Array, image: SignedImage): string | undefined {
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

/**
 * The in-toto statement of a cosign v3 signature: cosign's signature predicate, a subject with this
 * digest, and (when the subject carries a name) this repository.
 */
export function statementProblem(payloadType: string, body: Uint8Array, image: SignedImage): string | undefined {
  if (payloadType !== IN_TOTO) return `the bundle's payload is ${shown(payloadType)}, not an in-toto statement`;
  const statement = parseJson(Buffer.from(body).toString('utf8'));
  if (!statement.ok) return 'the bundle statement is not JSON';
  const predicateType = field(statement.value, 'predicateType');
  if (predicateType !== COSIGN_PREDICATE) return `the bundle's predicate is ${shown(predicateType)}, not a cosign signature`;
  const alg = digestAlgorithm(image.digest);
  const hex = image.digest.slice(alg.length + 1);
  const subject = field(statement.value, 'subject');
  const subjects = Array.isArray(subject) ? subject : [];
  const mine = subjects.find((s) => field(field(s, 'digest'), alg) === hex);
  if (!mine) {
    const other = field(field(subjects[0], 'digest'), alg);
    return `the bundle signs another digest (${typeof other === 'string' && isDigest(`${alg}:${other}`) ? `${alg}:${other}` : 'none'})`;
  }
  const name = field(mine, 'name');
  if (image.identity && typeof name === 'string' && name !== '' && !sameRepository(name, image.identity))
    return `the signature is for another repository (${shown(name)})`;
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
