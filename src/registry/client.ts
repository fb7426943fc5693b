import pLimit, { type LimitFunction } from 'p-limit';
import { computeDigest, digestAlgorithm, isDigest, type Digest } from '../digest.js';
import { IntegrityError, RegistryError } from '../errors.js';
import type { RegistrySettings } from '../config/types.js';
import { isLoopbackHost, registryApiHost } from '../reference.js';
import { Authenticator } from './authenticator.js';
import { credentialStore, type CredentialStore } from './credentials.js';
import { Http, DEFAULT_POLICY, type HttpPolicy, type HttpResponse } from './http.js';
import { bareMediaType, MANIFEST_ACCEPT, MediaType, parseManifest, type Descriptor } from './manifest.js';
import type { ContentSource, FetchedManifest } from './source.js';

export interface ClientOptions {
  registries?: Record<string, RegistrySettings>;
  credentials?: CredentialStore;
  policy?: Partial<HttpPolicy>;
  /** Parallel requests per registry when the spec sets none. */
  defaultConcurrency?: number;
  /** Called for each HTTP exchange (method, URL, status); never given headers, so no secret can leak. */
  onRequest?: (event: { method: string; url: string; status: number }) => void;
}

export const MANIFEST_LIMIT = 4 * 1024 * 1024;
const BLOB_LIMIT = 16 * 1024 * 1024;
const MAX_TAG_PAGES = 1000;

/**
 * One client per run: the HTTP policy, a p-limit per registry, one in-flight request per URL,
 * and a token cache per realm and scope. `source(host)` gives a ContentSource for one registry.
 */
export class RegistryClient {
  private readonly http: Http;
  private readonly limits = new Map<string, LimitFunction>();
  private readonly inflight = new Map<string, Promise<HttpResponse>>();
  private readonly auth: Authenticator;
  private readonly down = new Map<string, RegistryError>();

  constructor(private readonly opts: ClientOptions = {}) {
    this.http = new Http({ ...DEFAULT_POLICY, ...opts.policy });
    this.auth = new Authenticator(this.http, opts.credentials ?? credentialStore(), (r) => this.baseUrl(r).startsWith('http:'), opts.onRequest);
  }

  close(): Promise<void> {
    return this.http.close();
  }

  source(registry: string): ContentSource {
    return new RemoteSource(this, registry);
  }

  baseUrl(registry: string): string {
    const settings = this.opts.registries?.[registry];
    const insecure = settings?.insecure ?? isLoopbackHost(registry);
    return `${insecure ? 'http' : 'https'}://${registryApiHost(registry)}`;
  }

  private limit(registry: string): LimitFunction {
    let l = this.limits.get(registry);
    if (!l) {
      l = pLimit(this.opts.registries?.[registry]?.concurrency ?? this.opts.defaultConcurrency ?? 8);
      this.limits.set(registry, l);
    }
    return l;
  }

  /** An authenticated request to the registry API, deduplicated while in flight. */
  request(registry: string, repo: string, path: string, init: { method?: 'GET' | 'HEAD'; accept?: string; maxBytes?: number }): Promise<HttpResponse> {
    const url = `${this.baseUrl(registry)}${path}`;
    const key = `${init.method ?? 'GET'} ${url} ${init.accept ?? ''}`;
    let p = this.inflight.get(key);
    if (!p) {
      p = this.limit(registry)(() => this.authorized(registry, repo, url, init)).finally(() => this.inflight.delete(key));
      this.inflight.set(key, p);
    }
    return p;
  }

  private async authorized(registry: string, repo: string, url: string, init: { method?: 'GET' | 'HEAD'; accept?: string; maxBytes?: number }): Promise<HttpResponse> {
    // A registry that could not be reached once this run is not asked again: the run fails fast.
    const down = this.down.get(registry);
    if (down) throw down;
    const send = async (authorization?: string) => {
      const headers: Record<string, string> = {};
      if (init.accept) headers.accept = init.accept;
      if (authorization) headers.authorization = authorization;
      try {
        const res = await this.http.send(url, { method: init.method ?? 'GET', headers, maxBytes: init.maxBytes, registry });
        this.opts.onRequest?.({ method: init.method ?? 'GET', url, status: res.status });
        return res;
      } catch (e) {
        if (e instanceof RegistryError && e.unreachable) this.down.set(registry, e);
        throw e;
      }
    };
    let sent = await this.auth.header(registry, repo, `repository:${repo}:pull`);
    let res = await send(sent);
    for (let attempt = 0; res.status === 401 && attempt < 2; attempt++) {
      const next = await this.auth.answer(registry, repo, res, sent, attempt);
      if (next === undefined) break;
      sent = next;
      res = await send(sent);
    }
    if (res.status === 401 || res.status === 403) {
      const creds = await this.auth.credentials(registry, repo);
      throw new RegistryError(
        `registry ${registry}: access to ${repo} denied (HTTP ${res.status})${creds ? `; check the credentials for it${creds.source ? ` in ${creds.source}` : ''}` : '; no credentials found for it (docker login, $DOCKER_CONFIG/config.json, or LG_PINS_REGISTRY_AUTH)'}`,
        { registry, status: res.status },
      );
    }
    return res;
  }
}

/** Registry errors carry the registry's own error code when its body is the JSON error shape. */
export function registryErrorCode(res: HttpResponse): string | undefined {
  try {
    const body = JSON.parse(Buffer.from(res.bytes).toString('utf8')) as { errors?: Array<{ code?: string }> };
    return body.errors?.[0]?.code;
  } catch {
    return undefined;
  }
}

/** The ContentSource for one remote registry. */
class RemoteSource implements ContentSource {
  constructor(
    private readonly client: RegistryClient,
    readonly name: string,
  ) {}

  async fetchManifest(repo: string, reference: string): Promise<FetchedManifest> {
    const res = await this.client.request(this.name, repo, `/v2/${repo}/manifests/${reference}`, { accept: MANIFEST_ACCEPT, maxBytes: MANIFEST_LIMIT });
    this.expectOk(res, repo, reference, 'manifest');
    const byDigest = isDigest(reference);
    const alg = byDigest ? digestAlgorithm(reference) : 'sha256';
    const digest = computeDigest(res.bytes, alg);
    if (byDigest && digest !== reference) {
      throw new IntegrityError(`${this.name}/${repo}@${reference}: the registry served content that hashes to ${digest}; refusing to pin it`);
    }
    const dcd = res.headers['docker-content-digest'];
    if (dcd && isDigest(dcd) && digestAlgorithm(dcd) === alg && dcd !== digest) {
      throw new IntegrityError(`${this.name}/${repo}:${reference}: Docker-Content-Digest says ${dcd} but the body hashes to ${digest}; refusing to pin it`);
    }
    return { bytes: res.bytes, digest, contentType: bareMediaType(res.headers['content-type']) };
  }

  async headManifest(repo: string, tag: string): Promise<Digest | undefined> {
    const res = await this.client.request(this.name, repo, `/v2/${repo}/manifests/${tag}`, { method: 'HEAD', accept: MANIFEST_ACCEPT });
    if (res.status !== 200) {
      // A missing tag is the same failure as on GET; anything else (405, 5xx after retries): ask with GET.
      if (res.status === 404) this.expectOk(res, repo, tag, 'manifest');
      return undefined;
    }
    const dcd = res.headers['docker-content-digest'];
    return dcd && isDigest(dcd) ? dcd : undefined;
  }

  async referrers(repo: string, digest: Digest): Promise<Descriptor[] | undefined> {
    const res = await this.client.request(this.name, repo, `/v2/${repo}/referrers/${digest}`, { accept: MediaType.ociIndex, maxBytes: MANIFEST_LIMIT });
    // A registry without the API answers 404 (distribution 2.8: a plain-text router 404).
    if (res.status === 404) return undefined;
    this.expectOk(res, repo, digest, 'referrers');
    try {
      const m = parseManifest(res.bytes, res.headers['content-type']);
      return m.kind === 'index' ? m.manifests : [];
    } catch (e) {
      throw new IntegrityError(`${this.name}/${repo}: the referrers of ${digest} are not an index: ${(e as Error).message}`);
    }
  }

  async fetchBlob(repo: string, digest: Digest, expected?: { size: number }): Promise<Uint8Array> {
    const res = await this.client.request(this.name, repo, `/v2/${repo}/blobs/${digest}`, { maxBytes: BLOB_LIMIT });
    this.expectOk(res, repo, digest, 'blob');
    // A blob of another size than its descriptor says cannot hash to its digest: integrity (exit 4), not a network error.
    if (expected && res.bytes.length !== expected.size) {
      throw new IntegrityError(`${this.name}/${repo}: blob ${digest} is ${res.bytes.length} bytes, its descriptor says ${expected.size}; refusing it`);
    }
    const actual = computeDigest(res.bytes, digestAlgorithm(digest));
    if (actual !== digest) throw new IntegrityError(`${this.name}/${repo}: blob ${digest} hashes to ${actual}; refusing it`);
    return res.bytes;
  }

  /** Every tag, following `Link: <…>; rel="next"` pages (relative to the page that sent them) to the end. */
  async listTags(repo: string): Promise<string[]> {
    const tags: string[] = [];
    const seen = new Set<string>();
    let path: string | undefined = `/v2/${repo}/tags/list?n=1000`;
    for (let page = 0; path; page++) {
      if (page >= MAX_TAG_PAGES) throw new RegistryError(`registry ${this.name}: tag list of ${repo} has more than ${MAX_TAG_PAGES} pages; giving up`, { registry: this.name });
      if (seen.has(path)) throw new RegistryError(`registry ${this.name}: the tag list of ${repo} loops (its Link header points back to ${path}); giving up`, { registry: this.name });
      seen.add(path);
      const res = await this.client.request(this.name, repo, path, { maxBytes: MANIFEST_LIMIT });
      this.expectOk(res, repo, 'tags/list', 'tag list');
      let body: { tags?: unknown };
      try {
        body = JSON.parse(Buffer.from(res.bytes).toString('utf8')) as { tags?: unknown };
      } catch {
        throw new RegistryError(`registry ${this.name}: the tag list of ${repo} is not JSON (HTTP ${res.status})`, { registry: this.name, status: res.status });
      }
      if (Array.isArray(body.tags)) tags.push(...body.tags.filter((t): t is string => typeof t === 'string'));
      const next = /<([^>]+)>\s*;\s*rel="?next"?/i.exec(res.headers.link ?? '')?.[1];
      // RFC 8288: a relative target resolves against the URL of the page that carried it.
      const url: URL | undefined = next ? new URL(next, `${this.client.baseUrl(this.name)}${path}`) : undefined;
      path = url ? `${url.pathname}${url.search}` : undefined;
    }
    return [...new Set(tags)];
  }

  private expectOk(res: HttpResponse, repo: string, reference: string, what: string): void {
    if (res.status === 200) return;
    const code = registryErrorCode(res);
    const status = `HTTP ${res.status}${code ? ` ${code}` : ''}`;
    if (res.status === 404) {
      const thing = what === 'manifest' && !isDigest(reference) ? `tag ${JSON.stringify(reference)}` : `${what} ${reference}`;
      throw new RegistryError(`${thing} not found in ${this.name}/${repo} (${status})`, { registry: this.name, status: res.status });
    }
    throw new RegistryError(`registry ${this.name}: ${what} ${repo}:${reference} failed (${status})`, { registry: this.name, status: res.status });
  }
}
