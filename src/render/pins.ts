import type { PinRow } from '../run/pins.js';
import { table } from './table.js';

/** `pins --json`: the rows as they are. */
export function pinsJson(rows: PinRow[]): object {
  return rows;
}

/** `pins`: one reference a line when one image of one host or group is asked (scriptable), else a table. */
export function pinsText(rows: PinRow[], scriptable: boolean): string {
  if (scriptable) return rows.map((r) => `${r.reference}\n`).join('');
  const head = ['GROUP', 'IMAGE', 'PLATFORM', 'HOSTS', 'TAG', 'REFERENCE'];
  const body = rows.map((r) => [r.group, r.image, r.platform, String(r.hosts.length), r.held ? `${r.tag} (held)` : r.tag, r.reference]);
  return table([head, ...body]);
}
