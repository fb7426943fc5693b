/**
 * `lg-pins audit` from the command line, offline, on a copy of the bundled example: generated
 * reports of both kinds (JSON lines of {host, image}, and `kubectl get pods -A -o json`), standard
 * input, the text grouped by group, --json and --markdown, exit 0 / 1 / 2.
 */
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { BIN, runCli, STACK } from '../helpers/cli.js';
import { exampleDir } from '../helpers/example.js';

let dir: string;
let lock: { images: { agent: { digest: string; platforms: Record<string, { digest: string }> } } };
const REPO = 'packages.linuxguard.io/linuxguard/agent';

beforeAll(async () => {
  dir = exampleDir('lgp-audit-');
  expect((await runCli(['lock'], dir)).code).toBe(0);
  lock = parse(readFileSync(join(dir, 'lg-pins.lock.yaml'), 'utf8')) as typeof lock;
});

const platform = (key: string) => lock.images.agent.platforms[key]!.digest;
const arm = 'examples/inventory/arm-servers.txt';

/** Every host of the example running what it should (arm-servers from its hosts file). */
function allCurrent(): Array<{ host: string; image: string }> {
  const armHosts = readFileSync(join(dir, arm), 'utf8')
    .split('\n')
    .map((l) => l.replace(/#.*/, '').trim())
    .filter(Boolean);
  const at = (hosts: string[], digest: string) => hosts.map((host) => ({ host, image: `${REPO}:v3.0.0@${digest}` }));
  return [
    ...at(['web-01', 'web-02', 'web-03', 'db-01'], platform('linux/amd64')),
    ...at(armHosts, lock.images.agent.digest),
    ...at(['gw-berlin', 'gw-lyon', 'gw-oslo'], platform('linux/arm/v7')),
    ...at(['lab-rv-01'], platform('linux/riscv64')),
  ];
}

describe('lg-pins audit', () => {
  it('every host current: exit 0', async () => {
    writeFileSync(
      join(dir, 'ok.jsonl'),
      allCurrent()
        .map((r) => JSON.stringify(r))
        .join('\n'),
    );
    const r = await runCli(['audit', '--from', 'ok.jsonl'], dir);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('datacenter: 4 current\n');
    expect(r.stdout).toMatch(/Every host runs what the lock pins \(\d+ host × image pairs, \d+ reports\)\./);
  });

  it('drift in two reports (JSON lines and a kubectl pod list): grouped text, JSON and Markdown, exit 1', async () => {
    const rows = allCurrent().filter((r) => r.host !== 'gw-oslo' && r.host !== 'web-02');
    // gw-berlin got the amd64 image (the classic mix-up); web-02 runs it through Kubernetes.
    const mixed = rows.map((r) => (r.host === 'gw-berlin' ? { ...r, image: `${REPO}@${platform('linux/amd64')}` } : r));
    writeFileSync(
      join(dir, 'hosts.jsonl'),
      [...mixed, { host: 'stray-01', image: `${REPO}@${platform('linux/amd64')}` }].map((r) => JSON.stringify(r)).join('\n'),
    );
    const pods = {
      apiVersion: 'v1',
      kind: 'List',
      items: [
        // containerd reports the digest alone; the status's image names the repository.
        { spec: { nodeName: 'web-02' }, status: { containerStatuses: [{ image: `${REPO}:v3.0.0`, imageID: platform('linux/amd64') }] } },
        { spec: {}, status: { phase: 'Pending' } },
      ],
    };
    writeFileSync(join(dir, 'pods.json'), JSON.stringify(pods));
    const text = await runCli(['audit', '--from', 'hosts.jsonl', '--from', 'pods.json'], dir);
    expect(text.code).toBe(1);
    expect(text.stdout).toContain('datacenter: 4 current\n');
    expect(text.stdout).toContain('edge: 1 current, 1 wrong-platform, 1 missing\n');
    expect(text.stdout).toContain(
      `  ✗ gw-berlin  agent  wrong-platform: runs linux/amd64 ${platform('linux/amd64').slice(0, 19)} of v3.0.0, needs linux/arm/v7\n`,
    );
    expect(text.stdout).toContain('  ✗ gw-oslo  agent  missing: no report of it running (needs linux/arm/v7)\n');
    expect(text.stdout).toContain('unmanaged (they report, but no group lists them): stray-01\n');
    expect(text.stderr).toBe('');

    const json = await runCli(['audit', '--json', '--from', 'hosts.jsonl', '--from', 'pods.json'], dir);
    expect(json.code).toBe(1);
    const doc = JSON.parse(json.stdout) as { ok: boolean; counts: Record<string, Record<string, number>>; unmanaged: string[] };
    expect(doc.ok).toBe(false);
    expect(doc.counts.edge).toEqual({ current: 1, 'wrong-platform': 1, outdated: 0, missing: 1 });
    expect(doc.unmanaged).toEqual(['stray-01']);

    const md = await runCli(['audit', '--markdown', '--from', 'hosts.jsonl', '--from', 'pods.json'], dir);
    expect(md.stdout).toContain('| `edge` | 1 | 1 | 0 | 1 |');
    expect(md.stdout).toContain('| `gw-berlin` | `edge` | `agent` | **wrong-platform** |');
  });

  it('- reads standard input', async () => {
    const input = allCurrent()
      .map((r) => JSON.stringify(r))
      .join('\n');
    const r = await new Promise<{ code: number; stdout: string }>((resolve) => {
      const child = execFile(
        process.execPath,
        [BIN, 'audit', '--from', '-'],
        { cwd: dir, env: { ...process.env, NO_COLOR: '1' } },
        (err, stdout) => resolve({ code: err ? Number(err.code) : 0, stdout }),
      );
      child.stdin!.end(input);
    });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('edge: 3 current');
  });

  it.each([
    [
      'a JSON line that is not JSON',
      'bad.jsonl',
      `{"host":"web-01","image":"${REPO}@sha256:${'1'.repeat(64)}"}\n{oops}\n`,
      /^error: bad\.jsonl:2: not JSON/m,
    ],
    [
      'an image without a digest',
      'tag.jsonl',
      `{"host":"web-01","image":"${REPO}:v3.0.0"}\n`,
      /^error: tag\.jsonl:1: "image" ".+:v3\.0\.0" names no digest/m,
    ],
    [
      'a pod list with a bad node name',
      'pods-bad.json',
      JSON.stringify({ items: [{ spec: { nodeName: 7 } }] }),
      /^error: pods-bad\.json: items\[0\]\.spec\.nodeName must be a string$/m,
    ],
  ])('%s: exit 2 naming the file and line or path', async (_name, file, content, message) => {
    writeFileSync(join(dir, file), content);
    const r = await runCli(['audit', '--from', file], dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(STACK);
    expect(r.stdout).toBe('');
  });

  it('no --from is exit 2; a missing file is exit 2 naming it', async () => {
    expect((await runCli(['audit'], dir)).code).toBe(2);
    const missing = await runCli(['audit', '--from', 'nope.json'], dir);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('nope.json: cannot read the report');
  });
});
