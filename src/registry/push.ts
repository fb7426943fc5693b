/**
 * Writing to a registry (distribution-spec "Push"), for `mirror`: presence checks (HEAD), a
 * cross-repository mount, blob uploads streamed in one PUT after the POST that opens the session
 * (monolithic), or in PATCH chunks when the registry refuses that, and manifests put with their
 * exact bytes. Every request carries the `pull,push` scope, so the token is right before a body
 * is sent.
 */
import type { Readable } from 'node:stream';
import { isDigest, type Digest } from '../digest.js';
import { IntegrityError, RegistryError } from '../errors.js';
import { quoteUntrusted } from '../safe/text.js';
import type { TransportRequest } from '../transport/index.js';
import { registryErrorCode, type RegistryClient } from './client.js';
import type { HttpResponse } from './http.js';
import { MANIFEST_ACCEPT, type Descriptor } from './manifest.js';
import type { FetchedManifest } from './source.js';
import type { Target } from './target.js';

const ERROR_BODY = 64 * 1024;
/** A PATCH chunk when the registry names no minimum: small enough for a proxy's body limit, large enough to be few. */
const CHUNK = 4 * 1024 * 1024;
/** Answers to a one-PUT upload that mean "not like this": send the blob in chunks instead. */
const REFUSES_MONOLITHIC = new Set([400, 405, 411, 413, 416, 501]);

type Blob = Pick<Descriptor, 'digest' | 'size'>;

export class RegistryTarget implements Target {
  readonly store: string;
  readonly name: string;
  private readonly scope: string;

  constructor(
    private readonly client: RegistryClient,
    readonly registry: string,
    readonly repo: string,
  ) {
    this.store = registry;
    this.name = `${registry}/${repo}`;
    this.scope = `repository:${repo}:pull,push`;
  }

  private send(req: Omit<TransportRequest, 'deadline'>, scope = this.scope): Promise<HttpResponse> {
    return this.client.send(this.registry, this.repo, { maxBytes: ERROR_BODY, ...req }, scope);
  }

  private fail(res: HttpResponse, what: string): RegistryError {
    const code = registryErrorCode(res);
    return new RegistryError(`registry ${this.registry}: ${what} in ${this.repo} failed (HTTP ${res.status}${code ? ` ${code}` : ''})`, {
      registry: this.registry,
      status: res.status,
      code,
    });
  }

  private async exists(path: string, what: string, accept?: string): Promise<boolean> {
    const res = await this.send({ method: 'HEAD', url: path, ...(accept ? { headers: { accept } } : {}) });
    if (res.status === 200) return true;
    if (res.status === 404) return false;
    throw this.fail(res, `checking ${what}`);
  }

  hasManifest(digest: Digest): Promise<boolean> {
    return this.exists(`/v2/${this.repo}/manifests/${digest}`, `manifest ${digest}`, MANIFEST_ACCEPT);
  }

  hasBlob(blob: Blob): Promise<boolean> {
    return this.exists(`/v2/${this.repo}/blobs/${blob.digest}`, `blob ${blob.digest}`);
  }

  async mountBlob(blob: Blob, fromRepo: string): Promise<boolean> {
    const q = new URLSearchParams({ mount: blob.digest, from: fromRepo });
    const res = await this.send(
      { method: 'POST', url: `/v2/${this.repo}/blobs/uploads/?${q}`, idempotent: true },
      `${this.scope} repository:${fromRepo}:pull`,
    );
    // 201: mounted. 202: the registry opened an upload session instead (left to expire).
    if (res.status === 201) return true;
    if (res.status === 202 || res.status === 404 || res.status === 405) return false;
    throw this.fail(res, `mounting blob ${blob.digest} from ${fromRepo}`);
  }

  async writeBlob(blob: Blob, open: () => Promise<Readable>): Promise<void> {
    const session = await this.startUpload(blob);
    // Opened before the PUT, so a source failure is the source's, not a failure to send.
    const opened: Readable[] = [await open()];
    let sends = 0;
    let res: HttpResponse;
    try {
      res = await this.send({
        method: 'PUT',
        url: withDigest(session.location, blob.digest),
        headers: { 'content-type': 'application/octet-stream' },
        body: {
          // The stream opened above for the first send; a fresh one for a resend (an auth round trip).
          open: async () => {
            if (sends++ === 0) return opened[0]!;
            const again = await open();
            opened.push(again);
            return again;
          },
          length: blob.size,
        },
        streamBytes: blob.size,
        idempotent: false,
      });
    } finally {
      // A registry that answers before reading the body (413) leaves the source's stream open: let it go.
      for (const s of opened) s.destroy();
    }
    if (res.status === 201 || res.status === 204) return this.checkDigest(res, blob.digest);
    if (!REFUSES_MONOLITHIC.has(res.status) || registryErrorCode(res) === 'DIGEST_INVALID')
      throw this.fail(res, `uploading blob ${blob.digest}`);
    await this.writeChunked(blob, await open());
  }

  private async startUpload(blob: Blob): Promise<{ location: string; minChunk: number }> {
    const res = await this.send({ method: 'POST', url: `/v2/${this.repo}/blobs/uploads/`, idempotent: true });
    if (res.status !== 202 || !res.headers.location) throw this.fail(res, `starting the upload of blob ${blob.digest}`);
    const min = Number(res.headers['oci-chunk-min-length']);
    return { location: this.absolute(res.headers.location), minChunk: Number.isSafeInteger(min) && min > 0 ? min : 0 };
  }

  /** An upload's Location, absolute (registries send either; relative ones resolve against the API). */
  private absolute(location: string): string {
    try {
      return new URL(location, this.client.baseUrl(this.registry)).toString();
    } catch {
      throw new RegistryError(`registry ${this.registry}: an upload Location ${quoteUntrusted(location)} is not a URL`, {
        registry: this.registry,
      });
    }
  }

  /** PATCH the blob in chunks of at least the registry's minimum, then PUT the digest to close it. */
  private async writeChunked(blob: Blob, stream: Readable): Promise<void> {
    const session = await this.startUpload(blob);
    let location = session.location;
    const size = Math.max(CHUNK, session.minChunk);
    let offset = 0;
    let parts: Buffer[] = [];
    let held = 0;
    const flush = async () => {
      const body = Buffer.concat(parts);
      parts = [];
      held = 0;
      const res = await this.send({
        method: 'PATCH',
        url: location,
        headers: { 'content-type': 'application/octet-stream', 'content-range': `${offset}-${offset + body.length - 1}` },
        body,
        streamBytes: body.length,
        idempotent: false,
      });
      if (res.status !== 202 || !res.headers.location) throw this.fail(res, `uploading a chunk of blob ${blob.digest}`);
      location = this.absolute(res.headers.location);
      offset += body.length;
    };
    try {
      for await (const chunk of stream) {
        parts.push(chunk as Buffer);
        held += (chunk as Buffer).length;
        if (held >= size) await flush();
      }
    } finally {
      stream.destroy();
    }
    if (held > 0) await flush();
    const res = await this.send({ method: 'PUT', url: withDigest(location, blob.digest), idempotent: false });
    if (res.status !== 201 && res.status !== 204) throw this.fail(res, `finishing the upload of blob ${blob.digest}`);
    this.checkDigest(res, blob.digest);
  }

  private checkDigest(res: HttpResponse, digest: Digest): void {
    const said = res.headers['docker-content-digest'];
    if (said && said !== digest)
      throw new IntegrityError(
        `registry ${this.registry}: ${this.repo} stored ${digest} as ${quoteUntrusted(said, 80)}; refusing to go on`,
      );
  }

  async putManifest(m: { digest: Digest; mediaType: string; bytes: Uint8Array }, tag?: string): Promise<{ subjectIndexed: boolean }> {
    const res = await this.send({
      method: 'PUT',
      url: `/v2/${this.repo}/manifests/${tag ?? m.digest}`,
      headers: { 'content-type': m.mediaType },
      body: m.bytes,
    });
    if (res.status !== 201 && res.status !== 200 && res.status !== 204) throw this.fail(res, `putting manifest ${tag ?? m.digest}`);
    this.checkDigest(res, m.digest);
    return { subjectIndexed: Boolean(res.headers['oci-subject']) };
  }

  async tagDigest(tag: string): Promise<Digest | undefined> {
    const res = await this.send({ method: 'HEAD', url: `/v2/${this.repo}/manifests/${tag}`, headers: { accept: MANIFEST_ACCEPT } });
    if (res.status === 404) return undefined;
    if (res.status !== 200) throw this.fail(res, `checking tag ${tag}`);
    const said = res.headers['docker-content-digest'];
    return isDigest(said) ? said : (await this.readManifest(tag))?.digest;
  }

  async readManifest(reference: string): Promise<FetchedManifest | undefined> {
    try {
      return await this.client.source(this.registry).fetchManifest(this.repo, reference);
    } catch (e) {
      if (e instanceof RegistryError && e.status === 404) return undefined;
      throw e;
    }
  }
}

/** An upload URL with `digest=` added, its other query parameters (distribution's `_state`) kept. */
function withDigest(location: string, digest: Digest): string {
  const url = new URL(location);
  url.searchParams.append('digest', digest);
  return url.toString();
}
