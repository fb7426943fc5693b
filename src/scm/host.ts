import { GitHostError, TransportError } from '../errors.js';
import { LIMITS } from '../safe/limits.js';
import { openConnections } from '../transport/connections.js';
import { transportStack, type Method, type Transport } from '../transport/index.js';
import { describeNetworkError } from '../transport/request.js';
import { redact } from './git.js';

export interface PullRequest {
  /** GitHub's number, GitLab's iid. */
  number: number;
  url: string;
  title: string;
}

export interface ProposalText {
  title: string;
  body: string;
  labels: string[];
}

/** A hosted git service: GitHub (or Enterprise) and GitLab behind one small interface. */
export interface GitHost {
  readonly kind: 'GitHub' | 'GitLab';
  /** owner/repo or project id, for messages. */
  readonly project: string;
  findOpen(branch: string, base: string): Promise<PullRequest | undefined>;
  create(branch: string, base: string, text: ProposalText): Promise<PullRequest>;
  update(pr: PullRequest, text: ProposalText): Promise<PullRequest>;
  close(pr: PullRequest, comment: string): Promise<void>;
  /**
   * Git config (as GIT_CONFIG_* environment, never argv) that lets `git push` authenticate with
   * the job's token when the remote is this host and has no credentials of its own.
   */
  pushConfig(remoteUrl: string): Record<string, string>;
}

export interface ApiResponse {
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

/**
 * How git host APIs are asked: 30 s a try (a pull request with a long body is slow to create), 3
 * tries, and a Retry-After past 10 s handed back rather than waited for: a rate limit of a minute or
 * an hour will not lift in seconds, and the error says when to run again.
 */
const HOST_POLICY = { timeoutMs: 30_000, attempts: 3, maxRetryAfterMs: 10_000, backoffMs: 250, beyondCap: 'stop' } as const;

let shared: Transport | undefined;

/**
 * The stack every git host call of the process goes through unless a host is given its own: over
 * undici's global dispatcher and Node's global agents, so there is nothing to close.
 */
export function hostTransport(): Transport {
  return (shared ??= transportStack(HOST_POLICY));
}

/**
 * The stack for one run's git host calls from `env`: through HTTPS_PROXY / HTTP_PROXY unless
 * NO_PROXY says otherwise, with Node's trust (NODE_EXTRA_CA_CERTS included). Close it when done.
 */
export function openHostTransport(env: NodeJS.ProcessEnv): { transport: Transport; close(): Promise<void> } {
  const pools = openConnections(HOST_POLICY.timeoutMs, {}, { env, tls: () => undefined });
  return { transport: transportStack({ ...HOST_POLICY, connections: pools.connections }), close: () => pools.close() };
}

export interface ApiCall {
  headers: Record<string, string>;
  body?: unknown;
  /** Headers besides Authorization that carry the token (GitLab's), dropped on a redirect to another origin. */
  credentialHeaders?: readonly string[];
  transport?: Transport;
}

/** One JSON call to a host API; the token goes in a header only, and no message ever shows it. */
export async function callApi(kind: string, method: Method, url: string, call: ApiCall): Promise<ApiResponse> {
  let res;
  try {
    res = await (call.transport ?? hostTransport())({
      method,
      url,
      headers: { accept: 'application/json', ...(call.body !== undefined ? { 'content-type': 'application/json' } : {}), ...call.headers },
      body: call.body === undefined ? undefined : JSON.stringify(call.body),
      maxBytes: LIMITS.gitHostApiBytes,
      credentialHeaders: call.credentialHeaders,
    });
  } catch (e) {
    throw hostError(kind, url, e);
  }
  const text = Buffer.from(res.bytes).toString('utf8');
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // keep the text
  }
  return { status: res.status, headers: res.headers, body: parsed };
}

/** A failed call as a GitHostError naming the API, redacted (an error may quote a URL or a header). */
function hostError(kind: string, url: string, e: unknown): GitHostError {
  const api = `${kind} API ${new URL(url).origin}`;
  if (e instanceof TransportError && e.kind !== 'unreachable')
    return new GitHostError(`${api}: ${redact(e.message)}`, { status: e.status });
  const why = e instanceof TransportError ? e.message : describeNetworkError(e);
  return new GitHostError(`${api} cannot be reached: ${redact(why)}`, { cause: e });
}

/** The API's own error text, for messages: GitHub's `message` (+ `errors`), GitLab's `message`/`error`. */
export function apiMessage(body: unknown): string {
  if (!body || typeof body !== 'object') return typeof body === 'string' ? body.slice(0, 200) : '';
  const b = body as { message?: unknown; error?: unknown; errors?: Array<{ message?: string; code?: string }> };
  const main =
    typeof b.message === 'string'
      ? b.message
      : Array.isArray(b.message)
        ? b.message.join('; ')
        : typeof b.message === 'object' && b.message
          ? JSON.stringify(b.message)
          : typeof b.error === 'string'
            ? b.error
            : '';
  const extra = Array.isArray(b.errors)
    ? b.errors
        .map((e) => e.message ?? e.code ?? '')
        .filter(Boolean)
        .join('; ')
    : '';
  return redact([main, extra].filter(Boolean).join(': ')).slice(0, 300);
}

/** GIT_CONFIG_* environment for one `http.<url>.extraHeader`: git reads it without it showing in argv. */
export function extraHeaderConfig(urlPrefix: string, header: string): Record<string, string> {
  return { GIT_CONFIG_COUNT: '1', GIT_CONFIG_KEY_0: `http.${urlPrefix}.extraHeader`, GIT_CONFIG_VALUE_0: header };
}

/** `https://user:token@host/path` → `https://host/path`, for comparing remotes. */
export function withoutUserinfo(url: string): string {
  return url.replace(/^(https?:\/\/)[^/@]*@/i, '$1');
}

/** `<host> <METHOD> <path> answered HTTP <status> (<the API's own message>)`, for a failed call's error. */
export function answered(kind: string, method: string, path: string, res: ApiResponse): string {
  const detail = apiMessage(res.body);
  return `${kind} ${method} ${path} answered HTTP ${res.status}${detail ? ` (${detail})` : ''}`;
}

/**
 * Git config that lets `git push` authenticate as `user` with `token` when the remote is on
 * `serverUrl` (and has no credentials of its own); nothing for another remote.
 */
export function tokenPushConfig(serverUrl: string | undefined, remoteUrl: string, user: string, token: string): Record<string, string> {
  if (!serverUrl) return {};
  const server = serverUrl.replace(/\/+$/, '');
  if (!withoutUserinfo(remoteUrl).startsWith(`${server}/`)) return {};
  return extraHeaderConfig(`${server}/`, `Authorization: Basic ${Buffer.from(`${user}:${token}`).toString('base64')}`);
}
