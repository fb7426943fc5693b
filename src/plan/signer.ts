/**
 * Pure decisions about who signed a pin: whether a recorded signer satisfies the spec's cosign
 * policy (so a warm relock need not fetch signatures again, and `check` can judge offline), and how
 * a policy and a signer read in messages. No I/O.
 */
import type { CosignPolicy, Match } from '../config/spec.js';
import type { KeylessSigner, Signer } from '../lock/model.js';

/** A regexp source as the spec wrote it, anchored so it must match the WHOLE value (cosign's are not anchored). */
export function anchored(source: string): RegExp {
  return new RegExp(`^(?:${source})$`);
}

/** Whether `value` is what `m` asks for: equal, or matched whole by the regexp. */
export function matches(m: Match, value: string): boolean {
  return 'exact' in m ? m.exact === value : anchored(m.regexp).test(value);
}

export function isKeyless(s: Signer | undefined): s is KeylessSigner {
  return typeof s === 'object' && s !== null;
}

/**
 * Whether a recorded signer satisfies a policy: the same key, or a keyless signer whose identity and
 * issuer the policy accepts, verified under the same trusted root (`sameRoot: false` leaves the root
 * out: `check` does not fail a pin because lg-pins now ships a newer public-good root).
 */
export function satisfies(policy: CosignPolicy, signer: Signer | undefined, sameRoot = true): boolean {
  if (policy.kind === 'key') return signer === policy.fingerprint;
  if (!isKeyless(signer)) return false;
  return (
    matches(policy.identity, signer.identity) &&
    matches(policy.issuer, signer.issuer) &&
    (!sameRoot || signer.trustedRoot === policy.trustedRoot.digest)
  );
}

/** The same signer recorded twice (a change of signer is a change of the pin's record). */
export function sameSigner(a: Signer | undefined, b: Signer | undefined): boolean {
  if (isKeyless(a) && isKeyless(b)) {
    return a.identity === b.identity && a.issuer === b.issuer && a.logIndex === b.logIndex && a.trustedRoot === b.trustedRoot;
  }
  return a === b;
}

function showMatch(m: Match): string {
  return 'exact' in m ? m.exact : `/${m.regexp}/`;
}

/** The policy in a message: `the key keys/release.pub`, `<identity> (issuer <issuer>)`. */
export function describePolicy(policy: CosignPolicy): string {
  return policy.kind === 'key'
    ? `${policy.key} (${policy.fingerprint.slice(0, 19)})`
    : `${showMatch(policy.identity)} (issuer ${showMatch(policy.issuer)})`;
}

/** A verified keyless signer as `verify` prints it. */
export function describeSigner(s: KeylessSigner): string {
  return `signed by ${s.identity} (issuer ${s.issuer}), Rekor log index ${s.logIndex}`;
}

/** Why a recorded signer does not satisfy the policy, for `check` (undefined when it does). */
export function signerProblem(policy: CosignPolicy | undefined, signer: Signer | undefined): string | undefined {
  if (!policy) {
    if (signer === undefined) return undefined;
    return isKeyless(signer)
      ? 'was verified keyless for a signer the spec no longer requires'
      : 'was verified with a key the spec no longer requires';
  }
  if (satisfies(policy, signer, false)) return undefined;
  if (signer === undefined) return 'was never verified';
  if (policy.kind === 'key') return isKeyless(signer) ? 'was verified keyless, not with this key' : 'was verified with another key';
  if (!isKeyless(signer)) return 'was verified with a key, not keyless';
  return `was signed by ${signer.identity} (issuer ${signer.issuer})`;
}
