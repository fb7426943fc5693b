import type { Spec } from '../config/spec.js';
import type { Lock } from '../lock/model.js';
import type { ImageChange } from '../plan/classify.js';
import type { Waiting } from '../plan/rings.js';
import type { DiffResult } from '../run/diff.js';
import { table } from './table.js';
import { failureJson } from './failure.js';
import { mdCode, mdFence, mdInert } from './markdown.js';

const short = (d?: string) => (d ? d.slice(0, 19) : '-');
const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
const hosts = (n: number) => plural(n, 'host');

function platformDigest(lock: Lock | undefined, image: string, key: string): string | undefined {
  return lock?.images[image]?.platforms[key]?.digest;
}

function headline(c: ImageChange, code: (s: string) => string = (s) => s): string {
  const from = c.from ? code(c.from.tag) : '';
  const to = c.to ? code(c.to.tag) : '';
  switch (c.kind) {
    case 'added':
      return `added at ${to}`;
    case 'removed':
      return `removed (was ${from})`;
    case 'release':
      return `release ${from} → ${to}`;
    case 'tag-moved':
      return c.groups.length
        ? `tag ${to} moved to new content`
        : `tag ${to} moved, only in entries no group runs (e.g. a re-pushed attestation)`;
    case 'fleet':
      return `fleet pins change (still ${to})`;
    case 'spec':
      return `the spec's ref or range changed; still ${to}, same content, no group moves`;
  }
}

/** The JSON document of `diff --json`: the contract's shape, stable for scripts. */
export function diffJson(r: DiffResult): object {
  return {
    changes: r.changes.map((c) => ({
      image: c.image,
      kind: c.kind,
      ...(c.from ? { from: c.from } : {}),
      ...(c.to ? { to: c.to } : {}),
      platforms: c.platforms,
      groups: c.groups,
      held: c.held.map((h) => ({ group: h.group, hosts: h.hosts, platform: h.platform, tag: h.tag, reason: h.reason })),
    })),
    passedOver: r.passedOver,
    waiting: r.waiting,
    outputs: r.outputChanges,
    failures: r.failures.map(failureJson),
  };
}

/** A readable table per changed image, for a terminal. */
export function diffText(r: DiffResult): string {
  const out: string[] = [];
  for (const c of r.changes) {
    out.push(`${c.image}: ${headline(c)}`);
    if (c.from && c.to && c.from.digest !== c.to.digest) out.push(`  index  ${short(c.from.digest)} → ${short(c.to.digest)}`);
    const rows = [['PLATFORM', 'CHANGE', 'FROM', 'TO', '']];
    const notes = r.spec.images[c.image]?.notes ?? {};
    for (const [key, change] of Object.entries(c.platforms)) {
      rows.push([
        key,
        change,
        short(platformDigest(r.previous, c.image, key)),
        short(platformDigest(r.lock, c.image, key)),
        notes[key] ?? '',
      ]);
    }
    if (rows.length > 1) out.push(table(rows, '  ').trimEnd());
    if (c.moves.length) {
      out.push(`  groups that move:`);
      for (const m of c.moves) {
        const what = !m.to
          ? 'no longer runs it'
          : !m.from
            ? `now runs ${m.to.platform} ${short(m.to.digest)}`
            : `${m.from.platform} ${short(m.from.digest)} → ${m.to.platform} ${short(m.to.digest)}`;
        const size = r.spec.fleet[m.group] ? hosts(m.hosts) : 'removed from the spec';
        out.push(`    ${m.group} (${size}): ${what}${m.to?.held ? ' (held)' : ''}`);
      }
    }
    for (const h of c.held) out.push(`  held: ${h.group} (${hosts(h.hosts)}) stays on ${h.tag}: ${h.reason}`);
    out.push('');
  }
  for (const p of r.passedOver) out.push(`${p.image}: ${p.tag} is available; cadence ${p.cadence} keeps ${p.pinned}`);
  if (r.passedOver.length) out.push('');
  if (r.waiting.length) {
    out.push('waiting (rollout rings):');
    for (const w of r.waiting) out.push(`  ${waitingLine(w, (s) => s)}`);
    out.push('');
  }
  if (r.outputChanges.length) {
    out.push('outputs:');
    for (const o of r.outputChanges) out.push(`  ${o.change.padEnd(6)}  ${o.path}`);
    out.push('');
  }
  const what = [
    r.changes.length ? plural(r.changes.length, 'image') : '',
    r.outputChanges.length ? plural(r.outputChanges.length, 'output') : '',
  ]
    .filter(Boolean)
    .join(' and ');
  out.push(
    what ? `${what} would change; run \`lg-pins lock\` to apply.` : `Nothing to change: the lock matches what the registries serve.`,
  );
  return `${out.join('\n')}\n`;
}

/**
 * Markdown for a pull request: full digests, notes beside their platforms, the lock's unified diff.
 * Every value from a registry or the spec goes through markdown.ts: ids, tags, platforms and
 * digests as code spans, notes and reasons as prose only when nothing in them can be live.
 */
export function diffMarkdown(r: DiffResult, spec: Spec = r.spec): string {
  const out: string[] = [];
  const code = (s: string) => mdCode(s);
  const cell = (s: string) => mdCode(s, { table: true });
  if (!r.changes.length && !r.outputChanges.length) out.push('Nothing to change: the lock matches what the registries serve.', '');
  for (const c of r.changes) {
    out.push(`### ${code(c.image)}: ${headline(c, code)}`, '');
    if (c.kind === 'tag-moved') {
      out.push(
        `> [!WARNING]`,
        `> The tag ${code(c.to?.tag ?? '')} now points at different content (same tag, new index digest). Check that the re-publication was intended.`,
        '',
      );
    }
    out.push('| | tag | index digest |', '|---|---|---|');
    if (c.from) out.push(`| before | ${cell(c.from.tag)} | ${cell(c.from.digest)} |`);
    if (c.to) out.push(`| after | ${cell(c.to.tag)} | ${cell(c.to.digest)} |`);
    out.push('');
    const notes = spec.images[c.image]?.notes ?? {};
    out.push('| platform | change | before | after | note |', '|---|---|---|---|---|');
    for (const [key, change] of Object.entries(c.platforms)) {
      const a = platformDigest(r.previous, c.image, key);
      const b = platformDigest(r.lock, c.image, key);
      out.push(
        `| ${cell(key)} | ${change} | ${a ? cell(a) : '—'} | ${b ? cell(b) : '—'} | ${mdInert(notes[key] ?? '', { table: true })} |`,
      );
    }
    out.push('');
    if (c.moves.length) {
      out.push('| group | hosts | before | after |', '|---|---|---|---|');
      for (const m of c.moves) {
        const pin = (p?: { platform: string; digest: string; held?: string }) =>
          p ? `${cell(p.platform)} ${cell(p.digest)}${p.held ? ' (held)' : ''}` : '—';
        out.push(`| ${cell(m.group)} | ${spec.fleet[m.group] ? m.hosts : 'removed'} | ${pin(m.from)} | ${pin(m.to)} |`);
      }
      const total = c.moves.reduce((n, m) => n + m.hosts, 0);
      out.push('', `${plural(c.moves.length, 'group')} and ${hosts(total)} move.`, '');
    }
    for (const h of c.held) out.push(`- **Held back:** ${code(h.group)} (${hosts(h.hosts)}) stays on ${code(h.tag)}: ${mdInert(h.reason)}`);
    if (c.held.length) out.push('');
  }
  for (const p of r.passedOver)
    out.push(`- ${code(p.image)}: ${code(p.tag)} is available; cadence ${code(p.cadence)} keeps ${code(p.pinned)}.`);
  if (r.passedOver.length) out.push('');
  if (r.waiting.length) {
    out.push('**Waiting (rollout rings):**', '');
    for (const w of r.waiting) out.push(`- ${waitingLine(w, code)}.`);
    out.push('');
  }
  if (r.outputChanges.length) {
    out.push('| deploy output | change |', '|---|---|');
    for (const o of r.outputChanges) out.push(`| ${cell(o.path)} | ${o.change} |`);
    out.push('');
  }
  if (r.patch) {
    out.push(
      '<details><summary>Changes to <code>lg-pins.lock.yaml</code></summary>',
      '',
      mdFence(r.patch.trimEnd(), 'diff'),
      '',
      '</details>',
      '',
    );
  }
  if (r.outputPatch) {
    out.push(
      '<details><summary>Changes to the deploy outputs</summary>',
      '',
      mdFence(r.outputPatch.trimEnd(), 'diff'),
      '',
      '</details>',
      '',
    );
  }
  return `${out.join('\n')}`;
}

/** `datacenter waits for canary: agent v2 from 2026-12-07T10:00:00Z` (or `once canary runs it`). */
export function waitingLine(w: Waiting, c: (s: string) => string): string {
  const when = w.until ? `from ${w.until}` : `once ${c(w.after)} runs it`;
  return `${c(w.group)} waits for ${c(w.after)}: takes ${c(w.image)} ${c(w.tag)} ${when}`;
}
