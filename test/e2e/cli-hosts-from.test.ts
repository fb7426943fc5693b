/**
 * `hostsFrom` through the built CLI, on a copy of the bundled example: groups whose hosts come from
 * an Ansible inventory (YAML and INI) are locked, and `pins --host` answers for a host that only the
 * inventory names; a group the inventory lacks is exit 2 naming the key and the groups it has.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, STACK } from '../helpers/cli.js';
import { exampleDir } from '../helpers/example.js';

const INVENTORY_YML = [
  'all:',
  '  children:',
  '    edge:',
  '      children:',
  '        edge-eu:',
  '          hosts:',
  '            gw-berlin:',
  '            gw-lyon: { ansible_host: 10.0.0.2 }',
  '    dc:',
  '      hosts:',
  '        web-[01:03]:',
  '',
].join('\n');

const INVENTORY_INI = ['[arm]', 'build-01 ansible_user=ci', 'build-02', '', '[arm-all:children]', 'arm', ''].join('\n');

const spec = (edgeGroup: string) =>
  [
    'version: 1',
    'images:',
    '  agent: { ref: oci-layout://examples/linuxguard-agent, tag: v3.0.0 }',
    'fleet:',
    '  datacenter:',
    '    arch: x86_64',
    '    hostsFrom: { ansible: inventory/hosts.yml, group: dc }',
    '  edge:',
    '    arch: armv7l',
    '    hosts: [gw-oslo]',
    `    hostsFrom: { ansible: inventory/hosts.yml, group: ${edgeGroup} }`,
    '  arm-servers:',
    '    arch: aarch64',
    '    hostsFrom: { ansible: inventory/hosts, group: arm-all }',
    '',
  ].join('\n');

/** A copy of the example with this spec and both inventories beside it. */
function fleet(specText: string): string {
  const dir = exampleDir('lgp-hosts-from-');
  writeFileSync(join(dir, 'lg-pins.yaml'), specText);
  mkdirSync(join(dir, 'inventory'));
  writeFileSync(join(dir, 'inventory/hosts.yml'), INVENTORY_YML);
  writeFileSync(join(dir, 'inventory/hosts'), INVENTORY_INI);
  return dir;
}

describe('lg-pins with hostsFrom', () => {
  it('locks groups whose hosts come from YAML and INI inventories, and pins --host answers for an inventory host', async () => {
    const dir = fleet(spec('edge'));

    const locked = await runCli(['lock'], dir);
    expect(locked.stderr).toBe('');
    expect(locked.code).toBe(0);

    for (const [host, group, platform] of [
      ['gw-lyon', 'edge', 'linux/arm/v7'],
      ['web-02', 'datacenter', 'linux/amd64'],
      ['build-02', 'arm-servers', 'linux/arm64/v8'],
    ] as const) {
      const pins = await runCli(['pins', '--host', host, '--json'], dir);
      expect(pins.stderr).toBe('');
      expect(pins.code).toBe(0);
      const rows = JSON.parse(pins.stdout) as Array<{ group: string; platform: string; hosts: string[]; reference: string }>;
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ group, platform });
      expect(rows[0]!.hosts).toContain(host);
      expect(rows[0]!.reference).toMatch(/^oci-layout:\/\/examples\/linuxguard-agent@sha256:[0-9a-f]{64}$/);
    }
    const unknown = await runCli(['pins', '--host', 'gw-nowhere'], dir);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/host "gw-nowhere" is not in any group/);
  });

  it('a group the inventory lacks is exit 2, naming the key and the groups it has', async () => {
    const dir = fleet(spec('egde'));

    const locked = await runCli(['lock'], dir);
    expect(locked.code).toBe(2);
    expect(locked.stderr).toContain(
      'fleet.edge.hostsFrom.group: group "egde" is not in inventory/hosts.yml (did you mean "edge"? it has: all, dc, edge, edge-eu, ungrouped)',
    );
    expect(locked.stderr).not.toMatch(STACK);
  });
});
