/**
 * Ansible inventories (`hostsFrom`), YAML and INI, read as Ansible reads them: which hosts a group
 * has (children included), what is skipped, and every problem with its line and column.
 */
import { describe, expect, it } from 'vitest';
import { groupHosts, inventoryFormat, parseInventory } from '../../src/config/inventory.js';
import { expandHosts } from '../../src/config/inventory-model.js';

/** Lines joined; line N of the inventory is argument N. */
const y = (...lines: string[]): string => `${lines.join('\n')}\n`;

type Format = 'yaml' | 'ini';

/** The hosts of `group`, failing the test if the inventory or the selection has a problem. */
function hosts(text: string, format: Format, group: string): string[] {
  const inv = parseInventory(text, format);
  expect(inv.problems).toEqual([]);
  const picked = groupHosts(inv, group);
  expect(picked?.problems).toEqual([]);
  return picked!.hosts;
}

/** Every problem: the inventory's own, then the selection's; as `line:column message`. */
function problems(text: string, format: Format, group = 'all'): string[] {
  const inv = parseInventory(text, format);
  const picked = inv.groups ? groupHosts(inv, group) : undefined;
  return [...inv.problems, ...(picked?.problems ?? [])].map((p) => `${p.line}:${p.column} ${p.message}`);
}

const YAML_FLEET = y(
  'all:', //                                   1
  '  hosts:', //                               2
  '    bastion:', //                           3
  '  vars:', //                                4
  '    ansible_user: deploy', //               5
  '  children:', //                            6
  '    edge:', //                              7
  '      children:', //                        8
  '        edge-eu:', //                       9
  '          hosts:', //                       10
  '            gw-berlin:', //                 11
  '            gw-lyon: { ansible_host: 10.0.0.2 }  # vars are skipped', // 12
  '        edge-us:', //                       13
  '          hosts:', //                       14
  '            gw-austin:', //                 15
  '    dc:', //                                16
  '      hosts:', //                           17
  '        web-[01:03].example.com:', //       18
  '        db-01:2222:', //                    19
);

const INI_FLEET = y(
  '# the fleet', //                            1
  'bastion', //                                2
  '', //                                       3
  '[edge-eu]', //                              4
  'gw-berlin ansible_host=10.0.0.1   # inline comment', // 5
  'gw-lyon ansible_ssh_extra_args="-o Foo=bar # not a comment"', // 6
  '', //                                       7
  '[edge-us]', //                              8
  'gw-austin', //                              9
  '', //                                       10
  '[edge:children]', //                        11
  'edge-eu', //                                12
  'edge-us', //                                13
  '', //                                       14
  '[edge:vars]', //                            15
  'ntp_server=ntp.example.com', //             16
  '; a semicolon comment', //                  17
  '[dc]', //                                   18
  'web-[01:03].example.com', //                19
  'db-01:2222', //                             20
);

describe('the hosts of a group', () => {
  const edge = ['gw-austin', 'gw-berlin', 'gw-lyon'];
  const dc = ['db-01', 'web-01.example.com', 'web-02.example.com', 'web-03.example.com'];
  it.each<[string, string, Format, string, string[]]>([
    ['YAML: children, recursively', YAML_FLEET, 'yaml', 'edge', edge],
    ['YAML: a leaf group', YAML_FLEET, 'yaml', 'edge-eu', ['gw-berlin', 'gw-lyon']],
    ['YAML: a range expanded, a port dropped', YAML_FLEET, 'yaml', 'dc', dc],
    ['YAML: all is every host', YAML_FLEET, 'yaml', 'all', ['bastion', ...dc, ...edge].sort()],
    ['YAML: ungrouped is a host of all and no other group', YAML_FLEET, 'yaml', 'ungrouped', ['bastion']],
    // A `*` (an alias, or here a comment) sends the text to the reader that keeps positions, not js-yaml.
    ['YAML: the located reader finds the same', `${YAML_FLEET}# * \n`, 'yaml', 'edge', edge],
    ['YAML: the located reader finds the same (all)', `${YAML_FLEET}# * \n`, 'yaml', 'all', ['bastion', ...dc, ...edge].sort()],
    ['INI: children, recursively', INI_FLEET, 'ini', 'edge', edge],
    ['INI: a range expanded, a port dropped', INI_FLEET, 'ini', 'dc', dc],
    ['INI: all is every host', INI_FLEET, 'ini', 'all', ['bastion', ...dc, ...edge].sort()],
    ['INI: hosts before any section are ungrouped', INI_FLEET, 'ini', 'ungrouped', ['bastion']],
    [
      'YAML: a group in several places adds up (and a parent gets all of it)',
      y(
        'all:',
        '  children:',
        '    eu:',
        '      children:',
        '        edge: { hosts: { gw-berlin: } }',
        '    us:',
        '      children:',
        '        edge:',
        '          hosts: { gw-austin: }',
      ),
      'yaml',
      'eu',
      ['gw-austin', 'gw-berlin'],
    ],
    ['INI: a group in several sections adds up', y('[edge]', 'a', '[dc]', 'b', '[edge]', 'c'), 'ini', 'edge', ['a', 'c']],
    ['YAML: a top group need not be under all', y('edge:', '  hosts:', '    gw-01:'), 'yaml', 'edge', ['gw-01']],
    ['YAML: hosts given as one string', y('edge:', '  hosts: gw-01'), 'yaml', 'edge', ['gw-01']],
    ['YAML: an empty group', y('all:', '  children:', '    edge:'), 'yaml', 'edge', []],
    ['YAML: a repeated key: the last wins, as in PyYAML', y('edge:', '  hosts: { a: }', '  hosts: { b: }'), 'yaml', 'edge', ['b']],
    ['YAML: keys are their text (007, true)', y('edge:', '  hosts:', '    007:', '    true:'), 'yaml', 'edge', ['007', 'true']],
    [
      'YAML: a merge key (<<) brings in an anchor',
      y('eu: &eu', '  hosts: { gw-berlin: }', 'edge:', '  <<: *eu', '  children: { us: { hosts: { gw-austin: } } }'),
      'yaml',
      'edge',
      ['gw-austin', 'gw-berlin'],
    ],
    [
      'YAML: a host in all and in a group is not ungrouped',
      y('all:', '  hosts: { a: , b: }', '  children:', '    g: { hosts: { a: } }'),
      'yaml',
      'ungrouped',
      ['b'],
    ],
    ['INI: a host in [all] and in a group is not ungrouped', y('a', '[all]', 'b', 'c', '[g]', 'a', 'b'), 'ini', 'ungrouped', ['c']],
    ['INI: declared after use in [x:children]', y('[edge:children]', 'eu', '[eu]', 'gw-01'), 'ini', 'edge', ['gw-01']],
    [
      'INI: quotes, escapes and # as shlex reads them',
      y('[g]', `h1 a='x y' b="q\\"z" # c`, 'h2#comment', 'h3 x="#1"'),
      'ini',
      'g',
      ['h1', 'h2', 'h3'],
    ],
    ['INI: [group:vars] lines are skipped', y('[g]', 'h1', '[g:vars]', 'not_a_host = 1', 'x=y z'), 'ini', 'g', ['h1']],
    ['INI: an empty file has all and ungrouped', '', 'ini', 'all', []],
  ])('%s', (_name, text, format, group, expected) => {
    expect(hosts(text, format, group)).toEqual(expected);
  });

  it('a group the inventory does not have is undefined, not empty', () => {
    expect(groupHosts(parseInventory(YAML_FLEET, 'yaml'), 'edge-asia')).toBeUndefined();
    expect(groupHosts(parseInventory(INI_FLEET, 'ini'), 'Edge')).toBeUndefined();
  });
});

describe('host patterns (Ansible ranges and ports)', () => {
  it.each<[string, string[]]>([
    ['host.example.com', ['host.example.com']],
    ['www[01:03].example.com', ['www01.example.com', 'www02.example.com', 'www03.example.com']],
    ['web-[8:10]', ['web-8', 'web-9', 'web-10']],
    ['db-[a:c]', ['db-a', 'db-b', 'db-c']],
    ['h[y:B]', ['hy', 'hz', 'hA', 'hB']],
    ['h[1:10:4]', ['h1', 'h5', 'h9']],
    ['h[:2]', ['h0', 'h1', 'h2']],
    ['h[0:1]-[a:b]', ['h0-a', 'h0-b', 'h1-a', 'h1-b']],
    ['web:2222', ['web']],
    ['www[1:2]:22', ['www1', 'www2']],
    ['[10.0.0.1]:22', ['10.0.0.1']],
    ['10.0.0.1:22', ['10.0.0.1']],
  ])('%s', (pattern, expected) => {
    expect(expandHosts(pattern)).toEqual(expected);
  });

  it.each<[string, string]>([
    ['web[1:]', '"web[1:]": a host range needs an end'],
    ['web[03:5]', '"web[03:5]": a zero-padded host range needs a begin and an end of the same width'],
    ['web[5:1]', '"web[5:1]": a host range must not begin after its end'],
    ['web[a:5]', '"web[a:5]": a host range counts numbers ([01:10]) or single letters ([a:f])'],
    ['web[1:3:0]', '"web[1:3:0]": the step of a host range is a whole number from 1'],
    ['web[1]', '"web[1]": a host range is [begin:end] or [begin:end:step]'],
    ['web[1:3', '"web[1:3": has "[" without "]"'],
    ['web[0:9999999]', '"web[0:9999999]": it expands to more than 1000000 hosts'],
    ['h[0:999]-[0:999]-[0:999]', '"h[0:999]-[0:999]-[0:999]": it expands to more than 1000000 hosts'],
    ['h'.repeat(2000), 'a host pattern of 2000 characters (at most 1024)'],
  ])('%s is refused', (pattern, message) => {
    expect(expandHosts(pattern)).toBe(message);
  });
});

describe('problems, located', () => {
  it.each<[string, string, Format, string, string[]]>([
    [
      'YAML syntax error',
      y('all:', '  hosts:', '    web-01: [a, b', '  children:'),
      'yaml',
      'all',
      ['4:3 Flow sequence in block collection must be sufficiently indented and end with a ] (at "children:")'],
    ],
    [
      'YAML alias bomb',
      y(
        'a: &a [x, x, x, x, x, x, x, x, x]',
        'b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]',
        'c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]',
        'd: [*c, *c, *c, *c, *c, *c, *c, *c, *c]',
      ),
      'yaml',
      'all',
      ['1:1 cannot expand the YAML aliases: Excessive alias count indicates a resource exhaustion attack'],
    ],
    ['YAML: empty', '', 'yaml', 'all', ['1:1 the inventory is empty']],
    [
      'YAML: a list at the top',
      y('- web-01', '- web-02'),
      'yaml',
      'all',
      ['1:1 expected a mapping of groups (all:, its hosts: and children:), not a list'],
    ],
    [
      'YAML: hosts as a list (Ansible refuses it too)',
      y('all:', '  children:', '    edge:', '      hosts:', '        - gw-01'),
      'yaml',
      'edge',
      ['4:7 hosts of group "edge" must be a mapping (name: for each), not a list'],
    ],
    [
      'YAML: a misspelt key',
      y('edge:', '  host:', '    gw-01:'),
      'yaml',
      'edge',
      ['2:3 unexpected key "host" in group "edge" (did you mean "hosts"?); a group has hosts, children and vars'],
    ],
    [
      'YAML: a group that is a string',
      y('all:', '  children:', '    edge: gw-01'),
      'yaml',
      'all',
      ['3:5 group "edge" must be a mapping (hosts:, children:, vars:) or empty, not a string'],
    ],
    [
      'YAML: host vars that are not a mapping',
      y('edge:', '  hosts:', '    gw-01: 10.0.0.1'),
      'yaml',
      'edge',
      ['3:12 host "gw-01" takes a mapping of variables or nothing, not a string'],
    ],
    [
      'YAML: a cycle in children (the selection still ends)',
      y(
        'all:',
        '  children:',
        '    a:',
        '      children:',
        '        b:',
        '          hosts: { h1: }',
        '          children:',
        '            a:',
      ),
      'yaml',
      'a',
      ['8:13 group "a" is its own descendant ("a" > "b" > "a")'],
    ],
    [
      'YAML: an alias into its own group',
      y('x: &x', '  children:', '    y: *x'),
      'yaml',
      'x',
      ['3:5 group "y" is its own descendant ("y" > "y")'],
    ],
    [
      'YAML: bad host names, only in the group asked for',
      y('edge:', '  hosts:', '    gw-01:', '    "gw 02!":', '    -gw-03:', 'dc:', '  hosts:', '    "web 01":'),
      'yaml',
      'edge',
      ['4:5 "gw 02!" is not a host name', '5:5 "-gw-03" is not a host name'],
    ],
    [
      'INI: a junk line',
      y('[edge]', 'gw-01 this is junk'),
      'ini',
      'edge',
      ['2:1 expected key=value variables after host "gw-01", got "this"'],
    ],
    [
      'INI: a section header with a space',
      y('[edge eu]', 'gw-01'),
      'ini',
      'all',
      ['1:1 "[edge eu]" is not a section header: [group], [group:children] or [group:vars], with no spaces'],
    ],
    [
      'INI: an unknown section type',
      y('[edge:host]', 'gw-01'),
      'ini',
      'all',
      ['1:1 "[edge:host]" has an unknown section type: [group], [group:children] or [group:vars]'],
    ],
    [
      'INI: a child no section declares',
      y('[edge:children]', 'eu', '  nope  # typo'),
      'ini',
      'edge',
      [
        '2:1 [edge:children] names group "eu", which no [eu] or [eu:children] section declares',
        '3:3 [edge:children] names group "nope", which no [nope] or [nope:children] section declares',
      ],
    ],
    [
      'INI: vars for a group no section declares',
      y('[edge:vars]', 'ntp=x'),
      'ini',
      'all',
      ['1:1 [edge:vars] is for group "edge", which no [edge] or [edge:children] section declares'],
    ],
    [
      'INI: a vars line without =',
      y('[edge]', '[edge:vars]', 'ntp'),
      'ini',
      'all',
      ['3:1 expected key=value in a [group:vars] section, got "ntp"'],
    ],
    [
      'INI: a child that is not a name',
      y('[edge]', '[edge:children]', 'eu us'),
      'ini',
      'all',
      ['3:1 expected a group name in a [group:children] section, got "eu us"'],
    ],
    ['INI: an unclosed quote', y('[edge]', 'gw-01 a="b'), 'ini', 'all', ['2:1 a double quote is not closed']],
    [
      'INI: a cycle in children',
      y('[a:children]', 'b', '[b:children]', 'a'),
      'ini',
      'a',
      ['4:1 group "a" is its own descendant ("a" > "b" > "a")'],
    ],
    [
      'INI: a YAML inventory in a file not named .yml',
      y('---', 'all:'),
      'ini',
      'all',
      [
        '1:1 "---" starts a YAML document; a YAML inventory must be named *.yml or *.yaml',
        '2:1 "all:": a host cannot end in ":" (it introduces a port); a YAML inventory must be named *.yml or *.yaml',
      ],
    ],
    ['INI: a bad range', y('[w]', 'web[5:1]'), 'ini', 'w', ['2:1 "web[5:1]": a host range must not begin after its end']],
    ['INI: a bad host name', y('[edge]', 'gw_01', 'bad!host', 'gw-02'), 'ini', 'edge', ['3:1 "bad!host" is not a host name']],
    [
      'INI: more than five problems: five quoted, the rest counted',
      y('[e]', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'h7', 'a x', 'b x', 'c x', 'd x', 'e x', 'f x', 'g x'),
      'ini',
      'e',
      [9, 10, 11, 12, 13]
        .map((n) => `${n}:1 expected key=value variables after host "${'abcde'[n - 9]}", got "x"`)
        .concat('14:1 and 2 more problems'),
    ],
    [
      'INI: a file that is not an inventory (a .env) is not quoted',
      y('API_KEY=abc', 'SECRET=hunter2', 'A=1', 'B=2', 'C=3', 'D=4'),
      'ini',
      'all',
      [
        '1:1 does not look like an Ansible INI inventory: 6 of 6 lines are not hosts, sections or variables; nothing from it is quoted (a YAML inventory must be named *.yml or *.yaml)',
      ],
    ],
    [
      'YAML: a group whose hosts are mostly not host names is not quoted',
      y(
        'secrets:',
        '  hosts:',
        '    "API_KEY=abc":',
        '    "SECRET=hunter2":',
        '    "A=1":',
        '    "B=2":',
        '    "C=3":',
        '    "D=4":',
        '    ok-01:',
      ),
      'yaml',
      'secrets',
      ['3:5 6 of 7 hosts of group "secrets" are not host names; nothing from the file is quoted'],
    ],
    [
      'INI: a file that is mostly junk is not quoted',
      y('{', '  "auths": {', '    "registry": { "auth": "c2VjcmV0" }', '  }', '}', 'x y', 'z w'),
      'ini',
      'all',
      [
        '1:1 does not look like an Ansible INI inventory: 7 of 7 lines are not hosts, sections or variables; nothing from it is quoted (a YAML inventory must be named *.yml or *.yaml)',
      ],
    ],
    ['binary', 'gw-01\n\0\x01\x02', 'ini', 'all', ['2:1 not a text file (it holds NUL bytes); nothing from it is quoted']],
    [
      'not UTF-8',
      'all:\n  hosts: { gw-\ufffd: }\n',
      'yaml',
      'all',
      ['2:1 not a text file (it holds bytes that are not UTF-8); nothing from it is quoted'],
    ],
  ])('%s', (_name, text, format, group, expected) => {
    expect(problems(text, format, group)).toEqual(expected);
  });

  it('a chain of 200,000 INI groups is read without overflowing the stack', () => {
    const lines = Array.from({ length: 200_000 }, (_, i) => `[g${i}:children]\ng${i + 1}`);
    const inv = parseInventory(`${lines.join('\n')}\n[g200000]\nlast\n`, 'ini');
    expect(inv.problems).toEqual([]);
    expect(groupHosts(inv, 'g0')?.hosts).toEqual(['last']);
  });

  it('control characters in a name are escaped in messages', () => {
    expect(problems(y('[edge]', 'gw\u001b[31m'), 'ini', 'edge')).toEqual(['2:1 "gw\\u001b[31m": has "[" without "]"']);
  });
});

describe('the format is the file name', () => {
  it.each([
    ['inventory/hosts.yml', 'yaml'],
    ['hosts.yaml', 'yaml'],
    ['hosts', 'ini'],
    ['hosts.ini', 'ini'],
    ['hosts.YML', 'ini'],
    ['hosts.yml.bak', 'ini'],
  ])('%s is %s', (file, format) => {
    expect(inventoryFormat(file)).toBe(format);
  });
});
