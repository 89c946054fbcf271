/**
 * OptimWrapper (mmengine's name): builds the optimizer over a model's
 * trainable parameters with paramwise multipliers, clips gradients by their
 * global norm and applies the update.
 */
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { Module } from '../../nn/index.js';
import { OPTIMIZERS } from '../../registry.js';
import type { Optimizer, OptimizerMeta, ParamEntry } from './optimizers.js';

/** mmengine's `paramwise_cfg`, camelCased. */
export interface ParamwiseCfg {
  /** Learning-rate multiplier of biases (not of norm layers). */
  biasLrMult?: number;
  /** Weight-decay multiplier of biases (not of norm layers). */
  biasDecayMult?: number;
  /** Weight-decay multiplier of the weight and bias of normalisation layers. */
  normDecayMult?: number;
  /**
   * `{key: {lrMult, decayMult}}`: a parameter whose full name contains `key`
   * takes these multipliers; the longest matching key wins (mmengine's rule),
   * and then the bias/norm multipliers do not apply.
   */
  customKeys?: Record<string, { lrMult?: number; decayMult?: number }>;
}

const paramwiseSchema = z.strictObject({
  biasLrMult: z.number().min(0).optional(),
  biasDecayMult: z.number().min(0).optional(),
  normDecayMult: z.number().min(0).optional(),
  customKeys: z
    .record(
      z.string(),
      z.strictObject({
        lrMult: z.number().min(0).optional(),
        decayMult: z.number().min(0).optional(),
      }),
    )
    .optional(),
});

const optimWrapperSchema = z.strictObject({
  optimizer: z.looseObject({ type: z.unknown() }),
  clipGrad: z
    .strictObject({ maxNorm: z.number().positive(), normType: z.literal(2).optional() })
    .nullable()
    .optional(),
  paramwiseCfg: paramwiseSchema.nullable().optional(),
  accumulativeCounts: z.literal(1).optional(),
});
export type OptimWrapperCfg = z.infer<typeof optimWrapperSchema>;

const isNormModule = (m: Module): boolean =>
  /(Batch|Group|Layer|Instance|Sync.*)Norm/.test(m.constructor.name);

/**
 * The optimizer entries of a model's trainable parameters with their
 * multipliers. Frozen parameters (`trainable === false`) are left out.
 *
 * @example
 * ```ts
 * const model = MODELS.build<ImageClassifier>({ type: 'ImageClassifier', backbone: { type: 'ResNet', depth: 18 },
 *   head: { type: 'LinearClsHead', numClasses: 10, inChannels: 512 } });
 * // a custom key's multipliers win over normDecayMult, as in mmengine
 * paramEntries(model, { customKeys: { backbone: { lrMult: 0.1 } }, normDecayMult: 0 }).slice(0, 2);
 * // => [{ name: 'backbone.conv1.weight', lrMult: 0.1, decayMult: 1, ... }, { name: 'backbone.bn1.weight', lrMult: 0.1, decayMult: 1, ... }]
 * ```
 */
export function paramEntries(model: Module, cfg: ParamwiseCfg = {}): ParamEntry[] {
  const owners = new Map(model.namedModules());
  const keys = Object.keys(cfg.customKeys ?? {})
    .sort()
    .sort((a, b) => b.length - a.length);
  const out: ParamEntry[] = [];
  for (const [name, variable] of model.trainableParameters()) {
    const dot = name.lastIndexOf('.');
    const owner = owners.get(dot < 0 ? '' : name.slice(0, dot));
    const leaf = name.slice(dot + 1);
    let lrMult = 1;
    let decayMult = 1;
    const key = keys.find((k) => name.includes(k));
    if (key !== undefined) {
      lrMult = cfg.customKeys![key].lrMult ?? 1;
      decayMult = cfg.customKeys![key].decayMult ?? 1;
    } else {
      const norm = owner !== undefined && isNormModule(owner);
      if (leaf === 'bias' && !norm) {
        lrMult = cfg.biasLrMult ?? 1;
        decayMult = cfg.biasDecayMult ?? 1;
      } else if (norm) {
        decayMult = cfg.normDecayMult ?? 1;
      }
    }
    out.push({ name, variable, lrMult, decayMult });
  }
  return out;
}

/** The global gradient norm is NaN or infinite (checked at every step); the update is not applied. */
export class NonFiniteGradientError extends Error {
  constructor(readonly norm: number) {
    super(`the gradient norm is ${norm} (the loss terms were finite)`);
    this.name = 'NonFiniteGradientError';
  }
}

/** What one {@link OptimWrapper.update} did. */
export interface UpdateInfo {
  /** Global 2-norm of the gradients before clipping (reported when clipping is on; checked always). */
  gradNorm?: number;
}

/**
 * Optimizer plus gradient clipping and paramwise multipliers.
 *
 * @example
 * ```ts
 * const ow = buildOptimWrapper({ type: 'OptimWrapper', optimizer: { type: 'SGD', lr: 0.01, momentum: 0.9 },
 *   clipGrad: { maxNorm: 35 }, paramwiseCfg: { customKeys: { backbone: { lrMult: 0.1 } } } }, model);
 * ow.update(grads); // clips, then steps
 * ```
 */
export class OptimWrapper {
  static readonly configSchema = optimWrapperSchema;
  static readonly unbuiltArgs = ['optimizer'];
  readonly optimizer: Optimizer;
  readonly clipGrad?: { maxNorm: number; normType?: 2 } | null;
  readonly paramwiseCfg: ParamwiseCfg;

  constructor(cfg: OptimWrapperCfg) {
    this.optimizer = OPTIMIZERS.build<Optimizer>(cfg.optimizer, {
      path: 'optimWrapper.optimizer',
    });
    this.clipGrad = cfg.clipGrad;
    this.paramwiseCfg = cfg.paramwiseCfg ?? {};
  }

  /** Attaches the model's trainable parameters (call again after freezing changes). */
  setModel(model: Module): this {
    this.optimizer.setParams(paramEntries(model, this.paramwiseCfg));
    return this;
  }

  /** The variables the optimizer updates (what to differentiate). */
  get variables(): tf.Variable[] {
    return this.optimizer.params.map((p) => p.variable);
  }

  /** The current learning rate of each parameter multiplier group, by multiplier (`lr` is the base one). */
  get lr(): number {
    return this.optimizer.lr;
  }

  /** The global L2 norm of the gradients of the optimizer's parameters, on the device (0 with none). */
  gradNorm(grads: Map<string, tf.Tensor>): tf.Scalar {
    const present = this.optimizer.params
      .map((p) => grads.get(p.name))
      .filter((g): g is tf.Tensor => !!g);
    return tf.tidy(() =>
      present.length
        ? (tf.sqrt(tf.addN(present.map((g) => tf.sum(tf.square(g))))) as tf.Scalar)
        : tf.scalar(0),
    );
  }

  /**
   * Clips (torch's `clip_grad_norm_`: `coef = maxNorm / (norm + 1e-6)`, applied
   * when below 1) and applies the gradients, keyed by parameter name. `norm`
   * is {@link gradNorm}'s value when the caller has read it already (a page
   * reads it asynchronously with the losses); otherwise it is read here.
   */
  update(grads: Map<string, tf.Tensor>, norm?: number): UpdateInfo {
    const info: UpdateInfo = {};
    let use = grads;
    const owned: tf.Tensor[] = [];
    if (norm === undefined) {
      const t = this.gradNorm(grads);
      norm = t.dataSync()[0];
      t.dispose();
    }
    // Nothing is applied: the weights stay as they were before this step.
    if (!Number.isFinite(norm)) throw new NonFiniteGradientError(norm);
    if (this.clipGrad) {
      info.gradNorm = norm;
      const coef = this.clipGrad.maxNorm / (norm + 1e-6);
      if (coef < 1) {
        use = new Map();
        for (const [k, g] of grads) {
          const c = tf.mul(g, coef);
          owned.push(c);
          use.set(k, c);
        }
      }
    }
    this.optimizer.step(use);
    for (const t of owned) t.dispose();
    return info;
  }

  stateTensors(): Map<string, tf.Tensor> {
    return this.optimizer.stateTensors();
  }

  stateMeta(): OptimizerMeta {
    return this.optimizer.stateMeta();
  }

  loadState(tensors: Map<string, tf.Tensor>, meta: OptimizerMeta): string[] {
    return this.optimizer.loadState(tensors, meta);
  }

  dispose(): void {
    this.optimizer.dispose();
  }
}

OPTIMIZERS.register(OptimWrapper, { name: 'OptimWrapper' });

/** Builds an {@link OptimWrapper} from the config's `optimWrapper` and attaches `model`. */
export function buildOptimWrapper(cfg: Record<string, unknown>, model: Module): OptimWrapper {
  const c = { type: 'OptimWrapper', ...cfg };
  const ow = OPTIMIZERS.build<OptimWrapper>(c, { path: 'optimWrapper' });
  return ow.setModel(model);
}
