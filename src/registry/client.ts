import { pipeline, type Readable } from 'node:stream';
import pLimit, { type LimitFunction } from 'p-limit';
import { computeDigest, digestAlgorithm, digestProblem, isDigest, type Digest } from '../digest.js';
import { IntegrityError, RegistryError } from '../errors.js';
import type { RegistrySettings } from '../config/types.js';
import { isLoopbackHost, isTag, registryApiHost, registryKey } from '../reference.js';
import { Authenticator } from './authenticator.js';
import { DigestCheck } from './digest-stream.js';
import { credentialStore, type CredentialStore } from './credentials.js';
import { Http, DEFAULT_POLICY, type HttpPolicy, type HttpResponse } from './http.js';
import type { Connections } from '../transport/connections.js';
import type { RegistryTrust } from '../transport/trust.js';
import { discard } from '../transport/types.js';
import type { Transport, TransportRequest } from '../transport/index.js';
import { LIMITS } from '../safe/limits.js';
import { asArray, asObject, parseJsonBytes, ShapeError } from '../safe/json.js';
import { quoteUntrusted } from '../safe/text.js';
import { own } from '../safe/dict.js';
import { bareMediaType, MANIFEST_ACCEPT, ManifestError, MediaType, parseManifest, type Descriptor } from './manifest.js';
import type { ContentSource, FetchedManifest } from './source.js';

export interface ClientOptions {
  registries?: Record<string, RegistrySettings>;
  credentials?: CredentialStore;
  /** TLS trust from the spec (`registries.<host>.ca`, `clientCert`, `clientKey`), keyed by registryKey(). */
  trust?: Record<string, RegistryTrust>;
  /** The environment credentials are looked up in (Docker and Podman config locations, LG_PINS_REGISTRY_AUTH); default process.env. */
  env?: NodeJS.ProcessEnv;
  policy?: Partial<HttpPolicy>;
  /** Connection pools to send through (TLS trust, client certificates, proxies); the client makes its own when absent, and closes only those. */
  connections?: Partial<Connections>;
  /** Parallel requests per registry when the spec sets none. */
  defaultConcurrency?: number;
  /** Called for each HTTP exchange (method, URL, status); never given headers, so no secret can leak. */
  onRequest?: (event: { method: string; url: string; status: number }) => void;
}

export const MANIFEST_LIMIT = LIMITS.manifestBytes;
const BLOB_LIMIT = LIMITS.blobBytes;
/** An error answer's body, read for its error code only. */
const ERROR_BODY_LIMIT = 64 * 1024;
/** A registry error code (distribution-spec: uppercase letters and underscores). */
const ERROR_CODE_RE = /^[A-Z][A-Z0-9_]{0,63}$/;

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
  private readonly bases = new Map<string, string>();

  constructor(private readonly opts: ClientOptions = {}) {
    this.http = new Http({ ...DEFAULT_POLICY, ...opts.policy }, undefined, opts.connections, { env: opts.env, registries: opts.trust });
    this.auth = new Authenticator(
      this.http,
      opts.credentials ?? credentialStore(opts.env ?? process.env, { helperTimeoutMs: { ...DEFAULT_POLICY, ...opts.policy }.timeoutMs }),
      (r) => this.baseUrl(r),
      opts.onRequest,
    );
  }

  close(): Promise<void> {
    return this.http.close();
  }

  source(registry: string): ContentSource {
    return new RemoteSource(this, registry);
  }

  /** `http[s]://host[:port]` of a registry's API (once per registry: it is asked for on every request). */
  baseUrl(registry: string): string {
    let url = this.bases.get(registry);
    if (url === undefined) {
      const settings = own(this.opts.registries, registryKey(registry));
      const insecure = settings?.insecure ?? isLoopbackHost(registry);
      this.bases.set(registry, (url = `${insecure ? 'http' : 'https'}://${registryApiHost(registry)}`));
    }
    return url;
  }

  private limit(registry: string): LimitFunction {
    let l = this.limits.get(registry);
    if (!l) {
      l = pLimit(own(this.opts.registries, registryKey(registry))?.concurrency ?? this.opts.defaultConcurrency ?? 8);
      this.limits.set(registry, l);
    }
    return l;
  }

  /** An authenticated request to the registry API, deduplicated while in flight. */
  request(
    registry: string,
    repo: string,
    path: string,
    init: { method?: 'GET' | 'HEAD'; accept?: string; maxBytes?: number },
  ): Promise<HttpResponse> {
    const url = `${this.baseUrl(registry)}${path}`;
    const key = `${init.method ?? 'GET'} ${url} ${init.accept ?? ''}`;
    let p = this.inflight.get(key);
    if (!p) {
      const req: TransportRequest = {
        method: init.method ?? 'GET',
        url,
        headers: init.accept ? { accept: init.accept } : {},
        maxBytes: init.maxBytes,
      };
      p = this.limit(registry)(() => this.authorized(registry, repo, req)).finally(() => this.inflight.delete(key));
      this.inflight.set(key, p);
    }
    return p;
  }

  /**
   * A request that writes (an upload, a manifest) or streams a blob: never shared with another, sent
   * with the scope it needs (`repository:<repo>:pull,push`, plus `repository:<from>:pull` to mount).
   * `url` is a registry path or an absolute URL the registry gave (an upload's Location): credentials
   * go only to the registry's own origin.
   */
  send(registry: string, repo: string, req: Omit<TransportRequest, 'deadline'>, scope?: string): Promise<HttpResponse> {
    const url = req.url.startsWith('/') ? `${this.baseUrl(registry)}${req.url}` : req.url;
    return this.limit(registry)(() => this.authorized(registry, repo, { ...req, url }, scope));
  }

  private async authorized(registry: string, repo: string, req: TransportRequest, scope?: string): Promise<HttpResponse> {
    // A registry that could not be reached once this run is not asked again: the run fails fast.
    const down = this.down.get(registry);
    if (down) throw down;
    // Credentials go only to the registry's own origin (an upload Location may name another).
    const base = this.baseUrl(registry);
    const sameOrigin = req.url.startsWith(`${base}/`) || new URL(req.url).origin === new URL(base).origin;
    const send = sameOrigin ? this.auth.layer(registry, repo, scope)(this.observed(registry)) : this.observed(registry);
    const res = await send(req);
    if (res.status === 401 || res.status === 403) {
      discard(res);
      const creds = await this.auth.credentials(registry, repo);
      const what = scope?.includes('push') ? `pushing to ${repo}` : `access to ${repo}`;
      throw new RegistryError(
        `registry ${registry}: ${what} denied (HTTP ${res.status})${creds ? `; check the credentials for it${creds.source ? ` in ${creds.source}` : ''}` : '; no credentials found for it (docker login, $DOCKER_CONFIG/config.json, or LG_PINS_REGISTRY_AUTH)'}`,
        { registry, status: res.status },
      );
    }
    return res;
  }

  /**
   * The registry's stack as this client sends through it: each exchange reported to onRequest
   * (method, URL, status: never a header), and a registry that could not be reached remembered.
   */
  private observed(registry: string): Transport {
    const next = this.http.to(registry);
    return async (req) => {
      try {
        const res = await next(req);
        this.opts.onRequest?.({ method: req.method, url: shownUrl(req.method, req.url), status: res.status });
        return res;
      } catch (e) {
        // Only after every try of a request that may be repeated: one upload that timed out (it is
        // not tried again here; `mirror` starts its blob over) does not make the registry down.
        if (e instanceof RegistryError && e.unreachable && req.idempotent !== false) this.down.set(registry, e);
        throw e;
      }
    };
  }
}

/**
 * The registry's own error code when its body is the JSON error shape and the code is one (upper
 * case letters, digits and underscores); anything else a registry sends there is never shown.
 */
export function registryErrorCode(res: HttpResponse): string | undefined {
  const json = parseJsonBytes(res.bytes);
  if (!json.ok || !json.value || typeof json.value !== 'object') return undefined;
  const errors = (json.value as { errors?: unknown }).errors;
  const code: unknown =
    Array.isArray(errors) && errors[0] && typeof errors[0] === 'object' ? (errors[0] as { code?: unknown }).code : undefined;
  return typeof code === 'string' && ERROR_CODE_RE.test(code) ? code : undefined;
}

/** The ContentSource for one remote registry. */
class RemoteSource implements ContentSource {
  constructor(
    private readonly client: RegistryClient,
    readonly name: string,
  ) {}

  async fetchManifest(repo: string, reference: string): Promise<FetchedManifest> {
    const res = await this.client.request(this.name, repo, `/v2/${repo}/manifests/${reference}`, {
      accept: MANIFEST_ACCEPT,
      maxBytes: MANIFEST_LIMIT,
    });
    this.expectOk(res, repo, reference, 'manifest');
    const byDigest = isDigest(reference);
    const alg = byDigest ? digestAlgorithm(reference) : 'sha256';
    const digest = computeDigest(res.bytes, alg);
    if (byDigest && digest !== reference) {
      throw new IntegrityError(
        `${this.name}/${repo}@${reference}: the registry served content that hashes to ${digest}; refusing to pin it`,
      );
    }
    checkContentDigest(res, digest, `${this.name}/${repo}${byDigest ? '@' : ':'}${reference}`);
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
    const res = await this.client.request(this.name, repo, `/v2/${repo}/referrers/${digest}`, {
      accept: MediaType.ociIndex,
      maxBytes: MANIFEST_LIMIT,
    });
    // A registry without the API answers 404 (distribution 2.8: a plain-text router 404).
    if (res.status === 404) return undefined;
    this.expectOk(res, repo, digest, 'referrers');
    try {
      const m = parseManifest(res.bytes, res.headers['content-type']);
      return m.kind === 'index' ? m.manifests : [];
    } catch (e) {
      if (!(e instanceof ManifestError)) throw e;
      throw new IntegrityError(`${this.name}/${repo}: the referrers of ${digest} are not an index: ${e.message}`);
    }
  }

  async fetchBlob(repo: string, digest: Digest, expected?: { size: number }): Promise<Uint8Array> {
    const res = await this.client.request(this.name, repo, `/v2/${repo}/blobs/${digest}`, { maxBytes: BLOB_LIMIT });
    this.expectOk(res, repo, digest, 'blob');
    // A blob of another size than its descriptor says cannot hash to its digest: integrity (exit 4), not a network error.
    if (expected && res.bytes.length !== expected.size) {
      throw new IntegrityError(
        `${this.name}/${repo}: blob ${digest} is ${res.bytes.length} bytes, its descriptor says ${expected.size}; refusing it`,
      );
    }
    const actual = computeDigest(res.bytes, digestAlgorithm(digest));
    if (actual !== digest) throw new IntegrityError(`${this.name}/${repo}: blob ${digest} hashes to ${actual}; refusing it`);
    return res.bytes;
  }

  async openBlob(repo: string, expected: { digest: Digest; size: number }, onBytes?: (n: number) => void): Promise<Readable> {
    const res = await this.client.send(this.name, repo, {
      method: 'GET',
      url: `/v2/${repo}/blobs/${expected.digest}`,
      stream: true,
      streamBytes: expected.size,
      maxBytes: ERROR_BODY_LIMIT,
    });
    if (!res.stream) this.expectOk(res, repo, expected.digest, 'blob');
    const stream = res.stream!;
    const declared = Number(res.headers['content-length'] ?? NaN);
    if (Number.isFinite(declared) && declared !== expected.size) {
      discard(res);
      throw new IntegrityError(
        `${this.name}/${repo}: blob ${expected.digest} is ${declared} bytes, its descriptor says ${expected.size}; refusing it`,
      );
    }
    return pipeline(stream, new DigestCheck(expected, `${this.name}/${repo}`, onBytes), () => {});
  }

  /**
   * Every tag, following `Link: <…>; rel="next"` pages (relative to the page that sent them) to the
   * end, bounded in pages, tags and bytes. Entries that are not valid tags are skipped.
   */
  async listTags(repo: string): Promise<string[]> {
    const tags = new Set<string>();
    const seen = new Set<string>();
    let bytes = 0;
    let path: string | undefined = `/v2/${repo}/tags/list?n=1000`;
    const giveUp = (why: string) =>
      new RegistryError(`registry ${this.name}: the tag list of ${repo} ${why}; giving up`, { registry: this.name });
    for (let page = 0; path; page++) {
      if (page >= LIMITS.tagPages) throw giveUp(`has more than ${LIMITS.tagPages} pages`);
      if (seen.has(path)) throw giveUp(`loops (its Link header points back to ${path})`);
      seen.add(path);
      const res = await this.client.request(this.name, repo, path, { maxBytes: Math.min(MANIFEST_LIMIT * 4, LIMITS.tagListBytes - bytes) });
      this.expectOk(res, repo, 'tags/list', 'tag list');
      bytes += res.bytes.length;
      const json = parseJsonBytes(res.bytes);
      if (!json.ok)
        throw new RegistryError(`registry ${this.name}: the tag list of ${repo} is not JSON (HTTP ${res.status})`, {
          registry: this.name,
          status: res.status,
        });
      let list: unknown[];
      try {
        const body = asObject(json.value, 'the tag list');
        list = body.tags === null || body.tags === undefined ? [] : asArray(body.tags, 'tags');
      } catch (e) {
        if (!(e instanceof ShapeError)) throw e;
        throw new RegistryError(`registry ${this.name}: ${repo}: ${e.message}`, { registry: this.name, status: res.status });
      }
      // One at a time: spreading a huge page into push() would overflow the stack.
      for (const t of list) {
        // Anything that is not a tag a registry could hold is skipped.
        if (!isTag(t)) continue;
        tags.add(t);
        if (tags.size > LIMITS.tags) throw giveUp(`has more than ${LIMITS.tags} tags`);
      }
      const next = /<([^>]+)>\s*;\s*rel="?next"?/i.exec(res.headers.link ?? '')?.[1];
      // RFC 8288: a relative target resolves against the URL of the page that carried it.
      let url: URL | undefined;
      try {
        url = next ? new URL(next, `${this.client.baseUrl(this.name)}${path}`) : undefined;
      } catch {
        throw giveUp('has a Link header that is not a URL');
      }
      // Only its path is followed, on this registry: a Link never takes the credentials elsewhere.
      path = url ? `${url.pathname}${url.search}` : undefined;
      if (path !== undefined && bytes >= LIMITS.tagListBytes) throw giveUp(`is larger than ${LIMITS.tagListBytes / 1024 / 1024} MiB`);
    }
    return [...tags];
  }

  private expectOk(res: HttpResponse, repo: string, reference: string, what: string): void {
    if (res.status === 200) return;
    const code = registryErrorCode(res);
    const status = `HTTP ${res.status}${code ? ` ${code}` : ''}`;
    if (res.status === 404) {
      const thing = what === 'manifest' && !isDigest(reference) ? `tag ${quoteUntrusted(reference)}` : `${what} ${reference}`;
      throw new RegistryError(`${thing} not found in ${this.name}/${repo} (${status})`, { registry: this.name, status: res.status, code });
    }
    throw new RegistryError(`registry ${this.name}: ${what} ${repo}:${reference} failed (${status})`, {
      registry: this.name,
      status: res.status,
      code,
    });
  }
}

/**
 * A Docker-Content-Digest must agree with the body, whatever algorithm it names: sha256 and sha512
 * are computed and compared; a header that claims one of them but is malformed is refused too.
 * Other algorithms (not registered by OCI) cannot be checked and are ignored: lg-pins pins the
 * digest it computed, never the header.
 */
function checkContentDigest(res: HttpResponse, computed: Digest, what: string): void {
  const dcd = res.headers['docker-content-digest']?.trim();
  if (!dcd) return;
  const alg = dcd.slice(0, Math.max(dcd.indexOf(':'), 0));
  if (alg !== 'sha256' && alg !== 'sha512') return;
  const problem = digestProblem(dcd);
  if (problem)
    throw new IntegrityError(`${what}: the registry's Docker-Content-Digest ${quoteUntrusted(dcd, 80)} is ${problem}; refusing the answer`);
  const body = alg === digestAlgorithm(computed) ? computed : computeDigest(res.bytes, alg);
  if (body !== dcd)
    throw new IntegrityError(`${what}: Docker-Content-Digest says ${dcd} but the body hashes to ${body}; refusing to pin it`);
}

/**
 * A URL as --verbose shows it: an upload session's query (distribution's signed `_state`; on cloud
 * registries a pre-signed storage URL) is a capability to write, so it is shown as `?…`.
 */
function shownUrl(method: string, url: string): string {
  const q = url.indexOf('?');
  const session = method === 'PUT' || method === 'PATCH' || (url.includes('/blobs/uploads/') && !/[?&]mount=/.test(url));
  return q >= 0 && session ? `${url.slice(0, q)}?…` : url;
}
