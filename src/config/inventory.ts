/**
 * `hostsFrom: { ansible, group }`: the hosts of one group of an Ansible inventory, its children
 * included, read the way Ansible's own inventory plugins read the file, so that lg-pins and the
 * playbooks agree on who is in a group:
 * - YAML (a name ending in .yml or .yaml): https://docs.ansible.com/ansible/latest/collections/ansible/builtin/yaml_inventory.html
 * - INI (any other name): https://docs.ansible.com/ansible/latest/collections/ansible/builtin/ini_inventory.html
 * - groups, children, `all`, `ungrouped`, host ranges: https://docs.ansible.com/ansible/latest/inventory_guide/intro_inventory.html
 * Only membership is read: variables say how to reach a host, not which hosts there are. Where
 * Ansible only warns (an unknown key in a YAML group, a group that is not a mapping) this is a
 * problem: a warning nobody sees would leave hosts without pins.
 */
import { resolve } from 'node:path';
import { CORE_SCHEMA, load as loadYaml } from 'js-yaml';
import { isAlias, isMap, isNode, isScalar, isSeq, LineCounter, parseDocument, type Document, type YAMLMap } from 'yaml';
import type { SpecIssue } from '../errors.js';
import { FileReadError, readTextSync } from '../safe/files.js';
import { LIMITS } from '../safe/limits.js';
import { quoteUntrusted } from '../safe/text.js';
import { readIni } from './inventory-ini.js';
import { Builder, HOST_RE, MAX_QUOTED, q, type Inventory, type InventoryProblem, type Place } from './inventory-model.js';
import { suggest } from './schema.js';
import { formatPath, quote, type KeyPath, type SourceFile } from './source.js';
import type { HostsFromSpec } from './types.js';

export { HOST_RE };

/** Ansible tries its plugins in turn; here the file name decides, so a broken file gets the right error. */
export function inventoryFormat(file: string): 'yaml' | 'ini' {
  return /\.ya?ml$/.test(file) ? 'yaml' : 'ini';
}

/** Read (through the bounded reader: a FIFO, a device or a huge file throws FileReadError) and parse an inventory. */
export function loadInventory(file: string): Inventory {
  return parseInventory(readTextSync(file, LIMITS.inventoryBytes, 'an Ansible inventory'), inventoryFormat(file));
}

export function parseInventory(text: string, format: 'yaml' | 'ini'): Inventory {
  const nul = text.indexOf('\0');
  const odd = nul >= 0 ? nul : text.indexOf('\ufffd');
  if (odd >= 0) {
    const message = `not a text file (it holds ${nul >= 0 ? 'NUL bytes' : 'bytes that are not UTF-8'}); nothing from it is quoted`;
    return { groups: undefined, problems: [{ line: text.slice(0, odd).split('\n').length, column: 1, message }] };
  }
  const fast = format === 'yaml' ? fastYaml(text) : undefined;
  if (fast) return fast;
  const b = new Builder();
  return b.finish(format === 'yaml' ? readYaml(text, b) : readIni(text, b));
}

/** The hosts of `name` and of every group below it, sorted and once each; undefined when there is no such group. */
export function groupHosts(inv: Inventory, name: string): { hosts: string[]; problems: InventoryProblem[] } | undefined {
  const groups = inv.groups;
  if (!groups?.has(name)) return undefined;
  // `all` is every host, whatever the file says of it (Ansible makes every top group a child of it).
  const queue = name === 'all' ? [...groups.keys()] : [name];
  const seen = new Set(queue);
  const found = new Map<string, Place>();
  // Breadth first with a seen set: a loop (reported by finish) cannot trap it, and no depth can overflow a stack.
  for (let i = 0; i < queue.length; i++) {
    const g = groups.get(queue[i]!)!;
    for (const [h, at] of g.hosts) if (!found.has(h)) found.set(h, at);
    for (const c of g.children.keys()) {
      if (seen.has(c)) continue;
      seen.add(c);
      queue.push(c);
    }
  }
  const hosts: string[] = [];
  const bad: Array<[string, Place]> = [];
  for (const [h, at] of found) {
    if (HOST_RE.test(h)) hosts.push(h);
    else bad.push([h, at]);
  }
  bad.sort(([, a], [, b]) => a.line - b.line || a.column - b.column);
  const problems: InventoryProblem[] = [];
  if (bad.length > MAX_QUOTED && bad.length > hosts.length) {
    // Mostly not host names: some other file, whose content is not ours to print.
    const message = `${bad.length} of ${found.size} hosts of group ${q(name)} are not host names; nothing from the file is quoted`;
    problems.push({ ...bad[0]![1], message });
  } else {
    for (const [h, at] of bad.slice(0, MAX_QUOTED)) problems.push({ ...at, message: `${q(h)} is not a host name` });
    if (bad.length > MAX_QUOTED)
      problems.push({ ...bad[MAX_QUOTED]![1], message: `and ${bad.length - MAX_QUOTED} more hosts that are not host names` });
  }
  return { hosts: hosts.sort(), problems };
}

/** How the group walk sees a YAML tree: the `yaml` document that keeps positions, or plain js-yaml values. */
interface Tree {
  /** The node an alias stands for (the node itself otherwise). */
  node(n: unknown): unknown;
  /** A mapping's entries as PyYAML builds the dict, or undefined when `n` is not a mapping. */
  entries(n: unknown): Map<string, { key: unknown; value: unknown }> | undefined;
  isMapping(n: unknown): boolean;
  empty(n: unknown): boolean;
  /** The text of a string. */
  text(n: unknown): string | undefined;
  kind(n: unknown): string;
  place(n: unknown): Place;
}

/**
 * Ansible's YAML inventory: top-level keys are groups; a group has `hosts` (host → vars or
 * nothing), `children` (group → group) and `vars`, any of them empty. A group may appear in several
 * places; its hosts and children add up. Returns false when the file is not readable as one.
 */
function walk(root: unknown, t: Tree, b: Builder): boolean {
  const top = t.entries(root);
  if (t.empty(root) || !top) {
    const message = t.empty(root)
      ? 'the inventory is empty'
      : `expected a mapping of groups (all:, its hosts: and children:), not ${t.kind(root)}`;
    b.problem(t.place(root), message);
    return false;
  }
  // Groups to read, breadth first; a group's node is read once per name (aliases may share or loop).
  const todo = [...top].map(([name, e]) => ({ name, node: e.value, at: t.place(e.key) }));
  const read = new Map<unknown, Set<string>>();
  for (let i = 0; i < todo.length; i++) {
    const { name, node: raw, at } = todo[i]!;
    b.group(name);
    const node = t.node(raw);
    const fields = t.entries(node);
    if (t.empty(node)) continue;
    if (!fields) {
      b.problem(at, `group ${q(name)} must be a mapping (hosts:, children:, vars:) or empty, not ${t.kind(node)}`);
      continue;
    }
    const names = read.get(node) ?? new Set<string>();
    if (names.has(name)) continue;
    read.set(node, names.add(name));
    for (const [key, e] of fields) {
      const section = t.node(e.value);
      const map = t.entries(section);
      const one = t.text(section);
      if (key !== 'hosts' && key !== 'children' && key !== 'vars') {
        const hint = suggest(key, ['hosts', 'children', 'vars']);
        const message = `unexpected key ${q(key)} in group ${q(name)}${hint ? ` (did you mean "${hint}"?)` : ''}; a group has hosts, children and vars`;
        b.problem(t.place(e.key), message);
      } else if (!t.empty(section) && !map && one === undefined) {
        // A list of hosts is the usual slip; Ansible refuses it too ("requires a dictionary").
        b.problem(t.place(e.key), `${key} of group ${q(name)} must be a mapping (name: for each), not ${t.kind(section)}`);
      } else if (key !== 'vars' && !t.empty(section)) {
        // A plain string is one entry, as Ansible takes it (`hosts: web-01`).
        const items = map ? [...map] : [[one!, { key: section, value: null }] as const];
        for (const [item, ie] of items) {
          if (key === 'children') {
            b.child(name, item, t.place(ie.key));
            todo.push({ name: item, node: ie.value, at: t.place(ie.key) });
            continue;
          }
          b.hosts(name, item, t.place(ie.key));
          const vars = t.node(ie.value);
          if (!t.empty(vars) && !t.isMapping(vars))
            b.problem(t.place(ie.value), `host ${q(item)} takes a mapping of variables or nothing, not ${t.kind(vars)}`);
        }
      }
    }
  }
  return true;
}

/** The `yaml` document, so that every problem names its line and column. */
function readYaml(text: string, b: Builder): boolean {
  const lines = new LineCounter();
  let doc: Document;
  try {
    // stringKeys: a key is its text (a host `007` stays `007`). uniqueKeys off: PyYAML, which Ansible
    // reads with, lets a repeated key pass and the last one wins (see entries()).
    doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: false, stringKeys: true });
  } catch (e) {
    if (!(e instanceof RangeError)) throw e;
    b.problem({ line: 1, column: 1 }, 'the YAML nests too deeply to read');
    return false;
  }
  for (const e of doc.errors) {
    const pos = lines.linePos(e.pos[0]);
    const near = (text.split(/\r?\n/)[pos.line - 1] ?? '').trim();
    b.problem({ line: pos.line, column: pos.col }, `${e.message.split('\n')[0]}${near ? ` (at ${q(near)})` : ''}`);
  }
  if (doc.errors.length) return false;
  try {
    // Only a check: aliases expanding beyond maxAliasCount ("billion laughs") are bad input, as in the spec.
    doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    const message =
      e instanceof RangeError ? 'the YAML nests too deeply to read' : `cannot expand the YAML aliases: ${(e as Error).message}`;
    b.problem({ line: 1, column: 1 }, message);
    return false;
  }
  const node = (n: unknown): unknown => (isAlias(n) ? n.resolve(doc) : n);
  const entries = (map: YAMLMap, depth = 0): Map<string, { key: unknown; value: unknown }> => {
    const own = new Map<string, { key: unknown; value: unknown }>();
    const merged: unknown[] = [];
    for (const p of map.items) {
      if (!isScalar(p.key)) b.problem(tree.place(p.key ?? p.value), 'a key here must be a name, not a list or a mapping');
      // `<<: *anchor` merges the anchor's entries under the mapping's own (depth-limited: an anchor may merge itself).
      else if (p.key.value === '<<' && depth < 8) merged.push(...((v) => (isSeq(v) ? v.items.map(node) : [v]))(node(p.value)));
      else own.set(String(p.key.value), { key: p.key, value: p.value });
    }
    for (const m of merged) if (isMap(m)) for (const [k, v] of entries(m, depth + 1)) if (!own.has(k)) own.set(k, v);
    return own;
  };
  const tree: Tree = {
    node,
    entries: (n) => (isMap(n) ? entries(n) : undefined),
    isMapping: isMap,
    empty: (n) => n === null || n === undefined || (isScalar(n) && n.value === null),
    text: (n) => (isScalar(n) && typeof n.value === 'string' ? n.value : undefined),
    kind: (n) => (isSeq(n) ? 'a list' : isMap(n) ? 'a mapping' : isScalar(n) ? `a ${typeof n.value}` : 'something else'),
    place: (n) => {
      const p = lines.linePos(isNode(n) ? (n.range?.[0] ?? 0) : 0);
      return { line: p.line, column: p.col };
    },
  };
  return walk(doc.contents, tree, b);
}

/** A key js-yaml may have retyped (`007` read as 7, `~` as null): the same test as the spec's fast reader (config/load.ts). */
const RETYPED = /^(?:-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:e[-+][0-9]+)?|-?Infinity|NaN|true|false|null)$/;

/**
 * The fast reading, as for the spec: js-yaml reads a 100,000-host inventory about eight times faster
 * than a document that keeps positions. Only for text without aliases (`*`), and only when it finds
 * nothing to say: any problem, bad host name or key js-yaml may have retyped, and the located reader
 * reads the file again to name the line.
 */
function fastYaml(text: string): Inventory | undefined {
  if (text.includes('*')) return undefined;
  let root: unknown;
  try {
    // json: a repeated key overrides, as in PyYAML.
    root = loadYaml(text, { schema: CORE_SCHEMA, json: true });
  } catch {
    return undefined;
  }
  let doubt = false;
  const isObject = (n: unknown): n is Record<string, unknown> => typeof n === 'object' && n !== null && !Array.isArray(n);
  const tree: Tree = {
    node: (n) => n,
    entries: (n) => {
      if (!isObject(n)) return undefined;
      const out = new Map<string, { key: unknown; value: unknown }>();
      for (const [k, value] of Object.entries(n)) {
        doubt ||= RETYPED.test(k) || k === '<<';
        out.set(k, { key: undefined, value });
      }
      return out;
    },
    isMapping: isObject,
    empty: (n) => n === null || n === undefined,
    text: (n) => (typeof n === 'string' ? n : undefined),
    kind: (n) => (Array.isArray(n) ? 'a list' : isObject(n) ? 'a mapping' : `a ${typeof n}`),
    place: () => ({ line: 1, column: 1 }),
  };
  const b = new Builder();
  if (!walk(root, tree, b) || doubt || b.problems.length) return undefined;
  const inventory = b.finish(true);
  if (inventory.problems.length) return undefined;
  for (const g of inventory.groups!.values()) for (const h of g.hosts.keys()) if (!HOST_RE.test(h)) return undefined;
  return inventory;
}

/** The inventories read for one spec: each read once, its problems reported once however many groups use it. */
export type Inventories = Map<string, { inventory: Inventory | FileReadError; reported: Set<string> }>;

/**
 * `hostsFrom`: the hosts of an inventory group. A file that cannot be read is an issue at
 * `hostsFrom.ansible`, a group it lacks one at `hostsFrom.group`; problems inside the inventory name
 * its file and line (as a hosts file's do) under the key path that led there.
 */
export function hostsFromInventory(
  from: HostsFromSpec,
  dir: string,
  at: KeyPath,
  src: Pick<SourceFile, 'issue'>,
  issues: SpecIssue[],
  inventories: Inventories,
): string[] {
  const file = resolve(dir, from.ansible);
  let seen = inventories.get(file);
  if (!seen) {
    let inventory: Inventory | FileReadError;
    try {
      inventory = loadInventory(file);
    } catch (e) {
      if (!(e instanceof FileReadError)) throw e;
      inventory = e;
    }
    inventories.set(file, (seen = { inventory, reported: new Set() }));
  }
  const { inventory, reported } = seen;
  if (inventory instanceof FileReadError) {
    issues.push(src.issue([...at, 'ansible'], `cannot read Ansible inventory ${JSON.stringify(file)}: ${inventory.detail}`));
    return [];
  }
  const report = (problems: InventoryProblem[]) => {
    for (const p of problems) {
      const key = `${p.line}:${p.column}:${p.message}`;
      if (reported.has(key)) continue;
      reported.add(key);
      issues.push({ file, ...p, path: formatPath([...at, 'ansible']) });
    }
  };
  report(inventory.problems);
  // Not readable as an inventory at all: its problems say so, and no group can be said to be missing.
  if (!inventory.groups) return [];
  const picked = groupHosts(inventory, from.group);
  if (!picked) {
    const names = [...inventory.groups.keys()].sort();
    const hint = suggest(from.group, names);
    const shown = names.slice(0, 12).map((n) => (/^[\w.-]{1,40}$/.test(n) ? n : quoteUntrusted(n, 40)));
    issues.push(
      src.issue(
        [...at, 'group'],
        `group ${quote(from.group)} is not in ${from.ansible} (${hint ? `did you mean ${quote(hint)}? ` : ''}it has: ${shown.join(', ')}${names.length > shown.length ? ', ...' : ''})`,
      ),
    );
    return [];
  }
  report(picked.problems);
  return picked.hosts;
}
