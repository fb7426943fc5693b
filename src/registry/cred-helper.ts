import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { RegistryError } from '../errors.js';

/** What a helper answers, as credentials.ts's Credentials (declared here so the two files do not import each other). */
export interface HelperCredentials {
  username: string;
  password: string;
  identityToken?: string;
  source?: string;
}

const NOT_FOUND = /credentials not found/i;
/** The run's network timeout when the caller gives none (`DEFAULT_POLICY.timeoutMs`). */
export const DEFAULT_HELPER_TIMEOUT_MS = 10_000;
/** A credentials JSON is a few hundred bytes; anything near this is a broken or hostile helper. */
export const HELPER_OUTPUT_LIMIT = 64 * 1024;
/** How long after the helper exits its pipes may stay open (a child it left behind holding them). */
const EXIT_GRACE_MS = 250;

/**
 * Process groups of helpers still running. A detached group is out of reach of the terminal's
 * Ctrl-C and of our own exit, so whatever ends lg-pins while one runs ends the group too.
 */
const live = new Set<number>();
let exitHook = false;
function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // The group is already gone.
  }
}
/** Kill every helper group still running. For signal handlers too: 'exit' does not run on a signal. */
export function killRunningHelpers(): void {
  for (const p of live) killGroup(p);
  live.clear();
}
function track(pid: number): void {
  live.add(pid);
  if (exitHook) return;
  exitHook = true;
  process.once('exit', killRunningHelpers);
}

/**
 * Ask `docker-credential-<name> get` for a server's credentials (docker-credential-helpers
 * protocol): the server URL on stdin; JSON `{ServerURL, Username, Secret}` on stdout. A
 * `Username` of `<token>` means the secret is an identity (refresh) token. "credentials not found"
 * means anonymous. Any other failure is exit 3 naming the helper, the server and the exit code or
 * signal, and NEVER quoting what the helper printed, on stdout or stderr: a broken or hostile
 * helper can print its secret anywhere, even in an error line.
 *
 * The helper cannot hold the run: it runs in a process group of its own that is killed whole
 * (SIGKILL) when it outlives `timeoutMs` or prints more than 64 KiB, and its pipes are destroyed
 * then too, so a grandchild that kept them open cannot keep lg-pins alive either.
 */
export function runCredentialHelper(
  name: string,
  server: string,
  env: NodeJS.ProcessEnv,
  origin: string,
  timeoutMs: number = DEFAULT_HELPER_TIMEOUT_MS,
): Promise<HelperCredentials | undefined> {
  const program = `docker-credential-${name}`;
  return new Promise((resolve, reject) => {
    let settled = false;
    let child: ChildProcessWithoutNullStreams | undefined;
    let grace: NodeJS.Timeout | undefined;
    // Settle once: a timeout, an output overflow, 'error', 'exit' and 'close' can all race.
    const settle = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(grace);
      outcome();
    };
    const fail = (why: string, cause?: unknown) =>
      settle(() =>
        reject(
          new RegistryError(`credential helper ${program} (from ${origin}) failed for ${server}: ${why}`, { registry: server, cause }),
        ),
      );
    /** Kill the whole group and drop our ends of the pipes, so nothing it left behind can hold us. */
    const release = () => {
      if (!child) return;
      if (child.pid !== undefined) {
        killGroup(child.pid);
        live.delete(child.pid);
      }
      child.stdout.destroy();
      child.stderr.destroy();
      child.stdin.destroy();
      child.unref();
    };
    const abandon = (why: string) => {
      fail(why);
      release();
    };
    const timer = setTimeout(() => abandon(`no answer within ${timeoutMs / 1000} s (killed)`), timeoutMs);
    try {
      // detached: its own process group, so a kill reaches everything it started.
      child = spawn(program, ['get'], { env, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    } catch (e) {
      // Only the error code: Node's message may quote the environment, which can hold secrets.
      fail(`could not start it (${(e as NodeJS.ErrnoException).code ?? 'error'})`, e);
      return;
    }
    const proc = child;
    const pid = proc.pid;
    if (pid !== undefined) track(pid);
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let size = 0;
    const collect = (into: Buffer[]) => (chunk: Buffer) => {
      if (settled) return;
      size += chunk.length;
      if (size > HELPER_OUTPUT_LIMIT) {
        abandon(`it printed more than ${HELPER_OUTPUT_LIMIT / 1024} KiB (killed)`);
        return;
      }
      into.push(chunk);
    };
    proc.stdout.on('data', collect(stdout));
    proc.stderr.on('data', collect(stderr));
    // A destroyed pipe may report an error after we gave up; nothing to add then.
    proc.stdout.on('error', () => {});
    proc.stderr.on('error', () => {});
    proc.stdin.on('error', () => {});
    proc.on('error', (e: NodeJS.ErrnoException) => {
      fail(
        e.code === 'ENOENT'
          ? `${program} is not on PATH (install it, or remove the helper from ${origin})`
          : `could not run it (${e.code ?? 'error'})`,
        e,
      );
    });
    const finish = (code: number | null, signal: NodeJS.Signals | null) => {
      // Its group is over (or was just killed): never signal that id again, it may be reused.
      if (pid !== undefined) live.delete(pid);
      if (settled) return;
      const out = Buffer.concat(stdout).toString('utf8');
      if (code !== 0) {
        // Tested for, never printed: the same output may hold a Secret.
        if (NOT_FOUND.test(out) || NOT_FOUND.test(Buffer.concat(stderr).toString('utf8'))) settle(() => resolve(undefined));
        else fail(signal ? `killed by signal ${signal}` : `exit ${code ?? 'unknown'}`);
        return;
      }
      let body: { Username?: unknown; Secret?: unknown };
      try {
        body = JSON.parse(out) as typeof body;
      } catch {
        // Never echo what it printed: on success that is the secret.
        fail('it printed something that is not the expected JSON');
        return;
      }
      if (!body || typeof body !== 'object') {
        fail('it printed something that is not the expected JSON');
        return;
      }
      const username = typeof body.Username === 'string' ? body.Username : '';
      const secret = typeof body.Secret === 'string' ? body.Secret : '';
      if (!secret) settle(() => resolve(undefined));
      else
        settle(() =>
          resolve(
            username === '<token>'
              ? { username: '', password: '', identityToken: secret, source: program }
              : { username, password: secret, source: program },
          ),
        );
    };
    // The helper has answered once it exits; a child it left holding the pipes only delays 'close',
    // so after a short grace the answer is read as it stands and the stragglers are killed.
    proc.on('exit', (code, signal) => {
      if (settled) return;
      grace = setTimeout(() => {
        release();
        finish(code, signal);
      }, EXIT_GRACE_MS);
    });
    proc.on('close', (code, signal) => finish(code, signal));
    proc.stdin.end(`${server}\n`);
  });
}
