/**
 * A fake GitHub REST API (node:http on 127.0.0.1, a free port) with just what `propose` uses:
 * list/create/update pull requests, add labels, comment. Pull requests live in memory; EVERY call
 * is recorded (method, path, headers, body) whatever it was answered; `fail()` makes chosen calls
 * answer an error status (401, 403, 404, 422, 429, with headers such as the rate-limit ones).
 *
 * Also the shared machinery of the fakes: `startFakeApi()` (used by fake-gitlab.ts too).
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedCall {
  method: string;
  /** The request target, query included. */
  path: string;
  pathname: string;
  query: Record<string, string>;
  /** As received (lower-case names). */
  headers: IncomingHttpHeaders;
  /** The raw request body. */
  text: string;
  /** The body parsed as JSON (undefined if empty or not JSON). */
  body: unknown;
  /** The status the fake answered. */
  status: number;
}

export interface Failure {
  /** Only calls with this method (default: any). */
  method?: string;
  /** Only calls whose pathname matches (default: any). */
  path?: RegExp | string;
  status: number;
  headers?: Record<string, string>;
  /** JSON body of the error (default: a message in the host's style). */
  body?: unknown;
  /** How many matching calls fail (default: every one). */
  times?: number;
}

export interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface FakeApi {
  /** `http://127.0.0.1:PORT` */
  origin: string;
  calls: RecordedCall[];
  /** Calls other than GET/HEAD: those that change something. */
  writes(): RecordedCall[];
  fail(f: Failure): void;
  clearFailures(): void;
  close(): Promise<void>;
}

const methodsThatRead = new Set(['GET', 'HEAD']);

/** An HTTP server that records every call, applies injected failures, then asks `handle`. */
export async function startFakeApi(handle: (call: RecordedCall) => Reply, errorBody: (status: number) => unknown): Promise<FakeApi> {
  const calls: RecordedCall[] = [];
  let failures: Array<Failure & { left: number }> = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let body: unknown;
      try {
        body = text ? JSON.parse(text) : undefined;
      } catch {
        body = undefined;
      }
      const url = new URL(req.url ?? '/', 'http://fake');
      const call: RecordedCall = {
        method: req.method ?? 'GET',
        path: req.url ?? '/',
        pathname: url.pathname,
        query: Object.fromEntries(url.searchParams),
        headers: req.headers,
        text,
        body,
        status: 0,
      };
      calls.push(call);
      const failure = failures.find(
        (f) =>
          f.left > 0 &&
          (!f.method || f.method === call.method) &&
          (!f.path || (typeof f.path === 'string' ? f.path === call.pathname : f.path.test(call.pathname))),
      );
      let reply: Reply;
      if (failure) {
        failure.left--;
        reply = { status: failure.status, body: failure.body ?? errorBody(failure.status), headers: failure.headers };
      } else {
        try {
          reply = handle(call);
        } catch (e) {
          reply = { status: 500, body: { message: `fake API bug: ${(e as Error).message}` } };
        }
      }
      call.status = reply.status;
      const payload = reply.body === undefined ? '' : JSON.stringify(reply.body);
      res.writeHead(reply.status, { 'content-type': 'application/json; charset=utf-8', ...reply.headers });
      res.end(payload);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    calls,
    writes: () => calls.filter((c) => !methodsThatRead.has(c.method)),
    fail(f) {
      failures.push({ ...f, left: f.times ?? Number.POSITIVE_INFINITY });
    },
    clearFailures() {
      failures = [];
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface FakePull {
  number: number;
  title: string;
  body: string;
  /** The head branch (without owner). */
  head: string;
  base: string;
  state: 'open' | 'closed';
  labels: string[];
  comments: string[];
  html_url: string;
}

export interface FakeGitHub extends FakeApi {
  /** The API base URL, for GITHUB_API_URL. */
  url: string;
  owner: string;
  repo: string;
  pulls: FakePull[];
  /** The open pull requests. */
  open(): FakePull[];
}

export interface FakeGitHubOptions {
  /** `owner/repo` (default owner/repo). */
  repository?: string;
  /** When set, a call without `authorization: Bearer <token>` is answered 401 Bad credentials. */
  token?: string;
  /** When given, creating a pull request for a head branch it says does not exist is 422, as on GitHub. */
  hasBranch?: (branch: string) => boolean;
}

const ghError = (status: number): unknown => ({
  message:
    {
      401: 'Bad credentials',
      403: 'Resource not accessible by integration',
      404: 'Not Found',
      422: 'Validation Failed',
      429: 'API rate limit exceeded',
    }[status] ?? 'Server Error',
  documentation_url: 'https://docs.github.com/rest',
});

export async function startFakeGitHub(opts: FakeGitHubOptions = {}): Promise<FakeGitHub> {
  const [owner = 'owner', repo = 'repo'] = (opts.repository ?? 'owner/repo').split('/');
  const pulls: FakePull[] = [];
  let origin = '';
  const json = (p: FakePull) => ({
    number: p.number,
    url: `${origin}/api/v3/repos/${owner}/${repo}/pulls/${p.number}`,
    html_url: p.html_url,
    state: p.state,
    title: p.title,
    body: p.body,
    head: { ref: p.head, label: `${owner}:${p.head}` },
    base: { ref: p.base },
    labels: p.labels.map((name) => ({ name })),
  });
  const invalid = (message: string): Reply => ({
    status: 422,
    body: { message: 'Validation Failed', errors: [{ resource: 'PullRequest', code: 'custom', message }] },
  });

  const handle = (c: RecordedCall): Reply => {
    if (opts.token !== undefined && c.headers.authorization !== `Bearer ${opts.token}`) return { status: 401, body: ghError(401) };
    const prefix = `/api/v3/repos/${owner}/${repo}`;
    if (!c.pathname.startsWith(`${prefix}/`)) return { status: 404, body: ghError(404) };
    const rest = c.pathname.slice(prefix.length);
    const b = (c.body ?? {}) as Record<string, unknown>;
    const byNumber = (n: string | undefined) => pulls.find((p) => p.number === Number(n));

    if (rest === '/pulls' && c.method === 'GET') {
      const state = c.query.state ?? 'open';
      const list = pulls.filter(
        (p) =>
          (state === 'all' || p.state === state) &&
          (!c.query.head || c.query.head === `${owner}:${p.head}`) &&
          (!c.query.base || c.query.base === p.base),
      );
      return { status: 200, body: list.map(json) };
    }
    if (rest === '/pulls' && c.method === 'POST') {
      if (typeof b.title !== 'string' || typeof b.head !== 'string' || typeof b.base !== 'string')
        return invalid('title, head and base are required');
      if (opts.hasBranch && !opts.hasBranch(b.head)) return invalid(`head: the branch ${b.head} does not exist`);
      if (pulls.some((p) => p.state === 'open' && p.head === b.head && p.base === b.base)) {
        return invalid(`A pull request already exists for ${owner}:${b.head}.`);
      }
      const number = pulls.length + 1;
      const pr: FakePull = {
        number,
        title: b.title,
        body: typeof b.body === 'string' ? b.body : '',
        head: b.head,
        base: b.base,
        state: 'open',
        labels: [],
        comments: [],
        html_url: `${origin}/${owner}/${repo}/pull/${number}`,
      };
      pulls.push(pr);
      return { status: 201, body: json(pr) };
    }
    let m = /^\/pulls\/(\d+)$/.exec(rest);
    if (m && c.method === 'PATCH') {
      const pr = byNumber(m[1]);
      if (!pr) return { status: 404, body: ghError(404) };
      if (typeof b.title === 'string') pr.title = b.title;
      if (typeof b.body === 'string') pr.body = b.body;
      if (b.state === 'open' || b.state === 'closed') pr.state = b.state;
      return { status: 200, body: json(pr) };
    }
    m = /^\/issues\/(\d+)\/labels$/.exec(rest);
    if (m && c.method === 'POST') {
      const pr = byNumber(m[1]);
      if (!pr) return { status: 404, body: ghError(404) };
      const labels = b.labels;
      if (!Array.isArray(labels) || !labels.every((l) => typeof l === 'string')) return invalid('labels must be an array of strings');
      for (const l of labels) if (!pr.labels.includes(l)) pr.labels.push(l);
      return { status: 200, body: pr.labels.map((name) => ({ name })) };
    }
    m = /^\/issues\/(\d+)\/comments$/.exec(rest);
    if (m && c.method === 'POST') {
      const pr = byNumber(m[1]);
      if (!pr) return { status: 404, body: ghError(404) };
      if (typeof b.body !== 'string') return invalid('body is required');
      pr.comments.push(b.body);
      return { status: 201, body: { id: pr.comments.length, body: b.body } };
    }
    return { status: 404, body: ghError(404) };
  };

  const api = await startFakeApi(handle, ghError);
  origin = api.origin;
  return Object.assign(api, {
    url: `${api.origin}/api/v3`,
    owner,
    repo,
    pulls,
    open: () => pulls.filter((p) => p.state === 'open'),
  });
}
