import { GitHostError } from '../errors.js';
import { registerSecret } from './git.js';
import type { Method, Transport } from '../transport/index.js';
import { answered, callApi, hostTransport, tokenPushConfig } from './host.js';
import type { ApiResponse, GitHost, ProposalText, PullRequest } from './host.js';

/** GitHub and GitHub Enterprise (`GITHUB_API_URL`), pull requests through the REST API. */
export class GitHub implements GitHost {
  readonly kind = 'GitHub' as const;
  private readonly api: string;
  private readonly owner: string;

  constructor(
    readonly project: string,
    private readonly token: string,
    apiUrl = 'https://api.github.com',
    private readonly serverUrl = 'https://github.com',
    /** The stack API calls go through (default: the process's shared git host stack). */
    private readonly transport: Transport = hostTransport(),
  ) {
    if (!/^[^/\s]+\/[^/\s]+$/.test(project)) throw new GitHostError(`GITHUB_REPOSITORY must be owner/repo, got ${JSON.stringify(project)}`);
    this.api = apiUrl.replace(/\/+$/, '');
    this.owner = project.split('/')[0]!;
    registerSecret(token);
  }

  static fromEnv(env: NodeJS.ProcessEnv, transport?: Transport): GitHub | undefined {
    if (!env.GITHUB_REPOSITORY) return undefined;
    const token = env.GITHUB_TOKEN || env.GH_TOKEN;
    if (!token)
      throw new GitHostError(
        'GITHUB_REPOSITORY is set but GITHUB_TOKEN is not: pass the job token (env: GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }}) with contents: write and pull-requests: write',
      );
    return new GitHub(env.GITHUB_REPOSITORY, token, env.GITHUB_API_URL || undefined, env.GITHUB_SERVER_URL || undefined, transport);
  }

  private async call(method: Method, path: string, body?: unknown): Promise<ApiResponse> {
    const res = await callApi('GitHub', method, `${this.api}${path}`, {
      headers: { authorization: `Bearer ${this.token}`, accept: 'application/vnd.github+json', 'x-github-api-version': '2022-11-28' },
      body,
      transport: this.transport,
    });
    if (res.status >= 200 && res.status < 300) return res;
    throw this.error(method, path, res);
  }

  private error(method: string, path: string, res: ApiResponse): GitHostError {
    const what = answered('GitHub', method, path, res);
    const limited = res.status === 429 || (res.status === 403 && res.headers['x-ratelimit-remaining'] === '0');
    let fix: string;
    if (limited) {
      const reset = Number(res.headers['x-ratelimit-reset']);
      fix = `rate limited${Number.isFinite(reset) && reset > 0 ? ` until ${new Date(reset * 1000).toISOString()}` : ''}; run again later`;
    } else if (res.status === 401) fix = 'the token was rejected: check GITHUB_TOKEN';
    else if (res.status === 403)
      fix =
        'the token lacks permissions: a workflow needs `permissions: contents: write, pull-requests: write`; a fine-grained token needs Contents and Pull requests read/write; a classic token needs the repo scope';
    else if (res.status === 404)
      fix = `repository ${this.project} not found, or the token cannot see it (check GITHUB_REPOSITORY and the token's repository access)`;
    else if (res.status === 422) fix = 'GitHub refused the request as invalid';
    else fix = 'GitHub failed; run again later';
    return new GitHostError(`${what}: ${fix}`, { status: res.status });
  }

  private pr(body: unknown): PullRequest {
    const b = body as { number: number; html_url: string; title: string };
    return { number: b.number, url: b.html_url, title: b.title };
  }

  async findOpen(branch: string, base: string): Promise<PullRequest | undefined> {
    const q = new URLSearchParams({ state: 'open', head: `${this.owner}:${branch}`, base, per_page: '10' });
    const res = await this.call('GET', `/repos/${this.project}/pulls?${q}`);
    const list = Array.isArray(res.body) ? res.body : [];
    return list.length ? this.pr(list[0]) : undefined;
  }

  async create(branch: string, base: string, text: ProposalText): Promise<PullRequest> {
    const res = await this.call('POST', `/repos/${this.project}/pulls`, {
      title: text.title,
      head: branch,
      base,
      body: text.body,
      maintainer_can_modify: true,
    });
    const pr = this.pr(res.body);
    if (text.labels.length) await this.call('POST', `/repos/${this.project}/issues/${pr.number}/labels`, { labels: text.labels });
    return pr;
  }

  async update(pr: PullRequest, text: ProposalText): Promise<PullRequest> {
    const res = await this.call('PATCH', `/repos/${this.project}/pulls/${pr.number}`, { title: text.title, body: text.body });
    if (text.labels.length) await this.call('POST', `/repos/${this.project}/issues/${pr.number}/labels`, { labels: text.labels });
    return this.pr(res.body);
  }

  async close(pr: PullRequest, comment: string): Promise<void> {
    await this.call('POST', `/repos/${this.project}/issues/${pr.number}/comments`, { body: comment });
    await this.call('PATCH', `/repos/${this.project}/pulls/${pr.number}`, { state: 'closed' });
  }

  pushConfig(remoteUrl: string): Record<string, string> {
    return tokenPushConfig(this.serverUrl, remoteUrl, 'x-access-token', this.token);
  }
}
