/**
 * Which proxy a request goes through, read from the environment the way curl reads it: `https_proxy`
 * / `HTTPS_PROXY` for https URLs, `http_proxy` / `HTTP_PROXY` for http ones (lower case first), and
 * `no_proxy` / `NO_PROXY` for the hosts that are reached directly. Pure: the environment is given.
 */

export interface ProxyChoice {
  /** The proxy's URL as configured, credentials included: for the connection only, never for a message. */
  url: URL;
  /** `http://proxy.example:3128`: the proxy without its credentials, for messages. */
  display: string;
}

/** A proxy URL as curl takes it: a bare `host:port` is http://host:port. Undefined when it is not a URL. */
export function parseProxy(value: string): ProxyChoice | undefined {
  const text = /^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `http://${value}`;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
  return { url, display: `${url.protocol}//${url.host}` };
}

const env1 = (env: NodeJS.ProcessEnv, name: string) => env[name.toLowerCase()] || env[name.toUpperCase()] || undefined;

/**
 * The proxy for `target`, or undefined for a direct connection. NO_PROXY entries are comma (or
 * space) separated: `*` (nothing is proxied), a host name that matches itself and every subdomain
 * (`example.com`, `.example.com` or `*.example.com`), an IP address, either with `:port` to match
 * that port only. A proxy value that is not a URL is an error the caller reports.
 */
export function proxyFor(target: URL, env: NodeJS.ProcessEnv): ProxyChoice | undefined | { invalid: string } {
  const value = target.protocol === 'https:' ? env1(env, 'https_proxy') : target.protocol === 'http:' ? env1(env, 'http_proxy') : undefined;
  if (!value) return undefined;
  if (bypassed(target, env1(env, 'no_proxy') ?? '')) return undefined;
  return parseProxy(value) ?? { invalid: target.protocol === 'https:' ? 'HTTPS_PROXY' : 'HTTP_PROXY' };
}

function bypassed(target: URL, noProxy: string): boolean {
  const host = target.hostname.toLowerCase().replace(/^\[(.*)\]$/, '$1');
  const port = target.port || (target.protocol === 'https:' ? '443' : '80');
  for (const raw of noProxy.split(/[,\s]+/)) {
    const entry = raw.trim().toLowerCase();
    if (!entry) continue;
    if (entry === '*') return true;
    // `host:port`, `[v6]:port` or a bare host / v6 address.
    const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(entry) ?? [entry, entry, undefined];
    const name = (m[1] ?? '').replace(/^\[(.*)\]$/, '$1').replace(/^\*?\./, '');
    if (m[2] !== undefined && m[2] !== port) continue;
    if (!name) continue;
    if (host === name || host.endsWith(`.${name}`)) return true;
  }
  return false;
}
