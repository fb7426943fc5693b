/**
 * A tiny fault-injecting HTTP proxy for integrity and reliability tests: it forwards every request
 * to a real registry and lets a test rewrite the status, headers or body of responses whose
 * request matches a hook, answer without asking the registry (a 429, a redirect), delay the answer
 * (past a client's timeout, or forever), stall a body after its headers, or reset the connection.
 * Point a spec's ref at `proxy.host` instead of the registry's. The registry is never replaced:
 * every byte the client gets comes from it, except what a hook deliberately changes or answers.
 */
import { Agent, createServer, request, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ProxiedResponse {
  status: number;
  /** Lowercased header names. */
  headers: Record<string, string>;
  body: Buffer;
}

/** A request as the proxy received it (headers lowercased, exactly what the client sent). */
export interface ProxyRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
}

export interface ProxyHook {
  /** e.g. `(r) => r.method === 'GET' && r.path === '/v2/team/app/manifests/v1'` */
  match(req: ProxyRequest): boolean;
  /** Return the response to send instead of the registry's (content-length is recomputed). */
  rewrite?(res: ProxiedResponse, req: ProxyRequest): ProxiedResponse;
  /** Answer this without asking the registry at all (e.g. a 429 or a redirect). */
  respond?(req: ProxyRequest): ProxiedResponse;
  /** Wait this long before answering (the wait ends early if the client goes away). */
  delayMs?: number;
  /** Send the status and headers, then never the body (until the client gives up). */
  stallBody?: boolean;
  /** Destroy the connection instead of answering (a connection reset). */
  reset?: boolean;
  /** Send the status and headers at once, then the body one byte every this many ms. */
  trickleMs?: number;
  /**
   * Send the status and the full body's headers (its content-length), then only this many bytes of
   * the body, then destroy the connection: a transfer cut off midway.
   */
  truncateAfter?: number;
}

export interface ProxyRecord {
  method: string;
  path: string;
  /** The status sent; 0 when the connection was reset or the client left before an answer. */
  status: number;
  tampered: boolean;
  /** The `Authorization` header the client sent, if any. */
  authorization?: string;
  /** When the request arrived (Date.now()). */
  at: number;
}

export interface ProxyOptions {
  /**
   * Headers set on every request forwarded upstream, replacing the client's (e.g. the proxy's own
   * `authorization`, as a CDN or blob store behind a signed redirect has its own access).
   */
  upstreamHeaders?: Record<string, string>;
  /**
   * Tell the registry it is reached through the proxy (`X-Forwarded-Host: <proxy host>`), so that
   * the absolute URLs it sends back (an upload's Location) lead through the proxy too, where the
   * hooks see them, rather than straight to the registry.
   */
  forwardedHost?: boolean;
}

export interface TamperingProxy {
  /** `127.0.0.1:PORT` */
  host: string;
  url: string;
  port: number;
  /** Active hooks; the first matching one applies. Clear between tests. */
  hooks: ProxyHook[];
  /** Every request handled, in completion order. */
  requests: ProxyRecord[];
  stop(): Promise<void>;
}

function flat(headers: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) if (v !== undefined) out[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
  return out;
}

async function readAll(stream: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** Resolves after `ms`, or as soon as the client closes the connection; true if the client left. */
function waitOrGone(res: ServerResponse, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    if (res.destroyed || res.socket?.destroyed) {
      resolve(true);
      return;
    }
    const gone = () => {
      clearTimeout(timer);
      resolve(true);
    };
    const timer = setTimeout(() => {
      res.off('close', gone);
      resolve(false);
    }, ms);
    res.once('close', gone);
  });
}

/** Start a proxy on 127.0.0.1 (free port) in front of `targetUrl` (`http://127.0.0.1:PORT`). */
export async function startProxy(targetUrl: string, opts: ProxyOptions = {}): Promise<TamperingProxy> {
  const target = new URL(targetUrl);
  const agent = new Agent({ keepAlive: false });
  const hooks: ProxyHook[] = [];
  const requests: ProxyRecord[] = [];

  let self = '';
  const forward = async (method: string, path: string, headers: Record<string, string>, body: Buffer): Promise<IncomingMessage> => {
    const h = { ...headers, ...opts.upstreamHeaders, ...(opts.forwardedHost ? { 'x-forwarded-host': self } : {}), host: target.host };
    return new Promise<IncomingMessage>((resolve, reject) => {
      const r = request({ host: target.hostname, port: target.port, method, path, headers: h, agent }, resolve);
      r.once('error', reject);
      r.end(body);
    });
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const at = Date.now();
    const method = req.method ?? 'GET';
    const path = req.url ?? '/';
    const body = await readAll(req);
    const headers = flat(req.headers);
    const seen: ProxyRequest = { method, path, headers: { ...headers } };
    const record = (status: number, tampered: boolean) =>
      requests.push({
        method,
        path,
        status,
        tampered,
        at,
        ...(headers.authorization !== undefined ? { authorization: headers.authorization } : {}),
      });
    const hook = hooks.find((h) => h.match(seen));
    if (!hook) {
      const upstream = await forward(method, path, headers, body);
      const status = upstream.statusCode ?? 502;
      record(status, false);
      res.writeHead(status, upstream.headers);
      upstream.pipe(res);
      return;
    }
    if (hook.reset) {
      record(0, true);
      req.socket.destroy();
      return;
    }
    let out: ProxiedResponse;
    if (hook.respond) {
      out = hook.respond(seen);
    } else {
      const upstream = await forward(method, path, headers, body);
      const original: ProxiedResponse = {
        status: upstream.statusCode ?? 502,
        headers: flat(upstream.headers),
        body: await readAll(upstream),
      };
      out = hook.rewrite ? hook.rewrite(original, seen) : original;
    }
    if (hook.delayMs !== undefined && (await waitOrGone(res, hook.delayMs))) {
      record(0, true);
      return;
    }
    const outHeaders = { ...out.headers };
    delete outHeaders['transfer-encoding'];
    if (method !== 'HEAD') outHeaders['content-length'] = String(out.body.length);
    record(out.status, true);
    res.writeHead(out.status, outHeaders);
    if (hook.truncateAfter !== undefined) {
      res.flushHeaders();
      res.write(out.body.subarray(0, hook.truncateAfter), () => res.socket?.destroy());
      return;
    }
    if (hook.trickleMs !== undefined) {
      res.flushHeaders();
      for (const byte of out.body) {
        if (await waitOrGone(res, hook.trickleMs)) return;
        res.write(Buffer.from([byte]));
      }
      res.end();
      return;
    }
    if (hook.stallBody) {
      // Headers now, the body never: the client's body timeout has to end this.
      res.flushHeaders();
      await waitOrGone(res, 600_000);
      return;
    }
    res.end(method === 'HEAD' ? undefined : out.body);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (res.destroyed) return;
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`proxy error: ${String(err)}`);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = `127.0.0.1:${port}`;
  self = host;
  return {
    host,
    url: `http://${host}`,
    port,
    hooks,
    requests,
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      agent.destroy();
    },
  };
}

/** Rewrite the body of a JSON response (keeping it valid JSON, so only the digest check can catch it). */
export function tamperJson(res: ProxiedResponse, edit: (json: Record<string, unknown>) => void): ProxiedResponse {
  const json = JSON.parse(res.body.toString('utf8')) as Record<string, unknown>;
  edit(json);
  return { ...res, body: Buffer.from(JSON.stringify(json)) };
}

/** A response made by the proxy itself (JSON body unless a Buffer is given). */
export function reply(status: number, headers: Record<string, string> = {}, body: Buffer | object = Buffer.alloc(0)): ProxiedResponse {
  const bytes = Buffer.isBuffer(body) ? body : Buffer.from(JSON.stringify(body));
  return { status, headers: Buffer.isBuffer(body) ? headers : { 'content-type': 'application/json', ...headers }, body: bytes };
}
