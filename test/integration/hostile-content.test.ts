/**
 * A registry that lies, floods or trickles (issue 10, items 5, 7, 10, 13), through a tampering
 * proxy in front of a real registry: every bound holds, every hostile string stays data, and the
 * honest images of the same run are still pinned.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { MT, pushMultiArch, pushPlatformImage } from '../helpers/push.js';
import { tamperJson, type ProxiedResponse, type ProxyHook } from '../helpers/proxy.js';
import { runCli } from '../helpers/cli.js';
import { useProxiedRegistry, workspace, type SpecInput } from '../helpers/workspace.js';

const AMD64 = { os: 'linux', architecture: 'amd64' };
const ARM64 = { os: 'linux', architecture: 'arm64' };
const FLEET: SpecInput['fleet'] = { datacenter: { arch: 'x86_64', hosts: ['web-01'] } };

const ctx = useProxiedRegistry();
/** `lg-pins lock --json` as a user runs it: exit code, failures and what was pinned. */
async function runLock(cwd: string, timeoutSeconds?: number) {
  const r = await runCli(['lock', '--json', ...(timeoutSeconds ? ['--timeout', String(timeoutSeconds)] : [])], cwd, { DOCKER_CONFIG: cwd });
  const out = JSON.parse(r.stdout) as { failures: Array<{ message: string }>; images: Record<string, { digest: string; tag: string }> };
  return { exitCode: r.code, failures: out.failures, images: out.images };
}
const viaProxy = (repo: string, tag: string) => ({ ref: `${ctx.proxy.host}/${repo}`, tag });
const json = (status: number, body: unknown, headers: Record<string, string> = {}): ProxiedResponse => ({
  status,
  headers: { 'content-type': 'application/json', ...headers },
  body: Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)),
});
const answer = (method: string, path: string | RegExp, respond: ProxyHook['respond']): ProxyHook => ({
  match: (r) => r.method === method && (typeof path === 'string' ? r.path === path : path.test(r.path)),
  respond,
});
/** An edited JSON answer, its Docker-Content-Digest dropped so that only lg-pins' own checks judge it. */
const edited =
  (edit: (j: Record<string, unknown>) => void) =>
  (res: ProxiedResponse): ProxiedResponse => {
    const out = tamperJson(res, edit);
    delete out.headers['docker-content-digest'];
    return out;
  };
const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
/** No raw control character, C1 control or bidi override in what a user's terminal would get. */
// eslint-disable-next-line no-control-regex -- these are exactly what must not appear
const RAW = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

describe('slow and endless answers', () => {
  it('a body trickled a byte at a time hits the per-try deadline (exit 3), not an idle timer re-armed per byte', async () => {
    await pushMultiArch({ url: ctx.reg.url }, 'team/trickle', 'v1', [AMD64], { salt: 'trickle' });
    ctx.proxy.hooks.push({
      match: (r) => r.method === 'GET' && r.path === '/v2/team/trickle/manifests/v1',
      rewrite: (res) => res,
      trickleMs: 40,
    });
    const ws = workspace({ images: { trickle: viaProxy('team/trickle', 'v1') }, fleet: FLEET });
    const started = Date.now();
    const r = await runLock(ws.dir, 0.4);
    expect(r.exitCode).toBe(3);
    expect(r.failures[0]!.message).toContain('timed out reading the response');
    expect(Date.now() - started).toBeLessThan(8000);
  });

  it('a single tag page larger than the tag bound is exit 3, not a stack overflow (exit 70)', async () => {
    const tags = Array.from({ length: 200_000 }, (_, i) => `1.0.${i}`);
    ctx.proxy.hooks.push(answer('GET', /^\/v2\/team\/flood\/tags\/list/, () => json(200, { name: 'team/flood', tags })));
    const ws = workspace({ images: { flood: { ref: `${ctx.proxy.host}/team/flood`, track: '^1.0.0' } }, fleet: FLEET });
    const r = await runLock(ws.dir);
    expect(r.exitCode).toBe(3);
    expect(r.failures[0]!.message).toMatch(/the tag list of team\/flood has more than 100000 tags; giving up/);
  });

  it('endless tag pages stop at the tag bound, long before the page bound', async () => {
    let page = 0;
    ctx.proxy.hooks.push(
      answer('GET', /^\/v2\/team\/endless\/tags\/list/, () => {
        page++;
        const tags = Array.from({ length: 1000 }, (_, i) => `1.${page}.${i}`);
        return json(200, { name: 'team/endless', tags }, { link: `</v2/team/endless/tags/list?n=1000&last=1.${page}.999>; rel="next"` });
      }),
    );
    const ws = workspace({ images: { endless: { ref: `${ctx.proxy.host}/team/endless`, track: '^1.0.0' } }, fleet: FLEET });
    const r = await runLock(ws.dir);
    expect(r.exitCode).toBe(3);
    expect(r.failures[0]!.message).toContain('more than 100000 tags');
    expect(page).toBeLessThanOrEqual(101);
  });

  it('an index that needs more child manifests than the bound is exit 3 after at most that many fetches', async () => {
    const child = await pushPlatformImage({ url: ctx.reg.url }, 'team/wide', AMD64, { salt: 'wide' });
    // 200 entries without a platform: each one needs its manifest and config fetched.
    const index = {
      schemaVersion: 2,
      mediaType: MT.ociIndex,
      manifests: Array.from({ length: 200 }, () => ({ mediaType: child.mediaType, digest: child.digest, size: child.size })),
    };
    ctx.proxy.hooks.push(answer('GET', '/v2/team/wide/manifests/v1', () => json(200, index, { 'content-type': MT.ociIndex })));
    const ws = workspace({ images: { wide: viaProxy('team/wide', 'v1') }, fleet: FLEET });
    const r = await runLock(ws.dir);
    expect(r.exitCode).toBe(3);
    expect(r.failures[0]!.message).toContain('needs more than 64 child manifests fetched');
    expect(ctx.proxy.requests.filter((x) => x.path === `/v2/team/wide/manifests/${child.digest}`).length).toBeLessThanOrEqual(64);
  });

  it('an index with more entries than the bound is exit 3', async () => {
    const child = await pushPlatformImage({ url: ctx.reg.url }, 'team/long', AMD64, { salt: 'long' });
    const attestation = {
      mediaType: MT.ociManifest,
      digest: child.digest,
      size: child.size,
      platform: { os: 'unknown', architecture: 'unknown' },
    };
    const index = { schemaVersion: 2, mediaType: MT.ociIndex, manifests: [child, ...Array.from({ length: 10_000 }, () => attestation)] };
    ctx.proxy.hooks.push(answer('GET', '/v2/team/long/manifests/v1', () => json(200, index, { 'content-type': MT.ociIndex })));
    const ws = workspace({ images: { long: viaProxy('team/long', 'v1') }, fleet: FLEET });
    const r = await runLock(ws.dir);
    expect(r.exitCode).toBe(3);
    expect(r.failures[0]!.message).toContain('has more than 10000 entries');
  });
});

describe('Docker-Content-Digest of another algorithm', () => {
  it('a sha512 header that disagrees with the body is exit 4; one that agrees is accepted', async () => {
    const pushed = await pushMultiArch({ url: ctx.reg.url }, 'team/dcd', 'v1', [AMD64], { salt: 'dcd' });
    const path = '/v2/team/dcd/manifests/v1';
    let header = `sha512:${'ab'.repeat(64)}`;
    ctx.proxy.hooks.push({
      match: (r) => r.method === 'GET' && r.path === path,
      rewrite: (res) => ({ ...res, headers: { ...res.headers, 'docker-content-digest': header } }),
    });
    const ws = workspace({ images: { dcd: viaProxy('team/dcd', 'v1') }, fleet: FLEET });
    const bad = await runLock(ws.dir);
    expect(bad.exitCode).toBe(4);
    expect(bad.failures[0]!.message).toMatch(/Docker-Content-Digest says sha512:(ab)+ but the body hashes to sha512:/);
    expect(ws.lockExists()).toBe(false);
    header = `sha512:${createHash('sha512').update(Buffer.from(pushed.bytes)).digest('hex')}`;
    const good = await runLock(ws.dir);
    expect(good.failures).toEqual([]);
    expect(good.images.dcd!.digest).toBe(pushed.digest);
  });
});

describe('registry-controlled strings stay data', () => {
  const hostileIndex = (path: string, edit: (j: Record<string, unknown>) => void): ProxyHook => ({
    match: (r) => r.method === 'GET' && r.path === path,
    rewrite: edited(edit),
  });
  const firstEntry = (j: Record<string, unknown>) => (j.manifests as Array<Record<string, unknown>>)[0]!;

  it.each([
    [
      'an escape sequence in a platform variant',
      (j: Record<string, unknown>) => {
        (firstEntry(j).platform as Record<string, unknown>).variant = 'v8\u001b]2;pwned\u0007';
      },
      /manifests\[0\]\.platform\.variant "v8\\u001b\]2;pwned\\u0007" is not a platform name/,
    ],
    [
      'a newline that would break out of YAML in a media type',
      (j: Record<string, unknown>) => {
        firstEntry(j).mediaType = `${MT.ociManifest}\nfleet: {}`;
      },
      /manifests\[0\]\.mediaType .* is not a media type/,
    ],
    [
      'a C1 control and a bidi override in an architecture',
      (j: Record<string, unknown>) => {
        (firstEntry(j).platform as Record<string, unknown>).architecture = 'amd64\u009b\u202e';
      },
      /platform\.architecture "amd64\\u009b\\u202e" is not a platform name/,
    ],
  ])('%s fails that image alone (exit 4); the honest image is pinned; nothing raw reaches the terminal', async (_name, edit, why) => {
    await pushMultiArch({ url: ctx.reg.url }, 'team/honest', 'v1', [AMD64, ARM64], { salt: 'honest' });
    await pushMultiArch({ url: ctx.reg.url }, 'team/liar', 'v1', [AMD64, ARM64], { salt: 'liar' });
    ctx.proxy.hooks.push(hostileIndex('/v2/team/liar/manifests/v1', edit));
    const ws = workspace({ images: { honest: viaProxy('team/honest', 'v1'), liar: viaProxy('team/liar', 'v1') }, fleet: FLEET });
    for (const args of [
      ['lock'],
      ['lock', '--json'],
      ['diff', '--json'],
      ['diff', '--markdown'],
      ['inspect', `${ctx.proxy.host}/team/liar:v1`],
    ]) {
      const r = await runCli(args, ws.dir, { DOCKER_CONFIG: ws.dir });
      expect(r.code, args.join(' ')).toBe(4);
      const said = args.includes('--json')
        ? (JSON.parse(r.stdout) as { failures: Array<{ message: string }> }).failures.map((f) => f.message).join('\n')
        : r.stderr;
      expect(said, args.join(' ')).toMatch(why);
      expect(RAW.test(r.stdout) || RAW.test(r.stderr), args.join(' ')).toBe(false);
    }
    expect(ws.lockText()).toContain('honest:');
    expect(ws.lockText()).not.toContain('liar:');
  });

  it('tags with control characters in a tag list are never candidates', async () => {
    await pushMultiArch({ url: ctx.reg.url }, 'team/odd-tags', '1.0.0', [AMD64], { salt: 'odd' });
    ctx.proxy.hooks.push(
      answer('GET', /^\/v2\/team\/odd-tags\/tags\/list/, () =>
        json(200, { name: 'team/odd-tags', tags: ['1.0.0', '9.9.9\u001b[2J', '9.9.9\n', null, 7] }),
      ),
    );
    const ws = workspace({ images: { odd: { ref: `${ctx.proxy.host}/team/odd-tags`, track: '^1.0.0' } }, fleet: FLEET });
    const r = await runLock(ws.dir);
    expect(r.failures).toEqual([]);
    expect(r.images.odd!.tag).toBe('1.0.0');
  });
});

describe('malformed JSON shapes are exit 3 or 4 naming the field, never exit 70', () => {
  it.each([
    ['a tag list that is null', /^\/v2\/team\/shape\/tags\/list/, () => json(200, 'null'), 3, /the tag list must be an object, got null/],
    ['tags that are a string', /^\/v2\/team\/shape\/tags\/list/, () => json(200, { tags: 'v1' }), 3, /tags must be an array, got a string/],
    [
      'a manifest whose manifests are null',
      '/v2/team/shape/manifests/1.0.0',
      () => json(200, { schemaVersion: 2, mediaType: MT.ociIndex, manifests: null }, { 'content-type': MT.ociIndex }),
      4,
      /"manifests" must be an array, got null/,
    ],
    [
      'a manifest that is a number',
      '/v2/team/shape/manifests/1.0.0',
      () => json(200, '42', { 'content-type': MT.ociIndex }),
      4,
      /the manifest must be an object, got a number/,
    ],
    [
      'an entry whose size is a string',
      '/v2/team/shape/manifests/1.0.0',
      () =>
        json(
          200,
          {
            schemaVersion: 2,
            mediaType: MT.ociIndex,
            manifests: [{ mediaType: MT.ociManifest, digest: sha256(Buffer.from('x')), size: '1' }],
          },
          { 'content-type': MT.ociIndex },
        ),
      4,
      /manifests\[0\]\.size must be a whole number of bytes, got a string/,
    ],
  ])('%s', async (_name, path, respond, code, why) => {
    await pushMultiArch({ url: ctx.reg.url }, 'team/shape', '1.0.0', [AMD64], { salt: 'shape' });
    ctx.proxy.hooks.push(answer('GET', path, respond));
    const ws = workspace({ images: { shape: { ref: `${ctx.proxy.host}/team/shape`, track: '^1.0.0' } }, fleet: FLEET });
    const r = await runCli(['lock'], ws.dir, { DOCKER_CONFIG: ws.dir });
    expect(r.code).toBe(code);
    expect(r.stderr).toMatch(why);
    expect(r.stderr).toContain('shape');
    expect(r.stderr).not.toContain('internal error');
  });
});
