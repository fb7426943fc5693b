/**
 * Every bound lg-pins puts on what it reads, in one table (README "Security" lists them). Each is
 * far above what a real spec, lock or registry produces, and far below what exhausts a machine.
 */
const KiB = 1024;
const MiB = 1024 * KiB;

export const LIMITS = {
  /** The spec (lg-pins.yaml, package.json): a 100,000-host spec is about 3 MiB. */
  specBytes: 64 * MiB,
  /** The lock: 2,000 images are about 2 MiB. */
  lockBytes: 64 * MiB,
  /** A hosts file (one name a line). */
  hostsFileBytes: 16 * MiB,
  /** An Ansible inventory (`hostsFrom`), YAML or INI. */
  inventoryBytes: 16 * MiB,
  /** Hosts one inventory may name, host ranges expanded (`www[0:999999]` is a million names). */
  inventoryHosts: 1_000_000,
  /** A Docker config.json or containers auth.json, or the same JSON in an environment variable. */
  authFileBytes: 4 * MiB,
  /** A cosign public key (PEM), a client certificate or key. */
  keyFileBytes: 64 * KiB,
  /** A Sigstore trusted root (JSON): the public-good root is about 7 KiB. */
  trustedRootBytes: 4 * MiB,
  /** Signatures (layers, bundles) looked at for one digest. */
  signatures: 64,
  /** A CA bundle (PEM): a system bundle of every public root is about 220 KiB. */
  caBundleBytes: 4 * MiB,
  /** One host report for `audit` (100,000 `{host, image}` lines are about 12 MiB; a kubectl pod list is larger). */
  reportBytes: 512 * MiB,
  /** A deploy output file read back to compare (lg-pins writes a few KiB per group). */
  outputBytes: 16 * MiB,
  /** An OCI layout's index.json. */
  layoutIndexBytes: 16 * MiB,
  /** A manifest, index or referrers list (the distribution spec asks clients to take at least 4 MiB). */
  manifestBytes: 4 * MiB,
  /** A config or signature blob read whole. */
  blobBytes: 16 * MiB,
  /** A token server's answer. */
  tokenBytes: 1 * MiB,
  /** Tags kept from one repository's tag list, across every page. */
  tags: 100_000,
  /** Bytes read from one repository's tag list, across every page. */
  tagListBytes: 32 * MiB,
  /** Pages of one tag list. */
  tagPages: 1000,
  /** Index entries looked at for one tag, across nested indexes. */
  indexEntries: 10_000,
  /** Child manifests fetched for one tag (nested indexes, entries without a platform). */
  childManifests: 64,
  /** How deep indexes may nest. */
  indexDepth: 4,
  /** A GitHub or GitLab API answer (a page of pull requests with long bodies is a few hundred KiB). */
  gitHostApiBytes: 8 * MiB,
  /**
   * The slowest transfer a streamed blob may make, in bytes a second: its try's deadline is the
   * --timeout plus its size at this rate (256 MiB gets 43 minutes more).
   */
  minTransferRate: 100 * KiB,
  /** Redirects followed for one request. */
  redirects: 5,
  /** Output read from a credential helper. */
  helperOutputBytes: 64 * KiB,
} as const;

export function formatBytes(n: number): string {
  if (n >= MiB) return `${+(n / MiB).toFixed(1)} MiB`;
  if (n >= KiB) return `${+(n / KiB).toFixed(1)} KiB`;
  return `${n} bytes`;
}
