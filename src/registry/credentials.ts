import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { SpecError } from '../errors.js';

export interface Credentials {
  username: string;
  password: string;
}

/** Finds credentials for a registry host. Injected into the client so tests and callers can swap it. */
export type CredentialStore = (registry: string) => Credentials | undefined;

const HUB_KEY = 'https://index.docker.io/v1/';
const HUB_ALIASES = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);

/** Reduce an `auths` key (`https://host:5000/v1/`, `host`) to `host[:port]`, Docker Hub to its canonical key. */
export function authKey(server: string): string {
  const host = server.replace(/^[a-z]+:\/\//i, '').replace(/\/.*$/, '').toLowerCase();
  return HUB_ALIASES.has(host) ? HUB_KEY : host;
}

/**
 * Credentials from Docker's `config.json` (`$DOCKER_CONFIG/config.json`, default `~/.docker/config.json`),
 * `auths` entries only. A missing file means anonymous; a broken one is bad input (exit 2).
 */
export function dockerConfigStore(env: NodeJS.ProcessEnv = process.env): CredentialStore {
  const file = join(env.DOCKER_CONFIG || join(homedir(), '.docker'), 'config.json');
  let auths: Map<string, Credentials> | undefined;
  const load = (): Map<string, Credentials> => {
    auths ??= readAuths(file);
    return auths;
  };
  return (registry) => load().get(authKey(registry));
}

function readAuths(file: string): Map<string, Credentials> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return new Map();
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    // JSON.parse quotes the text around the error, which may be a credential: say where, never what.
    const at = /position (\d+)/.exec((e as Error).message);
    const where = at ? `:${lineColumn(text, Number(at[1]))}` : '';
    throw new SpecError(`${file}${where}: not valid JSON; fix or remove the Docker config file`);
  }
  const out = new Map<string, Credentials>();
  const auths = (json as { auths?: unknown } | null)?.auths;
  if (auths === undefined) return out;
  if (!auths || typeof auths !== 'object') throw new SpecError(`${file}: "auths" must be an object`);
  for (const [server, entry] of Object.entries(auths as Record<string, unknown>)) {
    if (!entry || typeof entry !== 'object') continue;
    const e = entry as Record<string, unknown>;
    let creds: Credentials | undefined;
    if (typeof e.auth === 'string' && e.auth) {
      const decoded = Buffer.from(e.auth, 'base64').toString('utf8').replace(/\0+$/, '');
      const colon = decoded.indexOf(':');
      // Never echo the value: it is a secret.
      if (colon < 0) throw new SpecError(`${file}: auths.${JSON.stringify(server)}.auth is not base64 of "user:password"`);
      creds = { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
    } else if (typeof e.username === 'string' && typeof e.password === 'string') {
      creds = { username: e.username, password: e.password };
    }
    const key = authKey(server);
    if (creds && !out.has(key)) out.set(key, creds);
  }
  return out;
}

function lineColumn(text: string, offset: number): string {
  const before = text.slice(0, offset).split('\n');
  return `${before.length}:${(before[before.length - 1] ?? '').length + 1}`;
}
