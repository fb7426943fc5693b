/**
 * What both inventory readers (config/inventory.ts for YAML, config/inventory-ini.ts for INI) build:
 * groups with their hosts and children, and the problems met; and Ansible's host patterns.
 */
import { LIMITS } from '../safe/limits.js';
import { quoteUntrusted } from '../safe/text.js';

/** A host name as the spec takes it, from `hosts`, `hostsFile` and `hostsFrom` alike. */
export const HOST_RE = /^[A-Za-z0-9_](?:[A-Za-z0-9._:-]*[A-Za-z0-9_])?$/;

/** Problems quoted from one inventory, at most; more are counted. */
export const MAX_QUOTED = 5;
/** Longer host patterns are refused before any pattern matching (a host name is at most 253 characters). */
const MAX_PATTERN = 1024;

export interface InventoryProblem {
  line: number;
  column: number;
  message: string;
}
export interface Place {
  line: number;
  column: number;
}
interface InventoryGroup {
  /** Hosts listed in the group itself, each with where it was first listed. */
  hosts: Map<string, Place>;
  children: Map<string, Place>;
}
export interface Inventory {
  /** Every group by name (`all` and `ungrouped` always), or undefined when the file could not be read as an inventory at all. */
  groups: Map<string, InventoryGroup> | undefined;
  problems: InventoryProblem[];
}

export const q = (s: string): string => quoteUntrusted(s, 40);

/** Groups, their hosts and children, and the problems met, as a reader finds them. */
export class Builder {
  readonly groups = new Map<string, InventoryGroup>();
  readonly problems: InventoryProblem[] = [];
  private hostCount = 0;

  group(name: string): InventoryGroup {
    let g = this.groups.get(name);
    if (!g) this.groups.set(name, (g = { hosts: new Map(), children: new Map() }));
    return g;
  }

  problem(at: Place, message: string): void {
    this.problems.push({ ...at, message });
  }

  hosts(group: string, pattern: string, at: Place): void {
    if (this.hostCount > LIMITS.inventoryHosts) return;
    const names = expandHosts(pattern);
    if (typeof names === 'string') return this.problem(at, names);
    this.hostCount += names.length;
    if (this.hostCount > LIMITS.inventoryHosts)
      return this.problem(at, `more than ${LIMITS.inventoryHosts} hosts; lg-pins reads at most that many from one inventory`);
    const g = this.group(group);
    for (const n of names) if (!g.hosts.has(n)) g.hosts.set(n, at);
  }

  child(parent: string, child: string, at: Place): void {
    const g = this.group(parent);
    if (!g.children.has(child)) g.children.set(child, at);
    this.group(child);
  }

  finish(readable: boolean): Inventory {
    if (readable) {
      this.group('all');
      // Ansible's reconcile_inventory: `ungrouped` holds the hosts that are in no group but `all` (and `ungrouped`).
      const elsewhere = new Set<string>();
      for (const [name, g] of this.groups) if (name !== 'all' && name !== 'ungrouped') for (const h of g.hosts.keys()) elsewhere.add(h);
      const lone = new Map<string, Place>();
      for (const name of ['all', 'ungrouped'])
        for (const [h, at] of this.groups.get(name)?.hosts ?? []) if (!elsewhere.has(h) && !lone.has(h)) lone.set(h, at);
      this.group('ungrouped').hosts = lone;
      this.loops();
    }
    const all = this.problems.sort((a, b) => a.line - b.line || a.column - b.column);
    const problems = all.slice(0, MAX_QUOTED);
    if (all.length > MAX_QUOTED) problems.push({ ...all[MAX_QUOTED]!, message: `and ${all.length - MAX_QUOTED} more problems` });
    return { groups: readable ? this.groups : undefined, problems };
  }

  /** A group that is its own descendant: Ansible refuses it ("recursive dependency loop"), and so does lg-pins, naming the loop. */
  private loops(): void {
    const state = new Map<string, 'open' | 'done'>();
    for (const root of this.groups.keys()) {
      if (state.has(root)) continue;
      // Depth first with an explicit stack: a chain of a million groups must not overflow the call stack.
      const path: Array<{ name: string; next: Iterator<[string, Place]> }> = [];
      const enter = (name: string) => {
        path.push({ name, next: this.group(name).children.entries() });
        state.set(name, 'open');
      };
      enter(root);
      while (path.length) {
        const top = path[path.length - 1]!;
        const step = top.next.next();
        if (step.done) {
          state.set(top.name, 'done');
          path.pop();
          continue;
        }
        const [child, at] = step.value;
        if (!state.has(child)) enter(child);
        else if (state.get(child) === 'open') {
          const loop = [...path.slice(path.findIndex((p) => p.name === child)).map((p) => p.name), child];
          const shown = loop.length > 8 ? [...loop.slice(0, 4), '…', ...loop.slice(-3)] : loop;
          this.problem(at, `group ${q(child)} is its own descendant (${shown.map((n) => (n === '…' ? n : q(n))).join(' > ')})`);
        }
      }
    }
  }
}

/**
 * The names a host pattern stands for, as Ansible's parse_address and expand_hostname_range read it:
 * a `:port` suffix (also `[host]:port`) is not part of the name, and each `[begin:end]` or
 * `[begin:end:step]` multiplies the names: numbers keep a leading zero's width (`[01:03]` is 01 02
 * 03), letters count in Python's string.ascii_letters order (`[a:c]`).
 */
export function expandHosts(pattern: string): string[] | string {
  if (pattern.length > MAX_PATTERN) return `a host pattern of ${pattern.length} characters (at most ${MAX_PATTERN})`;
  let rest = /^\[(.+)\]:[0-9]+$/.exec(pattern)?.[1] ?? pattern;
  rest = /^((?:[^:[\]]|\[[^\]]*\])*):[0-9]+$/.exec(rest)?.[1] ?? rest;
  // Every range is read (and the product bounded) before any name is built.
  const parts: string[][] = [];
  let total = 1;
  for (let open = rest.indexOf('['); open >= 0; open = rest.indexOf('[')) {
    const close = rest.indexOf(']', open);
    const values = close < 0 ? 'has "[" without "]"' : rangeValues(rest.slice(open + 1, close), Math.floor(LIMITS.inventoryHosts / total));
    if (typeof values === 'string') return `${q(pattern)}: ${values}`;
    total *= values.length;
    parts.push([rest.slice(0, open)], values);
    rest = rest.slice(close + 1);
  }
  parts.push([rest]);
  return parts.reduce<string[]>((names, part) => names.flatMap((n) => part.map((v) => n + v)), ['']);
}

const LETTERS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';

function rangeValues(range: string, max: number): string[] | string {
  const bounds = range.split(':');
  if (bounds.length !== 2 && bounds.length !== 3) return 'a host range is [begin:end] or [begin:end:step]';
  const [from = '', end = '', stepText = '1'] = bounds;
  const begin = from || '0';
  const step = /^[0-9]+$/.test(stepText) ? Number(stepText) : 0;
  if (!end) return 'a host range needs an end';
  if (step < 1) return 'the step of a host range is a whole number from 1';
  const letters = /^[A-Za-z]$/.test(begin) && /^[A-Za-z]$/.test(end);
  if (!letters && !(/^[0-9]+$/.test(begin) && /^[0-9]+$/.test(end)))
    return 'a host range counts numbers ([01:10]) or single letters ([a:f])';
  // Only a begin written with a leading zero pads, and then both ends must be as wide (Ansible's rule).
  const width = begin.length > 1 && begin.startsWith('0') ? begin.length : 0;
  if (width && end.length !== width) return 'a zero-padded host range needs a begin and an end of the same width';
  const a = letters ? LETTERS.indexOf(begin) : Number(begin);
  const z = letters ? LETTERS.indexOf(end) : Number(end);
  if (a > z) return 'a host range must not begin after its end';
  const count = Math.floor((z - a) / step) + 1;
  if (count > max) return `it expands to more than ${LIMITS.inventoryHosts} hosts`;
  return Array.from({ length: count }, (_, i) => (letters ? LETTERS[a + i * step]! : String(a + i * step).padStart(width, '0')));
}
