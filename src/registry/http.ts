import http from 'node:http';
import https from 'node:https';
import { Agent, request, type Dispatcher } from 'undici';
import { DeadlineError, RegistryError } from '../errors.js';
import { LIMITS, formatBytes } from '../safe/limits.js';
import { USER_AGENT } from '../version.js';

export interface HttpResponse {
  status: number;
  headers: Record<string, string>;
  /** Empty for HEAD. */
  bytes: Uint8Array;
  /** Final URL after redirects. */
  url: string;
}

export interface HttpOptions {
  method?: 'GET' | 'HEAD' | 'POST';
  headers?: Record<string, string>;
  body?: string;
  /** Refuse bodies larger than this, before reading them whole. */
  maxBytes?: number;
  /** For messages. */
  registry: string;
  /**
   * Set (to a name for messages, e.g. "token server") on requests that carry credentials beyond
   * an Authorization header: a refresh token in the body, Basic credentials for a token realm. A
   * redirect to another origin is then refused (exit 3) rather than followed.
   */
  sensitive?: string;
}

export interface HttpPolicy {
  /** Deadline for one try of a request, headers and body together, in ms. */
  timeoutMs: number;
  /** Attempts for 429, 5xx and connection failures. */
  attempts: number;
  /** Cap on one Retry-After wait, in ms. */
  maxRetryAfterMs: number;
  /** Base backoff, in ms (doubled each attempt, with jitter). */
  backoffMs: number;
}

export const DEFAULT_POLICY: HttpPolicy = { timeoutMs: 10_000, attempts: 3, maxRetryAfterMs: 10_000, backoffMs: 250 };

/** Where a redirect may lead, and whether the Authorization header may go along. */
export type RedirectDecision = { url: URL; keepAuthorization: boolean } | { refused: string };

/**
 * The redirect policy. Credentials belong to one origin (scheme, host and port): an Authorization
 * header is dropped on a redirect to another origin, and a request that carries credentials any
 * other way (a token request) is not followed off its origin at all. Userinfo in a Location is
 * never sent, and only http and https are followed.
 */
export function redirectTarget(from: URL, location: string, sensitive?: string): RedirectDecision {
  let url: URL;
  try {
    url = new URL(location, from);
  } catch {
    return { refused: `${from.origin} sent a redirect to an invalid URL` };
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return { refused: `${from.origin} redirected to a ${url.protocol} URL; only http and https are followed` };
  url.username = '';
  url.password = '';
  if (url.origin === from.origin) return { url, keepAuthorization: true };
  if (sensitive) return { refused: `${sensitive} ${from.origin} redirected to another origin (${url.origin}); lg-pins never sends credentials across origins` };
  return { url, keepAuthorization: false };
}

/**
 * HTTP for registries: keep-alive connection pool, timeouts, bounded retries with backoff,
 * redirects followed by hand so that `Authorization` never crosses to another host, and
 * bodies read with a size cap.
 */
export class Http {
  readonly agent: Dispatcher;
  private readonly headAgents = { http: new http.Agent({ keepAlive: true }), https: new https.Agent({ keepAlive: true }) };

  constructor(
    readonly policy: HttpPolicy = DEFAULT_POLICY,
    private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
  ) {
    this.agent = new Agent({
      keepAliveTimeout: 30_000,
      headersTimeout: policy.timeoutMs,
      bodyTimeout: policy.timeoutMs,
      connect: { timeout: policy.timeoutMs },
    });
  }

  async close(): Promise<void> {
    this.headAgents.http.destroy();
    this.headAgents.https.destroy();
    await this.agent.close();
  }

  /**
   * HEAD through node:http with its own keep-alive pool. undici closes the connection after a HEAD
   * unless the server says `Connection: keep-alive`, which Go registries do not: a warm relock of
   * N tags would open N connections (N TLS handshakes) instead of reusing a few.
   */
  private head(url: URL, headers: Record<string, string>, signal: AbortSignal): Promise<{ statusCode: number; headers: Record<string, string | string[] | undefined>; body: { dump(): Promise<void> } }> {
    return new Promise((resolve, reject) => {
      const lib = url.protocol === 'https:' ? https : http;
      const req = lib.request(url, { method: 'HEAD', headers, agent: url.protocol === 'https:' ? this.headAgents.https : this.headAgents.http });
      const onAbort = () => {
        req.destroy();
        reject(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      req.on('error', (e) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      });
      req.on('response', (res) => {
        signal.removeEventListener('abort', onAbort);
        res.resume();
        resolve({ statusCode: res.statusCode ?? 0, headers: res.headers, body: { dump: async () => {} } });
      });
      req.end();
    });
  }

  /** One logical request: retried on 429, 5xx and connection failures; redirects followed. */
  async send(url: string, opts: HttpOptions): Promise<HttpResponse> {
    let lastError: unknown;
    for (let attempt = 1; ; attempt++) {
      try {
        const res = await this.follow(url, opts);
        if ((res.status === 429 || res.status >= 500) && attempt < this.policy.attempts) {
          await this.sleep(this.delay(attempt, res.headers['retry-after']));
          continue;
        }
        return res;
      } catch (e) {
        if (e instanceof RegistryError) throw e;
        lastError = e;
        if (attempt >= this.policy.attempts) break;
        await this.sleep(this.delay(attempt));
      }
    }
    throw new RegistryError(`cannot reach registry ${opts.registry}: ${describeNetworkError(lastError)}`, { registry: opts.registry, unreachable: true, cause: lastError });
  }

  private delay(attempt: number, retryAfter?: string): number {
    if (retryAfter) {
      const secs = Number(retryAfter);
      const ms = Number.isFinite(secs) ? secs * 1000 : Date.parse(retryAfter) - Date.now();
      if (Number.isFinite(ms)) return Math.min(Math.max(ms, 0), this.policy.maxRetryAfterMs);
    }
    const base = this.policy.backoffMs * 2 ** (attempt - 1);
    return base / 2 + Math.random() * base;
  }

  private async follow(url: string, opts: HttpOptions): Promise<HttpResponse> {
    let current = new URL(url);
    current.username = '';
    current.password = '';
    const headers: Record<string, string> = { 'user-agent': USER_AGENT, ...opts.headers };
    let method = opts.method ?? 'GET';
    let body = opts.body;
    // One deadline for the whole try: headers, every redirect and the whole body. An idle timer
    // re-armed per chunk would let a registry trickle a byte a second forever. (undici's own
    // timeouts run on a coarse ~1 s timer, so a native timer holds this one.)
    const abort = new AbortController();
    let reading = false;
    const timer = setTimeout(() => abort.abort(new DeadlineError(this.policy.timeoutMs, reading)), this.policy.timeoutMs);
    try {
      for (let hop = 0; ; hop++) {
        reading = false;
        const res =
          method === 'HEAD'
            ? await this.head(current, headers, abort.signal)
            : await request(current, { method, headers, body, dispatcher: this.agent, signal: abort.signal });
        const h = flatHeaders(res.headers);
        reading = true;
        if (res.statusCode >= 300 && res.statusCode < 400 && h.location) {
          await res.body.dump();
          if (hop >= LIMITS.redirects) throw new RegistryError(`registry ${opts.registry}: more than ${LIMITS.redirects} redirects from ${new URL(url).origin}`, { registry: opts.registry, status: res.statusCode });
          const next = redirectTarget(current, h.location, opts.sensitive);
          if ('refused' in next) throw new RegistryError(`registry ${opts.registry}: ${next.refused}`, { registry: opts.registry, status: res.statusCode });
          if (!next.keepAuthorization) delete headers.authorization;
          // 301/302/303 turn a POST into a body-less GET (as browsers and curl do); 307/308 keep both.
          if (method === 'POST' && res.statusCode !== 307 && res.statusCode !== 308) {
            method = 'GET';
            body = undefined;
            delete headers['content-type'];
          }
          current = next.url;
          continue;
        }
        const bytes = method === 'HEAD' ? new Uint8Array() : await readCapped(res.body as Dispatcher.ResponseData['body'], h, opts, current);
        return { status: res.statusCode, headers: h, bytes, url: current.toString() };
      }
    } catch (e) {
      // An abort surfaces as undici's AbortError (or the reason itself); report the deadline.
      if (abort.signal.aborted && abort.signal.reason instanceof DeadlineError) throw abort.signal.reason;
      throw e;
    } finally {
      clearTimeout(timer);
    }
  }
}

async function readCapped(body: Dispatcher.ResponseData['body'], h: Record<string, string>, opts: HttpOptions, url: URL): Promise<Uint8Array> {
  const max = opts.maxBytes ?? Number.POSITIVE_INFINITY;
  const declared = Number(h['content-length']);
  const tooBig = () => new RegistryError(`registry ${opts.registry}: ${url.pathname} is larger than the ${formatBytes(max)} limit; refused`, { registry: opts.registry });
  // undici's body emits an AbortError when destroyed unread; with no listener that is an uncaught exception.
  const discard = () => {
    body.on('error', () => {});
    body.destroy();
  };
  if (Number.isFinite(declared) && declared > max) {
    discard();
    throw tooBig();
  }
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of body) {
    total += (chunk as Buffer).length;
    if (total > max) {
      discard();
      throw tooBig();
    }
    chunks.push(chunk as Buffer);
  }
  return new Uint8Array(Buffer.concat(chunks));
}

function flatHeaders(raw: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw)) if (v !== undefined) out[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
  return out;
}

export function describeNetworkError(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  const code = (e as NodeJS.ErrnoException).code ?? (e.cause as NodeJS.ErrnoException | undefined)?.code;
  const messages: Record<string, string> = {
    ECONNREFUSED: 'connection refused',
    ECONNRESET: 'connection reset',
    ENOTFOUND: 'host not found',
    EAI_AGAIN: 'DNS lookup failed',
    UND_ERR_HEADERS_TIMEOUT: 'timed out waiting for the response',
    UND_ERR_BODY_TIMEOUT: 'timed out reading the response',
    UND_ERR_CONNECT_TIMEOUT: 'timed out connecting',
    UND_ERR_SOCKET: 'connection closed',
  };
  if (code === 'LG_PINS_DEADLINE') return e.message;
  return code && messages[code] ? `${messages[code]} (${code})` : e.message;
}

export { formatBytes };
