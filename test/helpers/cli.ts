import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const BIN = `${ROOT}bin/lg-pins.js`;

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Run the BUILT bin (as a user would, with this Node) in `cwd`. A run still going after `timeoutMs`
 * is killed and reported as `killed` (code -1): that is how tests tell a hang from an answer.
 */
export function runCli(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}, timeoutMs = 60_000): Promise<CliResult> {
  if (!existsSync(`${ROOT}dist/cli/main.js`))
    throw new Error('dist/ is missing: run `npm run build` (npm test does it) before the e2e tests');
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { cwd, env: { ...process.env, NO_COLOR: '1', ...env }, timeout: timeoutMs },
      (err, stdout, stderr) => {
        const code = err ? (err.killed ? -1 : typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** No stack trace in user-facing output. */
export const STACK = /\n\s+at .+:\d+:\d+/;
