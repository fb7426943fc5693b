/**
 * A tiny tampering HTTP proxy for integrity tests: it forwards every request to a real registry
 * and lets a test rewrite the status, headers or body of responses whose request matches a hook.
 * Point a spec's ref at `proxy.host` instead of the registry's. The registry is never replaced:
 * every byte the client gets comes from it, except what a hook deliberately changes.
 */
import { Agent, createServer, request, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ProxiedResponse {
  status: number;
  /** Lowercased header names. */
  headers: Record<string, string>;
  body: Buffer;
}

export interface ProxyHook {
  /** e.g. `(r) => r.method === 'GET' && r.path === '/v2/team/app/manifests/v1'` */
  match(req: { method: string; path: string }): boolean;
  /** Return the response to send instead (content-length is recomputed). */
  rewrite(res: ProxiedResponse): ProxiedResponse;
}

export interface ProxyRecord {
  method: string;
  path: string;
  status: number;
  tampered: boolean;
}

export interface TamperingProxy {
  /** `127.0.0.1:PORT` */
  host: string;
  url: string;
  /** Active hooks; the first matching one applies. Clear between tests. */
  hooks: ProxyHook[];
  /** Every request forwarded, in completion order. */
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

/** Start a proxy on 127.0.0.1 (free port) in front of `targetUrl` (`http://127.0.0.1:PORT`). */
export async function startProxy(targetUrl: string): Promise<TamperingProxy> {
  const target = new URL(targetUrl);
  const agent = new Agent({ keepAlive: false });
  const hooks: ProxyHook[] = [];
  const requests: ProxyRecord[] = [];

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const method = req.method ?? 'GET';
    const path = req.url ?? '/';
    const body = await readAll(req);
    const headers = flat(req.headers);
    headers.host = target.host;
    const upstream = await new Promise<IncomingMessage>((resolve, reject) => {
      const r = request({ host: target.hostname, port: target.port, method, path, headers, agent }, resolve);
      r.once('error', reject);
      r.end(body);
    });
    const status = upstream.statusCode ?? 502;
    const hook = hooks.find((h) => h.match({ method, path }));
    if (!hook) {
      requests.push({ method, path, status, tampered: false });
      res.writeHead(status, upstream.headers);
      upstream.pipe(res);
      return;
    }
    const original: ProxiedResponse = { status, headers: flat(upstream.headers), body: await readAll(upstream) };
    const out = hook.rewrite(original);
    const outHeaders = { ...out.headers };
    delete outHeaders['transfer-encoding'];
    if (method !== 'HEAD') outHeaders['content-length'] = String(out.body.length);
    requests.push({ method, path, status: out.status, tampered: true });
    res.writeHead(out.status, outHeaders);
    res.end(method === 'HEAD' ? undefined : out.body);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
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
  return {
    host,
    url: `http://${host}`,
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
