/**
 * The transport layers (src/transport/) one at a time, over fake inner transports: no network.
 * The retry layer with an injected sleep and jitter, the follow layer with scripted 30x answers,
 * the deadline layer with an inner transport that never answers, and their composition.
 */
import { describe, expect, it } from 'vitest';
import { DeadlineError, TransportError } from '../../src/errors.js';
import { compose, type Method, type Transport, type TransportRequest, type TransportResponse } from '../../src/transport/index.js';
import { deadline } from '../../src/transport/deadline.js';
import { followRedirects } from '../../src/transport/redirect.js';
import { backoffMs, retry, retryAfterMs, type RetryPolicy } from '../../src/transport/retry.js';
import type { Layer } from '../../src/transport/types.js';

const answer = (status: number, headers: Record<string, string> = {}, url = 'https://reg.example/x'): TransportResponse => ({
  status,
  headers,
  bytes: new Uint8Array(),
  url,
});
const to = (status: number, location: string) => answer(status, { location });
const netError = (code: string) => Object.assign(new Error(`socket trouble ${code}`), { code });

/** An inner transport that plays `script` in order (an answer, or an error to throw) and records every request. */
function scripted(script: Array<TransportResponse | Error>) {
  const seen: TransportRequest[] = [];
  const inner: Transport = (req) => {
    seen.push(req);
    const next = script[Math.min(seen.length - 1, script.length - 1)]!;
    return next instanceof Error ? Promise.reject(next) : Promise.resolve({ ...next, url: req.url });
  };
  return { inner, seen };
}

describe('the retry layer', () => {
  const POLICY: RetryPolicy = { attempts: 3, maxRetryAfterMs: 10_000, backoffMs: 100 };
  type Outcome = { status: number } | { error: RegExp; cause?: string };
  const cases: Array<{
    name: string;
    method?: Method;
    idempotent?: boolean;
    policy?: Partial<RetryPolicy>;
    script: Array<TransportResponse | Error>;
    calls: number;
    waits: number[];
    outcome: Outcome;
  }> = [
    { name: '200 at once: no wait', script: [answer(200)], calls: 1, waits: [], outcome: { status: 200 } },
    { name: '404 is an answer, not a failure', script: [answer(404)], calls: 1, waits: [], outcome: { status: 404 } },
    { name: '503 then 200: one backoff', script: [answer(503), answer(200)], calls: 2, waits: [100], outcome: { status: 200 } },
    { name: '500 three times: the last answer is returned', script: [answer(500)], calls: 3, waits: [100, 200], outcome: { status: 500 } },
    {
      name: '429 Retry-After: 2 waits 2 s',
      script: [answer(429, { 'retry-after': '2' }), answer(200)],
      calls: 2,
      waits: [2000],
      outcome: { status: 200 },
    },
    {
      name: '429 Retry-After: 3600 waits the cap (registries)',
      script: [answer(429, { 'retry-after': '3600' }), answer(200)],
      calls: 2,
      waits: [10_000],
      outcome: { status: 200 },
    },
    {
      name: '429 Retry-After: 3600 with beyondCap stop: handed back at once',
      policy: { beyondCap: 'stop' },
      script: [answer(429, { 'retry-after': '3600' }), answer(200)],
      calls: 1,
      waits: [],
      outcome: { status: 429 },
    },
    {
      name: '429 Retry-After: 2 with beyondCap stop still waits',
      policy: { beyondCap: 'stop' },
      script: [answer(429, { 'retry-after': '2' }), answer(200)],
      calls: 2,
      waits: [2000],
      outcome: { status: 200 },
    },
    {
      name: 'an unreadable Retry-After falls back to backoff',
      script: [answer(429, { 'retry-after': 'soon' }), answer(200)],
      calls: 2,
      waits: [100],
      outcome: { status: 200 },
    },
    {
      name: 'a reset connection is tried again',
      script: [netError('ECONNRESET'), answer(200)],
      calls: 2,
      waits: [100],
      outcome: { status: 200 },
    },
    {
      name: 'refused three times: unreachable, in words',
      script: [netError('ECONNREFUSED')],
      calls: 3,
      waits: [100, 200],
      outcome: { error: /^connection refused \(ECONNREFUSED\)$/, cause: 'ECONNREFUSED' },
    },
    {
      name: 'one attempt only: no retry at all',
      policy: { attempts: 1 },
      script: [answer(503), answer(200)],
      calls: 1,
      waits: [],
      outcome: { status: 503 },
    },
    {
      name: 'a missed deadline is retried',
      script: [new DeadlineError(200, false), answer(200)],
      calls: 2,
      waits: [100],
      outcome: { status: 200 },
    },
    {
      name: 'a verdict from below is never retried',
      script: [new TransportError('too-large', '/x is larger than the 16 bytes limit; refused')],
      calls: 1,
      waits: [],
      outcome: { error: /larger than the 16 bytes limit/ },
    },
    // A POST may have done its work before the server failed: only what proves it did not is retried.
    {
      name: 'POST: 502 is handed back (a second comment would be posted)',
      method: 'POST',
      script: [answer(502), answer(201)],
      calls: 1,
      waits: [],
      outcome: { status: 502 },
    },
    {
      name: 'POST: 503 is retried (the server did not handle it)',
      method: 'POST',
      script: [answer(503), answer(201)],
      calls: 2,
      waits: [100],
      outcome: { status: 201 },
    },
    {
      name: 'PATCH: 429 is retried',
      method: 'PATCH',
      script: [answer(429), answer(200)],
      calls: 2,
      waits: [100],
      outcome: { status: 200 },
    },
    {
      name: 'POST: a reset connection is not retried',
      method: 'POST',
      script: [netError('ECONNRESET'), answer(201)],
      calls: 1,
      waits: [],
      outcome: { error: /^connection reset \(ECONNRESET\)$/ },
    },
    {
      name: 'POST: a refused connection is retried (nothing was sent)',
      method: 'POST',
      script: [netError('ECONNREFUSED'), answer(201)],
      calls: 2,
      waits: [100],
      outcome: { status: 201 },
    },
    {
      name: 'POST marked idempotent (a token request): 500 is retried',
      method: 'POST',
      idempotent: true,
      script: [answer(500), answer(200)],
      calls: 2,
      waits: [100],
      outcome: { status: 200 },
    },
  ];

  it.each(cases)('$name', async (c) => {
    const { inner, seen } = scripted(c.script);
    const waits: number[] = [];
    // Jitter fixed at its middle: attempt n waits exactly backoffMs × 2^(n-1).
    const send = retry({ ...POLICY, ...c.policy }, { sleep: async (ms) => void waits.push(ms), random: () => 0.5 })(inner);
    const result = await send({ method: c.method ?? 'GET', url: 'https://reg.example/x', idempotent: c.idempotent }).then(
      (res) => ({ status: res.status }),
      (e: unknown) => e,
    );
    expect(seen).toHaveLength(c.calls);
    expect(waits).toEqual(c.waits);
    if ('status' in c.outcome) expect(result).toEqual(c.outcome);
    else {
      expect(result).toBeInstanceOf(TransportError);
      expect((result as TransportError).message).toMatch(c.outcome.error);
      if (c.outcome.cause) {
        expect((result as TransportError).kind).toBe('unreachable');
        expect(((result as TransportError).cause as NodeJS.ErrnoException).code).toBe(c.outcome.cause);
      }
    }
  });

  it.each([
    ['seconds', '3', 3000],
    ['zero', '0', 0],
    ['an HTTP date 5 s ahead', new Date(1_000_000_000_000 + 5000).toUTCString(), 5000],
    ['an HTTP date in the past', new Date(1_000_000_000_000 - 60_000).toUTCString(), 0],
    ['absent', undefined, undefined],
    ['garbage', 'later', undefined],
  ])('reads Retry-After: %s', (_name, value, ms) => {
    expect(retryAfterMs(value, 1_000_000_000_000)).toBe(ms);
  });

  it.each([
    [1, 0, 50],
    [1, 0.999, 149.9],
    [2, 0.5, 200],
    [3, 0, 200],
  ])('backs off: attempt %i with jitter %f waits %f ms', (attempt, jitter, ms) => {
    expect(backoffMs({ backoffMs: 100 }, attempt, () => jitter)).toBeCloseTo(ms);
  });
});

describe('the follow layer', () => {
  const AUTH = { authorization: 'Bearer secret', 'private-token': 'glpat-secret', accept: 'application/json' };

  it.each([
    ['a same-origin hop keeps every header', [to(307, '/y')], 'GET', ['https://reg.example/x', 'https://reg.example/y'], [AUTH, AUTH]],
    [
      'another origin gets no Authorization and no declared credential header',
      [to(307, 'https://cdn.example/blob')],
      'GET',
      ['https://reg.example/x', 'https://cdn.example/blob'],
      [AUTH, { accept: 'application/json' }],
    ],
    [
      'credentials stay dropped on the way back',
      [to(302, 'https://cdn.example/a'), to(302, 'https://reg.example/b')],
      'GET',
      ['https://reg.example/x', 'https://cdn.example/a', 'https://reg.example/b'],
      [AUTH, { accept: 'application/json' }, { accept: 'application/json' }],
    ],
    [
      'userinfo in a Location is never sent',
      [to(301, 'https://u:p@reg.example/z')],
      'GET',
      ['https://reg.example/x', 'https://reg.example/z'],
      [AUTH, AUTH],
    ],
  ] as const)('%s', async (_name, hops, method, urls, headers) => {
    const { inner, seen } = scripted([...hops, answer(200)]);
    const res = await followRedirects()(inner)({
      method,
      url: 'https://reg.example/x',
      headers: { ...AUTH },
      credentialHeaders: ['private-token'],
    });
    expect(res.status).toBe(200);
    expect(res.url).toBe(urls[urls.length - 1]);
    expect(seen.map((r) => r.url)).toEqual(urls);
    expect(seen.map((r) => r.headers)).toEqual(headers);
  });

  it.each([
    [301, 'GET', undefined],
    [302, 'GET', undefined],
    [303, 'GET', undefined],
    [307, 'POST', 'grant_type=refresh_token'],
    [308, 'POST', 'grant_type=refresh_token'],
  ] as const)('a POST redirected with %i goes on as %s', async (status, method, body) => {
    const { inner, seen } = scripted([to(status, '/token2'), answer(200)]);
    await followRedirects()(inner)({
      method: 'POST',
      url: 'https://auth.example/token',
      body: 'grant_type=refresh_token',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(seen[1]).toMatchObject({ method, body });
    expect('content-type' in seen[1]!.headers!).toBe(method === 'POST');
  });

  it.each([
    ['more hops than allowed', [to(307, '/again')], undefined, 'redirects', /^more than 5 redirects from https:\/\/reg\.example$/, 6],
    [
      'a sensitive request off its origin',
      [to(307, 'https://evil.example/t')],
      'token server',
      'redirect-refused',
      /^token server https:\/\/reg\.example redirected to another origin \(https:\/\/evil\.example\)/,
      1,
    ],
    ['a scheme other than http(s)', [to(302, 'ftp://reg.example/x')], undefined, 'redirect-refused', /only http and https are followed/, 1],
  ] as const)('refuses %s with a TransportError carrying the status', async (_name, script, sensitive, kind, message, calls) => {
    const { inner, seen } = scripted([...script]);
    const e = await followRedirects()(inner)({ method: 'GET', url: 'https://reg.example/x', sensitive }).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(TransportError);
    expect(e).toMatchObject({ kind, status: script[0].status });
    expect((e as Error).message).toMatch(message);
    expect(seen).toHaveLength(calls);
  });

  it('a 3xx without a Location is an answer', async () => {
    const { inner, seen } = scripted([answer(304)]);
    expect((await followRedirects()(inner)({ method: 'GET', url: 'https://reg.example/x' })).status).toBe(304);
    expect(seen).toHaveLength(1);
  });
});

describe('the deadline layer', () => {
  /** Never answers; once `headersAfterMs` passes it says the headers are in. Rejects with the abort reason, as undici does. */
  const hanging =
    (headersAfterMs?: number): Transport =>
    (req) =>
      new Promise((_resolve, reject) => {
        if (headersAfterMs !== undefined) setTimeout(() => (req.deadline!.reading = true), headersAfterMs);
        req.deadline!.signal.addEventListener('abort', () => reject(new Error('This operation was aborted')), { once: true });
      });

  it.each([
    ['no headers', undefined, /^timed out waiting for the response \(no answer within 0\.05 s, the --timeout of each try\)$/],
    [
      'headers but no body',
      5,
      /^timed out reading the response \(the whole answer must arrive within 0\.05 s, the --timeout of each try\)$/,
    ],
  ])('%s: a DeadlineError saying how far it got', async (_name, headersAfterMs, message) => {
    const started = Date.now();
    const e = await deadline(
      50,
      'the --timeout of each try',
    )(hanging(headersAfterMs))({ method: 'GET', url: 'https://reg.example/x' }).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(DeadlineError);
    expect((e as Error).message).toMatch(message);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('names no setting when given none, and lets an answer in time through', async () => {
    const e = await deadline(20)(hanging())({ method: 'GET', url: 'https://x.example/' }).catch((err: unknown) => err);
    expect((e as Error).message).toBe('timed out waiting for the response (no answer within 0.02 s)');
    const { inner } = scripted([answer(200)]);
    expect((await deadline(1000)(inner)({ method: 'GET', url: 'https://x.example/' })).status).toBe(200);
  });
});

describe('composition', () => {
  it('applies layers outermost first, each try through everything below', async () => {
    const trace: string[] = [];
    const tag =
      (name: string): Layer =>
      (next) =>
      async (req) => {
        trace.push(name);
        return next(req);
      };
    const { inner, seen } = scripted([answer(503), to(307, '/moved'), answer(200)]);
    const send = compose(
      retry({ attempts: 3, maxRetryAfterMs: 0, backoffMs: 0 }, { sleep: async () => {} }),
      tag('try'),
      followRedirects(),
      tag('hop'),
    )(inner);
    const res = await send({ method: 'GET', url: 'https://reg.example/x' });
    expect(res).toMatchObject({ status: 200, url: 'https://reg.example/moved' });
    expect(trace).toEqual(['try', 'hop', 'try', 'hop', 'hop']);
    expect(seen.map((r) => r.url)).toEqual(['https://reg.example/x', 'https://reg.example/x', 'https://reg.example/moved']);
  });
});
