/**
 * Plain config data: what counts as a dict, and the keys no config, override
 * or registry argument may use (`__proto__`, `constructor`, `prototype`:
 * setting them through an ordinary assignment changes an object's prototype,
 * or every object's).
 */

/** A plain object (a config dict): made by `{}`, `JSON.parse` or `Object.create(null)`. */
export function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

/** The keys rejected everywhere a config is read, merged or overridden. */
export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set([
  '__proto__',
  'constructor',
  'prototype',
]);

/** Whether `key` is one of {@link FORBIDDEN_KEYS}. */
export const isForbiddenKey = (key: string): boolean => FORBIDDEN_KEYS.has(key);

/**
 * The dotted path of the first forbidden key in `value` (its dicts and lists,
 * walked deeply), or undefined when there is none. `prefix` starts the path.
 */
export function findForbiddenKey(value: unknown, prefix = ''): string | undefined {
  const seen = new Set<unknown>();
  const walk = (v: unknown, at: string): string | undefined => {
    if (typeof v !== 'object' || v === null || seen.has(v)) return undefined;
    seen.add(v);
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        const hit = walk(v[i], at ? `${at}.${i}` : String(i));
        if (hit) return hit;
      }
      return undefined;
    }
    if (!isPlainObject(v)) {
      // An object literal's `__proto__: {...}` sets the prototype instead of a key.
      const proto = Object.getPrototypeOf(v) as unknown;
      if (
        proto !== null &&
        typeof proto === 'object' &&
        Object.getPrototypeOf(proto) === Object.prototype &&
        v.constructor === Object
      )
        return at ? `${at}.__proto__` : '__proto__';
      return undefined;
    }
    for (const k of Object.keys(v)) {
      const p = at ? `${at}.${k}` : k;
      if (isForbiddenKey(k)) return p;
      const hit = walk(v[k], p);
      if (hit) return hit;
    }
    return undefined;
  };
  return walk(value, prefix);
}

/** What a forbidden key's error says is expected instead. */
export const FORBIDDEN_KEY_EXPECTED =
  'a key other than __proto__, constructor or prototype (they would change the prototype of objects)';
