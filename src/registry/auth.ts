/** An auth challenge from `WWW-Authenticate` (RFC 7235 / RFC 6750). */
export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/**
 * Parse every challenge in a WWW-Authenticate header. Quoted values may hold commas and
 * escaped quotes; the scheme is case-insensitive; several challenges may follow each other.
 */
export function parseChallenges(header: string): Challenge[] {
  const out: Challenge[] = [];
  let i = 0;
  const s = header;
  const skip = (re: RegExp) => {
    while (i < s.length && re.test(s[i]!)) i++;
  };
  const token = () => {
    const start = i;
    while (i < s.length && /[!#$%&'*+.^_`|~0-9A-Za-z-]/.test(s[i]!)) i++;
    return s.slice(start, i);
  };
  let current: Challenge | undefined;
  while (i < s.length) {
    skip(/[\s,]/);
    const start = i;
    const name = token();
    if (!name) {
      i++;
      continue;
    }
    skip(/\s/);
    if (s[i] === '=' && current) {
      i++;
      skip(/\s/);
      let value = '';
      if (s[i] === '"') {
        i++;
        while (i < s.length && s[i] !== '"') {
          if (s[i] === '\\' && i + 1 < s.length) i++;
          value += s[i];
          i++;
        }
        i++;
      } else {
        // Unquoted: a token by the RFC, but be lenient (some servers send bare URLs) and read to the next comma or space.
        const start2 = i;
        while (i < s.length && !/[\s,]/.test(s[i]!)) i++;
        value = s.slice(start2, i);
      }
      current.params[name.toLowerCase()] = value;
    } else {
      i = start + name.length;
      current = { scheme: name.toLowerCase(), params: {} };
      out.push(current);
    }
  }
  return out;
}

interface CachedToken {
  token: string;
  expires: number;
}

/** What a token is for: the registry it is sent to, the credentials it was obtained with, and the challenge. */
export interface TokenScope {
  /** The registry API's origin (scheme, host and port) the token will be sent to. */
  origin: string;
  /** A fingerprint of the credentials used at the realm (never the credentials), or '' for anonymous. */
  credentials: string;
  realm: string;
  service: string | undefined;
  scopes: readonly string[];
}

/**
 * Bearer tokens cached per registry origin, credentials, realm, service and scope set, until
 * shortly before they expire. Keying by origin and credentials means a token is only ever sent to
 * the registry it was obtained for: a hostile registry that names another registry's realm,
 * service and scope in its challenge gets a token of its own, never the other registry's.
 */
export class TokenCache {
  private readonly tokens = new Map<string, CachedToken>();
  private readonly pending = new Map<string, Promise<string>>();

  constructor(private readonly now: () => number = Date.now) {}

  static key(t: TokenScope): string {
    return JSON.stringify([t.origin, t.credentials, t.realm, t.service ?? '', [...t.scopes].sort()]);
  }

  /** A cached token, or the one `fetch` returns (one request per key at a time). */
  async get(key: string, fetch: () => Promise<{ token: string; expiresIn: number }>): Promise<string> {
    const hit = this.tokens.get(key);
    if (hit && hit.expires > this.now()) return hit.token;
    let p = this.pending.get(key);
    if (!p) {
      p = fetch()
        .then(({ token, expiresIn }) => {
          // Refresh 10 s early (or at half-life for very short tokens) so a request never carries a stale one.
          const margin = Math.min(10, expiresIn / 2) * 1000;
          this.tokens.set(key, { token, expires: this.now() + expiresIn * 1000 - margin });
          return token;
        })
        .finally(() => this.pending.delete(key));
      this.pending.set(key, p);
    }
    return p;
  }

  invalidate(key: string): void {
    this.tokens.delete(key);
  }
}

/** A token must be visible ASCII (RFC 6750 b64token and JWTs are): anything else cannot go in a header. */
const TOKEN_RE = /^[\x21-\x7e]{1,16384}$/;
/** Longest lifetime believed; a token server cannot pin a token in the cache for longer. */
const MAX_EXPIRES_IN = 24 * 60 * 60;

/** Read a token endpoint's JSON answer: `token` and/or `access_token`, `expires_in` (default 60 s). */
export function parseTokenResponse(body: unknown): { token: string; expiresIn: number } | undefined {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return undefined;
  const b = body as Record<string, unknown>;
  const usable = (v: unknown): v is string => typeof v === 'string' && TOKEN_RE.test(v);
  const token = usable(b.token) ? b.token : usable(b.access_token) ? b.access_token : undefined;
  if (!token) return undefined;
  const expiresIn = typeof b.expires_in === 'number' && b.expires_in > 0 ? Math.min(b.expires_in, MAX_EXPIRES_IN) : 60;
  return { token, expiresIn };
}
