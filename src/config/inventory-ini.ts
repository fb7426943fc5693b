import { excerpt } from '../safe/text.js';
import { Builder, HOST_RE, MAX_QUOTED, q, type Place } from './inventory-model.js';

const SECTION = /^\[([^:\]\s]+)(?::(\w+))?\]\s*(?:#.*)?$/;
const GROUP_NAME = /^([^:\]\s]+)\s*(?:#.*)?$/;

/**
 * Ansible's INI inventory (https://docs.ansible.com/ansible/latest/collections/ansible/builtin/ini_inventory.html),
 * read by hand: it is not key=value INI, so a generic INI library does not fit
 * (the `ini` package reads `host key=value` as a key "host key", cannot tell a host line from junk,
 * splits `[eu.edge]` into nested sections and gives no line numbers). Lines before any section are
 * `ungrouped`; `[g]` lists hosts (a pattern, then key=value variables), `[g:children]` group names,
 * `[g:vars]` variables (skipped); `#` and `;` start comment lines. Returns false when the file does
 * not look like an inventory at all.
 */
export function readIni(text: string, b: Builder): boolean {
  let group = 'ungrouped';
  let state: 'hosts' | 'children' | 'vars' | 'skip' = 'hosts';
  // [g] and [g:children] declare a group; [g:vars] and a child name only refer to one, which may be declared later.
  const declared = new Set(['all', 'ungrouped']);
  const varsAt = new Map<string, Place>();
  const children: Array<[string, string, Place]> = [];
  const before = b.problems.length;
  let read = 0;
  // Lines with a problem or a host that cannot be a host name: many of them mean some other file.
  const junk = new Set<number>();
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) return;
    read++;
    const at = { line: i + 1, column: raw.length - raw.trimStart().length + 1 };
    const section = SECTION.exec(line);
    if (section) {
      const [, name = '', type = 'hosts'] = section;
      group = name;
      if (type !== 'hosts' && type !== 'children' && type !== 'vars') {
        b.problem(at, `${q(line)} has an unknown section type: [group], [group:children] or [group:vars]`);
        state = 'skip';
      } else if ((state = type) === 'vars') {
        if (!varsAt.has(name)) varsAt.set(name, at);
      } else {
        declared.add(name);
        b.group(name);
      }
    } else if (line.startsWith('[') && line.endsWith(']')) {
      b.problem(at, `${q(line)} is not a section header: [group], [group:children] or [group:vars], with no spaces`);
      state = 'skip';
    } else if (state === 'vars') {
      if (!line.includes('=')) b.problem(at, `expected key=value in a [group:vars] section, got ${q(line)}`);
    } else if (state === 'children') {
      const m = GROUP_NAME.exec(line);
      if (m) children.push([group, m[1]!, at]);
      else b.problem(at, `expected a group name in a [group:children] section, got ${q(line)}`);
    } else if (state === 'hosts' && !hostLine(line, group, at, b)) junk.add(at.line);
  });
  for (const [parent, child, at] of children) {
    // Ansible: "Section [parent:children] includes undefined group".
    if (!declared.has(child))
      b.problem(
        at,
        `[${excerpt(parent)}:children] names group ${q(child)}, which no [${excerpt(child)}] or [${excerpt(child)}:children] section declares`,
      );
    b.child(parent, child, at);
  }
  for (const [name, at] of varsAt)
    if (!declared.has(name))
      b.problem(
        at,
        `[${excerpt(name)}:vars] is for group ${q(name)}, which no [${excerpt(name)}] or [${excerpt(name)}:children] section declares`,
      );
  for (const p of b.problems.slice(before)) junk.add(p.line);
  if (junk.size > MAX_QUOTED && junk.size > read - junk.size) {
    // Mostly not inventory lines: some other file (a .env, a config.json), whose content is not ours to print.
    b.problems.splice(before, Infinity, {
      line: [...junk].reduce((x, y) => Math.min(x, y)),
      column: 1,
      message: `does not look like an Ansible INI inventory: ${junk.size} of ${read} lines are not hosts, sections or variables; nothing from it is quoted (a YAML inventory must be named *.yml or *.yaml)`,
    });
    return false;
  }
  return true;
}

/** A host line: a pattern, then only key=value variables (Ansible refuses anything else). False when it is not one. */
function hostLine(line: string, group: string, at: Place, b: Builder): boolean {
  const tokens = shlexSplit(line);
  if (typeof tokens === 'string') {
    b.problem(at, tokens);
    return false;
  }
  const [pattern = '', ...vars] = tokens;
  const stray = vars.find((t) => !t.includes('='));
  const yaml = 'a YAML inventory must be named *.yml or *.yaml';
  if (stray !== undefined) b.problem(at, `expected key=value variables after host ${q(pattern)}, got ${q(stray)}`);
  else if (pattern === '---') b.problem(at, `"---" starts a YAML document; ${yaml}`);
  else if (pattern.endsWith(':')) b.problem(at, `${q(pattern)}: a host cannot end in ":" (it introduces a port); ${yaml}`);
  else b.hosts(group, pattern, at);
  // Ranges aside, a pattern that cannot be a host name (reported only if its group is used) counts as junk.
  return HOST_RE.test(pattern.replace(/\[[^\]]*\]/g, '0'));
}

/**
 * Python's shlex.split(line, comments=True), which Ansible splits a host line with: whitespace
 * separates, quotes group (in double quotes a backslash escapes only `"` and `\`), a backslash
 * outside quotes escapes the next character, and `#` outside quotes ends the line.
 */
function shlexSplit(line: string): string[] | string {
  const tokens: string[] = [];
  let token: string | undefined;
  let quote: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote) {
      if (c === quote) quote = undefined;
      else if (c === '\\' && quote === '"' && (line[i + 1] === '"' || line[i + 1] === '\\')) token = (token ?? '') + line[++i]!;
      else token = (token ?? '') + c;
    } else if (c === ' ' || c === '\t') {
      if (token !== undefined) tokens.push(token);
      token = undefined;
    } else if (c === '#') break;
    else if (c === '"' || c === "'") {
      quote = c;
      token ??= '';
    } else if (c === '\\') {
      if (i + 1 >= line.length) return 'a backslash at the end of the line escapes nothing';
      token = (token ?? '') + line[++i]!;
    } else token = (token ?? '') + c;
  }
  if (quote) return `a ${quote === '"' ? 'double' : 'single'} quote is not closed`;
  if (token !== undefined) tokens.push(token);
  return tokens;
}
