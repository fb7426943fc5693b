/**
 * A minimal Docker/distribution token server for integration tests (distribution's token auth spec).
 *
 * It signs ES256 JWTs the way distribution 2.8 wants them: header `x5c` = [the self-signed
 * certificate, base64 DER], raw r‖s signature (`ieee-p1363`) in base64url, `aud` = service as a
 * plain string, `iss` = issuer. Hand `certPath` to the registry as `rootcertbundle`
 * (`startRegistry({ auth: { kind: 'token', tokenServer } })` does that).
 */
import { execFile } from 'node:child_process';
import { createPrivateKey, randomUUID, sign, X509Certificate, type KeyObject } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** One `access` claim entry, e.g. `{ type: 'repository', name: 'ns/app', actions: ['pull'] }`. */
export interface AccessEntry {
  type: string;
  name: string;
  actions: string[];
}

export interface TokenServerOptions {
  /** If given, the token request must carry valid `Basic` credentials (401 otherwise). Undefined = anonymous allowed. */
  users?: Record<string, string>;
  /** Which JSON field carries the token. Default `'token'`. */
  field?: 'token' | 'access_token' | 'both';
  /** `expires_in` to put in the response (omitted when undefined). The JWT always lives `tokenTtlSeconds`. */
  expiresIn?: number;
  /** JWT lifetime in seconds (exp − iat). Default 300. */
  tokenTtlSeconds?: number;
  /** Registry service name (`aud`). Default `lg-pins-test-registry`. */
  service?: string;
  /** Token issuer (`iss`). Default `lg-pins-test-issuer`. */
  issuer?: string;
  /**
   * Decide which actions to grant for one requested scope. Default: everything requested.
   * `subject` is the Basic user, or undefined for anonymous requests.
   */
  authorize?: (subject: string | undefined, requested: AccessEntry) => string[];
  /**
   * Accept OAuth2 refresh-token grants (`POST /token`, form `grant_type=refresh_token`,
   * `refresh_token`, `service`, `scope`, as Docker's `identitytoken` is used): refresh token →
   * subject. Unknown refresh tokens get 401. Without this option a POST is 404, as on registries
   * whose token server has no OAuth2 endpoint (clients then fall back to GET).
   */
  refreshTokens?: Record<string, string>;
  /** Serve HTTPS with this certificate and key (PEM files) instead of plain HTTP. */
  tls?: { cert: string; key: string };
}

/** One request the token server received (every request is recorded, including rejected ones). */
export interface TokenRequest {
  url: string;
  authorization?: string;
  /** `GET`, or `POST` for OAuth2 grants. */
  method: string;
  /** The form fields of a POST. */
  form?: Record<string, string>;
}

export interface TokenServer {
  /** `http://127.0.0.1:PORT/token` – the registry's `auth.token.realm`. */
  realm: string;
  service: string;
  issuer: string;
  /** PEM certificate whose key signs the tokens – the registry's `auth.token.rootcertbundle`. */
  certPath: string;
  requests: TokenRequest[];
  /** Every token handed out over HTTP, in order (to check that none of them leaks anywhere). */
  issued: string[];
  /** Mint a token directly, without HTTP (handy for tests that need a specific `access`). */
  issueToken(access: AccessEntry[], subject?: string): string;
  stop(): Promise<void>;
}

const b64url = (data: Buffer | string): string => Buffer.from(data).toString('base64url');

/**
 * Parse one scope string `type:name:action[,action]`. The name may itself contain `:` (e.g. a
 * repository name with a port-qualified path is not legal, but be lenient): type is before the
 * first colon, actions after the last.
 */
export function parseScope(scope: string): AccessEntry | undefined {
  const first = scope.indexOf(':');
  const last = scope.lastIndexOf(':');
  if (first <= 0 || last === first) return undefined;
  const actions = scope
    .slice(last + 1)
    .split(',')
    .filter((a) => a !== '');
  return { type: scope.slice(0, first), name: scope.slice(first + 1, last), actions };
}

/** Decode `Authorization: Basic …` into user and password, or undefined. */
function parseBasic(header: string | undefined): { user: string; pass: string } | undefined {
  const m = /^basic\s+(\S+)$/i.exec(header ?? '');
  if (!m?.[1]) return undefined;
  const decoded = Buffer.from(m[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { user: decoded.slice(0, colon), pass: decoded.slice(colon + 1) };
}

/** Create an ECDSA P-256 key and a self-signed certificate with the openssl CLI. */
async function makeKeyAndCert(dir: string): Promise<{ key: KeyObject; certDer: Buffer; certPath: string }> {
  const keyPath = join(dir, 'key.pem');
  const certPath = join(dir, 'cert.pem');
  try {
    await execFileAsync('openssl', [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      keyPath,
      '-out',
      certPath,
      '-days',
      '2',
      '-subj',
      '/CN=lg-pins-test-token-issuer',
    ]);
  } catch (err) {
    throw new Error(`openssl could not create the token signing certificate (apt-get install -y openssl): ${String(err)}`);
  }
  const key = createPrivateKey(await readFile(keyPath, 'utf8'));
  const certDer = new X509Certificate(await readFile(certPath)).raw;
  return { key, certDer, certPath };
}

/** Start a token server on 127.0.0.1 (free port). Stop it with `stop()`. */
export async function startTokenServer(opts: TokenServerOptions = {}): Promise<TokenServer> {
  const service = opts.service ?? 'lg-pins-test-registry';
  const issuer = opts.issuer ?? 'lg-pins-test-issuer';
  const ttl = opts.tokenTtlSeconds ?? 300;
  const field = opts.field ?? 'token';
  const authorize = opts.authorize ?? ((_s: string | undefined, r: AccessEntry) => r.actions);

  const dir = await mkdtemp(join(tmpdir(), 'lg-pins-token-'));
  let keyMaterial: Awaited<ReturnType<typeof makeKeyAndCert>>;
  try {
    keyMaterial = await makeKeyAndCert(dir);
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  const { key, certDer, certPath } = keyMaterial;
  const header = b64url(JSON.stringify({ alg: 'ES256', typ: 'JWT', x5c: [certDer.toString('base64')] }));
  const requests: TokenRequest[] = [];
  const issued: string[] = [];

  const issueToken = (access: AccessEntry[], subject?: string): string => {
    const now = Math.floor(Date.now() / 1000);
    const claims = {
      iss: issuer,
      sub: subject ?? '',
      aud: service,
      exp: now + ttl,
      nbf: now - 1,
      iat: now,
      jti: randomUUID(),
      access,
    };
    const input = `${header}.${b64url(JSON.stringify(claims))}`;
    const sig = sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' });
    return `${input}.${b64url(sig)}`;
  };

  const reply = (res: ServerResponse, status: number, body: object, extra: Record<string, string> = {}): void => {
    res.writeHead(status, { 'Content-Type': 'application/json', ...extra });
    res.end(JSON.stringify(body));
  };

  const grant = (subject: string | undefined, scopes: string[]): AccessEntry[] => {
    const access: AccessEntry[] = [];
    for (const s of scopes) {
      // A scope parameter may hold several space-separated scopes.
      for (const one of s.split(' ').filter((x) => x !== '')) {
        const parsed = parseScope(one);
        if (!parsed) continue;
        const granted = authorize(subject, parsed).filter((a) => parsed.actions.includes(a) || parsed.actions.includes('*'));
        if (granted.length > 0) access.push({ ...parsed, actions: granted });
      }
    }
    return access;
  };

  /** OAuth2 refresh-token grant (distribution's token spec, `oauth.md`). */
  const refresh = (form: Record<string, string>, res: ServerResponse): void => {
    if (form.grant_type !== 'refresh_token') {
      reply(res, 400, { error: 'unsupported_grant_type' });
      return;
    }
    const subject = opts.refreshTokens?.[form.refresh_token ?? ''];
    if (subject === undefined) {
      reply(res, 401, { error: 'invalid_grant' });
      return;
    }
    if (form.service !== undefined && form.service !== service) {
      reply(res, 400, { error: 'invalid_request', error_description: `unknown service ${form.service}` });
      return;
    }
    const token = issueToken(grant(subject, form.scope ? [form.scope] : []), subject);
    issued.push(token);
    const body: Record<string, string | number> = { access_token: token, scope: form.scope ?? '' };
    if (opts.expiresIn !== undefined) body.expires_in = opts.expiresIn;
    body.issued_at = new Date().toISOString();
    reply(res, 200, body);
  };

  const handle = (req: IncomingMessage, res: ServerResponse, text: string): void => {
    const entry: TokenRequest = { url: req.url ?? '', method: req.method ?? 'GET' };
    if (req.headers.authorization !== undefined) entry.authorization = req.headers.authorization;
    requests.push(entry);
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (req.method === 'POST' && url.pathname === '/token' && opts.refreshTokens) {
      entry.form = Object.fromEntries(new URLSearchParams(text));
      refresh(entry.form, res);
      return;
    }
    if (req.method !== 'GET' || url.pathname !== '/token') {
      reply(res, 404, { errors: [{ code: 'NOT_FOUND', message: `no route ${req.method} ${url.pathname}` }] });
      return;
    }
    let subject: string | undefined;
    if (opts.users) {
      const cred = parseBasic(req.headers.authorization);
      if (!cred || opts.users[cred.user] === undefined || opts.users[cred.user] !== cred.pass) {
        reply(
          res,
          401,
          { errors: [{ code: 'UNAUTHORIZED', message: 'invalid credentials' }] },
          {
            'WWW-Authenticate': 'Basic realm="lg-pins-test-token"',
          },
        );
        return;
      }
      subject = cred.user;
    }
    const requestedService = url.searchParams.get('service');
    if (requestedService !== null && requestedService !== service) {
      reply(res, 400, { errors: [{ code: 'DENIED', message: `unknown service ${requestedService}` }] });
      return;
    }
    const token = issueToken(grant(subject, url.searchParams.getAll('scope')), subject);
    issued.push(token);
    const body: Record<string, string | number> = {};
    if (field === 'token' || field === 'both') body.token = token;
    if (field === 'access_token' || field === 'both') body.access_token = token;
    if (opts.expiresIn !== undefined) body.expires_in = opts.expiresIn;
    body.issued_at = new Date().toISOString();
    reply(res, 200, body);
  };

  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => handle(req, res, Buffer.concat(chunks).toString('utf8')));
  };
  const server = opts.tls
    ? createHttpsServer({ cert: await readFile(opts.tls.cert), key: await readFile(opts.tls.key) }, onRequest)
    : createServer(onRequest);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    realm: `${opts.tls ? 'https' : 'http'}://127.0.0.1:${port}/token`,
    service,
    issuer,
    certPath,
    requests,
    issued,
    issueToken,
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}
