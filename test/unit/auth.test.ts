import { describe, expect, it } from 'vitest';
import { parseChallenges, parseTokenResponse, TokenCache } from '../../src/registry/auth.js';

describe('WWW-Authenticate parsing', () => {
  it('reads a distribution Bearer challenge with a comma inside a quoted scope', () => {
    const [c] = parseChallenges('Bearer realm="https://auth.example/token",service="reg.example",scope="repository:ns/app:pull,push"');
    expect(c).toEqual({
      scheme: 'bearer',
      params: { realm: 'https://auth.example/token', service: 'reg.example', scope: 'repository:ns/app:pull,push' },
    });
  });
  it('handles case, spaces, escaped quotes, unquoted values and several challenges', () => {
    const cs = parseChallenges('BASIC realm="a \\"quoted\\" realm", Bearer realm=https://x/token , error=invalid_token');
    expect(cs).toEqual([
      { scheme: 'basic', params: { realm: 'a "quoted" realm' } },
      { scheme: 'bearer', params: { realm: 'https://x/token', error: 'invalid_token' } },
    ]);
  });
  it('takes token68 padding on an unquoted value', () => {
    expect(parseChallenges('Negotiate abc==')[0]!.scheme).toBe('negotiate');
  });
});

describe('token responses', () => {
  it('accepts token, access_token or both, with a 60 s default lifetime', () => {
    expect(parseTokenResponse({ token: 't' })).toEqual({ token: 't', expiresIn: 60 });
    expect(parseTokenResponse({ access_token: 'a', expires_in: 300 })).toEqual({ token: 'a', expiresIn: 300 });
    expect(parseTokenResponse({ token: 't', access_token: 't', expires_in: 5 })).toEqual({ token: 't', expiresIn: 5 });
    expect(parseTokenResponse({ nothing: true })).toBeUndefined();
    expect(parseTokenResponse('text')).toBeUndefined();
  });
});

describe('TokenCache', () => {
  it('caches per realm, service and scope until shortly before expiry, and shares one fetch', async () => {
    let now = 0;
    const cache = new TokenCache(() => now);
    let fetches = 0;
    const fetch = async () => ({ token: `t${++fetches}`, expiresIn: 60 });
    const scope = { origin: 'https://reg.example', credentials: '', realm: 'https://r/token', service: 'svc' };
    const k = TokenCache.key({ ...scope, scopes: ['repository:a:pull'] });
    const [a, b] = await Promise.all([cache.get(k, fetch), cache.get(k, fetch)]);
    expect([a, b, fetches]).toEqual(['t1', 't1', 1]);
    now = 49_000;
    expect(await cache.get(k, fetch)).toBe('t1');
    now = 51_000; // inside the 10 s refresh margin
    expect(await cache.get(k, fetch)).toBe('t2');
    const other = TokenCache.key({ ...scope, scopes: ['repository:b:pull'] });
    expect(await cache.get(other, fetch)).toBe('t3');
    cache.invalidate(k);
    expect(await cache.get(k, fetch)).toBe('t4');
  });
  it('orders scopes so the same set shares a key', () => {
    const base = { origin: 'https://reg.example', credentials: '', realm: 'r', service: undefined };
    expect(TokenCache.key({ ...base, scopes: ['b', 'a'] })).toBe(TokenCache.key({ ...base, scopes: ['a', 'b'] }));
  });
  it('never shares a token between registries, or between credentials, for the same realm, service and scope', () => {
    const challenge = { realm: 'https://auth.example/token', service: 'private', scopes: ['repository:team/app:pull'] };
    const keys = new Set([
      TokenCache.key({ ...challenge, origin: 'https://private.example', credentials: 'alice' }),
      TokenCache.key({ ...challenge, origin: 'https://hostile.example', credentials: 'alice' }),
      TokenCache.key({ ...challenge, origin: 'https://private.example:5000', credentials: 'alice' }),
      TokenCache.key({ ...challenge, origin: 'http://private.example', credentials: 'alice' }),
      TokenCache.key({ ...challenge, origin: 'https://private.example', credentials: '' }),
      TokenCache.key({ ...challenge, origin: 'https://private.example', credentials: 'bob' }),
    ]);
    expect(keys.size).toBe(6);
  });
});
