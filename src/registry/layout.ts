import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { computeDigest, digestAlgorithm, isDigest, type Digest } from '../digest.js';
import { IntegrityError, RegistryError } from '../errors.js';
import { parseDescriptor, type Descriptor } from './manifest.js';
import type { ContentSource, FetchedManifest } from './source.js';

const REF_NAME = 'org.opencontainers.image.ref.name';

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
      let raw: unknown;
      try {
        raw = JSON.parse(await readFile(file, 'utf8'));
      } catch (e) {
        throw new RegistryError(`${this.name}: cannot read index.json: ${(e as Error).message}`, { registry: this.name, cause: e });
      }
      const manifests = (raw as { manifests?: unknown }).manifests;
      if (!Array.isArray(manifests)) throw new RegistryError(`${this.name}: index.json has no "manifests" array`, { registry: this.name });
      return manifests.map((d, i) => parseDescriptor(d, `index.json manifests[${i}]`));
    })();
    return this.index;
  }

  private static tagOf(d: Descriptor, repo: string): string | undefined {
    const name = d.annotations?.[REF_NAME];
    if (!name) return undefined;
    const colon = name.lastIndexOf(':');
    const slash = name.lastIndexOf('/');
    if (colon > slash && colon > 0) {
      const r = name.slice(0, colon);
      // `repo:tag`: it belongs to `repo` (or, with no repo asked for, to the single unnamed repository).
      return repo && (r === repo || r.endsWith(`/${repo}`)) ? name.slice(colon + 1) : undefined;
    }
    return repo ? undefined : name;
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
      throw new RegistryError(`tag ${JSON.stringify(reference)} not found in ${this.name}${repo ? ` (repository ${repo})` : ''}`, { registry: this.name, status: 404 });
    }
    const bytes = await this.readBlob(entry.digest, entry.size);
    return { bytes, digest: entry.digest, contentType: entry.mediaType };
  }

  /** The digest index.json names for a tag, without reading any blob. */
  async headManifest(repo: string, tag: string): Promise<Digest | undefined> {
    const entry = (await this.entries()).find((d) => LayoutSource.tagOf(d, repo) === tag);
    if (!entry) throw new RegistryError(`tag ${JSON.stringify(tag)} not found in ${this.name}${repo ? ` (repository ${repo})` : ''}`, { registry: this.name, status: 404 });
    return entry.digest;
  }

  fetchBlob(_repo: string, digest: Digest, expected?: { size: number }): Promise<Uint8Array> {
    return this.readBlob(digest, expected?.size);
  }

  private async readBlob(digest: Digest, size?: number): Promise<Uint8Array> {
    const alg = digestAlgorithm(digest);
    const path = join(this.dir, 'blobs', alg, digest.slice(alg.length + 1));
    let bytes: Uint8Array;
    try {
      bytes = await readFile(path);
    } catch (e) {
      throw new RegistryError(`${this.name}: blob ${digest} is missing (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, { registry: this.name, status: 404, cause: e });
    }
    if (size !== undefined && bytes.length !== size) {
      throw new IntegrityError(`${this.name}: blob ${digest} is ${bytes.length} bytes, its descriptor says ${size}`);
    }
    const actual = computeDigest(bytes, alg);
    if (actual !== digest) throw new IntegrityError(`${this.name}: blob ${digest} hashes to ${actual}; the layout is corrupt`);
    return bytes;
  }
}
