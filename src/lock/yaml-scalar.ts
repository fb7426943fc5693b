/**
 * Which strings the lock may write as plain YAML scalars. The lock is read by more than lg-pins:
 * by PyYAML and go-yaml v2 (YAML 1.1), by the `yaml` package and js-yaml (YAML 1.2), and each
 * of them turns some plain scalars into numbers, booleans, nulls or dates (`007` is 7, `on` is
 * true to PyYAML, `2001-12-14` a date). A key or value is written plain only when every one of
 * them reads it back as the same string; anything else is double-quoted with escapes JSON shares,
 * so the lock's own fast reader can read it with JSON.parse. The rules are a union of the readers'
 * resolvers, a little wider where that is simpler: quoting a string that did not need it is safe.
 */

/** Booleans and nulls: YAML 1.2 core, PyYAML, and the YAML 1.1 spec's y/n (go-yaml v2 reads them), in any case. */
const WORDS = /^(?:~|null|true|false|yes|no|on|off|y|n)$/i;
/** YAML 1.1 merge key and value indicator (PyYAML refuses a plain `=` outright). */
const MERGE_OR_VALUE = /^(?:<<|=)$/;
/** Integers in every base and prefix case (go-yaml v2 takes `0X1F`), a bare prefix included (PyYAML fails on `0x_`). */
const INT = /^[-+]?(?:0b[01]*|0o[0-7]*|0x[0-9a-f]*|[0-9]+)$/i;
/** Decimal floats with or without a fraction or an exponent: `1.`, `.5`, `1e3` (a float to YAML 1.2 and go-yaml, not PyYAML). */
const FLOAT = /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:e[-+]?[0-9]+)?$/i;
/** YAML 1.1 base 60: `1:20` is 80, `1:20.5` a float. */
const BASE60 = /^[-+]?[0-9]+(?::[0-9]+)+(?:\.[0-9]*)?$/;
const INF_NAN = /^[-+]?\.(?:inf|nan)$/i;
/** YAML 1.1 timestamps (PyYAML, js-yaml), with go-yaml v2's one-digit months and days: a date, alone or before a time. */
const DATE = /^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:$|[Tt \t])/;
/** First characters that start something else than a plain scalar (YAML 1.1 forbids `-?:` even before a non-space). */
const INDICATOR = /^[-?:,[\]{}#&*!|>'"%@`]/;
/**
 * Characters a plain scalar must not hold: controls, DEL and C1 controls (not printable: PyYAML
 * refuses them anywhere), U+2028/U+2029/U+0085 (line breaks to YAML 1.1), the BOM, U+FFFE/U+FFFF
 * and lone surrogates.
 */
const NOT_PLAIN = /[^\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\u{10000}-\u{10ffff}]/u;
/** What JSON.stringify leaves raw but YAML must see escaped (it escapes controls and lone surrogates itself). */
const ESCAPE = /[\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff]/;
const ESCAPE_ALL = new RegExp(ESCAPE.source, 'g');

/**
 * Whether `value` can be written as a plain scalar (in a flow map when `flow`) that YAML 1.1 and
 * 1.2 readers alike read back as this very string.
 */
export function plainOk(value: string, flow: boolean): boolean {
  if (value === '' || value !== value.trim() || NOT_PLAIN.test(value) || INDICATOR.test(value)) return false;
  // Where a plain scalar would end early: a comment, a key indicator, or (in a flow map) a flow
  // indicator; PyYAML also ends one at `?` in a flow map.
  if (value.includes(': ') || value.includes(' #') || value.endsWith(':') || (flow && /[,?[\]{}]/.test(value))) return false;
  if (WORDS.test(value) || MERGE_OR_VALUE.test(value) || DATE.test(value) || INF_NAN.test(value)) return false;
  // PyYAML, go-yaml v2 and the YAML 1.1 spec read numbers with `_` between (or after) the digits.
  const digits = value.includes('_') ? value.replace(/_/g, '') : value;
  return !(INT.test(digits) || FLOAT.test(digits) || BASE60.test(digits));
}

/** `value` double-quoted: JSON's escapes, which every YAML reader shares, plus \u escapes for what YAML reads otherwise. */
export function quoted(value: string): string {
  return JSON.stringify(value).replace(ESCAPE_ALL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** `value` as the lock writes it: plain when plainOk, else double-quoted. */
export function yamlScalar(value: string, flow: boolean): string {
  return plainOk(value, flow) ? value : quoted(value);
}

/** True when a double-quoted scalar holds a raw character that `quoted` would have escaped. */
export function hasUnescaped(raw: string): boolean {
  return ESCAPE.test(raw);
}
