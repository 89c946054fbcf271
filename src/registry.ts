/**
 * Registries map type names to classes or factory functions so that every
 * component can be built from a plain config object `{type: 'Name', ...args}`.
 *
 * The design follows mmengine's `Registry`: a registry has a name and an
 * optional scope; child registries (other projects, user code) are reached
 * with a `'scope.Name'` key and fall back to their parent for names they do
 * not define.
 */
import type { ZodType } from 'zod';
import { ConfigError, formatValue, validateArgs } from './config/validate.js';
import { closestNames } from './utils/names.js';
import { FORBIDDEN_KEY_EXPECTED, isForbiddenKey, isPlainObject } from './utils/plain.js';

export { closestNames };

/** A registered class (constructed with `new`) or factory function. */
export type Buildable = (abstract new (...args: any[]) => unknown) | ((...args: any[]) => unknown);

/** A config object naming a registered type. */
export interface TypedConfig {
  type: string | Buildable;
  [key: string]: unknown;
}

interface Entry {
  target: Buildable;
  schema?: ZodType;
  unbuilt?: readonly string[];
}

/** Options of {@link Registry.register}. */
export interface RegisterOptions {
  /** Name(s) to register under; defaults to the class or function name. */
  name?: string | string[];
  /** Replace an existing entry of the same name instead of failing. */
  force?: boolean;
  /**
   * Schema of the arguments (everything but `type`). When given (or when the
   * class has a static `configSchema`), `build` validates the arguments and
   * reports the full key path of a bad or unknown key.
   */
  schema?: ZodType;
  /**
   * Argument names whose nested `{type}` configs are passed on unbuilt (the
   * component builds them itself, e.g. a detector that adds `trainCfg` to its
   * head's config first). Defaults to the target's static `unbuiltArgs`.
   */
  unbuilt?: readonly string[];
}

/** Options of {@link Registry.build}. */
export interface BuildOptions {
  /** Arguments used where the config does not set them (like mmengine's `default_args`). */
  defaults?: Record<string, unknown>;
  /** Key path of this config inside the whole config, used in error messages (e.g. `model.backbone`). */
  path?: string;
}

/** Thrown when a type name is not registered; the message lists the closest names. */
export class UnknownTypeError extends Error {
  constructor(
    readonly registry: string,
    readonly typeName: string,
    readonly suggestions: string[],
    readonly path?: string,
  ) {
    const where = path ? `${path}.type: ` : '';
    const hint = suggestions.length
      ? ` Did you mean ${suggestions.map((s) => `'${s}'`).join(', ')}?`
      : '';
    super(`${where}'${typeName}' is not registered in the ${registry} registry.${hint}`);
    this.name = 'UnknownTypeError';
  }
}

/** Root registries, so a nested type unknown to all of them can be reported. */
const ROOTS: Registry[] = [];

/** The constructions {@link Registry.build} has in progress, innermost last. */
const BUILDING: { target: Buildable; path: string }[] = [];

/**
 * Argument names that stay configs in a nested build: mmdetection's `*_cfg`
 * (normCfg, actCfg, trainCfg, testCfg, ...) and `init` are settings read by
 * their owner, not components.
 */
const isConfigKey = (key: string): boolean => key.endsWith('Cfg') || key === 'init';

const isClass = (fn: Buildable): boolean =>
  /^class[\s{]/.test(Function.prototype.toString.call(fn));

/** A `{type: ...}` object, i.e. a config of some registered component. */
export const isTypedConfig = (v: unknown): v is TypedConfig =>
  isPlainObject(v) && (typeof v.type === 'string' || typeof v.type === 'function');

/**
 * A name -> class/function table that builds components from config objects.
 *
 * @example
 * ```ts
 * const MODELS = new Registry('model');
 * MODELS.register({ name: 'Linear1' })(class Linear1 { constructor(public cfg: { inFeatures: number }) {} });
 * const m = MODELS.build({ type: 'Linear1', inFeatures: 4 }); // => Linear1 { cfg: { inFeatures: 4 } }
 *
 * const MINE = new Registry('model', { parent: MODELS, scope: 'myproj' });
 * MINE.register({ name: 'MyHead' })(class MyHead {});
 * MODELS.get('myproj.MyHead'); // => class MyHead
 * ```
 */
export class Registry<T = unknown> {
  readonly name: string;
  readonly scope: string;
  readonly parent?: Registry;
  private readonly entries = new Map<string, Entry>();
  private readonly childRegistries = new Map<string, Registry>();

  constructor(name: string, options: { parent?: Registry; scope?: string } = {}) {
    this.name = name;
    this.scope = options.scope ?? 'tfdet';
    if (options.parent) {
      if (!options.scope) throw new Error(`Registry '${name}': a child registry needs a scope.`);
      if (options.parent.childRegistries.has(this.scope)) {
        throw new Error(
          `Registry '${options.parent.name}' already has a child with scope '${this.scope}'.`,
        );
      }
      this.parent = options.parent;
      options.parent.childRegistries.set(this.scope, this);
    } else {
      ROOTS.push(this);
    }
  }

  /**
   * The key path (`model.rpnHead`) at which {@link Registry.build} is
   * constructing `target` right now; undefined when `target` is not being
   * built by a registry (constructed with `new`). A component calls it in its
   * constructor with `new.target`, so that its errors name the keys of the
   * config the user wrote (a subclass built at `model.rpnHead` reports
   * `model.rpnHead.anchorGenerator`, not its base class's guess).
   *
   * @example
   * ```ts
   * class PathHead {
   *   at: string;
   *   constructor() {
   *     this.at = Registry.buildPath(new.target) ?? 'bboxHead'; // (new.target is undefined in a field initializer)
   *   }
   * }
   * MODELS.register(PathHead, { name: 'PathHead' });
   * MODELS.build<PathHead>({ type: 'PathHead' }, { path: 'model.rpnHead' }).at; // => 'model.rpnHead'
   * new PathHead().at; // => 'bboxHead'
   * ```
   */
  static buildPath(target: abstract new (...args: any[]) => unknown): string | undefined {
    const top = BUILDING[BUILDING.length - 1];
    return top && top.target === target ? top.path : undefined;
  }

  /** Child registries by scope. */
  get children(): ReadonlyMap<string, Registry> {
    return this.childRegistries;
  }

  /** Names registered directly in this registry (not its parent or children). */
  keys(): string[] {
    return [...this.entries.keys()];
  }

  /**
   * Register a class or function. Called with a target, it registers it at
   * once and returns it; called without, it returns a decorator (works as a
   * standard TC39 class decorator and as a legacy `experimentalDecorators` one).
   *
   * @example
   * ```ts
   * const reg = new Registry('demo');
   * class MyNeck {}
   * reg.register(MyNeck); // => class MyNeck   (registered under its class name)
   * reg.register(MyNeck, { name: 'Neck2', force: true });
   * @reg.register() class MyHead {}                  // decorator form
   * reg.keys(); // => ['MyNeck', 'Neck2', 'MyHead']
   * ```
   */
  register<C extends Buildable>(target: C, options?: RegisterOptions): C;
  register(options?: RegisterOptions): <C extends Buildable>(target: C, context?: unknown) => C;
  register(a?: Buildable | RegisterOptions, b?: RegisterOptions): unknown {
    if (typeof a === 'function') {
      this.add(a, b ?? {});
      return a;
    }
    const options = a ?? {};
    return <C extends Buildable>(target: C, context?: unknown): C => {
      const ctxName = (context as { name?: unknown } | undefined)?.name;
      this.add(target, {
        ...options,
        name: options.name ?? (typeof ctxName === 'string' ? ctxName : undefined),
      });
      return target;
    };
  }

  private add(target: Buildable, options: RegisterOptions): void {
    const names =
      options.name === undefined
        ? [target.name]
        : Array.isArray(options.name)
          ? options.name
          : [options.name];
    for (const n of names) {
      if (!n)
        throw new Error(
          `Registry '${this.name}': cannot register an anonymous target without a name.`,
        );
      if (n.includes('.'))
        throw new Error(
          `Registry '${this.name}': name '${n}' must not contain '.' (it separates scopes).`,
        );
      if (this.entries.has(n) && !options.force) {
        throw new Error(
          `'${n}' is already registered in the ${this.name} registry (pass {force: true} to replace it).`,
        );
      }
      const statics = target as { configSchema?: ZodType; unbuiltArgs?: readonly string[] };
      this.entries.set(n, {
        target,
        schema: options.schema ?? statics.configSchema,
        unbuilt: options.unbuilt ?? statics.unbuiltArgs,
      });
    }
  }

  /** Whether `key` (plain or `'scope.Name'`) resolves. */
  has(key: string): boolean {
    return this.lookup(key) !== undefined;
  }

  /**
   * The class or function registered as `key`. A `'scope.Name'` key is looked
   * up in the child (or root) registry with that scope; a plain name is looked
   * up here, then in the parents.
   *
   * @throws UnknownTypeError naming the registry and the closest names.
   */
  get(key: string): T {
    const entry = this.lookup(key);
    if (!entry)
      throw new UnknownTypeError(
        this.name,
        key,
        closestNames(key.split('.').pop()!, this.allNames()),
      );
    return entry.target as T;
  }

  private lookup(key: string): Entry | undefined {
    const dot = key.indexOf('.');
    if (dot >= 0) {
      const scope = key.slice(0, dot);
      const rest = key.slice(dot + 1);
      const root = this.root();
      const reg = scope === this.scope ? this : root.findScope(scope);
      return reg?.lookup(rest);
    }
    for (let r: Registry | undefined = this; r; r = r.parent) {
      const e = r.entries.get(key);
      if (e) return e;
    }
    return undefined;
  }

  private root(): Registry {
    let r: Registry = this;
    while (r.parent) r = r.parent;
    return r;
  }

  private findScope(scope: string): Registry | undefined {
    if (this.scope === scope) return this;
    for (const c of this.childRegistries.values()) {
      const found = c.findScope(scope);
      if (found) return found;
    }
    return undefined;
  }

  /** Every name reachable from here, scoped names of children included. */
  private allNames(): string[] {
    const names = new Set<string>();
    for (let r: Registry | undefined = this; r; r = r.parent)
      for (const k of r.entries.keys()) names.add(k);
    const visit = (reg: Registry): void => {
      for (const c of reg.childRegistries.values()) {
        for (const k of c.entries.keys()) names.add(`${c.scope}.${k}`);
        visit(c);
      }
    };
    visit(this.root());
    return [...names];
  }

  /**
   * Build a component from `{type, ...args}`. Nested plain objects and arrays
   * in the arguments are walked: a nested `{type}` whose type this registry
   * knows is built first (depth first), so a model config builds its whole
   * tree in one call; one that another registry knows (an assigner for
   * TASK_UTILS, a transform) is passed on as config for its owner to build; one
   * that no registry knows is an {@link UnknownTypeError}. Arguments listed in
   * the entry's `unbuilt`, `init` and those named `*Cfg` (normCfg, trainCfg, ...)
   * stay configs. Arguments are
   * validated against the entry's schema; errors carry the full key path.
   *
   * @example
   * ```ts
   * MODELS.build({ type: 'RetinaNet', backbone: { type: 'ResNet', depth: 18 } }, { path: 'model' });
   * // throws ConfigError: model.bboxHead: expected object (model type 'RetinaNet'), got undefined (missing)
   * MODELS.build({ type: 'ResNt' }); // throws UnknownTypeError: model.type: 'ResNt' is not registered in the model registry. Did you mean 'ResNet'?
   * ```
   */
  build<R = T>(cfg: TypedConfig | Record<string, unknown>, options: BuildOptions = {}): R {
    const path = options.path ?? this.name;
    if (!isPlainObject(cfg)) {
      throw new ConfigError(path, 'a config object {type, ...}', formatValue(cfg));
    }
    const merged: Record<string, unknown> = { ...(options.defaults ?? {}), ...cfg };
    const type = merged.type;
    let entry: Entry | undefined;
    let typeName: string;
    if (typeof type === 'function') {
      entry = { target: type as Buildable };
      typeName = (type as Buildable).name;
    } else if (typeof type === 'string') {
      entry = this.lookup(type);
      typeName = type;
      if (!entry)
        throw new UnknownTypeError(
          this.name,
          type,
          closestNames(type.split('.').pop()!, this.allNames()),
          path,
        );
    } else {
      throw new ConfigError(
        `${path}.type`,
        `a registered ${this.name} type name`,
        formatValue(type),
      );
    }
    const { type: _type, ...rawArgs } = merged;
    for (const k of Object.keys(rawArgs))
      if (isForbiddenKey(k))
        throw new ConfigError(`${path}.${k}`, FORBIDDEN_KEY_EXPECTED, JSON.stringify(k));
    const args: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(rawArgs)) {
      args[k] =
        entry.unbuilt?.includes(k) || isConfigKey(k) ? v : this.buildChildren(v, `${path}.${k}`);
    }
    const validated = entry.schema
      ? validateArgs(entry.schema, args, path, `${this.name} type '${typeName}'`)
      : args;
    BUILDING.push({ target: entry.target, path });
    try {
      return (
        isClass(entry.target)
          ? new (entry.target as new (a: unknown) => unknown)(validated)
          : (entry.target as (a: unknown) => unknown)(validated)
      ) as R;
    } catch (e) {
      if (e instanceof ConfigError || e instanceof UnknownTypeError) throw e;
      if (e instanceof Error && typeof (e as { file?: unknown }).file === 'string') {
        // A data error names its own file and field: it stays first, the key path follows.
        e.message = `${e.message} (loading ${path}, a ${this.name} type '${typeName}')`;
        throw e;
      }
      const err = e as Error;
      throw new ConfigError(
        path,
        `valid arguments for ${this.name} type '${typeName}'`,
        err.message,
        err,
      );
    } finally {
      BUILDING.pop();
    }
  }

  private buildChildren(value: unknown, path: string): unknown {
    if (Array.isArray(value)) return value.map((v, i) => this.buildChildren(v, `${path}.${i}`));
    if (!isPlainObject(value)) return value;
    if (isTypedConfig(value)) {
      if (typeof value.type === 'function' || this.lookup(value.type))
        return this.build(value, { path });
      const type = value.type;
      if (!ROOTS.some((r) => r.lookup(type))) {
        const names = new Set([...this.allNames(), ...ROOTS.flatMap((r) => r.allNames())]);
        throw new UnknownTypeError(
          this.name,
          type,
          closestNames(type.split('.').pop()!, names),
          path,
        );
      }
      return value; // another registry's component: its owner builds it
    }
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      if (isForbiddenKey(k))
        throw new ConfigError(`${path}.${k}`, FORBIDDEN_KEY_EXPECTED, JSON.stringify(k));
      out[k] = isConfigKey(k) ? v : this.buildChildren(v, `${path}.${k}`);
    }
    return out;
  }
}

/** Models: backbones, necks, heads, detectors, losses, layers. */
export const MODELS = new Registry('model');
/** Datasets. */
export const DATASETS = new Registry('dataset');
/** Data transforms of the pipeline. */
export const TRANSFORMS = new Registry('transform');
/** Evaluation metrics. */
export const METRICS = new Registry('metric');
/** Runner hooks. */
export const HOOKS = new Registry('hook');
/** Optimizers. */
export const OPTIMIZERS = new Registry('optimizer');
/** Learning-rate and momentum schedulers. */
export const PARAM_SCHEDULERS = new Registry('param scheduler');
/** Assigners, samplers, box coders, prior generators. */
export const TASK_UTILS = new Registry('task util');
/** Training/validation/test loops. */
export const LOOPS = new Registry('loop');
/** Weight initialisers (`init: {type: 'Kaiming'}`). */
export const WEIGHT_INITIALIZERS = new Registry('weight initializer');
