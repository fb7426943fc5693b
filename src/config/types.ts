/**
 * Types of the spec as schemas/lg-pins.schema.json describes it. The schema is the source of
 * truth: test/unit/schema-drift.test.ts fails when these key lists and the schema disagree.
 */
export interface RegistrySettings {
  insecure?: boolean;
  concurrency?: number;
  mirrors?: string[];
  /** PEM bundle of CAs trusted for this registry, relative to the spec. */
  ca?: string;
  /** Mutual TLS: PEM client certificate and its key, relative to the spec (both or neither). */
  clientCert?: string;
  clientKey?: string;
}

export type Cadence = 'patch' | 'minor' | 'major';
export type OnMissing = 'fail' | 'hold';

export interface ImageSpec {
  ref: string;
  tag?: string;
  track?: string;
  cadence?: Cadence;
  prerelease?: boolean;
  notes?: Record<string, string>;
  verify?: { cosign?: CosignSpec };
}

/** `verify.cosign`: key-based (`key`) or keyless (identity and issuer, each exact or a regexp, and a trusted root). */
export interface CosignSpec {
  key?: string;
  identity?: string;
  identityRegexp?: string;
  issuer?: string;
  issuerRegexp?: string;
  trustedRoot?: string;
}

export interface GroupSpec {
  arch?: string;
  platform?: string;
  hosts?: string[];
  hostsFile?: string;
  hostsFrom?: HostsFromSpec;
  images?: string[];
  onMissing?: OnMissing;
  /** Rollout rings: take a new release only once this group runs it (and has for `soak`). */
  after?: string;
  /** How long the `after` group must have run a release first: `30m`, `12h`, `3d` (or 0). */
  soak?: string | number;
}

/** `hostsFrom`: the hosts of one group of an Ansible inventory (YAML or INI), its children included. */
export interface HostsFromSpec {
  /** The inventory file, relative to the spec. */
  ansible: string;
  group: string;
}

/** The spec file as written (after schema validation). */
export interface SpecFile {
  $schema?: string;
  version: 1;
  registries?: Record<string, RegistrySettings>;
  images: Record<string, ImageSpec>;
  fleet?: Record<string, GroupSpec>;
  outputs?: OutputSpec[];
}

export type OutputFormat = 'dotenv' | 'ansible' | 'kustomize' | 'helm' | 'json';

/** One deploy output: a file (or one per group) rendered from the lock. */
export interface OutputSpec {
  format: OutputFormat;
  path: string;
  digest?: 'platform' | 'index';
  reference?: 'digest' | 'tag-digest';
  groups?: string[];
  images?: string[];
}

/** Key lists checked against the schema; `satisfies` keeps them complete and exact. */
export const SPEC_KEYS = {
  root: { $schema: true, version: true, registries: true, images: true, fleet: true, outputs: true } satisfies Record<keyof SpecFile, true>,
  registry: { insecure: true, concurrency: true, mirrors: true, ca: true, clientCert: true, clientKey: true } satisfies Record<
    keyof RegistrySettings,
    true
  >,
  image: {
    ref: true,
    tag: true,
    track: true,
    cadence: true,
    prerelease: true,
    notes: true,
    verify: true,
  } satisfies Record<keyof ImageSpec, true>,
  output: { format: true, path: true, digest: true, reference: true, groups: true, images: true } satisfies Record<keyof OutputSpec, true>,
  cosign: {
    key: true,
    identity: true,
    identityRegexp: true,
    issuer: true,
    issuerRegexp: true,
    trustedRoot: true,
  } satisfies Record<keyof CosignSpec, true>,
  group: {
    arch: true,
    platform: true,
    hosts: true,
    hostsFile: true,
    hostsFrom: true,
    images: true,
    onMissing: true,
    after: true,
    soak: true,
  } satisfies Record<keyof GroupSpec, true>,
  hostsFrom: { ansible: true, group: true } satisfies Record<keyof HostsFromSpec, true>,
} as const;
