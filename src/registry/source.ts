import type { Readable } from 'node:stream';
import type { Digest } from '../digest.js';
import type { Descriptor } from './manifest.js';

/** A manifest as received: exact bytes, their computed digest and the media type served. */
export interface FetchedManifest {
  bytes: Uint8Array;
  /** Computed by hashing `bytes`; already checked against the requested digest and the registry's header. */
  digest: Digest;
  /** Content-Type as served (parameters stripped), possibly empty. */
  contentType: string;
}

/**
 * Where image content comes from: a remote registry or an OCI image layout on disk.
 * Implementations verify every digest they hand out (exit 4 through IntegrityError).
 */
export interface ContentSource {
  /** For messages: registry host, or the layout directory. */
  readonly name: string;
  /** Fetch a manifest by tag or digest. A digest reference is verified against the bytes. */
  fetchManifest(repo: string, reference: string): Promise<FetchedManifest>;
  /**
   * The digest a tag points at now, cheaply (a HEAD, which registries such as Docker Hub do not count
   * as a pull), or undefined when the source cannot tell without the body. A missing tag throws.
   */
  headManifest?(repo: string, tag: string): Promise<Digest | undefined>;
  /**
   * Referrers of a digest through the OCI 1.1 referrers API, or undefined when the source has no
   * such API (a 404): the caller then reads the `sha256-<hex>` fallback tag.
   */
  referrers?(repo: string, digest: Digest): Promise<Descriptor[] | undefined>;
  /** Fetch a blob by digest, verified against it (and against `expected.size` when given). */
  fetchBlob(repo: string, digest: Digest, expected?: Pick<Descriptor, 'size'>): Promise<Uint8Array>;
  /**
   * A blob as a stream, never whole in memory: it ends in an IntegrityError before it ends at all
   * when the bytes are not `expected` (see DigestCheck); `onBytes` counts them as they pass.
   */
  openBlob?(repo: string, expected: Pick<Descriptor, 'digest' | 'size'>, onBytes?: (n: number) => void): Promise<Readable>;
  /** Every tag of the repository. */
  listTags(repo: string): Promise<string[]>;
  close?(): Promise<void>;
}
