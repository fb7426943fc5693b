/**
 * A fake GitLab v4 API (node:http on 127.0.0.1, a free port) with just what `propose` uses: list,
 * create and update merge requests (title, description, labels, `state_event: close`), add a note.
 * Merge requests live in memory; every call is recorded; `fail()` injects error statuses.
 */
import { startFakeApi, type FakeApi, type RecordedCall, type Reply } from './fake-github.js';

export interface FakeMergeRequest {
  iid: number;
  title: string;
  description: string;
  source_branch: string;
  target_branch: string;
  state: 'opened' | 'closed';
  labels: string[];
  notes: string[];
  web_url: string;
}

export interface FakeGitLab extends FakeApi {
  /** The API base URL, for CI_API_V4_URL. */
  url: string;
  projectId: string;
  mergeRequests: FakeMergeRequest[];
  open(): FakeMergeRequest[];
}

export interface FakeGitLabOptions {
  /** CI_PROJECT_ID (default 4242). */
  projectId?: string;
  /** When set, a call without this header (lower-case name) and value is answered 401. */
  token?: { header: 'private-token' | 'job-token'; value: string };
}

const glError = (status: number): unknown => ({
  message:
    { 401: '401 Unauthorized', 403: '403 Forbidden', 404: '404 Project Not Found', 409: '409 Conflict', 429: 'Retry later' }[status] ??
    '500 Internal Server Error',
});

const labelList = (v: unknown): string[] =>
  typeof v === 'string'
    ? v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : [];

export async function startFakeGitLab(opts: FakeGitLabOptions = {}): Promise<FakeGitLab> {
  const projectId = opts.projectId ?? '4242';
  const mrs: FakeMergeRequest[] = [];
  let origin = '';
  const json = (m: FakeMergeRequest) => ({
    id: 1000 + m.iid,
    iid: m.iid,
    project_id: Number(projectId),
    title: m.title,
    description: m.description,
    state: m.state,
    source_branch: m.source_branch,
    target_branch: m.target_branch,
    labels: m.labels,
    web_url: m.web_url,
  });

  const handle = (c: RecordedCall): Reply => {
    if (opts.token && c.headers[opts.token.header] !== opts.token.value) return { status: 401, body: glError(401) };
    const m = /^\/api\/v4\/projects\/([^/]+)(\/.*)$/.exec(c.pathname);
    if (!m || decodeURIComponent(m[1]!) !== projectId) return { status: 404, body: glError(404) };
    const rest = m[2]!;
    const b = (c.body ?? {}) as Record<string, unknown>;
    const byIid = (n: string | undefined) => mrs.find((x) => x.iid === Number(n));

    if (rest === '/merge_requests' && c.method === 'GET') {
      const list = mrs.filter(
        (x) =>
          (!c.query.state || c.query.state === 'all' || c.query.state === x.state) &&
          (!c.query.source_branch || c.query.source_branch === x.source_branch) &&
          (!c.query.target_branch || c.query.target_branch === x.target_branch),
      );
      return { status: 200, body: list.map(json) };
    }
    if (rest === '/merge_requests' && c.method === 'POST') {
      if (typeof b.source_branch !== 'string' || typeof b.target_branch !== 'string' || typeof b.title !== 'string') {
        return { status: 400, body: { error: 'source_branch, target_branch, title are missing' } };
      }
      const dup = mrs.find((x) => x.state === 'opened' && x.source_branch === b.source_branch && x.target_branch === b.target_branch);
      if (dup) return { status: 409, body: { message: [`Another open merge request already exists for this source branch: !${dup.iid}`] } };
      const iid = mrs.length + 1;
      const mr: FakeMergeRequest = {
        iid,
        title: b.title,
        description: typeof b.description === 'string' ? b.description : '',
        source_branch: b.source_branch,
        target_branch: b.target_branch,
        state: 'opened',
        labels: labelList(b.labels),
        notes: [],
        web_url: `${origin}/group/project/-/merge_requests/${iid}`,
      };
      mrs.push(mr);
      return { status: 201, body: json(mr) };
    }
    let r = /^\/merge_requests\/(\d+)$/.exec(rest);
    if (r && c.method === 'PUT') {
      const mr = byIid(r[1]);
      if (!mr) return { status: 404, body: { message: '404 Not found' } };
      if (typeof b.title === 'string') mr.title = b.title;
      if (typeof b.description === 'string') mr.description = b.description;
      if (typeof b.labels === 'string') mr.labels = labelList(b.labels);
      for (const l of labelList(b.add_labels)) if (!mr.labels.includes(l)) mr.labels.push(l);
      if (b.state_event === 'close') mr.state = 'closed';
      if (b.state_event === 'reopen') mr.state = 'opened';
      return { status: 200, body: json(mr) };
    }
    r = /^\/merge_requests\/(\d+)\/notes$/.exec(rest);
    if (r && c.method === 'POST') {
      const mr = byIid(r[1]);
      if (!mr) return { status: 404, body: { message: '404 Not found' } };
      if (typeof b.body !== 'string') return { status: 400, body: { error: 'body is missing' } };
      mr.notes.push(b.body);
      return { status: 201, body: { id: mr.notes.length, body: b.body } };
    }
    return { status: 404, body: { error: '404 Not Found' } };
  };

  const api = await startFakeApi(handle, glError);
  origin = api.origin;
  return Object.assign(api, {
    url: `${api.origin}/api/v4`,
    projectId,
    mergeRequests: mrs,
    open: () => mrs.filter((x) => x.state === 'opened'),
  });
}
