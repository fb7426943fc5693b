/**
 * `lg-pins report --html`: the fleet at a glance, as one self-contained HTML page (no script, no
 * external asset, no URL at all): a matrix of groups × images with each cell's tag, platform and
 * short digest (the full one in its title), held and waiting states, the spec's notes and the
 * signer, host counts, and with `--from` each cell's share of current hosts. States are words and
 * symbols first, colour second; light and dark schemes; printable. Deterministic: the same spec,
 * lock and reports make the same bytes.
 */
import type { Spec } from '../config/spec.js';
import type { Lock, Signer } from '../lock/model.js';
import type { AuditResult, AuditState } from '../plan/audit.js';
import { own } from '../safe/dict.js';

export interface ReportInput {
  spec: Spec;
  lock: Lock;
  /** The lock as the user names it (for the heading). */
  lockName: string;
  audit?: AuditResult;
}

const esc = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
const short = (d: string) => d.slice(0, 19);

function signer(s: Signer | undefined): string {
  if (!s) return '';
  if (typeof s === 'string') return `signed (key ${esc(short(s))}…)`;
  return `signed by ${esc(s.identity)} (issuer ${esc(s.issuer)}, Rekor log index ${s.logIndex})`;
}

const STYLE = `
:root { color-scheme: light dark; --fg: #1b1f24; --bg: #ffffff; --muted: #57606a; --line: #d0d7de; --ok: #1a7f37; --warn: #9a6700; --bad: #cf222e; --cell: #f6f8fa; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6edf3; --bg: #0d1117; --muted: #9198a1; --line: #3d444d; --ok: #3fb950; --warn: #d29922; --bad: #f85149; --cell: #161b22; } }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); margin: 2rem; }
h1 { font-size: 1.5rem; margin: 0 0 .25rem; } h2 { font-size: 1.15rem; margin: 2rem 0 .5rem; }
p.sub { color: var(--muted); margin: 0; }
table { border-collapse: collapse; }
th, td { border: 1px solid var(--line); padding: .4rem .6rem; vertical-align: top; text-align: left; }
thead th { background: var(--cell); }
td.cell { min-width: 13rem; }
code { font: 13px ui-monospace, SFMono-Regular, Menlo, monospace; }
.state { font-weight: 600; display: block; }
.ok { color: var(--ok); } .warn { color: var(--warn); } .bad { color: var(--bad); }
td.drift { outline: 3px solid var(--bad); outline-offset: -3px; }
.muted, small { color: var(--muted); }
.note { display: block; font-size: 13px; color: var(--warn); }
@media print { body { margin: 0; font-size: 11px; } td.drift { outline: 2px solid #000; } a { color: inherit; } }
`;

const STATE_WORD: Record<AuditState, string> = {
  current: 'current',
  'wrong-platform': 'wrong platform',
  outdated: 'outdated',
  missing: 'missing',
};

export function reportHtml(r: ReportInput): string {
  const images = Object.keys(r.lock.images).sort();
  const groups = Object.values(r.spec.fleet);
  const hostTotal = groups.reduce((n, g) => n + g.hosts.length, 0);
  const L: string[] = [];
  L.push(
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<title>lg-pins: the fleet at a glance</title>',
    `<style>${STYLE}</style>`,
    '</head>',
    '<body>',
    '<header>',
    '<h1>The fleet at a glance</h1>',
    `<p class="sub">From ${esc(r.lockName)}: ${images.length} image${images.length === 1 ? '' : 's'}, ${groups.length} group${groups.length === 1 ? '' : 's'}, ${hostTotal} host${hostTotal === 1 ? '' : 's'}${r.audit ? '; with what the hosts report running' : ''}.</p>`,
    '</header>',
    '<main>',
    '<h2 id="images">Images</h2>',
    '<table aria-describedby="images"><thead><tr><th scope="col">Image</th><th scope="col">Tag</th><th scope="col">Index digest</th><th scope="col">Platforms</th><th scope="col">Signature</th></tr></thead><tbody>',
  );
  for (const id of images) {
    const e = r.lock.images[id]!;
    const notes = own(r.spec.images, id)?.notes ?? {};
    const platforms = Object.keys(e.platforms)
      .map((k) => `${esc(k)}${own(notes, k) ? ` <span class="note">${esc(own(notes, k)!)}</span>` : ''}`)
      .join('<br>');
    L.push(
      `<tr><th scope="row">${esc(id)}<br><small>${esc(e.ref)}</small></th><td>${esc(e.tag)}</td><td><code title="${esc(e.digest)}">${esc(short(e.digest))}</code></td><td>${platforms}</td><td>${signer(e.verifiedBy) || '<span class="muted">not required</span>'}</td></tr>`,
    );
  }
  L.push('</tbody></table>', '<h2 id="matrix">Groups × images</h2>');
  L.push(
    '<table aria-describedby="matrix"><thead><tr><th scope="col">Group</th><th scope="col">Hosts</th>',
    ...images.map((id) => `<th scope="col">${esc(id)}</th>`),
    '</tr></thead><tbody>',
  );
  for (const g of groups) {
    const cells = images.map((id) => cell(r, g.id, id, g.images.includes(id), g.after));
    L.push(`<tr><th scope="row">${esc(g.id)}<br><small>${esc(g.platformKey)}</small></th><td>${g.hosts.length}</td>${cells.join('')}</tr>`);
  }
  L.push('</tbody></table>');
  if (r.audit?.unmanaged.length)
    L.push(`<p><strong>Unmanaged hosts</strong> (they report, but no group lists them): ${r.audit.unmanaged.map(esc).join(', ')}</p>`);
  L.push(
    '</main>',
    '<footer><p class="sub">Made by <code>lg-pins report --html</code> from the spec and the lock, offline. Digests are shortened; hover one for all of it.</p></footer>',
    '</body>',
    '</html>',
    '',
  );
  return L.join('\n');
}

function cell(r: ReportInput, group: string, image: string, runs: boolean, after: string | undefined): string {
  if (!runs) return '<td class="cell muted">—</td>';
  const pin = own(own(r.lock.fleet, group), image);
  const entry = r.lock.images[image]!;
  if (!pin) return '<td class="cell"><span class="state bad">✗ not pinned</span></td>';
  const parts: string[] = [];
  const tag = pin.tag ?? entry.tag;
  if (pin.held) parts.push(`<span class="state warn">⏸ held on ${esc(tag)}</span><small>${esc(pin.held)}</small><br>`);
  else if (pin.tag !== undefined && after)
    parts.push(
      `<span class="state warn">⏳ waiting for ${esc(after)}</span><small>stays on ${esc(tag)}; ${esc(entry.tag)} next</small><br>`,
    );
  else parts.push(`<span class="state ok">✓ ${esc(tag)}</span>`);
  parts.push(`${esc(pin.platform)} <code title="${esc(pin.digest)}">${esc(short(pin.digest))}</code>`);
  const note = own(own(r.spec.images, image)?.notes, pin.platform);
  if (note) parts.push(`<span class="note">⚠ ${esc(note)}</span>`);
  let drift = false;
  const counts = own(own(r.audit?.cells, group), image);
  if (counts) {
    const total = counts.current + counts['wrong-platform'] + counts.outdated + counts.missing;
    drift = counts.current < total;
    const others = (['wrong-platform', 'outdated', 'missing'] as const)
      .filter((s) => counts[s])
      .map((s) => `${counts[s]} ${STATE_WORD[s]}`);
    parts.push(
      `<span class="state ${drift ? 'bad' : 'ok'}">${drift ? '⚠' : '✓'} ${counts.current} of ${total} hosts current</span>${others.length ? `<small>${others.join(', ')}</small>` : ''}`,
    );
  }
  return `<td class="cell${drift ? ' drift' : ''}">${parts.join('\n')}</td>`;
}
