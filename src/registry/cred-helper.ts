import { spawn } from 'node:child_process';
import { RegistryError } from '../errors.js';
import type { Credentials } from './credentials.js';

const NOT_FOUND = /credentials not found/i;
const TIMEOUT_MS = 15_000;

/**
 * Ask `docker-credential-<name> get` for a server's credentials (docker-credential-helpers
 * protocol): the server URL on stdin; JSON `{ServerURL, Username, Secret}` on stdout. A
 * `Username` of `<token>` means the secret is an identity (refresh) token. "credentials not found"
 * means anonymous. Any other failure is exit 3, passing on the helper's own message but never
 * anything it printed on success.
 */
export function runCredentialHelper(name: string, server: string, env: NodeJS.ProcessEnv, origin: string): Promise<Credentials | undefined> {
  const program = `docker-credential-${name}`;
  return new Promise((resolve, reject) => {
    const fail = (why: string, cause?: unknown) =>
      reject(new RegistryError(`credential helper ${program} (from ${origin}) failed for ${server}: ${why}`, { registry: server, cause }));
    let child;
    try {
      child = spawn(program, ['get'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    } catch (e) {
      fail((e as Error).message, e);
      return;
    }
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      fail(`no answer within ${TIMEOUT_MS / 1000} s`);
    }, TIMEOUT_MS);
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      fail(e.code === 'ENOENT' ? `${program} is not on PATH (install it, or remove the helper from ${origin})` : e.message, e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code !== 0) {
        // A helper may print its credentials and still fail: never pass on output that holds a Secret.
        const said = [stdout.trim(), stderr.trim()].find((s) => s !== '' && !/"secret"\s*:/i.test(s)) ?? '';
        const message = said.split('\n')[0]?.slice(0, 200) ?? '';
        if (NOT_FOUND.test(message)) resolve(undefined);
        else fail(`exit ${code}${message ? `: ${message}` : ''}`);
        return;
      }
      let body: { Username?: unknown; Secret?: unknown };
      try {
        body = JSON.parse(stdout) as typeof body;
      } catch {
        // Never echo what it printed: on success that is the secret.
        fail('it printed something that is not the expected JSON');
        return;
      }
      const username = typeof body.Username === 'string' ? body.Username : '';
      const secret = typeof body.Secret === 'string' ? body.Secret : '';
      if (!secret) {
        resolve(undefined);
        return;
      }
      resolve(username === '<token>' ? { username: '', password: '', identityToken: secret, source: program } : { username, password: secret, source: program });
    });
    child.stdin.on('error', () => {});
    child.stdin.end(`${server}\n`);
  });
}
