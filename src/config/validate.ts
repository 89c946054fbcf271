/**
 * Validation of component arguments and config files with zod, turned into
 * one-line errors that name the full key path, what was expected and what was
 * given.
 */
import { z, type ZodType } from 'zod';
import { closestNames } from '../utils/names.js';

/**
 * A config value is wrong. `path` is the full dotted key path
 * (`model.backbone.depth`), `expected` says what would be valid, `actual` is
 * the offending value as written.
 */
export class ConfigError extends Error {
  constructor(
    readonly path: string,
    readonly expected: string,
    readonly actual: string,
    cause?: unknown,
    readonly file?: string,
  ) {
    super(
      `${file ? `${file}: ` : ''}${path}: expected ${expected}, got ${actual}`,
      cause ? { cause } : undefined,
    );
    this.name = 'ConfigError';
  }
}

/** Short printable form of a config value for error messages. */
export function formatValue(v: unknown): string {
  if (v === undefined) return 'undefined (missing)';
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'function') return `function ${v.name || '(anonymous)'}`;
  if (typeof v === 'number' && !Number.isFinite(v)) return String(v);
  try {
    const s = JSON.stringify(v);
    return s.length > 80 ? `${s.slice(0, 77)}...` : s;
  } catch {
    return String(v);
  }
}

/** The value at a key path inside `obj` (undefined where the path leaves the data). */
export function getAt(obj: unknown, path: readonly PropertyKey[]): unknown {
  let cur = obj;
  for (const k of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[k];
  }
  return cur;
}

function knownKeysAt(schema: ZodType, path: readonly PropertyKey[]): string[] {
  let s: any = schema;
  for (const k of path) {
    while (s?.unwrap && !s.shape) s = s.unwrap();
    if (s?.shape && typeof k === 'string') s = s.shape[k];
    else if (s?.element) s = s.element;
    else return [];
  }
  while (s?.unwrap && !s.shape) s = s.unwrap();
  return s?.shape ? Object.keys(s.shape) : [];
}

function describeExpected(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      // zod says 'nonoptional' for a required key of any type that is missing.
      return issue.expected === 'nonoptional' ? 'a value (required)' : issue.expected;
    case 'invalid_value':
      return `one of ${issue.values.map((v) => JSON.stringify(v)).join(' | ')}`;
    case 'too_small':
      return `${issue.origin === 'array' || issue.origin === 'string' ? 'length ' : 'a value '}${issue.inclusive ? '>=' : '>'} ${String(issue.minimum)}`;
    case 'too_big':
      return `${issue.origin === 'array' || issue.origin === 'string' ? 'length ' : 'a value '}${issue.inclusive ? '<=' : '<'} ${String(issue.maximum)}`;
    case 'invalid_union': {
      // What each alternative wanted, e.g. 'one of number | array'.
      const forms = [
        ...new Set(
          (issue.errors ?? []).map((branch) =>
            branch[0] ? describeExpected(branch[0]).replace(/^one of /, '') : '',
          ),
        ),
      ].filter(Boolean);
      return forms.length ? `one of ${forms.join(' | ')}` : 'one of the allowed forms';
    }
    default:
      return issue.message;
  }
}

/**
 * Validate `args` with `schema`, returning the parsed value (defaults filled).
 * The first problem becomes a {@link ConfigError} naming `base.key.path`;
 * an unknown key names the known keys closest to it.
 *
 * @example
 * ```ts
 * import { z } from 'zod';
 *
 * validateArgs(z.object({ depth: z.literal([18, 50]) }).strict(), { depth: 19 }, 'model.backbone');
 * // throws ConfigError: model.backbone.depth: expected one of 18 | 50, got 19
 * ```
 */
export function validateArgs<T>(schema: ZodType<T>, args: unknown, base: string, what?: string): T {
  const r = schema.safeParse(args);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const at = [base, ...issue.path.map(String)].filter(Boolean).join('.');
  const suffix = what ? ` (${what})` : '';
  if (issue.code === 'unrecognized_keys') {
    const known = knownKeysAt(schema, issue.path);
    const key = issue.keys[0];
    const near = closestNames(key, known);
    const hint = near.length ? `; did you mean ${near.map((k) => `'${k}'`).join(', ')}?` : '';
    throw new ConfigError(
      `${at}.${key}`,
      `a known key${suffix}${hint}`,
      formatValue(getAt(args, [...issue.path, key])),
    );
  }
  throw new ConfigError(
    at,
    `${describeExpected(issue)}${suffix}`,
    formatValue(getAt(args, issue.path)),
  );
}
