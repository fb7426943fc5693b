import { LgPinsError, TransportError } from '../errors.js';
import { describeNetworkError, networkErrorCode } from './request.js';
import type { Layer, Method } from './types.js';

export interface RetryPolicy {
  /** Tries in all, for 429, 5xx and connection failures. */
  attempts: number;
  /** Cap on one Retry-After wait, in ms. */
  maxRetryAfterMs: number;
  /** Base backoff, in ms (doubled each attempt, with jitter). */
  backoffMs: number;
  /**
   * A Retry-After longer than the cap: `wait` the cap and try again (a registry's CDN often sends a
   * large default and answers sooner), or `stop` and hand the answer back (a git host's rate limit
   * will not lift in seconds; its 429 says when to run again). Default `wait`.
   */
  beyondCap?: 'wait' | 'stop';
}

export interface RetryOptions {
  sleep?: (ms: number) => Promise<void>;
  /** The jitter source, in [0, 1). */
  random?: () => number;
}

const IDEMPOTENT: ReadonlySet<Method> = new Set(['GET', 'HEAD', 'PUT', 'DELETE']);

/**
 * Errors that prove the request never reached the server: a POST can be sent again after these
 * without risk of doing twice what it does (a second pull request comment).
 */
const NEVER_SENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_CONNECT_TIMEOUT']);

/**
 * The retry layer. A 429 (the server did nothing) is tried again for any request; a 5xx, a broken
 * connection or a missed deadline only for a request that is safe to repeat, plus a 503 (the
 * server says it did not handle it) and a connection that was never made. Waits honour Retry-After
 * (seconds or an HTTP date, capped), else back off exponentially with jitter. A TransportError from
 * below is a verdict and passes through; when the tries run out on errors, the last one becomes a
 * TransportError `unreachable`; on statuses, the last answer is returned as it is.
 */
export function retry(policy: RetryPolicy, opts: RetryOptions = {}): Layer {
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const random = opts.random ?? Math.random;
  return (next) => async (req) => {
    const repeatable = req.idempotent ?? IDEMPOTENT.has(req.method);
    let lastError: unknown;
    for (let attempt = 1; ; attempt++) {
      const last = attempt >= policy.attempts;
      try {
        const res = await next(req);
        if (last || !retriableStatus(res.status, repeatable)) return res;
        const asked = retryAfterMs(res.headers['retry-after']);
        if (asked === undefined) await sleep(backoffMs(policy, attempt, random));
        else if (asked > policy.maxRetryAfterMs && policy.beyondCap === 'stop') return res;
        else await sleep(Math.min(asked, policy.maxRetryAfterMs));
      } catch (e) {
        // A verdict from below (or bad local configuration) is final.
        if (e instanceof TransportError || e instanceof LgPinsError) throw e;
        lastError = e;
        if (last || !(repeatable || NEVER_SENT.has(networkErrorCode(e) ?? ''))) break;
        await sleep(backoffMs(policy, attempt, random));
      }
    }
    throw new TransportError('unreachable', describeNetworkError(lastError), { cause: lastError });
  };
}

function retriableStatus(status: number, repeatable: boolean): boolean {
  return status === 429 || status === 503 || (status >= 500 && repeatable);
}

/** A Retry-After value in ms (seconds, or an HTTP date: a date past is 0), or undefined when absent or unreadable. */
export function retryAfterMs(value: string | undefined, now: number = Date.now()): number | undefined {
  if (!value) return undefined;
  const secs = Number(value);
  const ms = Number.isFinite(secs) ? secs * 1000 : Date.parse(value) - now;
  return Number.isFinite(ms) ? Math.max(ms, 0) : undefined;
}

/** Exponential backoff with jitter: attempt n waits between 0.5 and 1.5 × backoffMs × 2^(n-1). */
export function backoffMs(policy: Pick<RetryPolicy, 'backoffMs'>, attempt: number, random: () => number = Math.random): number {
  const base = policy.backoffMs * 2 ** (attempt - 1);
  return base / 2 + random() * base;
}
