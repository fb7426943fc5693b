import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { authKey, dockerConfigStore } from '../../src/registry/credentials.js';
import { SpecError } from '../../src/errors.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');

function configDir(content: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'lgp-dc-'));
  writeFileSync(join(dir, 'config.json'), content);
  return dir;
}

describe('Docker config credentials', () => {
  it('maps Docker Hub aliases to its canonical key and reduces URLs to host[:port]', () => {
    expect(authKey('docker.io')).toBe('https://index.docker.io/v1/');
    expect(authKey('https://index.docker.io/v1/')).toBe('https://index.docker.io/v1/');
    expect(authKey('https://Reg.Example:5000/v2/')).toBe('reg.example:5000');
  });
  it('decodes auths entries, splitting at the first colon and trimming NULs', () => {
    const dir = configDir(JSON.stringify({
      auths: {
        'https://index.docker.io/v1/': { auth: b64('hubuser:p:w') },
        'reg.example:5000': { auth: b64('u:secret\0\0') },
        'https://old.example/v1/': { auth: b64('o:x') },
        'empty.example': {},
      },
    }));
    const store = dockerConfigStore({ DOCKER_CONFIG: dir });
    expect(store('docker.io')).toEqual({ username: 'hubuser', password: 'p:w' });
    expect(store('reg.example:5000')).toEqual({ username: 'u', password: 'secret' });
    expect(store('old.example')).toEqual({ username: 'o', password: 'x' });
    expect(store('empty.example')).toBeUndefined();
    expect(store('other.example')).toBeUndefined();
  });
  it('treats a missing file as anonymous', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lgp-dc-'));
    expect(dockerConfigStore({ DOCKER_CONFIG: dir })('reg.example')).toBeUndefined();
  });
  it('reports a broken file as bad input naming the file, without echoing secrets', () => {
    const broken = configDir('{"auths": {');
    expect(() => dockerConfigStore({ DOCKER_CONFIG: broken })('x')).toThrow(SpecError);
    expect(() => dockerConfigStore({ DOCKER_CONFIG: broken })('x')).toThrow(/config\.json:1:12: not valid JSON; fix or remove/);
    const noColon = configDir(JSON.stringify({ auths: { 'r.example': { auth: b64('hunter2') } } }));
    let message = '';
    try {
      dockerConfigStore({ DOCKER_CONFIG: noColon })('r.example');
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/auths\."r\.example"\.auth is not base64 of "user:password"/);
    expect(message).not.toContain('hunter2');
    expect(message).not.toContain(b64('hunter2'));
  });
  it('never quotes the file around a JSON error, where a credential may sit', () => {
    const secret = b64('alice:s3cr3tPassword');
    const dir = configDir(`{"auths":{"r.example":{"auth":${secret}}}}`);
    let message = '';
    try {
      dockerConfigStore({ DOCKER_CONFIG: dir })('r.example');
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/config\.json(:\d+:\d+)?: not valid JSON/);
    expect(message).not.toContain(secret.slice(0, 6));
  });
});
