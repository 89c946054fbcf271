/**
 * Weight initialisers with PyTorch's formulas, seeded so that a run is
 * reproducible: {@link setInitSeed} fixes the sequence of seeds that every
 * initialiser draws from.
 *
 * Shapes follow our layouts: conv filters HWIO `[kh, kw, in, out]`, linear
 * weights `[in, out]`; fans are `fanIn = in * kh * kw`, `fanOut = out * kh * kw`
 * (torch's `_calculate_fan_in_and_fan_out`).
 */
import * as tf from '@tensorflow/tfjs-core';

let seedState = 0x9e3779b9;

/** Restarts the initialiser seed sequence (called from the runner's `seed`). */
export function setInitSeed(seed: number): void {
  seedState = (seed >>> 0) ^ 0x9e3779b9;
}

/** The next seed of the sequence (mulberry32 step). */
export function nextSeed(): number {
  seedState = (seedState + 0x6d2b79f5) >>> 0;
  let t = seedState;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) % 2147483647;
}

/** `[fanIn, fanOut]` of a weight shape in our layouts. */
export function fans(shape: readonly number[]): [number, number] {
  if (shape.length < 2)
    throw new Error(`fan in/out needs a weight of rank >= 2, got shape [${shape}]`);
  const receptive = shape.slice(0, -2).reduce((a, b) => a * b, 1);
  return [shape[shape.length - 2] * receptive, shape[shape.length - 1] * receptive];
}

/** torch.nn.init.calculate_gain. */
export function calculateGain(nonlinearity: string, param?: number): number {
  switch (nonlinearity) {
    case 'linear':
    case 'conv2d':
    case 'sigmoid':
      return 1;
    case 'tanh':
      return 5 / 3;
    case 'relu':
      return Math.SQRT2;
    case 'leaky_relu': {
      const slope = param ?? 0.01;
      return Math.sqrt(2 / (1 + slope * slope));
    }
    case 'selu':
      return 3 / 4;
    default:
      throw new Error(`calculateGain: unknown nonlinearity '${nonlinearity}'`);
  }
}

export const uniform = (shape: number[], low: number, high: number): tf.Tensor =>
  tf.randomUniform(shape, low, high, 'float32', nextSeed());

export const normal = (shape: number[], mean: number, std: number): tf.Tensor =>
  tf.randomNormal(shape, mean, std, 'float32', nextSeed());

export const constant = (shape: number[], value: number): tf.Tensor => tf.fill(shape, value);

export interface KaimingOptions {
  a?: number;
  mode?: 'fanIn' | 'fanOut';
  nonlinearity?: string;
  distribution?: 'normal' | 'uniform';
}

/** He et al. 2015 (torch.nn.init.kaiming_normal_/kaiming_uniform_). */
export function kaiming(shape: number[], opts: KaimingOptions = {}): tf.Tensor {
  const [fi, fo] = fans(shape);
  const fan = (opts.mode ?? 'fanIn') === 'fanIn' ? fi : fo;
  const std = calculateGain(opts.nonlinearity ?? 'leaky_relu', opts.a ?? 0) / Math.sqrt(fan);
  if ((opts.distribution ?? 'normal') === 'normal') return normal(shape, 0, std);
  const bound = Math.sqrt(3) * std;
  return uniform(shape, -bound, bound);
}

/** Glorot & Bengio 2010 (torch.nn.init.xavier_normal_/xavier_uniform_). */
export function xavier(
  shape: number[],
  opts: { gain?: number; distribution?: 'normal' | 'uniform' } = {},
): tf.Tensor {
  const [fi, fo] = fans(shape);
  const std = (opts.gain ?? 1) * Math.sqrt(2 / (fi + fo));
  if ((opts.distribution ?? 'normal') === 'normal') return normal(shape, 0, std);
  const bound = Math.sqrt(3) * std;
  return uniform(shape, -bound, bound);
}

/** PyTorch's default for Conv/Linear weights: kaiming_uniform with a = sqrt(5), i.e. U(-1/sqrt(fanIn), 1/sqrt(fanIn)). */
export function torchDefaultWeight(shape: number[]): tf.Tensor {
  return kaiming(shape, { a: Math.sqrt(5), distribution: 'uniform' });
}

/** PyTorch's default for Conv/Linear biases: U(-1/sqrt(fanIn), 1/sqrt(fanIn)). */
export function torchDefaultBias(weightShape: number[], n: number): tf.Tensor {
  const bound = 1 / Math.sqrt(fans(weightShape)[0]);
  return uniform([n], -bound, bound);
}

/**
 * The bias that makes a sigmoid output `priorProb` at start (focal loss, RetinaNet):
 * `-log((1 - p) / p)`.
 *
 * @example
 * ```ts
 * biasInitWithProb(0.01); // => -4.59511985013459
 * ```
 */
export function biasInitWithProb(priorProb: number): number {
  return -Math.log((1 - priorProb) / priorProb);
}
