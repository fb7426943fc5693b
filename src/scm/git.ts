import { spawn } from 'node:child_process';
import { GitHostError } from '../errors.js';

export interface GitResult {
  stdout: string;
  stderr: string;
  code: number;
}

export interface GitOptions {
  cwd: string;
  env?: NodeJS.ProcessEnv;
  /** The environment `env` is laid over (default process.env): propose's `env`, so HOME and git config come from it. */
  baseEnv?: NodeJS.ProcessEnv;
  input?: string | Uint8Array;
  /** Return the result instead of throwing on a non-zero exit. */
  allowFail?: boolean;
}

/** Secrets that must never appear in a message built from git's output. */
const secrets = new Set<string>();
export function registerSecret(value: string | undefined): void {
  if (value && value.length >= 4) secrets.add(value);
}
export function redact(text: string): string {
  let out = text;
  for (const s of secrets) out = out.split(s).join('***');
  // Credentials in URLs (https://user:token@host/...).
  return out.replace(/(\bhttps?:\/\/)[^/@\s:]+:[^/@\s]+@/g, '$1***@');
}

/** Run `git` with arguments (never through a shell). Fails with GitHostError (exit 3) naming the command. */
export function git(args: string[], opts: GitOptions): Promise<GitResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', args, {
      cwd: opts.cwd,
      env: { ...(opts.baseEnv ?? process.env), ...opts.env, GIT_TERMINAL_PROMPT: '0', LC_ALL: 'C' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.on('error', (e: NodeJS.ErrnoException) =>
      reject(
        new GitHostError(e.code === 'ENOENT' ? 'git is not installed (or not on PATH)' : `git ${args[0]}: ${e.message}`, { cause: e }),
      ),
    );
    child.on('close', (code) => {
      const r = { stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), code: code ?? 1 };
      if (r.code !== 0 && !opts.allowFail) {
        // The server's own reason (`remote: ...`, `! [rejected]`) and git's last words.
        const lines = redact(r.stderr.trim() || r.stdout.trim())
          .split('\n')
          .map((l) => l.trim())
          .filter(Boolean);
        const said = lines.filter((l) => /^(remote:|error:|fatal:|!|hint:)/.test(l) && !l.startsWith('hint:'));
        const detail = [...new Set([...said.slice(0, 4), ...lines.slice(-2)])].join(' / ');
        reject(new GitHostError(`git ${args[0]} failed (exit ${r.code})${detail ? `: ${detail}` : ''}`));
      } else resolve(r);
    });
    child.stdin.on('error', () => {});
    child.stdin.end(opts.input ?? '');
  });
}

export async function gitOut(args: string[], opts: GitOptions): Promise<string> {
  return (await git(args, opts)).stdout.trim();
}
