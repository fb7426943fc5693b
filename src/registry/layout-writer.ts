/**
 * Writing an OCI image layout (image-spec `image-layout.md`), for `mirror --to oci-layout://DIR`:
 * every blob and manifest under `blobs/<alg>/<hex>`, written to a temporary file beside it and
 * renamed into place once its stream ended without error (so a blob file is always whole), and
 * `index.json` written once at the end (`commit()`), with an entry per tag named
 * `<repository path>:<tag>` and one per held release by digest. Entries of other repositories or
 * tools already in index.json are kept as they are.
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { computeDigest, digestAlgorithm, isDigest, type Digest } from '../digest.js';
import { RegistryError } from '../errors.js';
import { parseJsonBytes } from '../safe/json.js';
import { layoutBlobPath, REF_NAME } from './layout.js';
import type { Descriptor } from './manifest.js';
import type { FetchedManifest } from './source.js';
import type { Target } from './target.js';

/** On an entry kept by digest (a held release): the repository it belongs to. */
export const REPOSITORY_ANNOTATION = 'dev.lg-pins.repository';
const INDEX_MEDIA_TYPE = 'application/vnd.oci.image.index.v1+json';

interface Entry {
  mediaType: string;
  digest: Digest;
  size: number;
  annotations: Record<string, string>;
}

/** One layout directory for a run: a Target per repository, index.json written by commit(). */
export class LayoutWriter {
  private readonly added = new Map<string, Entry>();
  private existing?: Promise<unknown[]>;

  constructor(readonly dir: string) {}

  get name(): string {
    return `oci-layout://${this.dir}`;
  }

  forRepo(repo: string): Target {
    return new LayoutTarget(this, repo);
  }

  blobPath(digest: Digest): string {
    return layoutBlobPath(this.dir, digest);
  }

  /** index.json's entries as they are on disk (none for a new layout). */
  entries(): Promise<unknown[]> {
    this.existing ??= (async () => {
      let bytes: Buffer;
      try {
        bytes = await readFile(join(this.dir, 'index.json'));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
        throw this.failure(`index.json cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'})`, e);
      }
      const json = parseJsonBytes(bytes);
      const manifests =
        json.ok && json.value && typeof json.value === 'object' ? (json.value as { manifests?: unknown }).manifests : undefined;
      if (!Array.isArray(manifests)) throw this.failure('index.json is not an OCI image index; refusing to rewrite it');
      return manifests;
    })();
    return this.existing;
  }

  failure(message: string, cause?: unknown): RegistryError {
    return new RegistryError(`${this.name}: ${message}`, { registry: this.name, cause });
  }

  /** What `tag` of `repo` names: an entry of this run, else one already in index.json. */
  async tagged(repo: string, tag: string): Promise<Digest | undefined> {
    const name = `${repo}:${tag}`;
    const mine = this.added.get(`ref ${name}`);
    if (mine) return mine.digest;
    for (const e of await this.entries()) {
      const a = (e as { annotations?: Record<string, unknown>; digest?: unknown }).annotations;
      if (a?.[REF_NAME] === name) return (e as { digest: Digest }).digest;
    }
    return undefined;
  }

  add(entry: Entry): void {
    const ref = entry.annotations[REF_NAME];
    this.added.set(ref ? `ref ${ref}` : `digest ${entry.annotations[REPOSITORY_ANNOTATION]}@${entry.digest}`, entry);
  }

  /** Write `oci-layout` and index.json (to a temporary file, then renamed), this run's entries replacing their names. */
  async commit(): Promise<void> {
    if (!this.added.size) return;
    await mkdir(this.dir, { recursive: true });
    const replaced = new Set([...this.added.keys()]);
    const kept = (await this.entries()).filter((e) => {
      const a = (e as { annotations?: Record<string, unknown> }).annotations ?? {};
      const ref = a[REF_NAME];
      const key =
        typeof ref === 'string' ? `ref ${ref}` : `digest ${String(a[REPOSITORY_ANNOTATION])}@${String((e as { digest?: unknown }).digest)}`;
      return !replaced.has(key);
    });
    const mine = [...this.added.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, e]) => e);
    const index = { schemaVersion: 2, mediaType: INDEX_MEDIA_TYPE, manifests: [...kept, ...mine] };
    await writeAtomically(join(this.dir, 'oci-layout'), `${JSON.stringify({ imageLayoutVersion: '1.0.0' })}\n`);
    await writeAtomically(join(this.dir, 'index.json'), `${JSON.stringify(index, null, 2)}\n`);
  }
}

async function writeAtomically(file: string, content: string | Uint8Array): Promise<void> {
  const tmp = `${file}.tmp-${randomBytes(6).toString('hex')}`;
  try {
    await writeFile(tmp, content, { flush: true });
    await rename(tmp, file);
  } catch (e) {
    await unlink(tmp).catch(() => {});
    throw e;
  }
}

class LayoutTarget implements Target {
  readonly store: string;
  readonly name: string;

  constructor(
    private readonly layout: LayoutWriter,
    readonly repo: string,
  ) {
    this.store = `layout ${layout.dir}`;
    this.name = `${layout.name} (${repo})`;
  }

  private async present(digest: Digest, size?: number): Promise<boolean> {
    try {
      const s = await stat(this.layout.blobPath(digest));
      return s.isFile() && (size === undefined || s.size === size);
    } catch {
      return false;
    }
  }

  hasManifest(digest: Digest): Promise<boolean> {
    return this.present(digest);
  }

  hasBlob(blob: Pick<Descriptor, 'digest' | 'size'>): Promise<boolean> {
    return this.present(blob.digest, blob.size);
  }

  /** One blob store for every repository of the layout: there is nothing to mount. */
  mountBlob(blob: Pick<Descriptor, 'digest' | 'size'>): Promise<boolean> {
    return this.present(blob.digest, blob.size);
  }

  async writeBlob(blob: Pick<Descriptor, 'digest' | 'size'>, open: () => Promise<Readable>): Promise<void> {
    const path = this.layout.blobPath(blob.digest);
    await mkdir(join(path, '..'), { recursive: true });
    const tmp = `${path}.tmp-${randomBytes(6).toString('hex')}`;
    try {
      await pipeline(await open(), createWriteStream(tmp, { flush: true }));
      await rename(tmp, path);
    } catch (e) {
      await unlink(tmp).catch(() => {});
      throw e;
    }
  }

  async putManifest(m: { digest: Digest; mediaType: string; bytes: Uint8Array }, tag?: string): Promise<{ subjectIndexed: boolean }> {
    const path = this.layout.blobPath(m.digest);
    if (!(await this.present(m.digest, m.bytes.length))) {
      await mkdir(join(path, '..'), { recursive: true });
      await writeAtomically(path, m.bytes);
    }
    if (tag)
      this.layout.add({
        mediaType: m.mediaType,
        digest: m.digest,
        size: m.bytes.length,
        annotations: { [REF_NAME]: `${this.repo}:${tag}` },
      });
    return { subjectIndexed: false };
  }

  /** A held release, kept by digest: an index.json entry without a tag, naming its repository. */
  keep(m: { digest: Digest; mediaType: string; size: number }): void {
    this.layout.add({ ...m, annotations: { [REPOSITORY_ANNOTATION]: this.repo } });
  }

  tagDigest(tag: string): Promise<Digest | undefined> {
    return this.layout.tagged(this.repo, tag);
  }

  async readManifest(reference: string): Promise<FetchedManifest | undefined> {
    const digest = isDigest(reference) ? reference : await this.tagDigest(reference);
    if (!digest) return undefined;
    try {
      const bytes = new Uint8Array(await readFile(this.layout.blobPath(digest)));
      // A file that is not what its name says is as good as absent: it is written again.
      return computeDigest(bytes, digestAlgorithm(digest)) === digest ? { bytes, digest, contentType: '' } : undefined;
    } catch {
      return undefined;
    }
  }
}
