/**
 * Credential helpers that hang, flood or leak (issue 10 §6): the BUILT CLI, `lock --timeout 1`,
 * against a real htpasswd registry (so the 401 makes lg-pins ask the helper), with fake
 * `docker-credential-<name>` scripts written here. Every run must end soon after the timeout with
 * exit 3 naming the helper and the registry, no stack trace, and nothing the helper printed (on
 * stdout or stderr) in any output: human, `--verbose` or `--json`.
 */
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli, STACK, type CliResult } from '../helpers/cli.js';
import { useRegistry, workspace } from '../helpers/workspace.js';
import { removeTempDirs, tempDir } from '../helpers/tmp.js';

const USER = 'helper-user';
const PASS = 'helper-registry-pass';
const SECRET = 's3cr3t-token';
const PATH = process.env.PATH ?? '/usr/bin:/bin';
/** A run that took longer than this hung on the helper (the timeout is 1 s). */
const HANG_LIMIT_MS = 10_000;

const tmp = () => tempDir('lgp-hostile-');
/** Processes that escaped into a session of their own append their pid to these files; killed at the end. */
const escapedPids: string[] = [];
afterAll(() => {
  for (const file of escapedPids) {
    if (!existsSync(file)) continue;
    for (const pid of readFileSync(file, 'utf8').split('\n').filter(Boolean)) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
  }
  removeTempDirs();
});

interface Hostile {
  name: string;
  /** The script's body after `read server`. */
  body: (dir: string) => string;
  /** What must never show. */
  markers: string[];
  /** What the message says about how it failed. */
  why: RegExp;
}

const HOSTILE: Hostile[] = [
  { name: 'hang', body: () => `echo "${SECRET} before hanging" >&2\nexec sleep 1000`, markers: [SECRET], why: /no answer within 1 s/ },
  {
    name: 'holdpipe',
    // The background child keeps stdout (and stderr) open after the helper itself is killed.
    body: () => `echo '{"Secret":"${SECRET}"'\nsleep 1000 &\nexec sleep 1000`,
    markers: [SECRET],
    why: /no answer within 1 s/,
  },
  {
    name: 'escape',
    // A grandchild in a session of its own survives the group kill and still holds the pipes.
    body: (dir) => `setsid sh -c 'echo $$ >> ${join(dir, 'escaped.pids')}; exec sleep 60' &\nsleep 0.2\nexec sleep 1000`,
    markers: [],
    why: /no answer within 1 s/,
  },
  { name: 'flood', body: () => `exec yes "flood-${SECRET}"`, markers: [SECRET, 'flood-'], why: /printed more than 64 KiB/ },
  {
    name: 'binary',
    body: () => `head -c 4096 /dev/urandom\nprintf 'BINJUNK\\000\\377\\376${SECRET}' >&2\nexit 1`,
    markers: [SECRET, 'BINJUNK', '\u0000', '\ufffd'],
    why: /: exit 1$/m,
  },
  { name: 'signalled', body: () => `echo "about to die: ${SECRET}" >&2\nkill -9 $$`, markers: [SECRET], why: /killed by signal SIGKILL/ },
  { name: 'oddcode', body: () => `echo "odd-${SECRET}"\nexit 255`, markers: [SECRET, 'odd-'], why: /: exit 255$/m },
  {
    name: 'leaky',
    body: (dir) =>
      `echo '{"ServerURL":"x","Username":"${USER}","Secret":"${SECRET}"}'\necho "keychain locked (${SECRET}) see ${dir}" >&2\nexit 1`,
    markers: [SECRET, 'keychain locked'],
    why: /: exit 1$/m,
  },
];

/** A PATH dir holding `docker-credential-<name>`, and a DOCKER_CONFIG whose credHelpers send `host` to it. */
function setup(h: Hostile, host: string): NodeJS.ProcessEnv {
  const bin = tmp();
  const script = join(bin, `docker-credential-${h.name}`);
  writeFileSync(script, `#!/bin/sh\n[ "$1" = get ] || exit 2\nread server\n${h.body(bin)}\n`);
  chmodSync(script, 0o755);
  escapedPids.push(join(bin, 'escaped.pids'));
  const config = tmp();
  writeFileSync(join(config, 'config.json'), JSON.stringify({ credHelpers: { [host]: h.name } }));
  return {
    PATH: `${bin}:${PATH}`,
    HOME: tmp(),
    DOCKER_CONFIG: config,
    XDG_RUNTIME_DIR: '',
    XDG_CONFIG_HOME: '',
    REGISTRY_AUTH_FILE: '',
    LG_PINS_REGISTRY_AUTH: '',
    DOCKER_AUTH_CONFIG: '',
  };
}

async function timed(args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<CliResult & { ms: number }> {
  const start = Date.now();
  const r = await runCli(args, cwd, env);
  return { ...r, ms: Date.now() - start };
}

function expectClean(r: CliResult, markers: string[]): void {
  const all = `${r.stdout}\n${r.stderr}`;
  for (const m of markers) expect(all, `output contains ${JSON.stringify(m)}`).not.toContain(m);
  expect(all).not.toMatch(STACK);
}

describe('hostile credential helpers', () => {
  const ctx = useRegistry({ auth: { kind: 'htpasswd', users: { [USER]: PASS } } });
  const spec = () =>
    workspace({
      images: { agent: { ref: `${ctx.reg.host}/private/agent`, tag: 'v1' } },
      fleet: { datacenter: { arch: 'x86_64', hosts: ['web-01'] } },
    });

  for (const h of HOSTILE) {
    it(`${h.name}: exit 3 within the timeout, naming the helper and the registry, quoting nothing it printed`, async () => {
      const env = setup(h, ctx.reg.host);
      const [human, verbose, json] = await Promise.all([
        timed(['lock', '--timeout', '1'], spec().dir, env),
        timed(['lock', '--timeout', '1', '--verbose'], spec().dir, env),
        timed(['lock', '--timeout', '1', '--json'], spec().dir, env),
      ]);
      for (const r of [human, verbose, json]) {
        expect(r.code, r.stderr).toBe(3);
        expect(r.ms).toBeLessThan(HANG_LIMIT_MS);
        expectClean(r, h.markers);
      }
      const program = `docker-credential-${h.name}`;
      for (const r of [human, verbose]) {
        expect(r.stderr).toContain(
          `credential helper ${program} (from ${join(env.DOCKER_CONFIG!, 'config.json')}) failed for ${ctx.reg.host}`,
        );
        expect(r.stderr).toMatch(h.why);
      }
      const failure = (JSON.parse(json.stdout) as { failures: Array<{ message: string; exitCode: number; registry?: string }> })
        .failures[0]!;
      expect(failure).toMatchObject({ exitCode: 3, registry: ctx.reg.host });
      expect(failure.message).toContain(`${program} (from `);
      expect(failure.message).toMatch(h.why);
    });
  }

  it('"credentials not found" still means anonymous (HTTP 401), and its words are not printed', async () => {
    const env = setup(
      { name: 'notfound', body: () => `echo "credentials not found in native keychain ${SECRET}"\nexit 1`, markers: [], why: /./ },
      ctx.reg.host,
    );
    const r = await timed(['lock', '--timeout', '1', '--verbose'], spec().dir, env);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('HTTP 401');
    expectClean(r, [SECRET, 'native keychain']);
  });
});
