import type { AuditRow, AuditState } from '../plan/audit.js';
import type { AuditRunResult } from '../run/audit.js';
import { mdCode } from './markdown.js';
import { shortDigest } from './paint.js';

const STATES: readonly AuditState[] = ['current', 'wrong-platform', 'outdated', 'missing'];
const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** What a row that is not current says: what it runs and what it needs. */
function why(r: AuditRow, code: (s: string) => string = (s) => s): string {
  switch (r.state) {
    case 'missing':
      return `no report of it running (needs ${code(r.needs)})`;
    case 'wrong-platform':
      return `runs ${code(r.runs?.platform ?? '?')} ${code(shortDigest(r.runs?.digest ?? ''))} of ${code(r.runs?.tag ?? '?')}, needs ${code(r.needs)}`;
    case 'outdated':
      return `runs ${code(shortDigest(r.runs?.digest ?? ''))}${r.runs?.tag ? ` (${code(r.runs.tag)})` : ', a digest the lock does not pin'}, needs ${code(r.needs)} of the pinned release`;
    case 'current':
      return 'current';
  }
}

function summary(counts: Record<AuditState, number>): string {
  return (
    STATES.filter((s) => counts[s])
      .map((s) => `${counts[s]} ${s}`)
      .join(', ') || 'nothing to run'
  );
}

function verdict(r: AuditRunResult): string {
  const total = Object.values(r.counts).reduce((n, c) => n + c.current + c['wrong-platform'] + c.outdated + c.missing, 0);
  const current = Object.values(r.counts).reduce((n, c) => n + c.current, 0);
  return r.exitCode === 0
    ? `Every host runs what the lock pins (${plural(total, 'host × image pair')}, ${plural(r.reports, 'report')}).`
    : `${current} of ${plural(total, 'host × image pair')} current; ${total - current} not (exit 1).`;
}

/** Grouped by fleet group, with its counts; every pair that is not current on its own line. */
export function auditText(r: AuditRunResult): string {
  const out: string[] = [];
  const byGroup = new Map<string, AuditRow[]>();
  for (const row of r.rows) {
    const list = byGroup.get(row.group);
    if (list) list.push(row);
    else byGroup.set(row.group, [row]);
  }
  for (const [group, counts] of Object.entries(r.counts)) {
    out.push(`${group}: ${summary(counts)}`);
    for (const row of byGroup.get(group) ?? []) out.push(`  ✗ ${row.host}  ${row.image}  ${row.state}: ${why(row)}`);
  }
  if (r.unmanaged.length) out.push(`unmanaged (they report, but no group lists them): ${r.unmanaged.join(', ')}`);
  out.push('', verdict(r));
  return `${out.join('\n')}\n`;
}

export function auditJson(r: AuditRunResult): object {
  return { ok: r.exitCode === 0, lockFile: r.lockFile, reports: r.reports, counts: r.counts, drift: r.rows, unmanaged: r.unmanaged };
}

export function auditMarkdown(r: AuditRunResult): string {
  const out: string[] = ['| group | current | wrong-platform | outdated | missing |', '|---|---:|---:|---:|---:|'];
  for (const [group, c] of Object.entries(r.counts))
    out.push(`| ${mdCode(group)} | ${c.current} | ${c['wrong-platform']} | ${c.outdated} | ${c.missing} |`);
  out.push('');
  const bad = r.rows;
  if (bad.length) {
    out.push('| host | group | image | state | detail |', '|---|---|---|---|---|');
    for (const row of bad)
      out.push(`| ${mdCode(row.host)} | ${mdCode(row.group)} | ${mdCode(row.image)} | **${row.state}** | ${why(row, (x) => mdCode(x))} |`);
    out.push('');
  }
  if (r.unmanaged.length) out.push(`Unmanaged hosts (in no group): ${r.unmanaged.map((h) => mdCode(h)).join(', ')}`, '');
  out.push(verdict(r), '');
  return out.join('\n');
}
