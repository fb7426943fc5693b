/**
 * End to end: the BUILT CLI's `mirror` against real registries (the source behind a fault proxy):
 * its text lines, the `--json` document, `--dry-run` with sizes, exit codes 0, 2, 3 and 4, and the
 * progress line, drawn on stderr only when it is a terminal (a pseudo-terminal from util-linux
 * `script`), never on a pipe or with --json.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, runCli, STACK, type CliResult } from '../helpers/cli.js';
import { blobsOf, expectWhole, FLEET, flipOneBit, get, PLATFORMS } from '../helpers/mirror.js';
import { MT, pushMultiArch, type MultiArchResult } from '../helpers/push.js';
import { freePort, startRegistry, type TestRegistry } from '../helpers/registry.js';
import { emptyDockerConfigDir, useProxiedRegistry, workspace, type Workspace } from '../helpers/workspace.js';

const ctx = useProxiedRegistry();
let m: TestRegistry;
let env: NodeJS.ProcessEnv;
let ws: Workspace;
let agent: MultiArchResult;
let sidecar: MultiArchResult;

beforeAll(async () => {
  m = await startRegistry();
  env = { DOCKER_CONFIG: emptyDockerConfigDir(), LG_PINS_REGISTRY_AUTH: '' };
  agent = await pushMultiArch({ url: ctx.reg.url }, 'e2e/agent', 'v1', PLATFORMS, { salt: 'cli-agent' });
  sidecar = await pushMultiArch({ url: ctx.reg.url }, 'e2e/sidecar', 'v1', PLATFORMS, { salt: 'cli-sidecar' });
  ws = workspace({
    images: { agent: { ref: `${ctx.proxy.host}/e2e/agent`, tag: 'v1' }, sidecar: { ref: `${ctx.proxy.host}/e2e/sidecar`, tag: 'v1' } },
    fleet: FLEET,
  });
  const locked = await cli('lock');
  expect([locked.code, locked.stderr]).toEqual([0, '']);
});
afterAll(async () => {
  await m?.stop();
});

const cli = (...args: string[]) => runCli(args, ws.dir, env);
const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const SIZE = '\\d+(\\.\\d)? (bytes|KiB)';

/** util-linux `script`: runs a command on a pseudo-terminal and copies what it shows to stdout. */
const SCRIPT = '/usr/bin/script';

/** Run the built CLI on a pseudo-terminal: stdout to `outFile`, stderr (the terminal) returned as `tty`. */
function onTerminal(args: string[], outFile: string): Promise<{ code: number; tty: string }> {
  const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const command = `${[process.execPath, BIN, ...args].map(quote).join(' ')} > ${quote(outFile)}`;
  return new Promise((resolve) => {
    execFile(SCRIPT, ['-qec', command, '/dev/null'], { cwd: ws.dir, env: { ...process.env, ...env }, timeout: 60_000 }, (err, stdout) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, tty: stdout });
    });
  });
}

/** The arm64 layer of agent, tampered on its way from the source (same length, one bit flipped). */
async function tamperAgentLayer(): Promise<string> {
  const layer = (await blobsOf(`${ctx.reg.url}/v2/e2e/agent`, agent.images[1]!.digest))[1]!;
  ctx.proxy.hooks.push({ match: (r) => r.method === 'GET' && r.path === `/v2/e2e/agent/blobs/${layer}`, rewrite: flipOneBit });
  return layer;
}

const noStack = (r: CliResult) => expect(`${r.stdout}${r.stderr}`).not.toMatch(STACK);

describe('lg-pins mirror (built CLI)', () => {
  it('prints a line per image and destination and the total; no progress on a pipe; a second run is complete', async () => {
    const r = await cli('mirror', '--to', `${m.host}/txt`);
    expect([r.code, r.stderr]).toEqual([0, '']);
    const line = (id: string) => new RegExp(`^✓ ${id} → ${esc(m.host)}/txt/e2e/${id}: copied 6 blobs, 4 manifests, tag v1, ${SIZE}$`);
    expect(r.stdout.trimEnd().split('\n')).toEqual([
      expect.stringMatching(line('agent')),
      expect.stringMatching(line('sidecar')),
      expect.stringMatching(new RegExp(`^Every mirror holds what the lock pins \\(${SIZE} copied\\)\\.$`)),
    ]);
    await expectWhole(`${m.url}/v2/txt/e2e/agent`, agent);
    await expectWhole(`${m.url}/v2/txt/e2e/sidecar`, sidecar);

    const again = await cli('mirror', '--to', `${m.host}/txt`);
    expect([again.code, again.stderr]).toEqual([0, '']);
    expect(again.stdout).toBe(
      [
        `✓ agent → ${m.host}/txt/e2e/agent: already complete`,
        `✓ sidecar → ${m.host}/txt/e2e/sidecar: already complete`,
        'Every mirror holds what the lock pins (0 bytes copied).',
        '',
      ].join('\n'),
    );
  });

  it('--json: one document with a copies entry per image and destination; nothing on stderr', async () => {
    const r = await cli('mirror', '--to', `${m.host}/json`, '--json');
    expect([r.code, r.stderr]).toEqual([0, '']);
    const copy = (id: string) => ({
      image: id,
      destination: `${m.host}/json/e2e/${id}`,
      status: 'copied',
      blobs: 6,
      bytes: expect.any(Number),
      manifests: 4,
      tags: ['v1'],
      uploaded: 6,
      mounted: 0,
      signatures: 0,
    });
    expect(JSON.parse(r.stdout)).toEqual({
      ok: true,
      dryRun: false,
      lockFile: expect.stringMatching(/lg-pins\.lock\.yaml$/),
      copies: [copy('agent'), copy('sidecar')],
      skipped: [],
      exitCode: 0,
    });
  });

  it('--dry-run lists every manifest and blob with its size and writes nothing (text and --json)', async () => {
    const r = await cli('mirror', '--to', `${m.host}/dry`, '--dry-run', '--image', 'agent');
    expect([r.code, r.stderr]).toEqual([0, '']);
    const src = `${ctx.reg.url}/v2/e2e/agent`;
    const sizes: Record<string, number> = {};
    for (const child of agent.images)
      for (const d of await blobsOf(src, child.digest)) sizes[d] = (await get(`${src}/blobs/${d}`, '*/*')).bytes.length;
    const lines = r.stdout.split('\n');
    expect(lines[0]).toMatch(new RegExp(`^ {2}agent → ${esc(m.host)}/dry/e2e/agent: would copy 6 blobs, 4 manifests, tag v1, ${SIZE}$`));
    for (const [d, size] of Object.entries(sizes)) expect(lines).toContain(`      blob     ${d.slice(0, 19)}  ${size} bytes`);
    for (const x of agent.images) expect(lines).toContain(`      manifest ${x.digest.slice(0, 19)}  ${x.size} bytes  ${MT.ociManifest}`);
    expect(lines).toContain(`      manifest ${agent.digest.slice(0, 19)}  ${agent.bytes.length} bytes  ${MT.ociIndex}`);
    expect(lines).toContain('      then tag v1');
    expect(lines.at(-2)).toMatch(new RegExp(`^Dry run: ${SIZE} would be copied; nothing was written\\.$`));
    expect((await get(`${m.url}/v2/dry/e2e/agent/manifests/${agent.digest}`)).status).toBe(404);

    const json = await cli('mirror', '--to', `${m.host}/dry`, '--dry-run', '--image', 'agent', '--json');
    expect(json.code).toBe(0);
    const doc = JSON.parse(json.stdout) as {
      dryRun: boolean;
      copies: Array<{ status: string; plan: { blobs: Array<{ digest: string; size: number }> } }>;
    };
    expect([doc.dryRun, doc.copies.map((c) => c.status)]).toEqual([true, ['planned']]);
    expect(Object.fromEntries(doc.copies[0]!.plan.blobs.map((b) => [b.digest, b.size]))).toEqual(sizes);
    expect((await get(`${m.url}/v2/dry/e2e/agent/manifests/v1`)).status).toBe(404);
  });

  it.each([
    ['an --image the lock does not pin', ['--to', 'HOST/x', '--image', 'nope'], '--image nope: the lock pins no image "nope"'],
    ['a --to with a scheme', ['--to', 'https://HOST/x'], 'is not host[/prefix] or oci-layout://DIR'],
    ['a --from that is not a layout', ['--from', 'HOST/x', '--to', 'HOST/y'], '--from "HOST/x": expected oci-layout://DIR'],
  ])('%s is exit 2, said on stderr (and in the --json error document)', async (_what, args, said) => {
    const r = await cli('mirror', ...args.map((a) => a.replace('HOST', m.host)));
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(said.replace('HOST', m.host));
    noStack(r);
    const json = await cli('mirror', '--json', ...args.map((a) => a.replace('HOST', m.host)));
    expect(json.code).toBe(2);
    expect(JSON.parse(json.stdout)).toEqual({ error: { exitCode: 2, message: expect.stringContaining(said.replace('HOST', m.host)) } });
  });

  it('a mirror nobody answers at is exit 3: each copy failed on stdout, each error in full on stderr', async () => {
    const down = `127.0.0.1:${await freePort()}`;
    const r = await cli('mirror', '--to', `${down}/x`, '--timeout', '2');
    expect(r.code).toBe(3);
    expect(r.stdout.split('\n')).toEqual([
      `✗ agent → ${down}/x/e2e/agent: failed (exit 3)`,
      `✗ sidecar → ${down}/x/e2e/sidecar: failed (exit 3)`,
      '2 copies failed (exit 3); the others are complete. Run again to finish: what is there is not copied twice.',
      '',
    ]);
    const errors = r.stderr.trimEnd().split('\n');
    expect(errors).toHaveLength(2);
    expect(errors[0]).toMatch(new RegExp(`^error: agent → ${esc(down)}/x/e2e/agent: .*${esc(down)}`));
    noStack(r);
  });

  it('a tampered blob is exit 4 for its image only: the other is copied; --json says which and why', async () => {
    const layer = await tamperAgentLayer();
    const r = await cli('mirror', '--to', `${m.host}/bad`);
    expect(r.code).toBe(4);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toBe(`✗ agent → ${m.host}/bad/e2e/agent: failed (exit 4)`);
    expect(lines[1]).toMatch(new RegExp(`^✓ sidecar → ${esc(m.host)}/bad/e2e/sidecar: copied 6 blobs`));
    expect(r.stderr).toMatch(
      new RegExp(`^error: agent → ${esc(m.host)}/bad/e2e/agent: .*blob ${layer} hashes to sha256:[0-9a-f]{64}; refusing it\\n$`),
    );
    noStack(r);
    expect((await get(`${m.url}/v2/bad/e2e/agent/manifests/${agent.digest}`)).status).toBe(404);

    const json = await cli('mirror', '--to', `${m.host}/bad`, '--json');
    expect([json.code, json.stderr]).toEqual([4, '']);
    const doc = JSON.parse(json.stdout) as { ok: boolean; exitCode: number; copies: Array<Record<string, unknown>> };
    expect([doc.ok, doc.exitCode]).toEqual([false, 4]);
    expect(doc.copies[0]).toMatchObject({
      image: 'agent',
      status: 'failed',
      exitCode: 4,
      error: expect.stringContaining(`blob ${layer} hashes to`),
    });
    expect(doc.copies[1]).toMatchObject({ image: 'sidecar', status: 'complete' });
  });
});

describe('lg-pins mirror progress', () => {
  it('on a terminal, stderr shows the progress line (images, blobs); stdout is the report', async () => {
    const out = join(ws.dir, 'tty.out');
    const r = await onTerminal(['mirror', '--to', `${m.host}/tty`], out);
    expect(r.code).toBe(0);
    expect(r.tty).toMatch(/mirror .*\d+\/2 images \| \d+\/\d+ blobs \|/);
    // The last frame, drawn as it stops: both images, every blob (six each), every byte of them.
    expect(r.tty).toMatch(/mirror .* 2\/2 images \| 12\/12 blobs \| ([\d.]+ (?:bytes|KiB))\/\1 \|/);
    expect(readFileSync(out, 'utf8')).toMatch(/Every mirror holds what the lock pins/);
  });

  it('on a terminal with --json, or with --dry-run, there is no progress at all', async () => {
    for (const flag of ['--json', '--dry-run']) {
      const out = join(ws.dir, `tty${flag}.out`);
      const r = await onTerminal(['mirror', '--to', `${m.host}/tty2`, flag], out);
      expect(r.code).toBe(0);
      expect(r.tty).toBe('');
      expect(readFileSync(out, 'utf8')).toMatch(flag === '--json' ? /"copies"/ : /Dry run:/);
    }
  });
});
