/**
 * Text lg-pins did not write itself (tags, platform keys, image and group ids, the spec's notes,
 * held reasons, registry and error messages, verify findings) goes into Markdown through here, so
 * that a registry or a spec cannot make a pull request body live: no link, image, autolink,
 * @mention, issue reference or closing keyword (`Closes #12`), no raw HTML or comment, no table
 * breakout and no new line or heading. Only lg-pins' own markup around it stays live.
 */

export interface MdOptions {
  /** The text sits in a table cell: its pipes are escaped so the row keeps its columns. */
  table?: boolean;
}

// CommonMark's line endings, and Unicode's, which some renderers treat as such.
const LINE_BREAK = /\r\n|[\r\n\u2028\u2029]/g;

/**
 * A code span holding `s` verbatim, on one line: the fence is one backtick longer than the longest
 * run inside (so nothing inside can close it), padded with a space when `s` starts or ends with a
 * backtick or a space (CommonMark strips one from each side). Inside a code span GitHub renders no
 * Markdown, no HTML and no autolink, and links no mention, issue reference or closing keyword.
 * In a table, `|` becomes `\|`: GFM splits cells before it parses code spans, then drops the
 * backslash. The empty string stays empty.
 */
export function mdCode(s: string, opts: MdOptions = {}): string {
  let text = s.replace(LINE_BREAK, ' ');
  if (text === '') return '';
  if (opts.table) text = text.replace(/\|/g, '\\|');
  let longest = 0;
  // A loop, not Math.max(...runs): a hostile string can hold more runs than the stack has room for.
  for (const run of text.match(/`+/g) ?? []) longest = Math.max(longest, run.length);
  const fence = '`'.repeat(longest + 1);
  const pad = /^[` ]|[` ]$/.test(text) && text.trim() !== '' ? ' ' : '';
  return `${fence}${pad}${text}${pad}${fence}`;
}

/**
 * Characters that are inert as plain Markdown text, in any position and any combination, once the
 * patterns below are ruled out: letters and digits of any script, the space and `.,:;()'"/+=?!%-`,
 * and a few typographic marks lg-pins and spec authors use. Everything with a meaning (`` ` ``,
 * `*`, `_`, `~`, `[`, `<`, `>`, `&`, `\`, `#`, `@`, `|`, `$`, `^`, `{`, line breaks, controls, …) is out.
 */
const PLAIN = /^[\p{L}\p{N} .,:;()'"/+=?!%\u2013\u2014\u2026\u2192\u00b7-]*$/u;
/**
 * What GitHub links in plain text built from those characters: URLs (`https://`, `www.`), `GH-12`
 * issue references, commit hashes (7 or more hex digits) and `:emoji:` codes.
 */
const LIVE = /:\/\/|www\.|\bgh-\d|\b[0-9a-f]{7,}\b|:[\p{L}\p{N}+-]+:/iu;

/**
 * `s` as inert Markdown: unchanged when it is plain prose that nothing can make live (so ordinary
 * notes and reasons read as before), else as a code span (see mdCode).
 */
export function mdInert(s: string, opts: MdOptions = {}): string {
  return PLAIN.test(s) && !LIVE.test(s) ? s : mdCode(s, opts);
}

/** A fenced code block of `text`, fenced longer than any backtick run in it, so no line can close it. */
export function mdFence(text: string, info = ''): string {
  let longest = 2;
  for (const run of text.match(/`+/g) ?? []) longest = Math.max(longest, run.length);
  const fence = '`'.repeat(longest + 1);
  return `${fence}${info}\n${text}\n${fence}`;
}
