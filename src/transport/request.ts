import http from 'node:http';
import https from 'node:https';
import { request, type Dispatcher } from 'undici';
import { LgPinsError, ProxiedNetworkError, TransportError } from '../errors.js';
import { formatBytes } from '../safe/limits.js';
import { USER_AGENT } from '../version.js';
import type { Connections } from './connections.js';
import { connectionFailure } from './failures.js';
import type { Transport, TransportRequest, TransportResponse } from './types.js';

/**
 * The innermost layer: one exchange, no retry and no redirect. It sends the request through the
 * given pools (undici's global dispatcher and Node's global agents when none are given), aborts on
 * the try's deadline, and reads the body up to `maxBytes`. A redirect (3xx with a Location) is
 * answered without its body, which nobody reads: the redirect layer follows it.
 */
export function exchange(connections: Partial<Connections> = {}): Transport {
  const headAgent = connections.headAgent ?? ((url: URL) => (url.protocol === 'https:' ? https.globalAgent : http.globalAgent));
  return async (req) => {
    const url = new URL(req.url);
    url.username = '';
    url.password = '';
    const headers: Record<string, string> = { 'user-agent': USER_AGENT, ...req.headers };
    const deadline = req.deadline;
    if (deadline) deadline.reading = false;
    try {
      const agent = req.method === 'HEAD' ? headAgent(url) : undefined;
      if (agent) {
        const res = await head(url, headers, agent, deadline?.signal);
        if (deadline) deadline.reading = true;
        return { status: res.status, headers: flatHeaders(res.headers), bytes: new Uint8Array(), url: url.toString() };
      }
      const body = req.body;
      const sent = body === undefined || typeof body === 'string' || body instanceof Uint8Array ? body : await body.open();
      if (body !== undefined && typeof body === 'object' && !(body instanceof Uint8Array)) headers['content-length'] = String(body.length);
      const res = await request(url, {
        method: req.method,
        headers,
        body: sent,
        dispatcher: connections.dispatcher,
        signal: deadline?.signal,
      });
      if (deadline) deadline.reading = true;
      const h = flatHeaders(res.headers);
      if (req.method === 'HEAD' || (res.statusCode >= 300 && res.statusCode < 400 && h.location)) {
        await res.body.dump();
        return { status: res.statusCode, headers: h, bytes: new Uint8Array(), url: url.toString() };
      }
      if (req.stream && res.statusCode >= 200 && res.statusCode < 300)
        return { status: res.statusCode, headers: h, bytes: new Uint8Array(), stream: res.body, url: url.toString() };
      return { status: res.statusCode, headers: h, bytes: await readCapped(res.body, h, req, url), url: url.toString() };
    } catch (e) {
      // A streamed body's own verdict (a blob that is not what it claims) is not a connection failure.
      if (e instanceof LgPinsError) throw e;
      const proxy = connections.route?.(url);
      // A TLS server that refuses our certificate closes the socket after the handshake; undici
      // then says only "other side closed". Ask once more, bare, to learn the TLS verdict.
      const silent = url.protocol === 'https:' && !proxy && networkErrorCode(e) === 'UND_ERR_SOCKET';
      const probed = silent ? await connections.probe?.(url) : undefined;
      throw connectionFailure(
        probed ? Object.assign(new Error(e instanceof Error ? e.message : String(e)), { code: probed }) : e,
        url,
        proxy,
      );
    }
  };
}

/**
 * HEAD through node:http with its own keep-alive pool. undici closes the connection after a HEAD
 * unless the server says `Connection: keep-alive`, which Go registries do not: a warm relock of
 * N tags would open N connections (N TLS handshakes) instead of reusing a few.
 */
function head(
  url: URL,
  headers: Record<string, string>,
  agent: http.Agent,
  signal: AbortSignal | undefined,
): Promise<{ status: number; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const lib = url.protocol === 'https:' ? https : http;
    const req = lib.request(url, { method: 'HEAD', headers, agent });
    const onAbort = () => {
      req.destroy();
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    req.on('error', (e) => {
      signal?.removeEventListener('abort', onAbort);
      reject(e);
    });
    req.on('response', (res) => {
      signal?.removeEventListener('abort', onAbort);
      res.resume();
      resolve({ status: res.statusCode ?? 0, headers: res.headers });
    });
    req.end();
  });
}

async function readCapped(
  body: Dispatcher.ResponseData['body'],
  h: Record<string, string>,
  req: TransportRequest,
  url: URL,
): Promise<Uint8Array> {
  const max = req.maxBytes ?? Number.POSITIVE_INFINITY;
  const declared = Number(h['content-length']);
  const tooBig = () => new TransportError('too-large', `${url.pathname} is larger than the ${formatBytes(max)} limit; refused`);
  // undici's body emits an AbortError when destroyed unread; with no listener that is an uncaught exception.
  const discard = () => {
    body.on('error', () => {});
    body.destroy();
  };
  // Refused on its declared length before a byte is read; a body that lies about it is cut off at the cap.
  if (Number.isFinite(declared) && declared > max) {
    discard();
    throw tooBig();
  }
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of body) {
    total += (chunk as Buffer).length;
    if (total > max) {
      discard();
      throw tooBig();
    }
    chunks.push(chunk as Buffer);
  }
  return new Uint8Array(Buffer.concat(chunks));
}

function flatHeaders(raw: Record<string, string | string[] | undefined>): TransportResponse['headers'] {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw)) if (v !== undefined) out[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
  return out;
}

/** The system or undici error code of a failed exchange (on the error or its cause). */
export function networkErrorCode(e: unknown): string | undefined {
  if (!(e instanceof Error)) return undefined;
  return (e as NodeJS.ErrnoException).code ?? (e.cause as NodeJS.ErrnoException | undefined)?.code;
}

/** A failed exchange in words, for messages: "connection refused (ECONNREFUSED)". */
export function describeNetworkError(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  const code = networkErrorCode(e);
  const messages: Record<string, string> = {
    ECONNREFUSED: 'connection refused',
    ECONNRESET: 'connection reset',
    ENOTFOUND: 'host not found',
    EAI_AGAIN: 'DNS lookup failed',
    UND_ERR_HEADERS_TIMEOUT: 'timed out waiting for the response',
    UND_ERR_BODY_TIMEOUT: 'timed out reading the response',
    UND_ERR_CONNECT_TIMEOUT: 'timed out connecting',
    UND_ERR_SOCKET: 'connection closed',
  };
  if (code === 'LG_PINS_DEADLINE') return e.message;
  const said = code && messages[code] ? `${messages[code]} (${code})` : e.message;
  return e instanceof ProxiedNetworkError ? `${said} (through proxy ${e.proxy})` : said;
}
