/**
 * Temp working directories for integration tests: a spec (`lg-pins.yaml`) written from an
 * object, the lock beside it, and Docker config dirs for credentials. Everything made here is
 * removed by `cleanupWorkspaces()` (call it in `afterAll`).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { stringify } from 'yaml';
import { credentialStore, type CredentialStore } from '../../src/registry/credentials.js';
import { startProxy, type TamperingProxy } from './proxy.js';
import { removeTempDirs, tempDir } from './tmp.js';
import { startRegistry, type RegistryOptions, type TestRegistry } from './registry.js';

export interface SpecImage {
  ref: string;
  tag?: string;
  track?: string;
  cadence?: 'patch' | 'minor' | 'major';
  prerelease?: boolean;
  notes?: Record<string, string>;
}

export interface SpecGroup {
  arch?: string;
  platform?: string;
  hosts: string[];
  images?: string[];
  onMissing?: 'fail' | 'hold';
  /** Rollout rings. */
  after?: string;
  soak?: string;
}

export interface SpecInput {
  images: Record<string, SpecImage>;
  /** Deploy outputs, as the spec writes them. */
  outputs?: Array<Record<string, unknown>>;
  fleet?: Record<string, SpecGroup>;
  registries?: Record<
    string,
    { insecure?: boolean; concurrency?: number; ca?: string; clientCert?: string; clientKey?: string; mirrors?: string[] }
  >;
}

export interface Workspace {
  dir: string;
  specFile: string;
  lockFile: string;
  /** (Re)write lg-pins.yaml. */
  writeSpec(spec: SpecInput): void;
  lockExists(): boolean;
  /** The lock file's text (throws if there is none). */
  lockText(): string;
}

/** A fresh temp dir holding `lg-pins.yaml` for `spec`. */
export function workspace(spec: SpecInput): Workspace {
  const dir = tempDir('lg-pins-ws-');
  const specFile = join(dir, 'lg-pins.yaml');
  const lockFile = join(dir, 'lg-pins.lock.yaml');
  const ws: Workspace = {
    dir,
    specFile,
    lockFile,
    writeSpec(s) {
      writeFileSync(specFile, stringify({ version: 1, ...s }));
    },
    lockExists: () => existsSync(lockFile),
    lockText: () => readFileSync(lockFile, 'utf8'),
  };
  ws.writeSpec(spec);
  return ws;
}

/** A `$DOCKER_CONFIG` directory whose config.json has `auths` with `auth: base64(user:pass)` per server. */
export function dockerConfigDir(auths: Record<string, { user: string; pass: string }>): string {
  const dir = tempDir('lg-pins-docker-');
  const entries = Object.fromEntries(
    Object.entries(auths).map(([server, c]) => [server, { auth: Buffer.from(`${c.user}:${c.pass}`).toString('base64') }]),
  );
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ auths: entries }, null, 2));
  return dir;
}

/** An empty `$DOCKER_CONFIG` directory (anonymous access, whatever the user's ~/.docker holds). */
export function emptyDockerConfigDir(): string {
  return tempDir('lg-pins-docker-');
}

export function cleanupWorkspaces(): void {
  removeTempDirs();
}

/**
 * The lines of the lock that belong to one image: its block under `images:` (the `  id:` line and
 * everything indented below it) and its one-line pin in each fleet group. For byte-for-byte checks.
 */
export function lockSection(text: string, image: string): string {
  const lines = text.split('\n');
  const out: string[] = [];
  let top = '';
  let inBlock = false;
  for (const line of lines) {
    if (/^\S/.test(line)) {
      top = line;
      inBlock = false;
      continue;
    }
    if (top === 'images:') {
      if (line.startsWith(`  ${image}:`)) inBlock = true;
      else if (/^ {2}\S/.test(line)) inBlock = false;
      if (inBlock) out.push(line);
    } else if (top === 'fleet:' && line.startsWith(`    ${image}:`)) {
      out.push(line);
    }
  }
  return out.join('\n');
}

/**
 * One real registry for a test file: started in beforeAll, stopped (and workspaces removed) in
 * afterAll. `anonymous` is a credential store that never reads the user's ~/.docker.
 */
export function useRegistry(opts?: RegistryOptions): { readonly reg: TestRegistry; readonly anonymous: CredentialStore } {
  const ctx: { reg?: TestRegistry; anonymous?: CredentialStore } = {};
  beforeAll(async () => {
    ctx.reg = await startRegistry(opts);
    ctx.anonymous = credentialStore({ DOCKER_CONFIG: emptyDockerConfigDir() });
  });
  afterAll(async () => {
    await ctx.reg?.stop();
    cleanupWorkspaces();
  });
  return {
    get reg() {
      if (!ctx.reg) throw new Error('the registry is not started yet (use it inside a test or hook)');
      return ctx.reg;
    },
    get anonymous() {
      if (!ctx.anonymous) throw new Error('the registry is not started yet');
      return ctx.anonymous;
    },
  };
}

/**
 * `useRegistry()` with a fault-injecting proxy in front of it (started after the registry, stopped
 * first); the proxy's hooks are cleared after every test.
 */
export function useProxiedRegistry(): { readonly reg: TestRegistry; readonly proxy: TamperingProxy; readonly anonymous: CredentialStore } {
  const base = useRegistry();
  let proxy: TamperingProxy | undefined;
  beforeAll(async () => {
    proxy = await startProxy(base.reg.url);
  });
  afterEach(() => {
    if (proxy) proxy.hooks.length = 0;
  });
  afterAll(async () => {
    await proxy?.stop();
  });
  return {
    get reg() {
      return base.reg;
    },
    get anonymous() {
      return base.anonymous;
    },
    get proxy() {
      if (!proxy) throw new Error('the proxy is not started yet (use it inside a test or hook)');
      return proxy;
    },
  };
}
