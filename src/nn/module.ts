/**
 * A small module system over tfjs-core in the spirit of `torch.nn.Module`:
 * a tree of modules owning parameters (`tf.Variable`, trainable) and buffers
 * (`tf.Variable`, not trainable, e.g. BatchNorm running statistics), a
 * train/eval mode, and a state dict whose names follow the tree
 * (`backbone.layer1.0.conv1.weight`).
 */
import * as tf from '@tensorflow/tfjs-core';

/** What {@link Module.loadStateDict} did not load. */
export interface LoadReport {
  /** Names the module has that the state dict lacks. */
  missingKeys: string[];
  /** Names in the state dict that the module lacks. */
  unexpectedKeys: string[];
  /** Names present in both whose shapes differ (not loaded), as `name: [ours] vs [theirs]`. */
  mismatchedKeys: string[];
}

/** A tensor source for a state dict: a map or a plain record. */
export type StateDict = Map<string, tf.Tensor> | Record<string, tf.Tensor>;

let variableCounter = 0;
const uniqueVarName = (name: string): string => `tfdet/${name}/${variableCounter++}`;

/**
 * Base class of every layer and model. Subclasses create their children with
 * {@link addModule}, their weights with {@link addParameter} and their state
 * with {@link addBuffer}, and implement `forward`.
 *
 * @example
 * ```ts
 * class Affine extends Module {
 *   w = this.addParameter('weight', tf.ones([3]));
 *   forward(x: tf.Tensor) { return tf.mul(x, this.w); }
 * }
 * const m = new Affine();
 * m.namedParameters().map(([n]) => n); // => ['weight']
 * ```
 */
export abstract class Module {
  /** Whether the module is in training mode (see {@link train}). */
  training = true;
  private readonly params = new Map<string, tf.Variable>();
  private readonly buffers = new Map<string, tf.Variable>();
  private readonly modules = new Map<string, Module>();

  abstract forward(...args: any[]): any;

  /** Registers a trainable weight under `name` and returns its variable. */
  protected addParameter(name: string, value: tf.Tensor, trainable = true): tf.Variable {
    this.checkName(name);
    const v = tf.variable(value, trainable, uniqueVarName(name));
    value.dispose(); // the variable holds its own reference to the data
    this.params.set(name, v);
    return v;
  }

  /** Registers non-trainable state under `name` (saved in the state dict). */
  protected addBuffer(name: string, value: tf.Tensor): tf.Variable {
    this.checkName(name);
    const v = tf.variable(value, false, uniqueVarName(name));
    value.dispose();
    this.buffers.set(name, v);
    return v;
  }

  /** Registers a child module under `name` and returns it. */
  addModule<M extends Module>(name: string, module: M): M {
    this.checkName(name);
    this.modules.set(name, module);
    return module;
  }

  private checkName(name: string): void {
    if (!name || name.includes('.')) throw new Error(`invalid module member name '${name}'`);
    if (this.params.has(name) || this.buffers.has(name) || this.modules.has(name)) {
      throw new Error(`'${name}' is already a member of ${this.constructor.name}`);
    }
  }

  /** Direct children with their names. */
  namedChildren(): [string, Module][] {
    return [...this.modules.entries()];
  }

  /** This module and every descendant, depth first, with dotted names ('' for this one). */
  namedModules(prefix = ''): [string, Module][] {
    const out: [string, Module][] = [[prefix, this]];
    for (const [n, m] of this.modules) out.push(...m.namedModules(prefix ? `${prefix}.${n}` : n));
    return out;
  }

  /** Every parameter of the tree with its dotted name. */
  namedParameters(prefix = ''): [string, tf.Variable][] {
    const out: [string, tf.Variable][] = [];
    for (const [mp, m] of this.namedModules(prefix)) {
      for (const [n, p] of m.params) out.push([mp ? `${mp}.${n}` : n, p]);
    }
    return out;
  }

  /** Every buffer of the tree with its dotted name. */
  namedBuffers(prefix = ''): [string, tf.Variable][] {
    const out: [string, tf.Variable][] = [];
    for (const [mp, m] of this.namedModules(prefix)) {
      for (const [n, b] of m.buffers) out.push([mp ? `${mp}.${n}` : n, b]);
    }
    return out;
  }

  /** All parameters. */
  parameters(): tf.Variable[] {
    return this.namedParameters().map(([, p]) => p);
  }

  /** Parameters that an optimizer should update (not frozen). */
  trainableParameters(): [string, tf.Variable][] {
    return this.namedParameters().filter(([, p]) => p.trainable);
  }

  /** Number of parameter elements (all, or trainable only). */
  numParameters(trainableOnly = false): number {
    return this.namedParameters()
      .filter(([, p]) => !trainableOnly || p.trainable)
      .reduce((s, [, p]) => s + p.size, 0);
  }

  /**
   * Sets training mode on the whole tree (BatchNorm uses batch statistics and
   * updates its running ones; Dropout drops). Subclasses may override
   * (e.g. `normEval` keeps BN in eval) and must call `super.train(mode)`.
   */
  train(mode = true): this {
    this.training = mode;
    for (const m of this.modules.values()) m.train(mode);
    return this;
  }

  /** `train(false)`. */
  eval(): this {
    return this.train(false);
  }

  /**
   * Freezes (or unfreezes) every parameter whose name starts with one of
   * `prefixes` (`'backbone.layer1'` matches `backbone.layer1.0.conv1.weight`,
   * not `backbone.layer10...`). Returns the names affected.
   */
  freeze(prefixes: string | string[], frozen = true): string[] {
    const list = Array.isArray(prefixes) ? prefixes : [prefixes];
    const hit: string[] = [];
    for (const [n, p] of this.namedParameters()) {
      if (list.some((pre) => pre === '' || n === pre || n.startsWith(`${pre}.`))) {
        p.trainable = !frozen;
        hit.push(n);
      }
    }
    return hit;
  }

  /** Parameters and buffers by name (the live variables, not copies). */
  stateDict(): Map<string, tf.Variable> {
    return new Map([...this.namedParameters(), ...this.namedBuffers()]);
  }

  /**
   * Copies tensors into the module's parameters and buffers by name. With
   * `strict` (the default) any missing, unexpected or mismatched key is an
   * error listing them all; otherwise they are reported and skipped.
   *
   * @example
   * ```ts
   * class Affine extends Module {
   *   w = this.addParameter('weight', tf.zeros([3]));
   *   forward(x: tf.Tensor) { return tf.mul(x, this.w); }
   * }
   * const model = new Affine();
   * const r = model.loadStateDict({ 'weight': tf.ones([3]), 'extra': tf.zeros([1]) }, { strict: false });
   * // => { missingKeys: [], unexpectedKeys: ['extra'], mismatchedKeys: [] }
   * ```
   */
  loadStateDict(sd: StateDict, options: { strict?: boolean; prefix?: string } = {}): LoadReport {
    const strict = options.strict ?? true;
    const entries = sd instanceof Map ? [...sd.entries()] : Object.entries(sd);
    const prefix = options.prefix ? `${options.prefix}.` : '';
    const source = new Map<string, tf.Tensor>();
    for (const [k, v] of entries) if (k.startsWith(prefix)) source.set(k.slice(prefix.length), v);
    const own = this.stateDict();
    const report: LoadReport = { missingKeys: [], unexpectedKeys: [], mismatchedKeys: [] };
    const toAssign: [tf.Variable, tf.Tensor][] = [];
    for (const [name, variable] of own) {
      const t = source.get(name);
      if (!t) {
        report.missingKeys.push(name);
      } else if (!tf.util.arraysEqual(t.shape, variable.shape)) {
        report.mismatchedKeys.push(`${name}: [${variable.shape}] vs [${t.shape}]`);
      } else {
        toAssign.push([variable, t]);
      }
    }
    for (const name of source.keys()) if (!own.has(name)) report.unexpectedKeys.push(name);
    if (
      strict &&
      (report.missingKeys.length || report.unexpectedKeys.length || report.mismatchedKeys.length)
    ) {
      throw new Error(`loadStateDict into ${this.constructor.name}: ${formatLoadReport(report)}`);
    }
    for (const [variable, t] of toAssign) {
      variable.assign(t.dtype === variable.dtype ? t : tf.cast(t, variable.dtype));
    }
    return report;
  }

  /** Frees every parameter and buffer of the tree. */
  dispose(): void {
    for (const [, v] of this.stateDict()) v.dispose();
  }
}

/**
 * Fails unless `report` (a non-strict {@link Module.loadStateDict} of
 * `checkpoint` into the model of `target`) covered every parameter and
 * buffer: the error lists a few missing and mismatched (shape) keys, then
 * their counts. Keys the model does not have are allowed (a checkpoint may
 * hold more).
 *
 * @example
 * ```ts
 * assertFullLoad({ missingKeys: [], unexpectedKeys: ['extra'], mismatchedKeys: [] }, 'a.safetensors', 'cfg.ts');
 * // => undefined
 * assertFullLoad({ missingKeys: ['head.w', 'head.b'], unexpectedKeys: [], mismatchedKeys: ['conv.w: [3] vs [4]'] }, 'a.safetensors', 'cfg.ts');
 * // throws Error: a.safetensors does not fit the model of cfg.ts: 2 missing keys (head.w, head.b), 1 mismatched shape (conv.w: [3] vs [4]) (another model's checkpoint?)
 * ```
 */
export function assertFullLoad(report: LoadReport, checkpoint: string, target: string): void {
  const few = (xs: string[]): string =>
    xs.length > 3 ? `${xs.slice(0, 3).join(', ')}, ... ${xs.length - 3} more` : xs.join(', ');
  const parts: string[] = [];
  const m = report.missingKeys;
  const x = report.mismatchedKeys;
  if (m.length) parts.push(`${m.length} missing key${m.length === 1 ? '' : 's'} (${few(m)})`);
  if (x.length) parts.push(`${x.length} mismatched shape${x.length === 1 ? '' : 's'} (${few(x)})`);
  if (parts.length)
    throw new Error(
      `${checkpoint} does not fit the model of ${target}: ${parts.join(', ')} (another model's checkpoint?)`,
    );
}

/** One line per non-empty category of a {@link LoadReport}. */
export function formatLoadReport(r: LoadReport): string {
  const parts: string[] = [];
  const list = (xs: string[]): string =>
    xs.length > 8 ? `${xs.slice(0, 8).join(', ')}, ... (${xs.length} in all)` : xs.join(', ');
  if (r.missingKeys.length) parts.push(`missing keys: ${list(r.missingKeys)}`);
  if (r.unexpectedKeys.length) parts.push(`unexpected keys: ${list(r.unexpectedKeys)}`);
  if (r.mismatchedKeys.length) parts.push(`shape mismatch: ${list(r.mismatchedKeys)}`);
  return parts.join('; ') || 'all keys matched';
}
