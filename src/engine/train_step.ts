/**
 * mmengine's `parse_losses` and the finiteness check of a training step.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { LossDict } from '../structures/index.js';

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

/** A loss term that is NaN or infinite; training stops before applying that step's update. */
export class NonFiniteLossError extends Error {
  constructor(
    /** 1-based number of the iteration (as logged). */
    readonly iteration: number,
    /** `[term, value]` of each bad term. */
    readonly terms: [string, number][],
  ) {
    super(
      `iteration ${iteration}: ${terms.map(([k, v]) => (k === 'loss' ? `the total loss is ${v}` : `loss term '${k}' is ${v}`)).join('; ')}`,
    );
    this.name = 'NonFiniteLossError';
  }
}

/**
 * Watches the total loss for a finite blow-up (a loss of 1e22 is finite and
 * passes the NaN check): {@link observe} returns a warning when the loss is
 * `factor` times (default 1000) the median of the last `window` iterations,
 * then stays quiet until the loss is back within 10x of that median.
 */
export class LossWatch {
  private readonly recent: number[] = [];
  private armed = true;
  constructor(
    readonly factor = 1000,
    readonly window = 20,
  ) {}

  /** Records the loss of `iteration` (1-based); returns a warning line or undefined. */
  observe(iteration: number, loss: number): string | undefined {
    let warning: string | undefined;
    if (this.recent.length >= Math.min(5, this.window)) {
      const sorted = [...this.recent].sort((a, b) => a - b);
      const median = sorted[sorted.length >> 1];
      if (median > 0 && this.armed && loss > this.factor * median) {
        this.armed = false;
        warning =
          `warning: iteration ${iteration}: the loss ${loss.toExponential(3)} is ${(loss / median).toExponential(1)} times ` +
          `the median of the last ${sorted.length} iterations (${median.toExponential(3)}): training is diverging`;
      } else if (!this.armed && loss <= 10 * median) this.armed = true;
    }
    // While the loss is blown up its values stay out of the median: the reference is the level before.
    if (this.armed || this.recent.length < 5) {
      this.recent.push(loss);
      if (this.recent.length > this.window) this.recent.shift();
    }
    return warning;
  }
}

/** Weights or optimizer state hold NaN/Inf: the checkpoint is not written. */
export class NonFiniteStateError extends Error {
  constructor(
    readonly file: string,
    readonly names: string[],
    iteration: number,
  ) {
    super(
      `not saving ${file}: ${names.length} tensor(s) hold NaN or infinite values after iteration ${iteration} ` +
        `(${names.slice(0, 3).join(', ')}${names.length > 3 ? ', ...' : ''}); the checkpoints saved before are kept`,
    );
    this.name = 'NonFiniteStateError';
  }
}

/** The names of the float tensors in `maps` holding NaN or infinite values. */
export function nonFiniteTensors(...maps: Map<string, tf.Tensor>[]): string[] {
  const bad: string[] = [];
  for (const m of maps)
    for (const [name, t] of m) {
      if (t.dtype !== 'float32') continue;
      const finite = tf.tidy(() => tf.all(tf.isFinite(t)).dataSync()[0]);
      if (!finite) bad.push(name);
    }
  return bad;
}
