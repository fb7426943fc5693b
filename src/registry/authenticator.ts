import { createHash } from 'node:crypto';
import { RegistryError } from '../errors.js';
import { isLoopbackHost } from '../reference.js';
import { parseJsonBytes } from '../safe/json.js';
import { LIMITS } from '../safe/limits.js';
import { quoteUntrusted } from '../safe/text.js';
import { parseChallenges, parseTokenResponse, TokenCache } from './auth.js';
import type { CredentialStore, Credentials } from './credentials.js';
import type { Layer } from '../transport/index.js';
import type { Http, HttpResponse } from './http.js';

type AuthState = { scheme: 'none' } | { scheme: 'basic' } | { scheme: 'bearer'; realm: string; service?: string };

/**
 * Per-registry authentication for one run: what scheme each registry asked for, credentials
 * looked up once per registry and repository, and Bearer tokens cached per registry origin,
 * credentials, realm and scope (see TokenCache). It builds `Authorization` values; it never logs
 * or returns them anywhere else.
 */
export class Authenticator {
  private readonly state = new Map<string, AuthState>();
  private readonly tokens = new TokenCache();
  private readonly found = new Map<string, Promise<Credentials | undefined>>();

  constructor(
    private readonly http: Http,
    private readonly store: CredentialStore,
    /** The registry API's base URL (`https://host[:port]`), whose origin tokens are keyed by. */
    private readonly baseUrl: (registry: string) => string,
    private readonly onRequest?: (e: { method: string; url: string; status: number }) => void,
  ) {}

  credentials(registry: string, repo: string): Promise<Credentials | undefined> {
    const key = `${registry}\u0000${repo}`;
    let p = this.found.get(key);
    if (!p) this.found.set(key, (p = this.store(registry, repo)));
    return p;
  }

  /**
   * The auth layer for one repository, over the registry's stack: a request goes out with the
   * Authorization the registry asked for before (none at first); a 401 is answered from its
   * challenge (a token for the scope it names, or Basic credentials) and the request sent again,
   * at most twice. Any other answer, or a 401 nothing can answer, is handed back as it is.
   * `scope` is what the request needs (`repository:<repo>:pull,push` to write), so that a token
   * good enough is asked for before a body is sent.
   */
  layer(registry: string, repo: string, scope = `repository:${repo}:pull`): Layer {
    return (next) => async (req) => {
      const send = (authorization: string | undefined) =>
        next(authorization ? { ...req, headers: { ...req.headers, authorization } } : req);
      let sent = await this.header(registry, repo, scope);
      let res = await send(sent);
      for (let attempt = 0; res.status === 401 && attempt < 2; attempt++) {
        const again = await this.answer(registry, repo, res, sent, attempt);
        if (again === undefined) break;
        sent = again;
        res = await send(sent);
      }
      return res;
    };
  }

  /** The Authorization value to send now, from what the registry asked for before. */
  async header(registry: string, repo: string, scope: string, fresh = false): Promise<string | undefined> {
    const state = this.state.get(registry) ?? { scheme: 'none' };
    if (state.scheme === 'none') return undefined;
    const creds = await this.credentials(registry, repo);
    if (state.scheme === 'basic') return creds && (creds.username || creds.password) ? basic(creds) : undefined;
    const scopes = scope.split(' ').filter(Boolean);
    const key = TokenCache.key({
      origin: new URL(this.baseUrl(registry)).origin,
      credentials: fingerprint(creds),
      realm: state.realm,
      service: state.service,
      scopes,
    });
    if (fresh) this.tokens.invalidate(key);
    return `Bearer ${await this.tokens.get(key, () => this.fetchToken(registry, state, scopes, creds))}`;
  }

  /**
   * Learn from a 401: the Authorization to retry with, or undefined when a retry cannot help.
   * `sent` is what this request carried (a concurrent request may have changed the state since).
   */
  async answer(registry: string, repo: string, res: HttpResponse, sent: string | undefined, attempt: number): Promise<string | undefined> {
    const header = res.headers['www-authenticate'];
    const challenges = header ? parseChallenges(header) : [];
    const bearer = challenges.find((c) => c.scheme === 'bearer' && c.params.realm);
    if (bearer) {
      this.state.set(registry, {
        scheme: 'bearer',
        realm: bearer.params.realm!,
        ...(bearer.params.service ? { service: bearer.params.service } : {}),
      });
      return this.header(
        registry,
        repo,
        bearer.params.scope ?? `repository:${repo}:pull`,
        attempt > 0 || bearer.params.error === 'invalid_token',
      );
    }
    const creds = await this.credentials(registry, repo);
    if (challenges.some((c) => c.scheme === 'basic') && creds && !sent?.startsWith('Basic ')) {
      this.state.set(registry, { scheme: 'basic' });
      return this.header(registry, repo, '');
    }
    return undefined;
  }

  private async fetchToken(registry: string, state: { realm: string; service?: string }, scopes: string[], creds?: Credentials) {
    let realm: URL;
    try {
      realm = new URL(state.realm);
    } catch {
      throw new RegistryError(`registry ${registry}: its token realm ${quoteUntrusted(state.realm)} is not a URL`, { registry });
    }
    // Credentials in a realm URL (https://user:pass@host/) are the registry's text, never sent.
    realm.username = '';
    realm.password = '';
    // Credentials go to an HTTPS realm only (plain HTTP is accepted for insecure or loopback registries).
    const insecure = this.baseUrl(registry).startsWith('http:');
    if (realm.protocol !== 'https:' && !(realm.protocol === 'http:' && (insecure || isLoopbackHost(realm.host)))) {
      throw new RegistryError(`registry ${registry}: refusing to send credentials to a non-HTTPS token realm ${realm.origin}`, {
        registry,
      });
    }
    // The realm is trusted as its registry is (the same CA, the same client certificate).
    this.http.trustRealmAs(realm.host, new URL(this.baseUrl(registry)).host);
    const where = `${realm.origin}${realm.pathname}`;
    let res: HttpResponse | undefined;
    if (creds?.identityToken) {
      // OAuth2 refresh-token grant (Docker's identitytoken); registries without it answer 404.
      const form = new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: creds.identityToken,
        client_id: 'lg-pins',
        access_type: 'offline',
      });
      if (state.service) form.set('service', state.service);
      if (scopes.length) form.set('scope', scopes.join(' '));
      res = await this.http.send(where, {
        method: 'POST',
        body: form.toString(),
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        registry,
        maxBytes: LIMITS.tokenBytes,
        sensitive: 'token server',
      });
      this.onRequest?.({ method: 'POST', url: where, status: res.status });
      if (res.status === 404 || res.status === 405) res = undefined;
    }
    if (!res) {
      if (state.service) realm.searchParams.set('service', state.service);
      for (const s of scopes) realm.searchParams.append('scope', s);
      const headers: Record<string, string> = {};
      if (creds && (creds.username || creds.password)) headers.authorization = basic(creds);
      // Anonymous token requests carry nothing to protect and follow redirects like any other.
      res = await this.http.send(realm.toString(), {
        headers,
        registry,
        maxBytes: LIMITS.tokenBytes,
        ...(headers.authorization ? { sensitive: 'token server' } : {}),
      });
      this.onRequest?.({ method: 'GET', url: where, status: res.status });
    }
    if (res.status !== 200) {
      const hint =
        res.status === 401 || res.status === 403
          ? ` (check the credentials for this registry${creds?.source ? ` in ${creds.source}` : ''})`
          : '';
      throw new RegistryError(`registry ${registry}: token server ${realm.origin} answered HTTP ${res.status}${hint}`, {
        registry,
        status: res.status,
      });
    }
    const json = parseJsonBytes(res.bytes);
    const parsed = json.ok ? parseTokenResponse(json.value) : undefined;
    if (!parsed)
      throw new RegistryError(
        `registry ${registry}: token server ${realm.origin} sent no token${json.ok ? '' : ' (its answer is not JSON)'}`,
        { registry, status: res.status },
      );
    return parsed;
  }
}

/** Which credentials a token was obtained with, as a one-way fingerprint ('' when anonymous). */
function fingerprint(c: Credentials | undefined): string {
  if (!c || (!c.username && !c.password && !c.identityToken)) return '';
  return createHash('sha256')
    .update(JSON.stringify([c.username, c.password, c.identityToken ?? '']))
    .digest('hex');
}

function basic(c: Credentials): string {
  return `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`;
}
