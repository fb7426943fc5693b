import http from 'node:http';
import https from 'node:https';
import { connect as tlsConnect } from 'node:tls';
import { Agent, Dispatcher, ProxyAgent } from 'undici';
import { TrustConfigError } from '../errors.js';
import { proxyFor, type ProxyChoice } from './proxy.js';
import type { TlsMaterial } from './trust.js';

/**
 * How a request reaches its origin: the one place that knows how a connection is made (TLS trust,
 * client certificates, proxies), so that no caller does. `route(url)` says whether a proxy is in
 * the way (for messages); the dispatcher and the HEAD agent apply it.
 */
export interface Connections {
  /** undici's dispatcher, for every method but HEAD (it routes each origin itself). */
  dispatcher: Dispatcher;
  /** The node:http(s) keep-alive agent for a HEAD to this URL (see request.ts), or undefined to send it through the dispatcher. */
  headAgent(url: URL): http.Agent | undefined;
  /** The proxy a request to this URL goes through, if any. */
  route(url: URL): ProxyChoice | undefined;
  /**
   * Diagnose a connection the server closed without a word (undici reports only "other side
   * closed" when a TLS server refuses the client's certificate after the handshake): one bare TLS
   * exchange with the same options, and the TLS error code it ends with, if any.
   */
  probe?(url: URL): Promise<string | undefined>;
}

/** What decides how an origin is reached: the environment (proxies) and the TLS trust of a host. */
export interface Routing {
  env: NodeJS.ProcessEnv;
  /** TLS options for `host[:port]` as written in refs; undefined for Node's defaults. */
  tls(hostPort: string): TlsMaterial | undefined;
}

/**
 * A dispatcher that sends each request through the dispatcher its origin needs: a direct pool
 * with that host's TLS options, or a proxy tunnel with them. Each is made once, on first use.
 */
class Router extends Dispatcher {
  constructor(
    private readonly pick: (origin: URL) => Dispatcher,
    private readonly all: () => Dispatcher[],
  ) {
    super();
  }

  private readonly byOrigin = new Map<string, Dispatcher>();

  override dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    const origin = String(options.origin);
    let d = this.byOrigin.get(origin);
    if (!d) this.byOrigin.set(origin, (d = this.pick(new URL(origin))));
    return d.dispatch(options, handler);
  }

  override async close(): Promise<void> {
    await Promise.all(this.all().map((d) => d.close()));
  }

  override async destroy(): Promise<void> {
    await Promise.all(this.all().map((d) => d.destroy()));
  }
}

/**
 * Keep-alive pools for one run, with undici's own timeouts at the try's deadline as a backstop (the
 * deadline layer is what enforces it). With `routing`, every origin gets its TLS trust and, when the
 * environment names one, its proxy; without it, Node's defaults and no proxy. Whatever `given`
 * supplies is used as is and left to its owner; `close()` closes only what was made here.
 */
export function openConnections(
  timeoutMs: number,
  given: Partial<Connections> = {},
  routing?: Routing,
): { connections: Connections; close(): Promise<void> } {
  const base = { keepAliveTimeout: 30_000, headersTimeout: timeoutMs, bodyTimeout: timeoutMs };
  const made = new Map<string, Dispatcher>();
  const headAgents = new Map<string, https.Agent>();
  const plainHead = new http.Agent({ keepAlive: true });
  const hostPort = (url: URL) => url.host;
  // Once per origin: the environment is read through process.env (a lookup in C++ each time).
  const routes = new Map<string, ProxyChoice | undefined>();
  const route = (url: URL): ProxyChoice | undefined => {
    if (!routing) return undefined;
    if (routes.has(url.origin)) return routes.get(url.origin);
    const p = proxyFor(url, routing.env);
    if (p && 'invalid' in p) throw new TrustConfigError(`${p.invalid} is not a proxy URL (expected http://[user:password@]host:port)`);
    routes.set(url.origin, p);
    return p;
  };
  const tlsOf = (url: URL) => (url.protocol === 'https:' ? routing?.tls(hostPort(url)) : undefined);
  const connectTls = (m: TlsMaterial | undefined) =>
    m ? { ...(m.ca ? { ca: m.ca } : {}), ...(m.cert ? { cert: m.cert, key: m.key } : {}) } : {};
  const pick = (origin: URL): Dispatcher => {
    const proxy = route(origin);
    const key = `${proxy?.url.href ?? 'direct'} ${origin.origin}`;
    let d = made.get(key);
    if (!d) {
      const tls = connectTls(tlsOf(origin));
      d = proxy
        ? new ProxyAgent({ ...base, uri: proxy.url.href, requestTls: { ...tls, timeout: timeoutMs }, proxyTls: { timeout: timeoutMs } })
        : new Agent({ ...base, connect: { ...tls, timeout: timeoutMs } });
      made.set(key, d);
    }
    return d;
  };
  const dispatcher = given.dispatcher ?? new Router(pick, () => [...made.values()]);
  const headAgent = (url: URL): http.Agent | undefined => {
    if (given.headAgent) return given.headAgent(url);
    // Through a proxy a HEAD goes with everything else: node:http would need a tunnel of its own.
    if (route(url)) return undefined;
    if (url.protocol !== 'https:') return plainHead;
    let a = headAgents.get(url.origin);
    if (!a) headAgents.set(url.origin, (a = new https.Agent({ keepAlive: true, ...connectTls(tlsOf(url)) })));
    return a;
  };
  const probe = (url: URL): Promise<string | undefined> =>
    new Promise((resolve) => {
      const socket = tlsConnect({ host: url.hostname, port: Number(url.port || 443), servername: url.hostname, ...connectTls(tlsOf(url)) });
      const done = (code?: string) => {
        clearTimeout(timer);
        socket.destroy();
        resolve(code);
      };
      const timer = setTimeout(() => done(), 3000);
      socket.once('secureConnect', () => socket.write(`GET /v2/ HTTP/1.1\r\nHost: ${url.host}\r\nConnection: close\r\n\r\n`));
      socket.once('data', () => done());
      socket.once('error', (e: NodeJS.ErrnoException) => done(e.code));
      socket.once('close', () => done());
    });
  return {
    connections: { dispatcher, headAgent, route: given.route ?? route, ...(given.dispatcher ? {} : { probe }) },
    async close() {
      plainHead.destroy();
      for (const a of headAgents.values()) a.destroy();
      if (!given.dispatcher) await dispatcher.close();
    },
  };
}
