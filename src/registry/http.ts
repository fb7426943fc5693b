import { RegistryError, TransportError } from '../errors.js';
import { openConnections, type Connections } from '../transport/connections.js';
import { transportStack, type Transport, type TransportResponse } from '../transport/index.js';
import { trustFor, type RegistryTrust, type TlsMaterial } from '../transport/trust.js';
import { registryKey } from '../reference.js';
import { own } from '../safe/dict.js';

/** An answer from a registry or its token server. */
export type HttpResponse = TransportResponse;

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

/**
 * HTTP for registries: the shared transport stack (src/transport/) over keep-alive pools of its
 * own, with the stack's verdicts turned into RegistryErrors that name the registry.
 */
export class Http {
  private readonly pools: ReturnType<typeof openConnections>;
  private readonly transport: Transport;

  /** Token realm `host[:port]` → the registry it serves: the realm is trusted as its registry is. */
  private readonly realmOf = new Map<string, string>();
  private readonly tls = new Map<string, TlsMaterial | undefined>();

  constructor(
    readonly policy: HttpPolicy = DEFAULT_POLICY,
    sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
    /** Pools to send through instead of the ones made here (left open by close()). */
    connections: Partial<Connections> = {},
    /** Where proxies (env) and TLS trust (the spec's, keyed by registryKey(), plus certs.d) come from. */
    trust: { env?: NodeJS.ProcessEnv; registries?: Record<string, RegistryTrust> } = {},
  ) {
    const env = trust.env ?? process.env;
    const forHost = (hostPort: string) => trustFor(hostPort, own(trust.registries, registryKey(hostPort)), env);
    const tlsOf = (hostPort: string): TlsMaterial | undefined => {
      if (!this.tls.has(hostPort)) {
        const registry = this.realmOf.get(hostPort);
        this.tls.set(hostPort, merged(forHost(hostPort), registry ? forHost(registry) : undefined));
      }
      return this.tls.get(hostPort);
    };
    this.pools = openConnections(policy.timeoutMs, connections, { env, tls: tlsOf });
    // A Retry-After past the cap is waited for the cap: registries' CDNs send large defaults.
    this.transport = transportStack({
      ...policy,
      beyondCap: 'wait',
      sleep,
      timeoutBound: 'the --timeout of each try',
      connections: this.pools.connections,
    });
  }

  close(): Promise<void> {
    return this.pools.close();
  }

  /**
   * A registry's token realm on another host is trusted as the registry is (its CA and client
   * certificate), besides what it has of its own. Call before the first request to the realm.
   */
  trustRealmAs(realmHostPort: string, registryHostPort: string): void {
    if (realmHostPort !== registryHostPort && !this.tls.has(realmHostPort)) this.realmOf.set(realmHostPort, registryHostPort);
  }

  /**
   * The stack for requests to one registry (and its token realm): its verdicts become
   * RegistryErrors naming the registry. A request is safe to repeat unless it says otherwise: reads,
   * a token request and a manifest PUT are; a blob upload's PUT is not (its upload session has moved
   * on), and `mirror` starts that blob over instead.
   */
  to(registry: string): Transport {
    return async (req) => {
      try {
        return await this.transport({ ...req, idempotent: req.idempotent ?? true });
      } catch (e) {
        throw registryError(e, registry);
      }
    };
  }

  /** One logical request: retried on 429, 5xx and connection failures; redirects followed. */
  send(url: string, opts: HttpOptions): Promise<HttpResponse> {
    const { registry, method = 'GET', ...rest } = opts;
    return this.to(registry)({ ...rest, method, url });
  }
}

/** The stack's verdict as a RegistryError naming the registry (anything else passes unchanged). */
function registryError(e: unknown, registry: string): unknown {
  if (!(e instanceof TransportError)) return e;
  if (e.kind === 'unreachable')
    return new RegistryError(`cannot reach registry ${registry}: ${e.message}`, { registry, unreachable: true, cause: e.cause });
  return new RegistryError(`registry ${registry}: ${e.message}`, { registry, status: e.status });
}

/** Two hosts' TLS trust as one: every CA of both, the first's client certificate over the second's. */
function merged(a: TlsMaterial | undefined, b: TlsMaterial | undefined): TlsMaterial | undefined {
  if (!a || !b) return a ?? b;
  const ca = [...new Set([...(a.ca ?? []), ...(b.ca ?? [])])];
  const client = a.cert ? a : b.cert ? b : undefined;
  return { ...(ca.length ? { ca } : {}), ...(client ? { cert: client.cert, key: client.key } : {}), sources: [...a.sources, ...b.sources] };
}
