import type { Digest } from '../digest.js';
import { dictFrom, toDict } from '../safe/dict.js';

/** One platform of a locked tag. */
export interface LockPlatform {
  digest: Digest;
  mediaType: string;
  size: number;
}

/** What one tracked tag resolved to. */
export interface LockImage {
  ref: string;
  tag: string;
  /** The spec's semver range, for `track` images: the lock records the rule it was made under. */
  track?: string;
  /** The index digest for a multi-arch tag, the manifest digest for a single-platform tag. */
  digest: Digest;
  mediaType: string;
  /** Keyed os/arch[/variant]. */
  platforms: Record<string, LockPlatform>;
  /** With `verify.cosign`: who signed `digest`. */
  verifiedBy?: Signer;
}

/**
 * Who signed a pin: a key's fingerprint (`sha256:` of its DER public key) for key-based
 * verification, or the keyless certificate's identity and issuer with its Rekor log index.
 */
export type Signer = string | KeylessSigner;

export interface KeylessSigner {
  /** The certificate's subject alternative name (URI or email). */
  identity: string;
  /** The OIDC issuer the certificate names. */
  issuer: string;
  /** The lowest valid Rekor log index among the digest's signatures. */
  logIndex: number;
  /** `sha256:` of the trusted root the signature was verified under. */
  trustedRoot: string;
}

/** Which digest a fleet group runs for one image. */
export interface FleetPin {
  platform: string;
  digest: Digest;
  /** Set when the group is held back: the tag it still runs. */
  tag?: string;
  /** Set when the group is held back: the index digest of the release it stays on (for index outputs). */
  index?: Digest;
  /** Set when the group is held back: why. */
  held?: string;
  /** Groups in a rollout ring: when this pin last changed (RFC 3339 UTC). */
  since?: string;
}

export interface Lock {
  lockVersion: 1;
  images: Record<string, LockImage>;
  /** group id → image id → pin. */
  fleet: Record<string, Record<string, FleetPin>>;
  /** Deploy outputs written with this lock: path (relative to the spec) → sha256 of its content. */
  outputs?: Record<string, Digest>;
}

/** A parsed lock with every id-keyed record null-prototype (see safe/dict.ts); `fleet` always present. */
export function normalizeLock(lock: Lock): Lock {
  return {
    lockVersion: 1,
    images: dictFrom(Object.entries(lock.images ?? {}).map(([id, i]) => [id, { ...i, platforms: toDict(i.platforms) }] as const)),
    fleet: dictFrom(Object.entries(lock.fleet ?? {}).map(([g, pins]) => [g, toDict(pins)] as const)),
    ...(lock.outputs ? { outputs: toDict(lock.outputs) } : {}),
  };
}

export const LOCK_KEYS = {
  root: { lockVersion: true, images: true, fleet: true, outputs: true } satisfies Record<keyof Lock, true>,
  image: { ref: true, tag: true, track: true, digest: true, mediaType: true, platforms: true, verifiedBy: true } satisfies Record<
    keyof LockImage,
    true
  >,
  platform: { digest: true, mediaType: true, size: true } satisfies Record<keyof LockPlatform, true>,
  pin: { platform: true, digest: true, tag: true, index: true, held: true, since: true } satisfies Record<keyof FleetPin, true>,
  signer: { identity: true, issuer: true, logIndex: true, trustedRoot: true } satisfies Record<keyof KeylessSigner, true>,
} as const;
