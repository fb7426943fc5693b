import { homedir } from 'node:os';
import { join } from 'node:path';
import { AuthConfigError } from '../errors.js';
import { DOCKER_HUB, isDockerHub } from '../reference.js';
import { FileReadError, readTextSync } from '../safe/files.js';
import { parseJson } from '../safe/json.js';
import { LIMITS, formatBytes } from '../safe/limits.js';
import { runCredentialHelper } from './cred-helper.js';

export interface Credentials {
  username: string;
  password: string;
  /** An OAuth2 refresh token (Docker's `identitytoken`, or a helper's `<token>` user): used at the token realm. */
  identityToken?: string;
  /** Where these came from, for messages (never the secret itself). */
  source?: string;
}

/**
 * Finds credentials for a registry host (and repository, for namespace-scoped entries). Injected
 * into the client so tests and callers can swap it.
 */
export type CredentialStore = (registry: string, repository?: string) => Promise<Credentials | undefined>;

const HUB_KEY = DOCKER_HUB.authKey;

/** Reduce an `auths` key (`https://host:5000/v1/`, `host`) to `host[:port]`, Docker Hub to its canonical key. */
export function authKey(server: string): string {
  const host = server
    .replace(/^[a-z]+:\/\//i, '')
    .replace(/\/.*$/, '')
    .toLowerCase();
  return isDockerHub(host) ? HUB_KEY : host;
}

/** The server name a credential helper is asked for: Docker Hub's legacy URL, else host[:port]. */
export function helperServer(registry: string): string {
  return authKey(registry);
}

export interface CredentialStoreOptions {
  /** How long a credential helper may take before it is killed (the run's network timeout). */
  helperTimeoutMs?: number;
}

interface AuthFile {
  file: string;
  /** Key (host, host/namespace, or Hub URL) → credentials. */
  auths: Map<string, Credentials>;
  credHelpers: Map<string, string>;
  credsStore?: string;
  /** containers-auth.json keys may name a namespace (`reg/ns`); Docker's may not. */
  namespaces: boolean;
}

/**
 * Where credentials come from, first hit wins:
 * 1. `LG_PINS_REGISTRY_AUTH` (then Docker's `DOCKER_AUTH_CONFIG`): `{"auths": {...}}` JSON, for CI secrets;
 * 2. `REGISTRY_AUTH_FILE`: a containers auth.json named explicitly;
 * 3. Docker's `$DOCKER_CONFIG/config.json` (default `~/.docker/config.json`): `credHelpers[host]`,
 *    else `credsStore`, else `auths`;
 * 4. Podman's `$XDG_RUNTIME_DIR/containers/auth.json`, then `~/.config/containers/auth.json`.
 * A missing file is skipped; a broken one is bad input (exit 2). Helper results are cached per run.
 */
export function credentialStore(env: NodeJS.ProcessEnv = process.env, options: CredentialStoreOptions = {}): CredentialStore {
  const home = env.HOME ?? (env === process.env ? homedir() : undefined);
  let files: AuthFile[] | undefined;
  const load = (): AuthFile[] => {
    if (files) return files;
    const out: AuthFile[] = [];
    for (const name of ['LG_PINS_REGISTRY_AUTH', 'DOCKER_AUTH_CONFIG'] as const) {
      const value = env[name];
      if (value) out.push(parseAuthFile(value, `$${name}`, false));
    }
    if (env.REGISTRY_AUTH_FILE) pushFile(out, env.REGISTRY_AUTH_FILE, true);
    const dockerDir = env.DOCKER_CONFIG || (home ? join(home, '.docker') : undefined);
    if (dockerDir) pushFile(out, join(dockerDir, 'config.json'), false);
    if (env.XDG_RUNTIME_DIR) pushFile(out, join(env.XDG_RUNTIME_DIR, 'containers', 'auth.json'), true);
    const configHome = env.XDG_CONFIG_HOME || (home ? join(home, '.config') : undefined);
    if (configHome) pushFile(out, join(configHome, 'containers', 'auth.json'), true);
    files = out;
    return out;
  };
  const helperCache = new Map<string, Promise<Credentials | undefined>>();
  const helper = (name: string, server: string, origin: string) => {
    const key = `${name}\u0000${server}`;
    let p = helperCache.get(key);
    if (!p) helperCache.set(key, (p = runCredentialHelper(name, server, env, origin, options.helperTimeoutMs)));
    return p;
  };
  return async (registry, repository) => {
    const host = authKey(registry);
    for (const f of load()) {
      // Docker's order within one file: credHelpers[host], else credsStore, else auths.
      const named = f.credHelpers.get(host) ?? f.credsStore;
      const found = named ? await helper(named, helperServer(registry), f.file) : lookup(f, host, registry, repository);
      if (found) return found;
    }
    return undefined;
  };
}

function lookup(f: AuthFile, host: string, registry: string, repository?: string): Credentials | undefined {
  if (f.namespaces && repository) {
    // containers-auth.json: reg/ns/user/image → reg/ns/user → reg/ns → reg.
    const base = host === HUB_KEY ? DOCKER_HUB.canonical : registry.toLowerCase();
    const parts = repository.split('/');
    for (let i = parts.length; i > 0; i--) {
      const hit = f.auths.get(`${base}/${parts.slice(0, i).join('/')}`);
      if (hit) return hit;
    }
  }
  return f.auths.get(host) ?? (host === HUB_KEY ? f.auths.get(DOCKER_HUB.canonical) : undefined);
}

/** An auth file that exists is read (bounded, a regular file only); a missing one is skipped. */
function pushFile(out: AuthFile[], file: string, namespaces: boolean): void {
  let text: string;
  try {
    text = readTextSync(file, LIMITS.authFileBytes, 'an auth file');
  } catch (e) {
    if (e instanceof FileReadError && (e.reason === 'missing' || e.errno === 'ENOTDIR')) return;
    if (e instanceof FileReadError) throw new AuthConfigError(`${file}: ${e.detail}; fix or remove it`);
    throw e;
  }
  out.push(parseAuthFile(text, file, namespaces));
}

/** Parse a Docker config.json or containers auth.json. Messages never quote a value: it may be a secret. */
export function parseAuthFile(text: string, file: string, namespaces: boolean): AuthFile {
  if (text.length > LIMITS.authFileBytes)
    throw new AuthConfigError(
      `${file}: it is ${formatBytes(text.length)}; lg-pins reads at most ${formatBytes(LIMITS.authFileBytes)} of an auth file`,
    );
  // Our own locator: JSON.parse's message quotes the text around the error, which may be a credential.
  const r = parseJson(text);
  if (!r.ok) throw new AuthConfigError(`${file}:${r.line}:${r.column}: not valid JSON; fix or remove it`);
  const json = r.value;
  if (!json || typeof json !== 'object' || Array.isArray(json)) throw new AuthConfigError(`${file}: must be a JSON object`);
  const root = json as Record<string, unknown>;
  const out: AuthFile = { file, auths: new Map(), credHelpers: new Map(), namespaces };
  const objectAt = (key: string): Record<string, unknown> | undefined => {
    const v = root[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'object' || Array.isArray(v)) throw new AuthConfigError(`${file}: "${key}" must be an object`);
    return v as Record<string, unknown>;
  };
  for (const [server, entry] of Object.entries(objectAt('auths') ?? {})) {
    const creds = readEntry(server, entry, file);
    const bare = server.replace(/^[a-z]+:\/\//i, '').toLowerCase();
    // containers-auth.json may key a namespace (`reg/ns`); Docker keys reduce to the host.
    const key = namespaces && bare.includes('/') && authKey(server) !== HUB_KEY ? bare.replace(/\/+$/, '') : authKey(server);
    if (creds && !out.auths.has(key)) out.auths.set(key, creds);
  }
  for (const [server, helper] of Object.entries(objectAt('credHelpers') ?? {})) {
    if (typeof helper !== 'string' || !/^[A-Za-z0-9_.-]+$/.test(helper))
      throw new AuthConfigError(`${file}: credHelpers.${JSON.stringify(server)} must name a helper (docker-credential-<name>)`);
    out.credHelpers.set(authKey(server), helper);
  }
  if (root.credsStore !== undefined && root.credsStore !== '') {
    if (typeof root.credsStore !== 'string' || !/^[A-Za-z0-9_.-]+$/.test(root.credsStore))
      throw new AuthConfigError(`${file}: "credsStore" must name a helper (docker-credential-<name>)`);
    out.credsStore = root.credsStore;
  }
  return out;
}

function readEntry(server: string, entry: unknown, file: string): Credentials | undefined {
  if (!entry || typeof entry !== 'object') return undefined;
  const e = entry as Record<string, unknown>;
  const where = `${file}: auths.${JSON.stringify(server)}`;
  let username = '';
  let password = '';
  if (typeof e.auth === 'string' && e.auth) {
    const decoded = Buffer.from(e.auth, 'base64').toString('utf8').replace(/\0+$/, '');
    const colon = decoded.indexOf(':');
    if (colon < 0) throw new AuthConfigError(`${where}.auth is not base64 of "user:password"`);
    username = decoded.slice(0, colon);
    password = decoded.slice(colon + 1);
  } else if (typeof e.username === 'string' && typeof e.password === 'string') {
    username = e.username;
    password = e.password;
  }
  const identityToken = typeof e.identitytoken === 'string' && e.identitytoken ? e.identitytoken : undefined;
  if (!username && !password && !identityToken) return undefined;
  const creds: Credentials = { username, password, source: file };
  if (identityToken) creds.identityToken = identityToken;
  return creds;
}
