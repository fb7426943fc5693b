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

/** Bearer tokens cached per realm, service and scope set, until shortly before they expire. */
export class TokenCache {
  private readonly tokens = new Map<string, CachedToken>();
  private readonly pending = new Map<string, Promise<string>>();

  constructor(private readonly now: () => number = Date.now) {}

  static key(realm: string, service: string | undefined, scopes: readonly string[]): string {
    return [realm, service ?? '', ...[...scopes].sort()].join('\u0000');
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

/** Read a token endpoint's JSON answer: `token` and/or `access_token`, `expires_in` (default 60 s). */
export function parseTokenResponse(body: unknown): { token: string; expiresIn: number } | undefined {
  if (!body || typeof body !== 'object') return undefined;
  const b = body as Record<string, unknown>;
  const token = typeof b.token === 'string' && b.token ? b.token : typeof b.access_token === 'string' && b.access_token ? b.access_token : undefined;
  if (!token) return undefined;
  const expiresIn = typeof b.expires_in === 'number' && b.expires_in > 0 ? b.expires_in : 60;
  return { token, expiresIn };
}
