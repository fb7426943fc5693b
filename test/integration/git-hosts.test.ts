/**
 * GitHub and GitLab API calls go through the shared transport stack (src/transport/): a 503 is
 * retried, a POST that may have done its work is not, a long Retry-After is handed back rather than
 * waited out, a redirect to another origin drops the token (Authorization or GitLab's
 * PRIVATE-TOKEN), an answer over 8 MiB is refused, and an API that cannot be reached is a
 * GitHostError naming it. Against the fake APIs only: no registry, no git.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { GitHostError } from '../../src/errors.js';
import { GitHub } from '../../src/scm/github.js';
import { GitLab } from '../../src/scm/gitlab.js';
import { startFakeGitHub, type FakeApi } from '../helpers/fake-github.js';
import { startFakeGitLab } from '../helpers/fake-gitlab.js';
import { freePort } from '../helpers/registry.js';

const TEXT = { title: 'lg-pins: agent v1.0.0 → v1.1.0', body: 'moves', labels: [] };
const servers: FakeApi[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

async function github(token?: string) {
  const gh = await startFakeGitHub({ repository: 'owner/repo', token });
  servers.push(gh);
  return gh;
}
const secret = (prefix: string) => `${prefix}${randomBytes(12).toString('hex')}`;
const failure = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (e: unknown) => e as GitHostError,
  );
const statuses = (api: FakeApi) => api.calls.map((c) => `${c.method} ${c.status}`);

describe('GitHub through the shared stack', () => {
  it('a 503 on the lookup is retried, then the 200 is used', async () => {
    const token = secret('ghs_');
    const gh = await github(token);
    gh.fail({ method: 'GET', path: /\/pulls$/, status: 503, times: 1 });
    const host = new GitHub('owner/repo', token, gh.url);
    expect(await host.findOpen('lg-pins/repin', 'main')).toBeUndefined();
    expect(statuses(gh)).toEqual(['GET 503', 'GET 200']);
  });

  it('a 503 on create is retried (nothing was created); a 502 is not (something may have been)', async () => {
    const token = secret('ghs_');
    const gh = await github(token);
    const host = new GitHub('owner/repo', token, gh.url);
    gh.fail({ method: 'POST', path: /\/pulls$/, status: 503, times: 1 });
    const pr = await host.create('lg-pins/repin', 'main', TEXT);
    expect(pr.number).toBe(1);
    expect(statuses(gh)).toEqual(['POST 503', 'POST 201']);
    expect(gh.pulls).toHaveLength(1);

    gh.fail({ method: 'POST', path: /\/comments$/, status: 502, times: 1 });
    const e = await failure(host.close(pr, 'closing'));
    expect(e).toBeInstanceOf(GitHostError);
    expect(e.status).toBe(502);
    expect(e.message).toMatch(/GitHub POST \/repos\/owner\/repo\/issues\/1\/comments answered HTTP 502/);
    expect(gh.calls.filter((c) => c.pathname.endsWith('/comments'))).toHaveLength(1);
  });

  it('keeps Authorization on a same-origin redirect and drops it on a redirect to another origin', async () => {
    const token = secret('ghs_');
    const gh = await github(token);
    const other = await github();
    const host = new GitHub('owner/repo', token, gh.url);
    gh.fail({ method: 'GET', path: /\/pulls$/, status: 307, times: 1, headers: { location: `${gh.url}/repos/owner/repo/pulls?moved=1` } });
    expect(await host.findOpen('lg-pins/repin', 'main')).toBeUndefined();
    expect(gh.calls.map((c) => [c.status, c.headers.authorization])).toEqual([
      [307, `Bearer ${token}`],
      [200, `Bearer ${token}`],
    ]);

    gh.fail({ method: 'GET', path: /\/pulls$/, status: 302, times: 1, headers: { location: `${other.url}/repos/owner/repo/pulls` } });
    expect(await host.findOpen('lg-pins/repin', 'main')).toBeUndefined();
    expect(other.calls).toHaveLength(1);
    expect(other.calls[0]!.headers.authorization).toBeUndefined();
    expect(JSON.stringify(other.calls)).not.toContain(token);
  });

  it('refuses an answer over 8 MiB, naming the API and the limit', async () => {
    const token = secret('ghs_');
    const gh = await github(token);
    gh.fail({ method: 'GET', path: /\/pulls$/, status: 200, body: { message: 'x'.repeat(9 * 1024 * 1024) } });
    const e = await failure(new GitHub('owner/repo', token, gh.url).findOpen('lg-pins/repin', 'main'));
    expect(e).toBeInstanceOf(GitHostError);
    expect(e.exitCode).toBe(3);
    expect(e.message).toBe(`GitHub API ${gh.origin}: /api/v3/repos/owner/repo/pulls is larger than the 8 MiB limit; refused`);
    expect(statuses(gh)).toEqual(['GET 200']);
  });

  it('an API that cannot be reached is a GitHostError naming it, after every try', async () => {
    const port = await freePort();
    const token = secret('ghs_');
    const e = await failure(new GitHub('owner/repo', token, `http://127.0.0.1:${port}/api/v3`).findOpen('lg-pins/repin', 'main'));
    expect(e).toBeInstanceOf(GitHostError);
    expect(e.message).toBe(`GitHub API http://127.0.0.1:${port} cannot be reached: connection refused (ECONNREFUSED)`);
    expect(e.message).not.toContain(token);
  });
});

describe('GitLab through the shared stack', () => {
  it('a 429 whose Retry-After is past the cap is handed back at once, not waited for', async () => {
    const token = secret('glpat-');
    const gl = await startFakeGitLab({ token: { header: 'private-token', value: token } });
    servers.push(gl);
    gl.fail({ method: 'GET', status: 429, headers: { 'retry-after': '60' } });
    const started = Date.now();
    const e = await failure(new GitLab('4242', { header: 'PRIVATE-TOKEN', value: token }, gl.url).findOpen('lg-pins/repin', 'main'));
    expect(Date.now() - started).toBeLessThan(2000);
    expect(e.status).toBe(429);
    expect(e.message).toMatch(/rate limited for 60 s; run again later/);
    expect(statuses(gl)).toEqual(['GET 429']);
  });

  it('drops PRIVATE-TOKEN on a redirect to another origin', async () => {
    const token = secret('glpat-');
    const gl = await startFakeGitLab({ token: { header: 'private-token', value: token } });
    const other = await startFakeGitLab();
    servers.push(gl, other);
    gl.fail({ method: 'GET', status: 307, times: 1, headers: { location: `${other.url}/projects/4242/merge_requests` } });
    expect(await new GitLab('4242', { header: 'PRIVATE-TOKEN', value: token }, gl.url).findOpen('lg-pins/repin', 'main')).toBeUndefined();
    expect(gl.calls[0]!.headers['private-token']).toBe(token);
    expect(other.calls).toHaveLength(1);
    expect(other.calls[0]!.headers['private-token']).toBeUndefined();
    expect(JSON.stringify(other.calls)).not.toContain(token);
  });
});
