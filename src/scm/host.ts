import { request } from 'undici';
import { GitHostError } from '../errors.js';
import { USER_AGENT } from '../version.js';
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

/** One JSON call to a host API; the token goes in a header only, and no message ever shows it. */
export async function callApi(
  kind: string,
  method: string,
  url: string,
  headers: Record<string, string>,
  body?: unknown,
): Promise<ApiResponse> {
  let res;
  try {
    res = await request(url, {
      method: method as 'GET',
      headers: { 'user-agent': USER_AGENT, accept: 'application/json', ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
      headersTimeout: 30_000,
      bodyTimeout: 30_000,
    });
  } catch (e) {
    throw new GitHostError(`${kind} API ${new URL(url).origin} cannot be reached: ${redact((e as Error).message)}`, { cause: e });
  }
  const text = await res.body.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // keep the text
  }
  const flat: Record<string, string> = {};
  for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) flat[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
  return { status: res.statusCode, headers: flat, body: parsed };
}

/** The API's own error text, for messages: GitHub's `message` (+ `errors`), GitLab's `message`/`error`. */
export function apiMessage(body: unknown): string {
  if (!body || typeof body !== 'object') return typeof body === 'string' ? body.slice(0, 200) : '';
  const b = body as { message?: unknown; error?: unknown; errors?: Array<{ message?: string; code?: string }> };
  const main = typeof b.message === 'string' ? b.message : Array.isArray(b.message) ? b.message.join('; ') : typeof b.message === 'object' && b.message ? JSON.stringify(b.message) : typeof b.error === 'string' ? b.error : '';
  const extra = Array.isArray(b.errors) ? b.errors.map((e) => e.message ?? e.code ?? '').filter(Boolean).join('; ') : '';
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
