/**
 * The runner's training step: the loss and gradients (`loss_grads.ts`,
 * shared with the browser's fine-tuning), the finiteness checks, the
 * average across workers, the optimizer update.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { EngineBatch } from '../structures/index.js';
import type { Module } from '../nn/index.js';
import { disposeBatch } from './data.js';
import type { TrainStepOutputs } from './hooks/hook.js';
import { lossGrads, parseLosses } from './loss_grads.js';
import { NonFiniteGradientError } from './optim/optim_wrapper.js';
import type { Runner } from './runner.js';

export { parseLosses };

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

/** {@link Runner.trainStep}: one optimization step (see there). */
export function runTrainStep(r: Runner, batch: EngineBatch): TrainStepOutputs {
  const ow = r.optimWrapper;
  if (!ow) throw new Error('Runner.trainStep: no optimizer (call train())');
  let step: ReturnType<typeof lossGrads>;
  try {
    step = lossGrads(r.model, batch, ow);
  } finally {
    disposeBatch(batch);
  }
  const { names, logged, result } = step;
  let grads = step.grads;
  let values: Float32Array = logged.dataSync() as Float32Array;
  logged.dispose();
  if (r.dist.worldSize > 1) ({ grads, values } = averageAcrossWorkers(r, grads, values));
  const losses: Record<string, number> = {};
  const bad: [string, number][] = [];
  names.forEach((k, i) => {
    const v = values[i];
    losses[k] = v;
    if (k.includes('loss') && !Number.isFinite(v)) bad.push([k, v]);
  });
  try {
    if (bad.length) {
      // The total is only named when no single term explains it.
      const terms = bad.filter(([k]) => k !== 'loss');
      throw new NonFiniteLossError(r.iter + 1, terms.length ? terms : bad);
    }
    const lr = ow.optimizer.lr;
    let info;
    try {
      info = ow.update(grads);
    } catch (e) {
      if (e instanceof NonFiniteGradientError)
        throw new Error(`iteration ${r.iter + 1}: ${e.message}`, { cause: e });
      throw e;
    }
    if (r.dist.worldSize > 1) broadcastBuffers(r);
    r.iter++;
    r.innerIter++;
    const warning = r.lossWatch.observe(r.iter, losses.loss);
    if (warning)
      r.logger.info(
        `${warning}; lower the learning rate${ow.clipGrad ? '' : ' or set optimWrapper.clipGrad'}`,
      );
    return { losses, lr, gradNorm: info.gradNorm };
  } finally {
    result.value.dispose();
    for (const g of grads.values()) g.dispose();
  }
}

/**
 * Data-parallel step, as torch's DistributedDataParallel (`broadcast_buffers`):
 * rank 0's buffers (BatchNorm running statistics) are copied to every worker,
 * here after each step (torch: before each forward), so that every worker's
 * whole state, EMA and checkpoints included, stays rank 0's.
 */
function broadcastBuffers(r: Runner): void {
  const buffers = (r.model as unknown as Module)
    .namedBuffers()
    .filter(([, v]) => v.dtype === 'float32');
  if (!buffers.length) return;
  let total = 0;
  for (const [, v] of buffers) total += v.size;
  const buf = new Float32Array(total);
  let off = 0;
  for (const [, v] of buffers) {
    buf.set(v.dataSync(), off);
    off += v.size;
  }
  r.dist.broadcast(buf, 0);
  if (r.isMain) return;
  off = 0;
  // assign() shares the new tensor's data; the tensor itself must go (this runs outside any tidy).
  tf.tidy(() => {
    for (const [, v] of buffers) {
      v.assign(tf.tensor(buf.subarray(off, off + v.size), v.shape, 'float32'));
      off += v.size;
    }
  });
}

const reduceBuffers = new WeakMap<Runner, Float32Array>();

/**
 * Data-parallel step: every worker's gradients and loss values, averaged over
 * the workers in one all-reduce (the same bits on each), so that every worker
 * applies the same update and takes the same decisions (a non-finite loss on
 * one worker stops them all). Disposes the local gradients.
 */
function averageAcrossWorkers(
  r: Runner,
  grads: Map<string, tf.Tensor>,
  values: Float32Array,
): { grads: Map<string, tf.Tensor>; values: Float32Array } {
  // The optimizer's parameter order is the same on every worker; a parameter without a gradient counts as zeros.
  // Layout: loss values, one presence flag per parameter (a gradient on any worker counts), the gradients.
  const params = r.optimWrapper!.optimizer.params;
  const head = values.length + params.length;
  let total = head;
  for (const p of params) total += p.variable.size;
  // One buffer per run, reused every step: a fresh one of the gradients' size each step (50 MB for
  // RetinaNet R-18) kept the garbage collector busy on one worker while the other waited.
  let buf = reduceBuffers.get(r);
  if (buf?.length !== total) reduceBuffers.set(r, (buf = new Float32Array(total)));
  buf.fill(0, values.length, head);
  buf.set(values, 0);
  let off = head;
  params.forEach((p, i) => {
    const g = grads.get(p.name);
    if (g) {
      buf[values.length + i] = 1;
      buf.set(g.dataSync(), off);
    } else buf.fill(0, off, off + p.variable.size);
    off += p.variable.size;
  });
  r.dist.allReduceMean(buf);
  for (const g of grads.values()) g.dispose();
  const out = new Map<string, tf.Tensor>();
  off = head;
  params.forEach((p, i) => {
    const n = p.variable.size;
    if (buf[values.length + i] > 0)
      // A copy: the buffer is written again next step, and a backend may keep the array it is given
      // (the cpu backend does, and SGD's first momentum buffer is the gradient itself).
      out.set(p.name, tf.tensor(buf.slice(off, off + n), p.variable.shape, 'float32'));
    off += n;
  });
  return { grads: out, values: buf.slice(0, values.length) };
}
