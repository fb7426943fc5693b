/**
 * Key-safe maps. Image, group, registry and platform ids are user and registry text; as keys of a
 * plain object, `constructor` or `__proto__` would read `Object.prototype` members or replace the
 * prototype. Every id-keyed record lg-pins builds is a null-prototype object, and lookups go
 * through `own()`, so an id is only ever an id.
 */
export type Dict<T> = Record<string, T>;

/** An empty null-prototype record. */
export function dict<T>(): Dict<T> {
  return Object.create(null) as Dict<T>;
}

/** A null-prototype record of these entries (later entries win, as with Object.fromEntries). */
export function dictFrom<T>(entries: Iterable<readonly [string, T]>): Dict<T> {
  const out = dict<T>();
  for (const [k, v] of entries) {
    // defineProperty, not assignment: `__proto__` becomes an own key, never the prototype.
    Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

/** A null-prototype copy of a record's own enumerable entries. */
export function toDict<T>(rec: Readonly<Record<string, T>> | undefined | null): Dict<T> {
  return rec ? dictFrom(Object.entries(rec)) : dict<T>();
}

/** The value under `key` only when it is the record's own (never an inherited member). */
export function own<T>(rec: Readonly<Record<string, T>> | undefined | null, key: string): T | undefined {
  return rec && Object.prototype.hasOwnProperty.call(rec, key) ? rec[key] : undefined;
}

/** Set `rec[key]` as an own property, whatever the key. */
export function put<T>(rec: Dict<T>, key: string, value: T): void {
  Object.defineProperty(rec, key, { value, enumerable: true, writable: true, configurable: true });
}
