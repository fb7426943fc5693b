/**
 * The one output sanitizer. Text that lg-pins did not write itself (anything a registry, a token
 * server, a credential helper or an input file sent) goes through here before it reaches a
 * message, a terminal or a Markdown body: control characters, ANSI escapes, bidirectional
 * overrides and line breaks become visible escapes, and lengths are capped.
 */

/**
 * Characters never written raw: C0 controls, DEL, C1 controls (0x9b is a one-byte CSI on some
 * terminals), Unicode line and paragraph separators, bidirectional embeddings and isolates
 * ("Trojan Source"), the BOM, and the private-use characters the CLI uses as colour markers.
 */
// eslint-disable-next-line no-control-regex -- control characters are exactly what this finds
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff\ue000-\ue00f]/g;
// eslint-disable-next-line no-control-regex -- the same, sparing line feeds and tabs
const UNSAFE_KEEP_LINES = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff\ue000-\ue00f]/g;

/** `\n`, `\r`, `\t`, else `\uXXXX`: escapes that read the same in a terminal and inside a JSON string. */
function escapeChar(c: string): string {
  if (c === '\n') return '\\n';
  if (c === '\r') return '\\r';
  if (c === '\t') return '\\t';
  return `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
}

/** Every unsafe character as a visible escape (`\u001b`, `\n`, `\u202e`); line feeds and tabs too unless `keepLines`. */
export function escapeControls(s: string, keepLines = false): string {
  return s.replace(keepLines ? UNSAFE_KEEP_LINES : UNSAFE, escapeChar);
}

/** True when `s` holds a character escapeControls would rewrite (line feeds and tabs included). */
export function hasControls(s: string): boolean {
  UNSAFE.lastIndex = 0;
  const hit = UNSAFE.test(s);
  UNSAFE.lastIndex = 0;
  return hit;
}

/** Longest excerpt of foreign text a message quotes (in characters, escapes included). */
export const EXCERPT_MAX = 48;

/**
 * A short, single-line, escaped excerpt of foreign text: at most `max` characters, cut with `…`
 * (and never in the middle of an escape or a surrogate pair).
 */
export function excerpt(s: string, max = EXCERPT_MAX): string {
  const out: string[] = [];
  let length = 0;
  for (const ch of s) {
    const piece = escapeControls(ch);
    if (length + piece.length > max) {
      out.push('…');
      break;
    }
    out.push(piece);
    length += piece.length;
  }
  return out.join('');
}

/** `excerpt()` in double quotes, for messages: `"v3.1.0"`, `"\u001b[31mred…"`. */
export function quoteUntrusted(s: string, max = EXCERPT_MAX): string {
  return `"${excerpt(s, max).replace(/"/g, '\\"')}"`;
}

/** Longest message lg-pins prints about one problem. */
export const MESSAGE_MAX = 1000;

/** Cap a message's length; the cut says how much was left out. */
export function capMessage(s: string, max = MESSAGE_MAX): string {
  const chars = [...s];
  if (chars.length <= max) return s;
  return `${chars.slice(0, max).join('')}… (${chars.length - max} more characters)`;
}

/**
 * Text for a terminal or a JSON document on stdout: every unsafe character escaped except line
 * feeds and tabs (lg-pins' own output is made of lines). Inside JSON strings JSON.stringify has
 * already escaped C0 controls; what is left (DEL, C1, bidi) becomes `\uXXXX`, which JSON readers
 * turn back into the same text. So no escape sequence or bidi override reaches a terminal raw.
 */
export function terminalSafe(s: string): string {
  return escapeControls(s, true);
}
