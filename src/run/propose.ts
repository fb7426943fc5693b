import { mkdir, mkdtemp, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, posix, relative, sep } from 'node:path';
import { findSpec, type LoadOptions } from '../config/load.js';
import { lockFileFor } from '../config/names.js';
import type { Lock } from '../lock/model.js';
import { parseLock } from '../lock/read.js';
import { GitHostError, UsageError, worstExitCode, type ExitCode } from '../errors.js';
import { shouldWrite } from '../plan/lock-plan.js';
import { proposalText } from '../render/proposal.js';
import type { ClientOptions } from '../registry/client.js';
import { git, gitOut, type GitOptions, type GitResult } from '../scm/git.js';
import { GitHub } from '../scm/github.js';
import { GitLab } from '../scm/gitlab.js';
import { openHostTransport, type GitHost, type PullRequest } from '../scm/host.js';
import { clockFrom } from './clock.js';
import { diff, type DiffResult } from './diff.js';
import type { LockCallbacks } from './lock.js';
import { trackTemp, untrackTemp } from '../safe/temp.js';

export const DEFAULT_BRANCH = 'lg-pins/repin';
export const DEFAULT_AUTHOR = 'lg-pins <lg-pins@users.noreply.github.com>';

export interface ProposeOptions extends LoadOptions {
  remote?: string;
  base?: string;
  branch?: string;
  labels?: string[];
  /** `Name <email>`; default: git config user.name/email, else lg-pins. */
  author?: string;
  /** Print title, body and diff: no push, no write, no API call. */
  dryRun?: boolean;
  /** The whole environment (default process.env): host detection, tokens, and every git command (HOME, git config, PATH). */
  env?: NodeJS.ProcessEnv;
  /** A git host to use instead of the one detected from the environment (tests). */
  host?: GitHost | null;
  client?: ClientOptions;
  callbacks?: LockCallbacks;
  /** The clock rollout rings judge soak times by (default: LG_PINS_NOW in `env`, else the system's). */
  now?: Date;
}

export type ProposeAction = 'created' | 'updated' | 'closed' | 'nothing' | 'pushed' | 'dry-run';

export interface ProposeResult {
  action: ProposeAction;
  title: string;
  body: string;
  patch: string;
  branch: string;
  base: string;
  remote: string;
  /** The lock changes (there is something to propose). */
  changed: boolean;
  /** The commit pushed, when there is a change (not on a dry run). */
  commit?: string;
  pr?: PullRequest;
  host?: string;
  diff: DiffResult;
  exitCode: ExitCode;
}

/**
 * `lock` the spec and lock of the base branch (not the working tree), commit the new lock on one
 * deterministic branch, force-push it, and open or update the one pull request for it. The user's
 * working tree, index and current branch are never touched: the base is checked out into a
 * temporary directory through a temporary index, and the commit is made with git plumbing.
 */
export async function propose(opts: ProposeOptions = {}): Promise<ProposeResult> {
  const env = opts.env ?? process.env;
  const specFile = await findSpec(opts);
  const top = await gitOut(['rev-parse', '--show-toplevel'], { cwd: dirname(specFile), baseEnv: env }).catch(() => {
    throw new UsageError(`${specFile} is not inside a git repository; propose commits the lock on a branch of its repository`);
  });
  const relSpec = relative(await realpath(top), await realpath(specFile))
    .split(sep)
    .join('/');
  // Every git command runs in the repository with the caller's environment (HOME, git config, PATH).
  const run = (args: string[], extra: Omit<GitOptions, 'cwd'> = {}) => git(args, { cwd: top, baseEnv: env, ...extra });
  const runOut = async (args: string[], extra: Omit<GitOptions, 'cwd'> = {}) => (await run(args, extra)).stdout.trim();
  const remote = opts.remote ?? 'origin';
  const remoteUrl = await runOut(['remote', 'get-url', remote]).catch(() => {
    throw new UsageError(`git remote ${JSON.stringify(remote)} does not exist (pass --remote NAME)`);
  });
  const base = opts.base ?? (await defaultBase(run, remote, env));
  const branch = opts.branch ?? DEFAULT_BRANCH;
  if (branch === base) throw new UsageError(`--branch ${branch} is the base branch; propose needs a branch of its own`);
  // The git host's API goes through the proxies the environment names (closed when the run ends).
  const api = opts.dryRun || opts.host !== undefined ? undefined : openHostTransport(env);
  try {
    const host = opts.dryRun
      ? undefined
      : api
        ? (GitHub.fromEnv(env, api.transport) ?? GitLab.fromEnv(env, api.transport))
        : (opts.host ?? undefined);
    return await proposeWith(opts, { env, run, runOut, relSpec, remote, remoteUrl, base, branch, host });
  } finally {
    await api?.close();
  }
}

interface Context {
  env: NodeJS.ProcessEnv;
  run: Git;
  runOut: (args: string[], extra?: Omit<GitOptions, 'cwd'>) => Promise<string>;
  relSpec: string;
  remote: string;
  remoteUrl: string;
  base: string;
  branch: string;
  host: GitHost | undefined;
}

/** Everything after the repository, remote, branches and host are known: fetch, plan, commit, push, open. */
async function proposeWith(opts: ProposeOptions, ctx: Context): Promise<ProposeResult> {
  const { env, run, runOut, relSpec, remote, remoteUrl, base, branch, host } = ctx;
  // The host's token for the fetch and the push, unless the checkout has credentials of its own:
  // actions/checkout persists an Authorization extraheader, and a second one is a 400 (Duplicate header).
  const hostAuth = host && !(await hasAuthHeader(run)) ? host.pushConfig(remoteUrl) : {};
  await run(['fetch', '--quiet', '--no-tags', remote, `refs/heads/${base}`], { env: hostAuth }).catch((e: Error) => {
    throw new GitHostError(`cannot fetch ${base} from ${remote}: ${e.message}`, { cause: e });
  });
  const baseCommit = await runOut(['rev-parse', 'FETCH_HEAD^{commit}']);
  const proposed = await proposedLock(run, remote, branch, relSpec, hostAuth);

  const work = await mkdtemp(join(tmpdir(), 'lg-pins-propose-'));
  // Removed on SIGINT/SIGTERM too (see safe/temp.ts), not only when the run ends.
  trackTemp(work);
  try {
    const index = join(work, 'index');
    const tree = join(work, 'tree');
    const gitEnv = { GIT_INDEX_FILE: index };
    // The base branch's files, through a temporary index: the user's index and tree stay as they are.
    await run(['read-tree', baseCommit], { env: gitEnv });
    const gitDir = await runOut(['rev-parse', '--absolute-git-dir']);
    await mkdir(tree);
    await git(['--git-dir', gitDir, '--work-tree', tree, 'checkout-index', '--all', '--force'], { cwd: tree, baseEnv: env, env: gitEnv });
    // The same plan as `diff`: resolved fresh, nothing written; the commit carries the planned text.
    const planned = await diff({
      cwd: join(tree, dirname(relSpec)),
      config: join(tree, relSpec),
      client: opts.client,
      callbacks: opts.callbacks,
      now: opts.now ?? clockFrom(env),
      ...(proposed ? { proposed } : {}),
    });
    // What `lock` would write is what is proposed (never a lock in which every image failed).
    const proposes = shouldWrite(
      planned.spec,
      planned,
      planned.changed || planned.outputChanges.length > 0,
      planned.previous !== undefined,
    );
    const exitCode = worstExitCode(planned.failures.map((f) => f.error.exitCode));
    const view: DiffResult = { ...planned, patch: proposes ? planned.patch : '', exitCode };
    const text = proposalText(view, { base, spec: relSpec, labels: opts.labels ?? [] });
    const out: ProposeResult = {
      action: 'nothing',
      changed: false,
      ...text,
      patch: view.patch,
      branch,
      base,
      remote,
      diff: view,
      exitCode,
    };
    if (host) out.host = `${host.kind} ${host.project}`;

    if (!proposes) {
      if (opts.dryRun) return { ...out, action: 'dry-run' };
      // Nothing to change: a pull request left open for the branch has become empty. Not when images
      // failed: what they would change is unknown (a registry outage must not close the pull request).
      const open = host && !planned.failures.length ? await host.findOpen(branch, base) : undefined;
      if (host && open) {
        await host.close(open, `Closed by lg-pins: ${base} already has everything this pull request proposed, or it no longer applies.`);
        // The branch served only this pull request; a failure to delete it is not worth failing the run.
        await run(['push', '--quiet', remote, '--delete', `refs/heads/${branch}`], { env: hostAuth, allowFail: true });
        return { ...out, action: 'closed', pr: open };
      }
      return out;
    }

    out.changed = true;
    // A dry run stops here: no object written, nothing pushed, no API call.
    if (opts.dryRun) return { ...out, action: 'dry-run' };
    // The deploy outputs and the lock, in one commit (removed outputs leave the tree).
    const specDir = relative(tree, planned.spec.dir).split(sep).join('/');
    const files = [
      ...(planned.outputPlan?.changes.write ?? []).map((w) => ({ path: posix.join(specDir, w.path), content: w.content })),
      ...(planned.changed ? [{ path: relative(tree, planned.lockFile).split(sep).join('/'), content: planned.text }] : []),
    ];
    for (const f of files) {
      const blob = await runOut(['hash-object', '-w', '--stdin'], { input: f.content });
      const mode = (await runOut(['ls-tree', baseCommit, '--', f.path])).split(' ')[0] || '100644';
      await run(['update-index', '--add', '--cacheinfo', `${mode},${blob},${f.path}`], { env: gitEnv });
    }
    for (const removed of planned.outputPlan?.changes.remove ?? []) {
      await run(['update-index', '--force-remove', '--', posix.join(specDir, removed)], { env: gitEnv });
    }
    const newTree = await runOut(['write-tree'], { env: gitEnv });
    const who = await identity(run, opts.author);
    // The base commit's date makes the commit deterministic: the same change is the same commit, so a
    // re-run pushes nothing new and the pull request does not churn.
    const date = await runOut(['show', '-s', '--format=%cI', baseCommit]);
    const commit = await runOut(['commit-tree', newTree, '-p', baseCommit, '-F', '-'], {
      input: `${text.title}\n\n${text.summary}\n`,
      env: {
        GIT_AUTHOR_NAME: who.name,
        GIT_AUTHOR_EMAIL: who.email,
        GIT_AUTHOR_DATE: date,
        GIT_COMMITTER_NAME: who.name,
        GIT_COMMITTER_EMAIL: who.email,
        GIT_COMMITTER_DATE: date,
      },
    });
    out.commit = commit;

    await run(['push', '--force', '--quiet', remote, `${commit}:refs/heads/${branch}`], { env: hostAuth }).catch((e: Error) => {
      throw new GitHostError(
        `push of ${branch} to ${remote} was rejected: ${e.message}. The job needs permission to push branches (GitHub: permissions contents: write; GitLab: a token with write_repository)`,
        { cause: e },
      );
    });
    if (!host) return { ...out, action: 'pushed' };
    const open = await host.findOpen(branch, base);
    const pr = open ? await host.update(open, text) : await host.create(branch, base, text);
    return { ...out, action: open ? 'updated' : 'created', pr };
  } finally {
    await rm(work, { recursive: true, force: true });
    untrackTemp(work);
  }
}

type Git = (args: string[], extra?: Omit<GitOptions, 'cwd'>) => Promise<GitResult>;

/**
 * The lock on the pull request's branch, when there is one (rollout rings keep the time a pin was
 * first proposed). Anything missing or unreadable is no lock: it only saves a rerun a new timestamp.
 */
async function proposedLock(run: Git, remote: string, branch: string, relSpec: string, env: NodeJS.ProcessEnv): Promise<Lock | undefined> {
  const fetched = await run(['fetch', '--quiet', '--no-tags', remote, `refs/heads/${branch}`], { env, allowFail: true });
  if (fetched.code !== 0) return undefined;
  const shown = await run(['show', `FETCH_HEAD:${lockFileFor(relSpec)}`], { allowFail: true });
  if (shown.code !== 0) return undefined;
  try {
    return parseLock(shown.stdout, lockFileFor(relSpec));
  } catch {
    return undefined;
  }
}

async function defaultBase(run: Git, remote: string, env: NodeJS.ProcessEnv): Promise<string> {
  const head = await run(['symbolic-ref', '--quiet', '--short', `refs/remotes/${remote}/HEAD`], { allowFail: true });
  if (head.code === 0 && head.stdout.trim().startsWith(`${remote}/`)) return head.stdout.trim().slice(remote.length + 1);
  const ci = env.CI_DEFAULT_BRANCH || env.GITHUB_BASE_REF || undefined;
  if (ci) return ci;
  const current = await run(['symbolic-ref', '--quiet', '--short', 'HEAD'], { allowFail: true });
  if (current.code === 0 && current.stdout.trim()) return current.stdout.trim();
  throw new UsageError('cannot tell the base branch (detached HEAD, and the remote has no HEAD): pass --base BRANCH');
}

/** An `http[.<url>].extraHeader` with an Authorization header is configured (as actions/checkout leaves it). */
async function hasAuthHeader(run: Git): Promise<boolean> {
  const r = await run(['config', '--get-regexp', '^http\\..*extraheader$'], { allowFail: true });
  return /^\S+\s+authorization\s*:/im.test(r.stdout);
}

async function identity(run: Git, author?: string): Promise<{ name: string; email: string }> {
  const parse = (s: string) => /^\s*(.+?)\s*<([^<>\s]+)>\s*$/.exec(s);
  if (author) {
    const m = parse(author);
    if (!m) throw new UsageError(`--author must look like "Name <email>", got ${JSON.stringify(author)}`);
    return { name: m[1]!, email: m[2]! };
  }
  const name = (await run(['config', '--get', 'user.name'], { allowFail: true })).stdout.trim();
  const email = (await run(['config', '--get', 'user.email'], { allowFail: true })).stdout.trim();
  if (name && email) return { name, email };
  const m = parse(DEFAULT_AUTHOR)!;
  return { name: m[1]!, email: m[2]! };
}
