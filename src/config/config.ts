/**
 * Config files in the mmengine manner: a TS, JS or JSON file exporting a
 * plain object; `_base_` (a path or a list, relative to the file) names files
 * merged underneath it; a dict with `_delete_: true` replaces the base's dict
 * instead of merging into it; `--cfg-options a.b.c=value` overrides keys.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { writeFileAtomic } from '../utils/fs.js';
import {
  FORBIDDEN_KEY_EXPECTED,
  findForbiddenKey,
  isForbiddenKey,
  isPlainObject,
} from '../utils/plain.js';
import { closestNames } from '../utils/names.js';
import { ConfigError, formatValue } from './validate.js';

/** A resolved config: plain data (functions allowed as `type`). */
export type Config = Record<string, any>;

const isDict = isPlainObject;

/** Throws a ConfigError for a forbidden key (`__proto__`, `constructor`, `prototype`) at `keyPath`. */
function forbidKey(keyPath: string, file?: string): never {
  throw new ConfigError(
    keyPath,
    FORBIDDEN_KEY_EXPECTED,
    JSON.stringify(keyPath.split('.').pop()),
    undefined,
    file,
  );
}

function assertNoForbiddenKeys(value: unknown, prefix: string, file?: string): void {
  const bad = findForbiddenKey(value, prefix);
  if (bad) forbidKey(bad, file);
}

/** Deep copy of plain data (dicts and arrays); other values are shared. */
export function cloneConfig<T>(v: T): T {
  if (Array.isArray(v)) return v.map(cloneConfig) as T;
  if (isDict(v))
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, cloneConfig(x)])) as T;
  return v;
}

/**
 * Merges `override` into `base` (neither is modified): dicts merge key by key,
 * everything else (lists included) is replaced; `_delete_: true` in an
 * override dict drops the base's keys at that level.
 *
 * @example
 * ```ts
 * mergeConfig({ a: { x: 1, y: 2 }, l: [1, 2] }, { a: { y: 3 }, l: [9] });
 * // => { a: { x: 1, y: 3 }, l: [9] }
 * mergeConfig({ a: { x: 1, y: 2 } }, { a: { _delete_: true, z: 0 } });
 * // => { a: { z: 0 } }
 * ```
 */
export function mergeConfig(base: Config, override: Config): Config {
  const out: Config = cloneConfig(base);
  for (const [k, v] of Object.entries(override)) {
    if (k === '_delete_') continue;
    if (isForbiddenKey(k)) forbidKey(k);
    if (isDict(v)) {
      const del = v._delete_ === true;
      out[k] = !del && isDict(out[k]) ? mergeConfig(out[k], v) : stripDelete(v);
    } else {
      out[k] = cloneConfig(v);
    }
  }
  return out;
}

function stripDelete(v: Record<string, unknown>): Config {
  const out: Config = {};
  for (const [k, x] of Object.entries(v)) {
    if (isForbiddenKey(k)) forbidKey(k);
    if (k !== '_delete_') out[k] = isDict(x) ? stripDelete(x) : cloneConfig(x);
  }
  return out;
}

/**
 * Parses one `--cfg-options` value as mmengine's DictAction does: numbers,
 * `true`/`false` (also `True`/`False`), `null`/`None`, `[...]`/`(...)` lists
 * (nested), comma lists `1,2,3`, JSON objects; anything else is a string
 * (surrounding quotes removed).
 *
 * @example
 * ```ts
 * parseOptionValue('0.01');     // => 0.01
 * parseOptionValue('[1,[2,3]]'); // => [1, [2, 3]]
 * parseOptionValue('a,b');      // => ['a', 'b']
 * parseOptionValue('False');    // => false
 * ```
 */
export function parseOptionValue(raw: string): unknown {
  const s = raw.trim();
  if (/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(s)) return Number(s);
  if (s === 'true' || s === 'True') return true;
  if (s === 'false' || s === 'False') return false;
  if (s === 'null' || s === 'None') return null;
  if (s.startsWith('{')) {
    try {
      return JSON.parse(s);
    } catch {
      return s;
    }
  }
  if ((s.startsWith('[') && s.endsWith(']')) || (s.startsWith('(') && s.endsWith(')'))) {
    return splitTop(s.slice(1, -1))
      .filter((x) => x.trim() !== '')
      .map(parseOptionValue);
  }
  if (s.includes(',')) return splitTop(s).map(parseOptionValue);
  if ((s.startsWith('"') && s.endsWith('"')) || (s.startsWith("'") && s.endsWith("'")))
    return s.slice(1, -1);
  return s;
}

/** Splits on commas outside brackets and quotes. */
function splitTop(s: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quote = '';
  let cur = '';
  for (const ch of s) {
    if (quote) {
      if (ch === quote) quote = '';
    } else if (ch === '"' || ch === "'") quote = ch;
    else if (ch === '[' || ch === '(' || ch === '{') depth++;
    else if (ch === ']' || ch === ')' || ch === '}') depth--;
    else if (ch === ',' && depth === 0) {
      parts.push(cur);
      cur = '';
      continue;
    }
    cur += ch;
  }
  parts.push(cur);
  return parts;
}

/**
 * Parses `key=value` pairs (as given after `--cfg-options`) to a dotted-key map.
 *
 * @example
 * ```ts
 * parseCfgOptions(['model.backbone.depth=50', 'trainCfg.maxEpochs=12']);
 * // => { 'model.backbone.depth': 50, 'trainCfg.maxEpochs': 12 }
 * ```
 */
export function parseCfgOptions(pairs: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const p of pairs) {
    const eq = p.indexOf('=');
    if (eq <= 0) throw new ConfigError('--cfg-options', 'key=value', JSON.stringify(p));
    const key = p.slice(0, eq).trim();
    const seg = key.split('.').find(isForbiddenKey);
    if (seg)
      throw new ConfigError(`--cfg-options ${key}`, FORBIDDEN_KEY_EXPECTED, JSON.stringify(seg));
    const value = parseOptionValue(p.slice(eq + 1));
    assertNoForbiddenKeys(value, `--cfg-options ${key}`);
    out[key] = value;
  }
  return out;
}

/**
 * Sets dotted keys into a copy of `cfg`. A numeric segment indexes a list
 * (`trainDataloader.dataset.pipeline.2.scale`); missing dicts are created.
 */
export function applyCfgOptions(cfg: Config, options: Record<string, unknown>): Config {
  const out = cloneConfig(cfg);
  for (const [key, value] of Object.entries(options)) {
    const parts = key.split('.');
    const seg = parts.findIndex(isForbiddenKey);
    if (seg >= 0) forbidKey(parts.slice(0, seg + 1).join('.'));
    assertNoForbiddenKeys(value, key);
    let cur: any = out;
    for (let i = 0; i < parts.length - 1; i++) {
      const p = parts[i];
      const idx = Array.isArray(cur) ? Number(p) : NaN;
      if (Array.isArray(cur)) {
        if (!Number.isInteger(idx) || idx < 0 || idx >= cur.length) {
          throw new ConfigError(
            parts.slice(0, i + 1).join('.'),
            `an index below ${cur.length}`,
            JSON.stringify(p),
          );
        }
        cur = cur[idx];
        continue;
      }
      if (cur[p] === undefined || cur[p] === null) cur[p] = {};
      if (typeof cur[p] !== 'object') {
        throw new ConfigError(
          parts.slice(0, i + 1).join('.'),
          'a dict or list to set a key in',
          formatValue(cur[p]),
        );
      }
      cur = cur[p];
    }
    const last = parts[parts.length - 1];
    if (Array.isArray(cur)) {
      const idx = Number(last);
      if (!Number.isInteger(idx) || idx < 0 || idx > cur.length)
        throw new ConfigError(key, `an index up to ${cur.length}`, JSON.stringify(last));
      cur[idx] = value;
    } else {
      cur[last] = value;
    }
  }
  return out;
}

/**
 * Imports the modules a config lists in `customImports` (mmengine's
 * `custom_imports`): paths relative to the config file, or package names.
 * Importing registers the user's components, so the config can name them.
 *
 * @example
 * ```ts
 * // my_config.ts: export default { customImports: ['./my_backbone.ts'], model: { type: 'MyBackbone' } };
 * ```
 */
export async function importCustomModules(cfg: Config, configFile: string): Promise<void> {
  const spec = cfg.customImports as unknown;
  if (spec === undefined) return;
  const list = Array.isArray(spec)
    ? spec
    : isDict(spec) && Array.isArray(spec.imports)
      ? spec.imports
      : null;
  if (!list || !list.every((x) => typeof x === 'string')) {
    throw new ConfigError(
      'customImports',
      'a list of module paths',
      formatValue(spec),
      undefined,
      configFile,
    );
  }
  for (const m of list) {
    const target =
      m.startsWith('.') || path.isAbsolute(m)
        ? pathToFileURL(path.resolve(path.dirname(configFile), m)).href
        : m;
    try {
      await import(target);
    } catch (e) {
      throw new Error(
        `config ${configFile}: customImports '${m}' failed to import: ${(e as Error).message}`,
        { cause: e },
      );
    }
  }
}

/** Options of {@link loadConfig}. */
/** A config file's name: TS, JS (ESM) or JSON, as {@link loadConfig} reads them. */
export const CONFIG_FILE_RE = /\.(ts|mts|js|mjs|json)$/;

export interface LoadConfigOptions {
  /** Overrides: `['a.b=1']` strings or a dotted-key map. */
  cfgOptions?: string[] | Record<string, unknown>;
  /** Check top-level keys against {@link KNOWN_TOP_LEVEL_KEYS} (default true). */
  validate?: boolean;
  /**
   * Allow `customImports` where a config is data only: in a JSON config (or
   * one of its `_base_` files) and in the overrides (default false: an error).
   * A TS/JS config is code and may always import.
   */
  allowImports?: boolean;
}

async function readConfigFile(
  file: string,
  chain: string[],
  allowImports: boolean,
): Promise<Config> {
  const abs = path.resolve(file);
  if (chain.includes(abs))
    throw new Error(`config ${file}: _base_ cycle: ${[...chain, abs].join(' -> ')}`);
  if (!fs.existsSync(abs)) {
    const from = chain.length ? ` (a _base_ of ${chain[chain.length - 1]})` : '';
    throw new Error(`config file not found: ${file}${from}`);
  }
  const ext = path.extname(abs);
  let raw: unknown;
  if (ext === '.json') {
    try {
      raw = JSON.parse(fs.readFileSync(abs, 'utf8'));
    } catch (e) {
      throw new Error(`config ${file}: invalid JSON: ${(e as Error).message}`, { cause: e });
    }
  } else if (['.ts', '.mts', '.js', '.mjs'].includes(ext)) {
    // No cache-busting query: vitest would then load a .ts config as plain JS.
    const url = pathToFileURL(abs).href;
    let mod: { default?: unknown; config?: unknown };
    try {
      mod = (await import(url)) as typeof mod;
    } catch (e) {
      const from = chain.length ? ` (a _base_ of ${chain[chain.length - 1]})` : '';
      throw new Error(
        `config ${file}${from}: failed to load: ${e instanceof Error ? e.message : String(e)}`,
        { cause: e },
      );
    }
    raw = mod.default ?? mod.config;
    if (raw === undefined)
      throw new Error(`config ${file}: export the config as the default export`);
  } else {
    throw new Error(`config ${file}: unsupported extension '${ext}' (use .ts, .js, .mjs or .json)`);
  }
  assertNoForbiddenKeys(raw, '', file);
  if (!isDict(raw)) throw new Error(`config ${file}: expected an object, got ${formatValue(raw)}`);
  if (ext === '.json' && raw.customImports !== undefined && !allowImports)
    throw new ConfigError(
      'customImports',
      'no customImports in a JSON config (JSON configs are data only: pass --allow-imports to import the modules it names)',
      formatValue(raw.customImports),
      undefined,
      file,
    );
  const own = cloneConfig(raw);
  const bases = own._base_;
  delete own._base_;
  if (bases === undefined) return own;
  const list = Array.isArray(bases) ? bases : [bases];
  let merged: Config = {};
  for (const b of list) {
    if (typeof b !== 'string')
      throw new ConfigError(
        '_base_',
        'a file path or a list of paths',
        formatValue(b),
        undefined,
        file,
      );
    const baseCfg = await readConfigFile(
      path.resolve(path.dirname(abs), b),
      [...chain, abs],
      allowImports,
    );
    const dup = Object.keys(baseCfg).filter((k) => k in merged);
    if (dup.length) throw new Error(`config ${file}: _base_ files both define ${dup.join(', ')}`);
    merged = { ...merged, ...baseCfg };
  }
  return mergeConfig(merged, own);
}

/**
 * Top-level keys a config may have (mmdetection's names, camelCased). A key
 * starting with `_` is checked like any other: `_base_` is read (and removed)
 * when the file is loaded, `_delete_` when dicts are merged.
 */
export const KNOWN_TOP_LEVEL_KEYS = [
  'model',
  'trainDataloader',
  'valDataloader',
  'testDataloader',
  'trainCfg',
  'valCfg',
  'testCfg',
  'valEvaluator',
  'testEvaluator',
  'optimWrapper',
  'paramScheduler',
  'defaultHooks',
  'customHooks',
  'envCfg',
  'randomness',
  'backend',
  'workDir',
  'loadFrom',
  'resume',
  'logLevel',
  'logProcessor',
  'visualizer',
  'defaultScope',
  'datasetType',
  'dataRoot',
  'classes',
  'testPipeline',
  'metainfo',
  'autoScaleLr',
  'seed',
  'deterministic',
  'experimentName',
  'customImports',
] as const;

/** Checks the top-level keys; an unknown one is a ConfigError with the closest known keys. */
export function validateTopLevel(cfg: Config, file?: string): void {
  for (const k of Object.keys(cfg)) {
    if ((KNOWN_TOP_LEVEL_KEYS as readonly string[]).includes(k)) continue;
    const near = closestNames(k, KNOWN_TOP_LEVEL_KEYS);
    const hint = near.length ? `; did you mean ${near.map((n) => `'${n}'`).join(', ')}?` : '';
    throw new ConfigError(k, `a known top-level key${hint}`, formatValue(cfg[k]), undefined, file);
  }
}

/**
 * Loads a config file with its `_base_` chain and overrides.
 *
 * @example
 * ```ts
 * const cfg = await loadConfig('configs/retinanet/retinanet_r18_fpn_shapes.ts', {
 *   cfgOptions: ['trainCfg.maxEpochs=2', 'optimWrapper.optimizer.lr=0.005'],
 * });
 * cfg.trainCfg.maxEpochs; // => 2
 * ```
 */
export async function loadConfig(file: string, options: LoadConfigOptions = {}): Promise<Config> {
  const allowImports = options.allowImports ?? false;
  let cfg = await readConfigFile(file, [], allowImports);
  if (options.cfgOptions) {
    const map = Array.isArray(options.cfgOptions)
      ? parseCfgOptions(options.cfgOptions)
      : options.cfgOptions;
    const imp = Object.keys(map).find((k) => k.split('.')[0] === 'customImports');
    if (imp && !allowImports)
      throw new ConfigError(
        `--cfg-options ${imp}`,
        'no customImports in an override (pass --allow-imports to import the modules it names)',
        formatValue(map[imp]),
      );
    cfg = applyCfgOptions(cfg, map);
  }
  if (options.validate ?? true) validateTopLevel(cfg, file);
  await importCustomModules(cfg, path.resolve(file));
  return cfg;
}

/** JSON form of a config: class/function `type`s become their names. */
export function configToJSON(cfg: Config): string {
  return JSON.stringify(
    cfg,
    (_k, v) => {
      if (typeof v === 'function') return v.name;
      if (typeof v === 'number' && !Number.isFinite(v)) return String(v);
      return v;
    },
    2,
  );
}

/**
 * Writes the resolved config as JSON (loadable again with {@link loadConfig}),
 * atomically: a link at `file` is replaced, never written through.
 */
export function dumpConfig(cfg: Config, file: string): void {
  writeFileAtomic(file, `${configToJSON(cfg)}\n`);
}
