import { TransportError } from '../errors.js';
import { LIMITS } from '../safe/limits.js';
import type { Layer, Method } from './types.js';

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
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    return { refused: `${from.origin} redirected to a ${url.protocol} URL; only http and https are followed` };
  url.username = '';
  url.password = '';
  if (url.origin === from.origin) return { url, keepAuthorization: true };
  if (sensitive)
    return {
      refused: `${sensitive} ${from.origin} redirected to another origin (${url.origin}); lg-pins never sends credentials across origins`,
    };
  return { url, keepAuthorization: false };
}

/**
 * The follow layer: redirects are followed here, by hand, so the policy above decides every hop
 * (undici and node:http would forward the headers as they are). At most `max` hops; past them, or
 * on a hop the policy refuses, a TransportError carrying the redirect's status. 301, 302 and 303
 * turn a POST into a body-less GET (as browsers and curl do); 307 and 308 keep method and body.
 */
export function followRedirects(max: number = LIMITS.redirects): Layer {
  return (next) => async (req) => {
    let url = req.url;
    let method: Method = req.method;
    let body = req.body;
    let headers = { ...req.headers };
    for (let hop = 0; ; hop++) {
      const res = await next({ ...req, url, method, body, headers });
      const location = res.headers.location;
      if (res.status < 300 || res.status >= 400 || !location) return res;
      if (hop >= max)
        throw new TransportError('redirects', `more than ${max} redirects from ${new URL(req.url).origin}`, { status: res.status });
      const to = redirectTarget(new URL(url), location, req.sensitive);
      if ('refused' in to) throw new TransportError('redirect-refused', to.refused, { status: res.status });
      if (!to.keepAuthorization) headers = without(headers, ['authorization', ...(req.credentialHeaders ?? [])]);
      if (method === 'POST' && res.status !== 307 && res.status !== 308) {
        method = 'GET';
        body = undefined;
        headers = without(headers, ['content-type']);
      }
      url = to.url.toString();
    }
  };
}

function without(headers: Record<string, string>, names: readonly string[]): Record<string, string> {
  const drop = new Set(names.map((n) => n.toLowerCase()));
  return Object.fromEntries(Object.entries(headers).filter(([k]) => !drop.has(k.toLowerCase())));
}
