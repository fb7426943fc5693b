import type { KeyObject } from 'node:crypto';
import type { Platform } from '../platform.js';
import type { ImageRef } from '../reference.js';
import type { Cadence, OnMissing, OutputFormat, RegistrySettings } from './types.js';
import type { RegistryTrust } from '../transport/trust.js';
import type { TrustedRootRef } from '../trust/root.js';

/** Where an image's content comes from. */
export type SourceRef = { kind: 'registry'; ref: ImageRef } | { kind: 'layout'; dir: string; repo?: string };

/** One image of the loaded spec, with its reference parsed. */
export interface Image {
  id: string;
  /** The ref exactly as written in the spec. */
  ref: string;
  source: SourceRef;
  tag?: string;
  track?: string;
  cadence: Cadence;
  prerelease: boolean;
  /** Keyed by platform key (os/arch[/variant], normalized). */
  notes: Record<string, string>;
  verify?: { cosign: CosignPolicy };
}

/** Whose cosign signature a digest needs before it is pinned. */
export type CosignPolicy = CosignKey | KeylessPolicy;

/** A cosign public key the spec requires signatures from. */
export interface CosignKey {
  kind: 'key';
  /** The path as written in the spec. */
  key: string;
  /** Absolute path. */
  file: string;
  publicKey: KeyObject;
  /** `sha256:<hex>` of the key's DER SubjectPublicKeyInfo: what the lock records. */
  fingerprint: string;
}

/** A value the certificate must carry: exactly, or matching a regular expression over the whole value. */
export type Match = { exact: string } | { regexp: string };

/** Keyless (Sigstore): the certificate's identity and OIDC issuer, and the trust material to check the rest against. */
export interface KeylessPolicy {
  kind: 'keyless';
  identity: Match;
  issuer: Match;
  trustedRoot: TrustedRootRef;
}

export interface Group {
  id: string;
  /** What the spec said: `arch: armv7l` or `platform: linux/arm/v7`. */
  wants: { arch: string } | { platform: string };
  platform: Platform;
  /** Normalized key, e.g. linux/arm/v7. */
  platformKey: string;
  hosts: string[];
  /** Image ids this group runs, in spec order. */
  images: string[];
  onMissing: OnMissing;
  /** Rollout rings: the group whose release this one waits for. */
  after?: string;
  /** How long `after` must have run a release before this group takes it, in ms (0 when unset). */
  soakMs: number;
}

/** A validated spec, ready for planning. */
export interface Spec {
  /** Absolute path of the spec file. */
  file: string;
  /** Directory of the spec; relative paths in it are resolved from here. */
  dir: string;
  /** Absolute path of the lock beside the spec. */
  lockFile: string;
  registries: Record<string, RegistrySettings>;
  /** TLS trust the spec gives registries (CA bundles, client certificates), loaded, keyed like `registries`. */
  trust?: Record<string, RegistryTrust>;
  images: Record<string, Image>;
  fleet: Record<string, Group>;
  /** Deploy outputs, in spec order (absent when the spec has none). */
  outputs?: Output[];
}

/** A deploy output, checked: what to render from the lock and where. */
export interface Output {
  format: OutputFormat;
  /** The path as written, relative to the spec, with `{group}` where one file per group is wanted. */
  path: string;
  perGroup: boolean;
  digest: 'platform' | 'index';
  reference: 'digest' | 'tag-digest';
  /** Subsets; undefined means all. */
  groups?: string[];
  images?: string[];
}
