/**
 * Real git for `propose` tests: a bare repository as the remote (`remote.git`, default branch
 * `main`), an `upstream` clone that plays the other developers (it makes and pushes the base
 * branch's commits), and a `checkout` clone that is the user's checkout, where `propose` runs.
 *
 * Every git command runs with `HOME` pointing at an empty directory and `GIT_CONFIG_NOSYSTEM=1`, so
 * no identity, credential helper or other configuration of the machine leaks in; `env` is that same
 * environment, to hand to `propose({ env })` or the CLI. The test's own setup commits name their
 * author explicitly (`-c user.name= -c user.email=`), so no identity is ever configured.
 * `serveHttp()` serves the remote over smart HTTP (`git http-backend`) for credential tests.
 */
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join, relative } from 'node:path';

/** The identity of the test's own setup commits (never configured, always passed with `-c`). */
export const SETUP_AUTHOR = { name: 'Test Setup', email: 'setup@example.invalid' };

/** Variables of the test runner's environment that must not reach git or propose. */
const LEAKY = /^(GIT_|GITHUB_|GH_|GITLAB_|CI_|CI$|DOCKER_CONFIG$|REGISTRY_AUTH_FILE$|LG_PINS_)/;

/** The user's checkout, as propose must leave it. */
export interface CheckoutState {
  /** `git status --porcelain` (untracked and ignored files included). */
  status: string;
  /** The current branch (`symbolic-ref HEAD`), or `(detached)`. */
  branch: string;
  head: string;
  stash: string;
  worktrees: string;
  /** Local branches and tags with their commits (propose creates none). */
  refs: string;
  /** sha256 of `.git/index` and of `.git/config`. */
  index: string;
  config: string;
  /** sha256 of every file of the working tree (outside `.git`), by path. */
  files: Record<string, string>;
}

export interface GitRepos {
  root: string;
  /** The empty HOME. */
  home: string;
  /** The bare repository, `origin` of both clones. */
  remote: string;
  /** Another developer's clone: base-branch commits are made and pushed from here. */
  upstream: string;
  /** The user's checkout. */
  checkout: string;
  /** Environment for git and for propose: the runner's, minus git/CI/host variables, HOME empty. */
  env: NodeJS.ProcessEnv;
  /** Run git in `cwd` (default the checkout); returns trimmed stdout, throws with stderr. */
  git(args: string[], cwd?: string, input?: string): string;
  /** Write files (path → content) under `dir` (default the checkout), creating directories. */
  write(files: Record<string, string>, dir?: string): void;
  read(path: string, dir?: string): string;
  /** `git add -A` and commit in `dir` (default the checkout) as SETUP_AUTHOR; returns the commit. */
  commitAll(message: string, dir?: string): string;
  /** Write, commit and push files to the remote's `main` from `upstream` (a base-branch change). */
  pushToBase(files: Record<string, string>, message: string): string;
  /** `git push origin <refspec>` from `dir` (default the checkout). */
  push(refspec: string, dir?: string): void;
  /** A file at a ref of the remote, or undefined if the ref or the path does not exist. */
  remoteShow(ref: string, path: string): string | undefined;
  /** The remote's branches: name → commit. */
  remoteBranches(): Record<string, string>;
  /** `git --git-dir remote.git <args>`. */
  remoteGit(args: string[]): string;
  /** Author, committer, parents and message of a commit of the remote. */
  remoteCommit(ref: string): { author: string; committer: string; parents: string[]; subject: string; message: string; files: string[] };
  /**
   * Serve the remote over smart HTTP (`git http-backend`) at `<url>/remote.git`, as GitHub does:
   * a request without an Authorization header is 401, one with two is 400 `Duplicate header`.
   */
  serveHttp(): Promise<HttpRemote>;
  /** Make the remote refuse every push with a `pre-receive` hook that exits 1. */
  rejectPushes(message?: string): void;
  snapshot(): CheckoutState;
  cleanup(): void;
}

export interface HttpRemote {
  /** `http://127.0.0.1:PORT` (the remote is `<url>/remote.git`). */
  url: string;
  /** Every request: method, path, query, and the Authorization headers it carried. */
  requests: Array<{ method: string; path: string; query: string; authorizations: string[]; status: number }>;
  close(): Promise<void>;
}

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

/** The runner's environment minus anything that would configure git, a git host or registry credentials. */
export function isolatedEnv(home: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!LEAKY.test(k)) env[k] = v;
  return {
    ...env,
    HOME: home,
    XDG_CONFIG_HOME: join(home, '.config'),
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_TERMINAL_PROMPT: '0',
    LC_ALL: 'C',
  };
}

/**
 * A bare remote whose `main` holds `files` (one commit by SETUP_AUTHOR), cloned twice. Call
 * `cleanup()` (e.g. in afterEach/afterAll).
 */
export function gitRepos(files: Record<string, string>): GitRepos {
  const root = mkdtempSync(join(tmpdir(), 'lg-pins-git-'));
  const home = join(root, 'home');
  mkdirSync(home);
  const remote = join(root, 'remote.git');
  const upstream = join(root, 'upstream');
  const checkout = join(root, 'checkout');
  const env = isolatedEnv(home);

  const git = (args: string[], cwd = checkout, input?: string): string => {
    try {
      return execFileSync('git', args, { cwd, env, input, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] }).trim();
    } catch (e) {
      const err = e as { stderr?: string; status?: number };
      throw new Error(`git ${args.join(' ')} (in ${cwd}) failed with ${err.status}: ${err.stderr ?? ''}`);
    }
  };
  const remoteGit = (args: string[]) => git(['--git-dir', remote, ...args], root);
  const write = (f: Record<string, string>, dir = checkout) => {
    for (const [path, content] of Object.entries(f)) {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), content);
    }
  };
  const commitAll = (message: string, dir = checkout): string => {
    git(['add', '-A'], dir);
    git(
      ['-c', `user.name=${SETUP_AUTHOR.name}`, '-c', `user.email=${SETUP_AUTHOR.email}`, 'commit', '--quiet', '--no-verify', '-m', message],
      dir,
    );
    return git(['rev-parse', 'HEAD'], dir);
  };
  const push = (refspec: string, dir = checkout) => {
    git(['push', '--quiet', 'origin', refspec], dir);
  };

  git(['init', '--quiet', '--bare', '-b', 'main', remote], root);
  git(['clone', '--quiet', remote, upstream], root);
  git(['checkout', '--quiet', '-B', 'main'], upstream);
  write(files, upstream);
  commitAll('initial', upstream);
  push('main', upstream);
  // Cloned after the first push, so that origin/HEAD names main, as in any real clone.
  git(['clone', '--quiet', remote, checkout], root);

  const walk = (dir: string, out: Record<string, string>) => {
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name);
      if (dir === checkout && name === '.git') continue;
      if (statSync(p).isDirectory()) walk(p, out);
      else out[relative(checkout, p)] = sha(readFileSync(p));
    }
    return out;
  };

  return {
    root,
    home,
    remote,
    upstream,
    checkout,
    env,
    git,
    write,
    read: (path, dir = checkout) => readFileSync(join(dir, path), 'utf8'),
    commitAll,
    pushToBase(f, message) {
      git(['pull', '--quiet', '--ff-only', 'origin', 'main'], upstream);
      write(f, upstream);
      const commit = commitAll(message, upstream);
      push('main', upstream);
      return commit;
    },
    push,
    remoteShow(ref, path) {
      try {
        return execFileSync('git', ['--git-dir', remote, 'show', `${ref}:${path}`], {
          cwd: root,
          env,
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'pipe'],
        });
      } catch {
        return undefined;
      }
    },
    remoteBranches() {
      const out = remoteGit(['for-each-ref', '--format=%(refname:short) %(objectname)', 'refs/heads']);
      return Object.fromEntries(
        out
          .split('\n')
          .filter(Boolean)
          .map((l) => l.split(' ') as [string, string]),
      );
    },
    remoteGit,
    remoteCommit(ref) {
      const [author = '', committer = '', parents = '', subject = ''] = remoteGit([
        'log',
        '-1',
        '--format=%an <%ae>%n%cn <%ce>%n%P%n%s',
        ref,
      ]).split('\n');
      const message = remoteGit(['log', '-1', '--format=%B', ref]);
      const files = remoteGit(['diff-tree', '--no-commit-id', '--name-only', '-r', `${ref}^`, ref])
        .split('\n')
        .filter(Boolean);
      return { author, committer, parents: parents.split(' ').filter(Boolean), subject, message, files };
    },
    serveHttp: () => serveHttp(root, env),
    rejectPushes(message = 'pushes are frozen by policy') {
      const hook = join(remote, 'hooks', 'pre-receive');
      writeFileSync(hook, `#!/bin/sh\necho ${JSON.stringify(message)} >&2\nexit 1\n`);
      chmodSync(hook, 0o755);
    },
    snapshot() {
      // Read the index and config before running git (status runs without optional locks anyway).
      const index = sha(readFileSync(join(checkout, '.git', 'index')));
      const config = sha(readFileSync(join(checkout, '.git', 'config')));
      const branch = (() => {
        try {
          return git(['symbolic-ref', '--quiet', 'HEAD']);
        } catch {
          return '(detached)';
        }
      })();
      return {
        status: git(['--no-optional-locks', 'status', '--porcelain=v1', '--untracked-files=all', '--ignored']),
        branch,
        head: git(['rev-parse', 'HEAD']),
        stash: git(['stash', 'list']),
        worktrees: git(['worktree', 'list', '--porcelain']),
        refs: git(['for-each-ref', '--format=%(refname) %(objectname)', 'refs/heads', 'refs/tags']),
        index,
        config,
        files: walk(checkout, {}),
      };
    },
    cleanup() {
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** `git http-backend` as a CGI behind node:http, serving the repositories under `root`. */
async function serveHttp(root: string, env: NodeJS.ProcessEnv): Promise<HttpRemote> {
  const requests: HttpRemote['requests'] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://git');
    const authorizations: string[] = [];
    for (let i = 0; i < req.rawHeaders.length; i += 2)
      if (req.rawHeaders[i]!.toLowerCase() === 'authorization') authorizations.push(req.rawHeaders[i + 1]!);
    const entry = { method: req.method ?? 'GET', path: url.pathname, query: url.search.slice(1), authorizations, status: 0 };
    requests.push(entry);
    const answer = (status: number, headers: Record<string, string>, body: Buffer | string) => {
      entry.status = status;
      res.writeHead(status, headers);
      res.end(body);
    };
    if (authorizations.length > 1) {
      req.resume();
      answer(400, { 'content-type': 'text/plain' }, 'Duplicate header: "Authorization"\n');
      return;
    }
    if (authorizations.length === 0) {
      req.resume();
      answer(401, { 'www-authenticate': 'Basic realm="GitHub"', 'content-type': 'text/plain' }, 'authentication required\n');
      return;
    }
    const child = spawn('git', ['http-backend'], {
      env: {
        ...env,
        GIT_PROJECT_ROOT: root,
        GIT_HTTP_EXPORT_ALL: '1',
        PATH_INFO: url.pathname,
        QUERY_STRING: url.search.slice(1),
        REQUEST_METHOD: req.method ?? 'GET',
        CONTENT_TYPE: req.headers['content-type'] ?? '',
        REMOTE_USER: 'x-access-token',
        REMOTE_ADDR: '127.0.0.1',
        ...(req.headers['content-encoding'] ? { HTTP_CONTENT_ENCODING: req.headers['content-encoding'] } : {}),
        ...(typeof req.headers['git-protocol'] === 'string' ? { GIT_PROTOCOL: req.headers['git-protocol'] } : {}),
      },
      stdio: ['pipe', 'pipe', 'ignore'],
    });
    const out: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stdin.on('error', () => {});
    req.pipe(child.stdin);
    child.on('close', () => {
      const all = Buffer.concat(out);
      const split = all.indexOf('\r\n\r\n');
      const head = all.subarray(0, split).toString('latin1').split('\r\n');
      const headers: Record<string, string> = {};
      let status = 200;
      for (const line of head) {
        const i = line.indexOf(':');
        const name = line.slice(0, i).trim();
        const value = line.slice(i + 1).trim();
        if (name.toLowerCase() === 'status') status = Number.parseInt(value, 10);
        else if (name) headers[name] = value;
      }
      answer(status, headers, all.subarray(split + 4));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
