/**
 * Transport layers: HTTP for registries and git hosts, one concern a file, composed (after
 * go-containerregistry's `pkg/v1/remote/transport`). From the outside in:
 *
 * - `retry.ts`: the retry policy (429 Retry-After, 5xx, connection failures; backoff with jitter;
 *   a bounded number of tries). Each try goes through everything below.
 * - `deadline.ts`: one deadline per try, covering the headers, every redirect and the whole body.
 * - `redirect.ts`: the redirect policy (`redirectTarget`: credentials never cross origins) and the
 *   layer that follows redirects by hand under it.
 * - `request.ts`: one exchange (undici for GET and POST, node:http for HEAD), the body read up to
 *   its cap; `connections.ts`: the pools it sends through, injectable (TLS, proxies).
 *
 * Failures that are verdicts (too many redirects, a refused redirect, a body over its cap, no
 * answer after every try) leave the stack as a TransportError with a neutral message, which each
 * caller turns into its own error: `registry/http.ts` into a RegistryError, `scm/host.ts` into a
 * GitHostError. Above the stack, `registry/authenticator.ts` is the registry's auth layer (a 401
 * challenge answered with a token or Basic credentials, and the request sent again).
 */
import type { Connections } from './connections.js';
import { deadline } from './deadline.js';
import { followRedirects } from './redirect.js';
import { exchange } from './request.js';
import { retry, type RetryOptions, type RetryPolicy } from './retry.js';
import type { Layer, Transport } from './types.js';

export type { Layer, Method, Transport, TransportRequest, TransportResponse } from './types.js';

export interface StackOptions extends RetryPolicy, RetryOptions {
  /** Deadline for one try, headers, redirects and body together, in ms. */
  timeoutMs: number;
  /** What set the deadline, for its message (e.g. "the --timeout of each try"). */
  timeoutBound?: string;
  /** The pools to send through; undici's global dispatcher and Node's global agents when absent. */
  connections?: Partial<Connections>;
}

/** Layers applied outermost first: `compose(a, b)(t)` is `a(b(t))`. */
export function compose(...layers: Layer[]): (inner: Transport) => Transport {
  return (inner) => layers.reduceRight((t, layer) => layer(t), inner);
}

/** The shared stack: retry ∘ deadline ∘ follow redirects ∘ exchange. */
export function transportStack(o: StackOptions): Transport {
  return compose(retry(o, o), deadline(o.timeoutMs, o.timeoutBound), followRedirects())(exchange(o.connections));
}
