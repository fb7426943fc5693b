import type { Readable } from 'node:stream';
import type { Digest } from '../digest.js';
import type { Descriptor } from './manifest.js';
import type { FetchedManifest } from './source.js';

/**
 * Where `mirror` writes one repository: a registry's (registry/push.ts) or an OCI image layout's
 * (registry/layout-writer.ts). The counterpart of ContentSource. Content handed to it is already
 * verified on its way (a blob's stream ends in an IntegrityError before it ends otherwise); a
 * target never completes a blob whose stream failed.
 */
export interface Target {
  /** For messages: `host/repository` or `oci-layout://DIR (repository)`. */
  readonly name: string;
  /** Blobs shared across repositories of one target: the registry's host, the layout's directory. */
  readonly store: string;
  readonly repo: string;
  hasManifest(digest: Digest): Promise<boolean>;
  hasBlob(blob: Pick<Descriptor, 'digest' | 'size'>): Promise<boolean>;
  /** Make a blob of another repository of the same store this repository's without copying it; false when it cannot. */
  mountBlob(blob: Pick<Descriptor, 'digest' | 'size'>, fromRepo: string): Promise<boolean>;
  /** Upload a blob from a stream opened for each try (`open` may be called again after a failed try). */
  writeBlob(blob: Pick<Descriptor, 'digest' | 'size'>, open: () => Promise<Readable>): Promise<void>;
  /**
   * Put a manifest's exact bytes under its digest, or under `tag` (which then points at it).
   * Resolves to whether the target indexed a `subject` itself (the OCI-Subject answer of a registry
   * with the referrers API); when not, the caller keeps the referrers fallback index.
   */
  putManifest(m: { digest: Digest; mediaType: string; bytes: Uint8Array }, tag?: string): Promise<{ subjectIndexed: boolean }>;
  /** The digest a tag points at now, or undefined when there is no such tag. */
  tagDigest(tag: string): Promise<Digest | undefined>;
  /** A manifest by tag or digest, or undefined when there is none (to merge a referrers fallback index). */
  readManifest(reference: string): Promise<FetchedManifest | undefined>;
  /** Keep a manifest that no tag names (a held release) from being collected: a layout lists it in index.json. */
  keep?(m: { digest: Digest; mediaType: string; size: number }): void;
}
