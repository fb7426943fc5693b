/**
 * Start a REAL distribution registry (Debian `docker-registry` 2.8) for integration tests.
 *
 * Each registry gets its own temp dir (config.yml, filesystem storage, htpasswd), listens on
 * 127.0.0.1:<free port>, and is killed and deleted by `stop()`. Output:
 * - stdout carries the access log, one Apache "combined" line per request
 *   (`127.0.0.1 - - [date] "GET /v2/x/manifests/t HTTP/1.1" 200 512 "" "node"`), written AFTER the
 *   response is sent – poll with `waitForLog()` rather than reading `accessLog()` right away;
 * - stderr carries logrus lines (`level=info msg="response completed" … http.request.method=GET …`).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import type { TokenServer } from './token-server.js';

const execFileAsync = promisify(execFile);
export const REGISTRY_BIN = '/usr/bin/docker-registry';
const READY_TIMEOUT_MS = 10_000;
const PORT_ATTEMPTS = 5;

export interface RegistryOptions {
  auth?: { kind: 'htpasswd'; users: Record<string, string> } | { kind: 'token'; tokenServer: TokenServer };
  /** `storage.delete.enabled`; default true (false → DELETE answers 405 UNSUPPORTED). */
  deleteEnabled?: boolean;
  /** Serve HTTPS (`http.tls`) with this certificate; with `clientCas`, require a client certificate from them. */
  tls?: { cert: string; key: string; clientCas?: string[] };
  /** Serve the storage of another registry (its `dir`): content pushed there over HTTP is served here too. */
  storageOf?: string;
}

/** One parsed access-log line (stdout, combined log format). */
export interface AccessLogEntry {
  method: string;
  /** Request target exactly as logged, query included, e.g. `/v2/app/manifests/1.0`. */
  path: string;
  status: number;
  raw: string;
}

export interface TestRegistry {
  /** `127.0.0.1:PORT` */
  host: string;
  /** `http://127.0.0.1:PORT` */
  url: string;
  /** Temp dir holding config.yml, data/ and htpasswd. */
  dir: string;
  /** All registry stdout/stderr lines so far (access-log lines and logrus lines, in arrival order). */
  accessLog(): string[];
  /** Only the access-log lines, parsed. Use to count requests (`e.method === 'GET' && …`). */
  accessEntries(): AccessLogEntry[];
  /** Wait until an output line matches `pattern` (the access log lags the response slightly). */
  waitForLog(pattern: RegExp, timeoutMs?: number): Promise<string>;
  stop(): Promise<void>;
}

const ACCESS_RE = /^\S+ \S+ \S+ \[[^\]]+\] "(\S+) (\S+) [^"]*" (\d{3}) /;

/** Parse one combined-format access-log line, or undefined for any other line. */
export function parseAccessLine(line: string): AccessLogEntry | undefined {
  const m = ACCESS_RE.exec(line);
  if (!m?.[1] || !m[2] || !m[3]) return undefined;
  return { method: m[1], path: m[2], status: Number(m[3]), raw: line };
}

/** Registries still running, killed if the test process exits without calling stop(). */
const live = new Map<ChildProcess, string>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const [child, dir] of live) {
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

/** Ask the OS for a free TCP port on 127.0.0.1 (bind port 0, read it, close). Racy by nature. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** `user:bcrypt-hash` lines from `htpasswd -Bbn` (2.8 accepts bcrypt only). */
async function htpasswdFile(users: Record<string, string>): Promise<string> {
  const lines: string[] = [];
  for (const [user, pass] of Object.entries(users)) {
    const { stdout } = await execFileAsync('htpasswd', ['-Bbn', user, pass]);
    lines.push(stdout.trim());
  }
  return `${lines.join('\n')}\n`;
}

function buildConfig(dir: string, port: number, opts: RegistryOptions): Record<string, unknown> {
  const config: Record<string, unknown> = {
    version: 0.1,
    log: { level: 'info', formatter: 'text', accesslog: { disabled: false } },
    storage: {
      filesystem: { rootdirectory: join(opts.storageOf ?? dir, 'data') },
      delete: { enabled: opts.deleteEnabled ?? true },
      maintenance: { uploadpurging: { enabled: false } },
    },
    // A fixed secret silences the "No HTTP secret provided" warning (it signs upload _state).
    http: {
      addr: `127.0.0.1:${port}`,
      secret: randomBytes(16).toString('hex'),
      ...(opts.tls
        ? { tls: { certificate: opts.tls.cert, key: opts.tls.key, ...(opts.tls.clientCas ? { clientcas: opts.tls.clientCas } : {}) } }
        : {}),
    },
  };
  if (opts.auth?.kind === 'htpasswd') {
    config.auth = { htpasswd: { realm: 'lg-pins-test', path: join(dir, 'htpasswd') } };
  } else if (opts.auth?.kind === 'token') {
    const ts = opts.auth.tokenServer;
    config.auth = {
      token: { realm: ts.realm, service: ts.service, issuer: ts.issuer, rootcertbundle: ts.certPath },
    };
  }
  return config;
}

type Launch = { ok: true; child: ChildProcess } | { ok: false; portTaken: boolean; message: string };

/** Spawn the registry and wait for "listening on <addr>" plus an answering `GET /v2/`. */
async function launch(dir: string, port: number, lines: string[], waiters: Set<() => void>, tls?: RegistryOptions['tls']): Promise<Launch> {
  const child = spawn(REGISTRY_BIN, ['serve', join(dir, 'config.yml')], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  const collect = (stream: NodeJS.ReadableStream | null): void => {
    let partial = '';
    stream?.setEncoding('utf8');
    stream?.on('data', (chunk: string) => {
      const parts = (partial + chunk).split('\n');
      partial = parts.pop() ?? '';
      for (const p of parts) if (p.trim() !== '') lines.push(p);
      for (const w of waiters) w();
    });
  };
  collect(child.stdout);
  collect(child.stderr);
  let exited: string | undefined;
  child.once('exit', (code, signal) => {
    exited = `exited with ${signal ?? `code ${String(code)}`}`;
  });
  child.once('error', (err) => {
    exited = `failed to start: ${err.message}`;
  });

  const addr = `127.0.0.1:${port}`;
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (exited !== undefined) {
      const out = lines.join('\n');
      return { ok: false, portTaken: /address already in use/.test(out), message: `docker-registry ${exited}:\n${out}` };
    }
    // Only trust /v2/ once OUR process bound the port (another registry may own a stolen port).
    if (lines.some((l) => l.includes(`listening on ${addr}`))) {
      try {
        const status = tls
          ? await httpsStatus(`https://${addr}/v2/`, tls)
          : await fetch(`http://${addr}/v2/`, { signal: AbortSignal.timeout(1000) }).then(async (res) => {
              await res.arrayBuffer();
              return res.status;
            });
        if (status === 200 || status === 401) return { ok: true, child };
      } catch {
        // not ready yet
      }
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill('SIGKILL');
  return {
    ok: false,
    portTaken: false,
    message: `docker-registry did not answer GET /v2/ on ${addr} within ${READY_TIMEOUT_MS} ms:\n${lines.join('\n')}`,
  };
}

/** Start a fresh registry. Always `await reg.stop()` (e.g. in `afterAll`). */
export async function startRegistry(opts: RegistryOptions = {}): Promise<TestRegistry> {
  if (!existsSync(REGISTRY_BIN)) {
    throw new Error(`${REGISTRY_BIN} not found: integration tests need a real registry (apt-get install -y docker-registry)`);
  }
  const dir = await mkdtemp(join(tmpdir(), 'lg-pins-registry-'));
  try {
    if (opts.auth?.kind === 'htpasswd') await writeFile(join(dir, 'htpasswd'), await htpasswdFile(opts.auth.users));
    let lastError = '';
    for (let attempt = 0; attempt < PORT_ATTEMPTS; attempt++) {
      const port = await freePort();
      await writeFile(join(dir, 'config.yml'), stringify(buildConfig(dir, port, opts)));
      const lines: string[] = [];
      const waiters = new Set<() => void>();
      const result = await launch(dir, port, lines, waiters, opts.tls);
      if (!result.ok) {
        lastError = result.message;
        if (result.portTaken) continue;
        throw new Error(lastError);
      }
      return makeHandle(result.child, dir, port, lines, waiters, Boolean(opts.tls));
    }
    throw new Error(`could not bind a free port after ${PORT_ATTEMPTS} attempts:\n${lastError}`);
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

function makeHandle(child: ChildProcess, dir: string, port: number, lines: string[], waiters: Set<() => void>, tls = false): TestRegistry {
  installExitHook();
  live.set(child, dir);
  const host = `127.0.0.1:${port}`;
  let stopped = false;
  return {
    host,
    url: `${tls ? 'https' : 'http'}://${host}`,
    dir,
    accessLog: () => [...lines],
    accessEntries: () => lines.map(parseAccessLine).filter((e): e is AccessLogEntry => e !== undefined),
    waitForLog(pattern, timeoutMs = 5000) {
      return new Promise<string>((resolve, reject) => {
        const check = (): boolean => {
          const hit = lines.find((l) => pattern.test(l));
          if (hit === undefined) return false;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(hit);
          return true;
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no registry log line matched ${String(pattern)} within ${timeoutMs} ms:\n${lines.join('\n')}`));
        }, timeoutMs);
        if (!check()) waiters.add(check);
      });
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise<void>((r) => child.once('exit', () => r()));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
        await exited;
        clearTimeout(timer);
      }
      live.delete(child);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The access log once every request made so far is in it: the registry logs a request after it
 * answers, so send a sentinel request and wait for its line.
 */
export async function settledAccessLog(reg: TestRegistry, repo = 'sentinel/probe'): Promise<AccessLogEntry[]> {
  const sentinel = `/v2/${repo}/manifests/sentinel-${Date.now()}-${Math.random().toString(36).slice(2)}`;
  await (await fetch(`${reg.url}${sentinel}`)).arrayBuffer();
  await reg.waitForLog(new RegExp(`"GET ${sentinel} `));
  return reg.accessEntries();
}

/**
 * The status of a GET over TLS, the server's certificate not checked (readiness only). A registry
 * that requires client certificates answers a handshake without one with an alert: that it answers
 * at all is readiness there (200 is reported).
 */
function httpsStatus(url: string, tls: NonNullable<RegistryOptions['tls']>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { rejectUnauthorized: false, timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', (e: NodeJS.ErrnoException) => (tls.clientCas && e.code !== 'ECONNREFUSED' ? resolve(200) : reject(e)));
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.end();
  });
}
