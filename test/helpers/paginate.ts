/**
 * A paginating HTTP proxy in front of a REAL registry (distribution 2.8 never paginates). For `GET /v2/<name>/tags/list[?n=&last=]` it fetches the registry's full tag list (same
 * headers, so auth still applies), sorts it lexically and serves one page as the spec says: tags
 * after `last`, at most `pageSize` (or `n`, when smaller, unless `ignoreN`), with a RELATIVE
 * `Link: </v2/<name>/tags/list?last=<x>&n=<k>>; rel="next"` when more remain. Every other request,
 * and any non-200 tag list answer, is forwarded untouched: method, headers (Accept,
 * Authorization…), body and status. Every request is recorded.
 */
import { Agent, createServer, request, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface PaginateOptions {
  /** The most tags one page holds (the server's own limit). */
  pageSize: number;
  /** Emulate registries that ignore `n`: every page holds `pageSize` tags, whatever was asked. */
  ignoreN?: boolean;
  /** Every page's Link points back at the first page (a broken registry that loops). */
  loopLink?: boolean;
  /** Every page's Link points at a new page (`page=N+1`), forever (a broken registry that never ends). */
  endlessLink?: boolean;
}

export interface PaginateRecord {
  method: string;
  /** Request target as received, query included. */
  path: string;
  status: number;
  /** The Link header sent, if any. */
  link?: string;
  /** Tags served, for tag list pages. */
  tags?: string[];
  /** Request headers as received (lowercased names). */
  headers: Record<string, string>;
}

export interface PaginatingProxy {
  /** `127.0.0.1:PORT` */
  host: string;
  url: string;
  requests: PaginateRecord[];
  /** Tag list requests (first pages and follow-ups) for one repository. */
  tagListRequests(repo: string): PaginateRecord[];
  stop(): Promise<void>;
}

const TAGS_LIST = /^\/v2\/(.+)\/tags\/list$/;

async function readAll(stream: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

function flat(headers: IncomingMessage['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) if (v !== undefined) out[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
  return out;
}

/** Lexical (code unit) order, as the distribution spec asks of tag lists. */
const lexical = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** One page of `all` per the spec's `n`/`last`, and the relative Link to the next page, if any. */
export function pageOf(
  name: string,
  all: readonly string[],
  query: URLSearchParams,
  opts: PaginateOptions,
): { tags: string[]; link?: string } {
  const sorted = [...all].sort(lexical);
  const rawN = query.get('n');
  const asked = rawN === null || opts.ignoreN ? undefined : Number(rawN);
  const size = asked === undefined || !Number.isInteger(asked) || asked < 0 ? opts.pageSize : Math.min(asked, opts.pageSize);
  const last = query.get('last');
  const rest = last === null ? sorted : sorted.filter((t) => t > last);
  const tags = rest.slice(0, size);
  const k = rawN ?? String(opts.pageSize);
  if (opts.loopLink) return { tags, link: `</v2/${name}/tags/list?n=${k}>; rel="next"` };
  if (opts.endlessLink) return { tags, link: `</v2/${name}/tags/list?n=${k}&page=${Number(query.get('page') ?? 0) + 1}>; rel="next"` };
  if (size === 0 || rest.length <= size) return { tags };
  const lastTag = tags[tags.length - 1]!;
  return { tags, link: `</v2/${name}/tags/list?last=${encodeURIComponent(lastTag)}&n=${k}>; rel="next"` };
}

/** Start the proxy on 127.0.0.1 (free port) in front of `targetUrl` (`http://127.0.0.1:PORT`). */
export async function startPaginatingProxy(targetUrl: string, opts: PaginateOptions): Promise<PaginatingProxy> {
  const target = new URL(targetUrl);
  const agent = new Agent({ keepAlive: true });
  const requests: PaginateRecord[] = [];

  const upstream = (method: string, path: string, headers: Record<string, string>, body: Buffer): Promise<IncomingMessage> =>
    new Promise((resolve, reject) => {
      const r = request(
        { host: target.hostname, port: target.port, method, path, headers: { ...headers, host: target.host }, agent },
        resolve,
      );
      r.once('error', reject);
      r.end(body);
    });

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const method = req.method ?? 'GET';
    const path = req.url ?? '/';
    const headers = flat(req.headers);
    const body = await readAll(req);
    const url = new URL(path, target);
    const list = method === 'GET' ? TAGS_LIST.exec(url.pathname) : null;
    if (!list) {
      const up = await upstream(method, path, headers, body);
      requests.push({ method, path, status: up.statusCode ?? 502, headers });
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
      return;
    }
    // The full list, fetched without n/last (2.8 ignores them anyway), with the client's headers.
    const up = await upstream('GET', url.pathname, headers, Buffer.alloc(0));
    const upBody = await readAll(up);
    if (up.statusCode !== 200) {
      requests.push({ method, path, status: up.statusCode ?? 502, headers });
      res.writeHead(up.statusCode ?? 502, up.headers);
      res.end(upBody);
      return;
    }
    const doc = JSON.parse(upBody.toString('utf8')) as { name: string; tags: string[] | null };
    const page = pageOf(list[1]!, doc.tags ?? [], url.searchParams, opts);
    const out = Buffer.from(JSON.stringify({ name: doc.name, tags: page.tags }));
    const outHeaders: OutgoingHttpHeaders = { ...up.headers, 'content-length': String(out.length) };
    delete outHeaders['transfer-encoding'];
    if (page.link) outHeaders.link = page.link;
    requests.push({ method, path, status: 200, headers, tags: page.tags, ...(page.link ? { link: page.link } : {}) });
    res.writeHead(200, outHeaders);
    res.end(out);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`paginating proxy error: ${String(err)}`);
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
    requests,
    tagListRequests: (repo) => requests.filter((r) => r.method === 'GET' && r.path.split('?')[0] === `/v2/${repo}/tags/list`),
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      agent.destroy();
    },
  };
}
