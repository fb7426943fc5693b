import { existsSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { pipeline, type Readable } from 'node:stream';
import { dirname, join, relative } from 'node:path';
import { computeDigest, digestAlgorithm, isDigest, type Digest } from '../digest.js';
import { IntegrityError, RegistryError } from '../errors.js';
import { FileReadError, readBounded } from '../safe/files.js';
import { parseJsonBytes } from '../safe/json.js';
import { LIMITS } from '../safe/limits.js';
import { quoteUntrusted } from '../safe/text.js';
import { isTag } from '../reference.js';
import { ManifestError, parseDescriptor, unquoted, type Descriptor } from './manifest.js';
import { DigestCheck } from './digest-stream.js';
import type { ContentSource, FetchedManifest } from './source.js';

export const REF_NAME = 'org.opencontainers.image.ref.name';

/** Where an OCI image layout keeps a blob (and a manifest): `blobs/<alg>/<encoded>`. */
export function layoutBlobPath(dir: string, digest: Digest): string {
  const alg = digestAlgorithm(digest);
  return join(dir, 'blobs', alg, digest.slice(alg.length + 1));
}

/**
 * Where a layout path lives on disk: the layout directory is the longest prefix of `full` that
 * holds an `oci-layout` file; the rest names a repository in it. The problem, when there is none.
 */
export function locateLayout(full: string): { kind: 'layout'; dir: string; repo?: string } | string {
  let dir = full;
  for (;;) {
    if (existsSync(join(dir, 'oci-layout')) && statSync(dir).isDirectory()) break;
    const up = dirname(dir);
    if (up === dir) return `no OCI image layout found at ${full} (a layout directory holds an "oci-layout" file and index.json)`;
    dir = up;
  }
  const repo = relative(dir, full).split('\\').join('/');
  return repo ? { kind: 'layout', dir, repo } : { kind: 'layout', dir };
}

/**
 * An OCI image layout on disk (`oci-layout://dir[/repo]`), read-only. Tags are the
 * `org.opencontainers.image.ref.name` annotations of index.json: either a bare tag (`v3.1.0`)
 * or `repo:tag` when one layout holds several repositories. Every blob is hash-checked.
 */
export class LayoutSource implements ContentSource {
  private index?: Promise<Descriptor[]>;

  constructor(readonly dir: string) {}

  get name(): string {
    return `oci-layout://${this.dir}`;
  }

  private entries(): Promise<Descriptor[]> {
    this.index ??= (async () => {
      const file = join(this.dir, 'index.json');
      // Bounded, regular files only, and never quoted: index.json may be a symlink to anything.
      const bytes = await this.read(file, LIMITS.layoutIndexBytes, 'an OCI layout index.json');
      const json = parseJsonBytes(bytes);
      if (!json.ok)
        throw new RegistryError(`${this.name}: index.json is not valid JSON (line ${json.line}, column ${json.column}: ${json.problem})`, {
          registry: this.name,
        });
      const manifests = json.value && typeof json.value === 'object' ? (json.value as { manifests?: unknown }).manifests : undefined;
      if (!Array.isArray(manifests)) throw new RegistryError(`${this.name}: index.json has no "manifests" array`, { registry: this.name });
      try {
        return manifests.map((d, i) => parseDescriptor(d, `index.json manifests[${i}]`, unquoted));
      } catch (e) {
        if (e instanceof ManifestError) throw new RegistryError(`${this.name}: ${e.message}`, { registry: this.name, cause: e });
        throw e;
      }
    })();
    return this.index;
  }

  /** A layout file, bounded and regular; any refusal is a source failure (exit 3) naming the file. */
  private async read(file: string, maxBytes: number, what: string): Promise<Buffer> {
    try {
      return await readBounded(file, maxBytes, what);
    } catch (e) {
      if (!(e instanceof FileReadError)) throw e;
      throw new RegistryError(`${this.name}: ${e.message}`, {
        registry: this.name,
        status: e.reason === 'missing' ? 404 : undefined,
        cause: e,
      });
    }
  }

  private static tagOf(d: Descriptor, repo: string): string | undefined {
    const name = d.annotations?.[REF_NAME];
    if (!name) return undefined;
    const colon = name.lastIndexOf(':');
    const slash = name.lastIndexOf('/');
    let tag: string | undefined;
    if (colon > slash && colon > 0) {
      const r = name.slice(0, colon);
      // `repo:tag`: it belongs to `repo` (or, with no repo asked for, to the single unnamed repository).
      tag = repo && (r === repo || r.endsWith(`/${repo}`)) ? name.slice(colon + 1) : undefined;
    } else {
      tag = repo ? undefined : name;
    }
    return isTag(tag) ? tag : undefined;
  }

  async listTags(repo: string): Promise<string[]> {
    const tags = (await this.entries()).map((d) => LayoutSource.tagOf(d, repo)).filter((t): t is string => t !== undefined);
    return [...new Set(tags)];
  }

  async fetchManifest(repo: string, reference: string): Promise<FetchedManifest> {
    if (isDigest(reference)) {
      const bytes = await this.readBlob(reference);
      return { bytes, digest: reference, contentType: '' };
    }
    const entry = (await this.entries()).find((d) => LayoutSource.tagOf(d, repo) === reference);
    if (!entry) {
      throw new RegistryError(`tag ${quoteUntrusted(reference)} not found in ${this.name}${repo ? ` (repository ${repo})` : ''}`, {
        registry: this.name,
        status: 404,
      });
    }
    const bytes = await this.readBlob(entry.digest, entry.size);
    return { bytes, digest: entry.digest, contentType: entry.mediaType };
  }

  /** The digest index.json names for a tag, without reading any blob. */
  async headManifest(repo: string, tag: string): Promise<Digest | undefined> {
    const entry = (await this.entries()).find((d) => LayoutSource.tagOf(d, repo) === tag);
    if (!entry)
      throw new RegistryError(`tag ${quoteUntrusted(tag)} not found in ${this.name}${repo ? ` (repository ${repo})` : ''}`, {
        registry: this.name,
        status: 404,
      });
    return entry.digest;
  }

  fetchBlob(_repo: string, digest: Digest, expected?: { size: number }): Promise<Uint8Array> {
    return this.readBlob(digest, expected?.size);
  }

  async openBlob(_repo: string, expected: { digest: Digest; size: number }, onBytes?: (n: number) => void): Promise<Readable> {
    const path = this.blobPath(expected.digest);
    const handle = await open(path, 'r').catch((e: unknown) => {
      throw new RegistryError(`${this.name}: blob ${expected.digest} cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'})`, {
        registry: this.name,
        status: (e as NodeJS.ErrnoException).code === 'ENOENT' ? 404 : undefined,
        cause: e,
      });
    });
    const info = await handle.stat();
    if (!info.isFile()) {
      await handle.close();
      throw new RegistryError(`${this.name}: blob ${expected.digest} is not a regular file`, { registry: this.name });
    }
    return pipeline(handle.createReadStream(), new DigestCheck(expected, this.name, onBytes), () => {});
  }

  private blobPath(digest: Digest): string {
    return layoutBlobPath(this.dir, digest);
  }

  private async readBlob(digest: Digest, size?: number): Promise<Uint8Array> {
    const alg = digestAlgorithm(digest);
    const path = this.blobPath(digest);
    // With a descriptor, never more than it says (a larger file cannot hash to its digest anyway).
    const bytes = await this.read(path, size ?? LIMITS.blobBytes, `blob ${digest}`).catch((e: unknown) => {
      if (e instanceof RegistryError && e.cause instanceof FileReadError && e.cause.reason === 'too-large' && size !== undefined) {
        throw new IntegrityError(`${this.name}: blob ${digest} is larger than its descriptor's ${size} bytes`);
      }
      throw e;
    });
    if (size !== undefined && bytes.length !== size) {
      throw new IntegrityError(`${this.name}: blob ${digest} is ${bytes.length} bytes, its descriptor says ${size}`);
    }
    const actual = computeDigest(bytes, alg);
    if (actual !== digest) throw new IntegrityError(`${this.name}: blob ${digest} hashes to ${actual}; the layout is corrupt`);
    return bytes;
  }
}
