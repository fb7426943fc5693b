import { GitHostError } from '../errors.js';
import { registerSecret } from './git.js';
import type { Method, Transport } from '../transport/index.js';
import { answered, callApi, hostTransport, tokenPushConfig } from './host.js';
import type { ApiResponse, GitHost, ProposalText, PullRequest } from './host.js';

/** GitLab merge requests through the v4 API (`CI_API_V4_URL`, `CI_PROJECT_ID`). */
export class GitLab implements GitHost {
  readonly kind = 'GitLab' as const;
  private readonly api: string;

  constructor(
    readonly project: string,
    private readonly token: { header: 'PRIVATE-TOKEN' | 'JOB-TOKEN'; value: string },
    apiUrl: string,
    private readonly serverUrl?: string,
    /** The stack API calls go through (default: the process's shared git host stack). */
    private readonly transport: Transport = hostTransport(),
  ) {
    this.api = apiUrl.replace(/\/+$/, '');
    registerSecret(token.value);
  }

  static fromEnv(env: NodeJS.ProcessEnv, transport?: Transport): GitLab | undefined {
    if (!env.CI_PROJECT_ID) return undefined;
    const token = env.GITLAB_TOKEN
      ? { header: 'PRIVATE-TOKEN' as const, value: env.GITLAB_TOKEN }
      : env.CI_JOB_TOKEN
        ? { header: 'JOB-TOKEN' as const, value: env.CI_JOB_TOKEN }
        : undefined;
    if (!token)
      throw new GitHostError(
        'CI_PROJECT_ID is set but neither GITLAB_TOKEN nor CI_JOB_TOKEN is: set GITLAB_TOKEN to a project access token with the api and write_repository scopes',
      );
    const api = env.CI_API_V4_URL || (env.CI_SERVER_URL ? `${env.CI_SERVER_URL.replace(/\/+$/, '')}/api/v4` : 'https://gitlab.com/api/v4');
    return new GitLab(env.CI_PROJECT_ID, token, api, env.CI_SERVER_URL, transport);
  }

  private async call(method: Method, path: string, body?: unknown): Promise<ApiResponse> {
    const header = this.token.header.toLowerCase();
    const res = await callApi('GitLab', method, `${this.api}/projects/${encodeURIComponent(this.project)}${path}`, {
      headers: { [header]: this.token.value },
      body,
      credentialHeaders: [header],
      transport: this.transport,
    });
    if (res.status >= 200 && res.status < 300) return res;
    const what = answered('GitLab', method, `/projects/${this.project}${path.split('?')[0]}`, res);
    const fix =
      res.status === 429
        ? `rate limited${res.headers['retry-after'] ? ` for ${res.headers['retry-after']} s` : ''}; run again later`
        : res.status === 401
          ? `the token was rejected: check ${this.token.header === 'PRIVATE-TOKEN' ? 'GITLAB_TOKEN' : 'CI_JOB_TOKEN'}`
          : res.status === 403
            ? `the token may not do this: use GITLAB_TOKEN, a project access token with the api and write_repository scopes (CI_JOB_TOKEN cannot open merge requests)`
            : res.status === 404
              ? `project ${this.project} not found, or the token cannot see it (check CI_PROJECT_ID and the token's access)`
              : 'GitLab failed; run again later';
    throw new GitHostError(`${what}: ${fix}`, { status: res.status });
  }

  private mr(body: unknown): PullRequest {
    const b = body as { iid: number; web_url: string; title: string };
    return { number: b.iid, url: b.web_url, title: b.title };
  }

  async findOpen(branch: string, base: string): Promise<PullRequest | undefined> {
    const q = new URLSearchParams({ state: 'opened', source_branch: branch, target_branch: base });
    const res = await this.call('GET', `/merge_requests?${q}`);
    const list = Array.isArray(res.body) ? res.body : [];
    return list.length ? this.mr(list[0]) : undefined;
  }

  async create(branch: string, base: string, text: ProposalText): Promise<PullRequest> {
    const res = await this.call('POST', '/merge_requests', {
      source_branch: branch,
      target_branch: base,
      title: text.title,
      description: text.body,
      labels: text.labels.join(','),
      remove_source_branch: true,
    });
    return this.mr(res.body);
  }

  async update(pr: PullRequest, text: ProposalText): Promise<PullRequest> {
    const res = await this.call('PUT', `/merge_requests/${pr.number}`, {
      title: text.title,
      description: text.body,
      ...(text.labels.length ? { add_labels: text.labels.join(',') } : {}),
    });
    return this.mr(res.body);
  }

  async close(pr: PullRequest, comment: string): Promise<void> {
    await this.call('POST', `/merge_requests/${pr.number}/notes`, { body: comment });
    await this.call('PUT', `/merge_requests/${pr.number}`, { state_event: 'close' });
  }

  pushConfig(remoteUrl: string): Record<string, string> {
    return tokenPushConfig(this.serverUrl, remoteUrl, this.token.header === 'JOB-TOKEN' ? 'gitlab-ci-token' : 'oauth2', this.token.value);
  }
}
