import { createHash } from 'node:crypto';

declare const digestBrand: unique symbol;
/** A content digest `algorithm:encoded`, made only by validating or hashing. */
export type Digest = string & { readonly [digestBrand]: true };

const DIGEST_RE = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;
const ENCODED_RE: Record<string, RegExp> = {
  sha256: /^[a-f0-9]{64}$/,
  sha512: /^[a-f0-9]{128}$/,
};

/** Why a string is not a valid digest, or undefined when it is. */
export function digestProblem(value: string): string | undefined {
  if (!DIGEST_RE.test(value)) return 'not a digest (expected algorithm:hex, e.g. sha256:<64 hex>)';
  const [alg, enc] = value.split(':', 2) as [string, string];
  const re = ENCODED_RE[alg];
  if (!re) return `unsupported digest algorithm "${alg}" (sha256 and sha512 are supported)`;
  if (!re.test(enc)) return `a ${alg} digest needs exactly ${alg === 'sha256' ? 64 : 128} lowercase hex characters`;
  return undefined;
}

export function isDigest(value: unknown): value is Digest {
  return typeof value === 'string' && digestProblem(value) === undefined;
}

export function parseDigest(value: string): Digest {
  const problem = digestProblem(value);
  if (problem) throw new TypeError(`invalid digest "${value}": ${problem}`);
  return value as Digest;
}

export function digestAlgorithm(d: Digest): string {
  return d.slice(0, d.indexOf(':'));
}

/** Hash exactly these bytes with the given algorithm. */
export function computeDigest(bytes: Uint8Array, algorithm = 'sha256'): Digest {
  if (algorithm !== 'sha256' && algorithm !== 'sha512') {
    throw new TypeError(`unsupported digest algorithm "${algorithm}"`);
  }
  return `${algorithm}:${createHash(algorithm).update(bytes).digest('hex')}` as Digest;
}

/** True when `bytes` hash to `expected` under `expected`'s algorithm. */
export function matchesDigest(bytes: Uint8Array, expected: Digest): boolean {
  return computeDigest(bytes, digestAlgorithm(expected)) === expected;
}
