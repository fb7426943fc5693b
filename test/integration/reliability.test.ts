/**
 * Reliability against a real registry behind a fault-injecting proxy (issue 4 §1, §2, §4):
 * 429 with Retry-After (seconds, HTTP date, capped), connection resets, responses slower than the
 * per-request timeout, a registry that hangs for every request (the circuit breaker), a
 * Content-Type that lies about the body, index children of unknown media types, and per-image
 * isolation with a previous lock kept byte for byte. faults.test.ts covers the rest (registry
 * down, 503 once, persistent 500, oversized bodies, tampered DCD/child/config, 4 over 3).
 */
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { IntegrityError, RegistryError } from '../../src/errors.js';
import { DEFAULT_POLICY, Http, type HttpPolicy } from '../../src/registry/http.js';
import { failureJson } from '../../src/render/failure.js';
import { lock } from '../../src/run/lock.js';
import { deleteManifest, MT, pushManifest, pushMultiArch, pushPlatformImage } from '../helpers/push.js';
import { reply, tamperJson, type ProxyHook } from '../helpers/proxy.js';
import { useProxiedRegistry, lockSection, workspace, type SpecInput } from '../helpers/workspace.js';

const AMD64 = { os: 'linux', architecture: 'amd64' };
const ARM64 = { os: 'linux', architecture: 'arm64' };
const DATACENTER: SpecInput['fleet'] = { datacenter: { arch: 'x86_64', hosts: ['web-01'] } };
/** Small backoff so retries cost milliseconds; a generous timeout unless a test is about timeouts. */
const FAST: Partial<HttpPolicy> = { backoffMs: 10, timeoutMs: 5000 };

const ctx = useProxiedRegistry();

const runLock = (cwd: string, policy: Partial<HttpPolicy> = FAST) => lock({ cwd, client: { credentials: ctx.anonymous, policy } });
const viaProxy = (repo: string, tag: string) => ({ ref: `${ctx.proxy.host}/${repo}`, tag });
/** A hook matching one GET path, at most `times` times. */
function once(path: string, hook: Omit<ProxyHook, 'match'>, times = 1): ProxyHook {
  let left = times;
  return { ...hook, match: (r) => r.method === 'GET' && r.path === path && left-- > 0 };
}
const tooMany = (retryAfter: string) =>
  reply(429, { 'retry-after': retryAfter }, { errors: [{ code: 'TOOMANYREQUESTS', message: 'slow down' }] });
const arrivals = (path: string) => ctx.proxy.requests.filter((r) => r.path === path).sort((a, b) => a.at - b.at);
const timed = async <T>(fn: () => Promise<T>): Promise<{ value: T; ms: number }> => {
  const started = Date.now();
  const value = await fn();
  return { value, ms: Date.now() - started };
};

describe('429 Too Many Requests', () => {
  it('waits out `Retry-After: 1` (about a second), then locks', async () => {
    const pushed = await pushMultiArch({ url: ctx.reg.url }, 'team/limited', 'v1', [AMD64], { salt: 'limited' });
    const path = '/v2/team/limited/manifests/v1';
    ctx.proxy.hooks.push(once(path, { respond: () => tooMany('1') }));
    const ws = workspace({ images: { limited: viaProxy('team/limited', 'v1') }, fleet: DATACENTER });
    const { value: r, ms } = await timed(() => runLock(ws.dir));
    expect(r.failures).toEqual([]);
    expect(r.lock.images.limited!.digest).toBe(pushed.digest);
    const seen = arrivals(path);
    expect(seen.map((q) => q.status)).toEqual([429, 200]);
    // The retry came a second after the 429 (the 10 ms backoff would have retried at once).
    expect(seen[1]!.at - seen[0]!.at).toBeGreaterThanOrEqual(950);
    expect(ms).toBeGreaterThanOrEqual(950);
    expect(ms).toBeLessThan(5000);
  });

  it('honours an HTTP-date Retry-After', async () => {
    const pushed = await pushMultiArch({ url: ctx.reg.url }, 'team/dated', 'v1', [AMD64], { salt: 'dated' });
    const path = '/v2/team/dated/manifests/v1';
    // HTTP dates have whole seconds: 1.5 s ahead is a wait of 0.5-1.5 s.
    ctx.proxy.hooks.push(once(path, { respond: () => tooMany(new Date(Date.now() + 1500).toUTCString()) }));
    const ws = workspace({ images: { dated: viaProxy('team/dated', 'v1') }, fleet: DATACENTER });
    const r = await runLock(ws.dir);
    expect(r.failures).toEqual([]);
    expect(r.lock.images.dated!.digest).toBe(pushed.digest);
    const seen = arrivals(path);
    expect(seen.map((q) => q.status)).toEqual([429, 200]);
    expect(seen[1]!.at - seen[0]!.at).toBeGreaterThanOrEqual(400);
    expect(seen[1]!.at - seen[0]!.at).toBeLessThan(2500);
  });

  it('caps a Retry-After of 3600 s: the run finishes in bounded time', async () => {
    const pushed = await pushMultiArch({ url: ctx.reg.url }, 'team/greedy', 'v1', [AMD64], { salt: 'greedy' });
    const path = '/v2/team/greedy/manifests/v1';
    ctx.proxy.hooks.push(once(path, { respond: () => tooMany('3600') }, 2));
    const ws = workspace({ images: { greedy: viaProxy('team/greedy', 'v1') }, fleet: DATACENTER });
    const { value: r, ms } = await timed(() => runLock(ws.dir, { ...FAST, maxRetryAfterMs: 300 }));
    expect(r.failures).toEqual([]);
    expect(r.lock.images.greedy!.digest).toBe(pushed.digest);
    expect(arrivals(path).map((q) => q.status)).toEqual([429, 429, 200]);
    expect(ms).toBeGreaterThanOrEqual(550);
    expect(ms).toBeLessThan(3000);
  });

  it('computes each wait from the header, capped at 10 s by default (measured with an injected sleep)', async () => {
    await pushMultiArch({ url: ctx.reg.url }, 'team/sleepy', 'v1', [AMD64], { salt: 'sleepy' });
    const path = '/v2/team/sleepy/manifests/v1';
    const headers = [
      '3600',
      new Date(Date.now() + 3_600_000).toUTCString(),
      new Date(Date.now() - 60_000).toUTCString(),
      '2',
      new Date(Date.now() + 5000).toUTCString(),
    ];
    let i = 0;
    ctx.proxy.hooks.push({ match: (r) => r.path === path && i < headers.length, respond: () => tooMany(headers[i++]!) });
    const waits: number[] = [];
    const http = new Http({ ...DEFAULT_POLICY, attempts: 6 }, async (ms) => {
      waits.push(ms);
    });
    try {
      const res = await http.send(`${ctx.proxy.url}${path}`, { headers: { accept: MT.ociIndex }, registry: ctx.proxy.host });
      expect(res.status).toBe(200);
    } finally {
      await http.close();
    }
    expect(waits).toHaveLength(5);
    expect(waits.slice(0, 4)).toEqual([10_000, 10_000, 0, 2000]);
    expect(waits[4]).toBeGreaterThan(3000);
    expect(waits[4]).toBeLessThanOrEqual(5000);
  });

  it('gives up after the last attempt with exit 3 naming the registry and HTTP 429', async () => {
    await pushMultiArch({ url: ctx.reg.url }, 'team/throttled', 'v1', [AMD64], { salt: 'throttled' });
    const path = '/v2/team/throttled/manifests/v1';
    ctx.proxy.hooks.push(once(path, { respond: () => tooMany('0') }, 100));
    const ws = workspace({ images: { throttled: viaProxy('team/throttled', 'v1') }, fleet: DATACENTER });
    const r = await runLock(ws.dir);
    expect(r.exitCode).toBe(3);
    expect(arrivals(path)).toHaveLength(3);
    const err = r.failures[0]!.error;
    expect(err.message).toContain(ctx.proxy.host);
    expect(err.message).toContain('HTTP 429 TOOMANYREQUESTS');
    expect(ws.lockExists()).toBe(false);
  });
});

describe('connection resets', () => {
  it('retries a connection the server dropped once, then locks', async () => {
    const pushed = await pushMultiArch({ url: ctx.reg.url }, 'team/resetty', 'v1', [AMD64, ARM64], { salt: 'resetty' });
    const path = '/v2/team/resetty/manifests/v1';
    ctx.proxy.hooks.push(once(path, { reset: true }));
    const ws = workspace({ images: { resetty: viaProxy('team/resetty', 'v1') }, fleet: DATACENTER });
    const r = await runLock(ws.dir);
    expect(r.failures).toEqual([]);
    expect(r.lock.images.resetty!.digest).toBe(pushed.digest);
    expect(arrivals(path).map((q) => q.status)).toEqual([0, 200]);
  });

  it('a connection dropped on every attempt is exit 3 naming the registry', async () => {
    await pushMultiArch({ url: ctx.reg.url }, 'team/dropped', 'v1', [AMD64], { salt: 'dropped' });
    const path = '/v2/team/dropped/manifests/v1';
    ctx.proxy.hooks.push(once(path, { reset: true }, 100));
    const ws = workspace({ images: { dropped: viaProxy('team/dropped', 'v1') }, fleet: DATACENTER });
    const r = await runLock(ws.dir);
    expect(r.exitCode).toBe(3);
    expect(arrivals(path)).toHaveLength(3);
    expect(r.failures[0]!.error.message).toMatch(new RegExp(`cannot reach registry ${ctx.proxy.host}: connection (closed|reset)`));
    expect(ws.lockExists()).toBe(false);
  });
});

describe('timeouts', () => {
  it('a response slower than --timeout is exit 3 within a bounded time, naming registry, image and the timeout', async () => {
    await pushMultiArch({ url: ctx.reg.url }, 'team/slow', 'v1', [AMD64], { salt: 'slow' });
    const path = '/v2/team/slow/manifests/v1';
    ctx.proxy.hooks.push(once(path, { delayMs: 300 }, 100));
    const ws = workspace({ images: { slow: viaProxy('team/slow', 'v1') }, fleet: DATACENTER });
    let out = '';
    let err = '';
    // Through the CLI: `--timeout 0.2` (seconds) and the default backoff.
    const { value: code, ms } = await timed(() =>
      main(['lock', '--timeout', '0.2'], {
        stdout: { write: (s: string) => (out += s) },
        stderr: { write: (s: string) => (err += s) },
        cwd: ws.dir,
        env: { NO_COLOR: '1' },
      }),
    );
    expect(code).toBe(3);
    expect(err).toMatch(new RegExp(`^error: slow: cannot reach registry ${ctx.proxy.host}: timed out waiting for the response`, 'm'));
    expect(out).not.toMatch(/wrote/);
    expect(arrivals(path)).toHaveLength(3);
    // 3 × 0.2 s plus two backoffs of at most 0.375 s and 0.75 s.
    expect(ms).toBeGreaterThanOrEqual(600);
    expect(ms).toBeLessThan(4000);
    expect(ws.lockExists()).toBe(false);
  });

  it('a timeout is retried like any network failure: slow once, then fine', async () => {
    const pushed = await pushMultiArch({ url: ctx.reg.url }, 'team/sluggish', 'v1', [AMD64], { salt: 'sluggish' });
    const path = '/v2/team/sluggish/manifests/v1';
    ctx.proxy.hooks.push(once(path, { delayMs: 400 }));
    const ws = workspace({ images: { sluggish: viaProxy('team/sluggish', 'v1') }, fleet: DATACENTER });
    const r = await runLock(ws.dir, { ...FAST, timeoutMs: 200 });
    expect(r.failures).toEqual([]);
    expect(r.lock.images.sluggish!.digest).toBe(pushed.digest);
    expect(arrivals(path).map((q) => q.status)).toEqual([0, 200]);
  });

  it('a body that stalls after its headers is exit 3 ("timed out reading")', async () => {
    await pushMultiArch({ url: ctx.reg.url }, 'team/stalled', 'v1', [AMD64], { salt: 'stalled' });
    const path = '/v2/team/stalled/manifests/v1';
    ctx.proxy.hooks.push(once(path, { stallBody: true }, 100));
    const ws = workspace({ images: { stalled: viaProxy('team/stalled', 'v1') }, fleet: DATACENTER });
    const { value: r, ms } = await timed(() => runLock(ws.dir, { ...FAST, timeoutMs: 200 }));
    expect(r.exitCode).toBe(3);
    expect(r.failures[0]!.error.message).toContain(ctx.proxy.host);
    expect(r.failures[0]!.error.message).toContain('timed out reading the response');
    expect(ms).toBeLessThan(3000);
  });
});

describe('a registry that hangs on every request (the circuit breaker)', () => {
  const TIMEOUT = 200;
  const tenImages = (extra: Partial<SpecInput> = {}): SpecInput => ({
    images: Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`img-${i}`, viaProxy(`team/hung-${i}`, 'v1')])),
    fleet: DATACENTER,
    ...extra,
  });

  it('one request at a time: only the first image pays 3 timeouts, the other nine fail at once', async () => {
    ctx.proxy.hooks.push({ match: () => true, delayMs: 60_000 });
    const mark = ctx.proxy.requests.length;
    const ws = workspace(tenImages({ registries: { [ctx.proxy.host]: { concurrency: 1 } } }));
    const { value: r, ms } = await timed(() => runLock(ws.dir, { ...FAST, timeoutMs: TIMEOUT }));
    expect(r.exitCode).toBe(3);
    expect(r.failures.map((f) => f.image).sort()).toEqual(Object.keys(tenImages().images).sort());
    for (const f of r.failures) {
      expect(f.error).toBeInstanceOf(RegistryError);
      expect(f.error.exitCode).toBe(3);
      expect(f.error.message).toContain(ctx.proxy.host);
      expect(f.error.message).toContain('timed out');
      expect(failureJson(f)).toMatchObject({ image: f.image, exitCode: 3, registry: ctx.proxy.host });
    }
    // Without the breaker: 10 × (3 × 200 ms + backoff) ≈ 6.5 s and 30 requests.
    expect(ctx.proxy.requests.length - mark).toBe(3);
    expect(ms).toBeGreaterThanOrEqual(3 * TIMEOUT);
    expect(ms).toBeLessThan(3000);
    expect(ws.lockExists()).toBe(false);
  });

  it('with the default concurrency the run also ends in about 3 timeouts', async () => {
    ctx.proxy.hooks.push({ match: () => true, delayMs: 60_000 });
    const ws = workspace(tenImages());
    const { value: r, ms } = await timed(() => runLock(ws.dir, { ...FAST, timeoutMs: TIMEOUT }));
    expect(r.exitCode).toBe(3);
    expect(r.failures).toHaveLength(10);
    expect(r.failures.every((f) => f.error.exitCode === 3 && f.error.message.includes(ctx.proxy.host))).toBe(true);
    expect(ms).toBeLessThan(3000);
  });
});

describe('hostile answers', () => {
  it('refuses a Content-Type that contradicts the body (exit 4, nothing written)', async () => {
    await pushMultiArch({ url: ctx.reg.url }, 'team/liar', 'v1', [AMD64, ARM64], { salt: 'liar' });
    const path = '/v2/team/liar/manifests/v1';
    ctx.proxy.hooks.push(once(path, { rewrite: (res) => ({ ...res, headers: { ...res.headers, 'content-type': MT.ociManifest } }) }));
    const ws = workspace({ images: { liar: viaProxy('team/liar', 'v1') }, fleet: DATACENTER });
    const r = await runLock(ws.dir);
    expect(arrivals(path).filter((q) => q.tampered)).toHaveLength(1);
    expect(r.exitCode).toBe(4);
    expect(r.failures[0]!.error).toBeInstanceOf(IntegrityError);
    expect(r.failures[0]!.error.message).toContain(`Content-Type ${MT.ociManifest} contradicts the manifest's mediaType ${MT.ociIndex}`);
    expect(r.written).toBe(false);
    expect(ws.lockExists()).toBe(false);
  });

  it('skips an index child of an unknown media type: never fetched, never pinned', async () => {
    const t = { url: ctx.reg.url };
    const amd = await pushPlatformImage(t, 'team/odd', AMD64, { salt: 'odd' });
    const arm = await pushPlatformImage(t, 'team/odd', ARM64, { salt: 'odd' });
    const unknown = { ...arm, mediaType: 'application/vnd.example.unknown.v1+json' };
    const index = await pushManifest(
      t,
      'team/odd',
      'v1',
      { schemaVersion: 2, mediaType: MT.ociIndex, manifests: [unknown, amd] },
      MT.ociIndex,
    );
    const ws = workspace({ images: { odd: viaProxy('team/odd', 'v1') }, fleet: DATACENTER });
    const mark = ctx.proxy.requests.length;
    const r = await runLock(ws.dir);
    expect(r.failures).toEqual([]);
    expect(r.lock.images.odd!.digest).toBe(index.digest);
    expect(Object.keys(r.lock.images.odd!.platforms)).toEqual(['linux/amd64']);
    expect(ws.lockText()).not.toContain(arm.digest);
    expect(ctx.proxy.requests.slice(mark).some((q) => q.path.includes(arm.digest))).toBe(false);
  });

  it('an index with only unknown children offers nothing to pin: exit 3, nothing written', async () => {
    const t = { url: ctx.reg.url };
    const arm = await pushPlatformImage(t, 'team/odder', ARM64, { salt: 'odder' });
    await pushManifest(
      t,
      'team/odder',
      'v1',
      { schemaVersion: 2, mediaType: MT.ociIndex, manifests: [{ ...arm, mediaType: 'application/vnd.example.unknown.v1+json' }] },
      MT.ociIndex,
    );
    const ws = workspace({
      images: { odder: viaProxy('team/odder', 'v1') },
      fleet: { 'arm-servers': { arch: 'aarch64', hosts: ['arm-01'] } },
    });
    const r = await runLock(ws.dir);
    expect(r.exitCode).toBe(3);
    expect(r.failures[0]!.error.message).toMatch(/offers no runnable platform/);
    expect(ws.lockExists()).toBe(false);
  });
});

describe('per-image isolation with a previous lock', () => {
  it('locks the good image; the tampered (4) and the missing (3) keep their previous entries byte for byte; exit 4', async () => {
    const t = { url: ctx.reg.url };
    await pushMultiArch(t, 'iso/fine', 'v1', [AMD64, ARM64], { salt: 'fine-1' });
    await pushMultiArch(t, 'iso/evil', 'v1', [AMD64, ARM64], { salt: 'evil-1' });
    const gone = await pushMultiArch(t, 'iso/gone', 'v1', [AMD64, ARM64], { salt: 'gone-1' });
    const ws = workspace({
      images: { fine: viaProxy('iso/fine', 'v1'), evil: viaProxy('iso/evil', 'v1'), gone: viaProxy('iso/gone', 'v1') },
      fleet: { datacenter: { arch: 'x86_64', hosts: ['web-01'] }, 'arm-servers': { arch: 'aarch64', hosts: ['arm-01'] } },
    });
    const first = await runLock(ws.dir);
    expect(first.exitCode).toBe(0);
    const before = ws.lockText();

    // Every tag moves (so the warm path's HEAD sends each run to a GET); then the gone one's
    // content is deleted (404), and the evil one is altered in transit.
    const moved = await pushMultiArch(t, 'iso/fine', 'v1', [AMD64, ARM64], { salt: 'fine-2' });
    await pushMultiArch(t, 'iso/evil', 'v1', [AMD64, ARM64], { salt: 'evil-2' });
    await deleteManifest(t, 'iso/gone', gone.digest);
    ctx.proxy.hooks.push(
      once(
        '/v2/iso/evil/manifests/v1',
        {
          rewrite: (res) =>
            tamperJson(res, (j) => {
              j.annotations = { injected: 'yes' };
            }),
        },
        10,
      ),
    );

    const r = await runLock(ws.dir);
    expect(r.exitCode).toBe(4);
    expect(Object.fromEntries(r.failures.map((f) => [f.image, f.error.exitCode]))).toEqual({ evil: 4, gone: 3 });
    const byImage = Object.fromEntries(r.failures.map((f) => [f.image, f.error.message]));
    expect(byImage.evil).toMatch(/Docker-Content-Digest says sha256:[0-9a-f]{64} but the body hashes to/);
    expect(byImage.gone).toContain(`tag "v1" not found in ${ctx.proxy.host}/iso/gone (HTTP 404`);
    expect(r.written).toBe(true);
    const after = ws.lockText();
    expect(r.lock.images.fine!.digest).toBe(moved.digest);
    expect(r.lock.fleet.datacenter!.fine!.digest).toBe(moved.images[0]!.digest);
    for (const kept of ['evil', 'gone']) {
      expect(lockSection(after, kept)).not.toBe('');
      expect(lockSection(after, kept)).toBe(lockSection(before, kept));
    }
    expect(lockSection(after, 'fine')).not.toBe(lockSection(before, 'fine'));
    expect(ctx.proxy.requests.some((q) => q.path === '/v2/iso/evil/manifests/v1' && q.tampered)).toBe(true);
  });
});
