/**
 * The differentiable half of a training step, shared by the runner's
 * `trainStep` (src/engine/train_step.ts) and the browser's fine-tuning
 * (src/browser/finetune.ts): mmengine's `parse_losses`, and the loss with
 * its gradients by parameter name. Nothing here reads a tensor back.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { EngineBatch, LossDict } from '../structures/index.js';
import type { OptimWrapper } from './optim/optim_wrapper.js';

/**
 * Reduces each entry to a scalar (the mean of a tensor, the sum of a list's
 * means) and sums every entry whose key contains `loss` into the total.
 * Other entries (e.g. `acc`) are only logged.
 *
 * @example
 * ```ts
 * const { total, terms } = parseLosses({ loss_cls: tf.scalar(1), loss_bbox: [tf.scalar(0.5), tf.scalar(0.25)], acc: tf.scalar(90) });
 * total.dataSync(); // => Float32Array [1.75]
 * terms.map(([k]) => k); // => ['loss_cls', 'loss_bbox', 'acc']
 * ```
 */
export function parseLosses(losses: LossDict<tf.Tensor | tf.Tensor[]>): {
  total: tf.Scalar;
  terms: [string, tf.Scalar][];
} {
  if (typeof (losses as unknown as { then?: unknown }).then === 'function') {
    throw new Error(
      'model.loss() returned a Promise; it must be synchronous (the gradient tape records one synchronous call)',
    );
  }
  const terms: [string, tf.Scalar][] = [];
  for (const [k, v] of Object.entries(losses)) {
    if (Array.isArray(v))
      terms.push([k, v.length ? (tf.addN(v.map((x) => tf.mean(x))) as tf.Scalar) : tf.scalar(0)]);
    else terms.push([k, tf.mean(v) as tf.Scalar]);
  }
  const lossTerms = terms.filter(([k]) => k.includes('loss')).map(([, t]) => t);
  if (lossTerms.length === 0)
    throw new Error(
      `model.loss() returned no term whose key contains 'loss' (keys: ${Object.keys(losses).join(', ') || 'none'})`,
    );
  return { total: tf.addN(lossTerms) as tf.Scalar, terms };
}

/** What {@link lossGrads} computed: every term (`loss` first) in `logged`, the gradients by parameter name. */
export interface LossGrads {
  names: string[];
  /** `[1 + terms]`: the total, then each term, to be read once. */
  logged: tf.Tensor1D;
  result: { value: tf.Scalar; grads: tf.NamedTensorMap };
  grads: Map<string, tf.Tensor>;
}

/**
 * The model's loss on `batch` and its gradients with respect to the
 * optimizer's parameters, keyed by parameter name (`backbone.conv1.weight`).
 * The caller reads `logged`, applies the gradients, and disposes
 * `result.value`, `logged` and the gradients.
 */
export function lossGrads(
  model: { loss(batch: never): unknown },
  batch: EngineBatch | object,
  ow: OptimWrapper,
): LossGrads {
  const nameOf = new Map(ow.optimizer.params.map((p) => [p.variable.name, p.name]));
  let names: string[] = [];
  let logged: tf.Tensor1D | undefined;
  const result = tf.variableGrads(() => {
    const loss = model.loss.bind(model) as (b: unknown) => LossDict<tf.Tensor | tf.Tensor[]>;
    const losses = loss(batch);
    const { total, terms } = parseLosses(losses);
    names = ['loss', ...terms.map(([k]) => k)];
    logged = tf.keep(tf.stack([total, ...terms.map(([, t]) => t)])) as tf.Tensor1D;
    return total;
  }, ow.variables);
  const grads = new Map<string, tf.Tensor>();
  for (const [vn, g] of Object.entries(result.grads)) grads.set(nameOf.get(vn) ?? vn, g);
  return { names, logged: logged!, result, grads };
}
