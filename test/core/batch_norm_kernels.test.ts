/**
 * The cpu/wasm batch norm kernels (`src/backend/batch_norm_kernels.ts`) behind
 * `batchNormTrain` against its tfjs-op path: forward output, dx, dγ, dβ and the
 * statistics given to `onStats`, plain and synchronised.
 */
import * as tf from '@tensorflow/tfjs-core';
import { getKernel, registerKernel, unregisterKernel } from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { BN_KERNELS, hasBatchNormKernels } from '../../src/backend/batch_norm_kernels.js';
import { setBackend } from '../../src/backend/index.js';
import { batchNormTrain, type NormCollective } from '../../src/nn/norm.js';

type Backend = 'cpu' | 'wasm';

interface Result {
  y: Float32Array;
  grads: Float32Array[];
  mean: Float32Array;
  variance: Float32Array;
  count: number;
  kernels: string[];
}

/** Runs `fn` with the batch norm kernels of `backend` unregistered (the tfjs-op path). */
async function withoutKernels<T>(backend: Backend, fn: () => Promise<T>): Promise<T> {
  const saved = Object.values(BN_KERNELS).map((k) => getKernel(k, backend));
  for (const k of saved) unregisterKernel(k.kernelName, backend);
  try {
    return await fn();
  } finally {
    for (const k of saved) registerKernel(k);
  }
}

function relErr(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    worst = Math.max(worst, Math.abs(a[i] - b[i]));
    den = Math.max(den, Math.abs(b[i]));
  }
  expect(den).toBeGreaterThan(0);
  return worst / den;
}

async function run(shape: number[], seed: number, collective?: NormCollective): Promise<Result> {
  const ch = shape[3];
  let stats: Pick<Result, 'mean' | 'variance' | 'count'> | undefined;
  const prof = await tf.profile(() =>
    tf.tidy(() => {
      const x = tf.add(tf.mul(tf.randomNormal(shape, 0, 1, 'float32', seed), 3), 2) as tf.Tensor4D;
      const gamma = tf.add(tf.randomNormal([ch], 0, 1, 'float32', seed + 1), 1);
      const beta = tf.randomNormal([ch], 0, 1, 'float32', seed + 2);
      const r = tf.randomNormal(shape, 0, 1, 'float32', seed + 3);
      const f = (xi: tf.Tensor, g: tf.Tensor, b: tf.Tensor) =>
        batchNormTrain(
          xi as tf.Tensor4D,
          g,
          b,
          1e-5,
          (mean, variance, count) => {
            stats = {
              mean: mean.dataSync() as Float32Array,
              variance: variance.dataSync() as Float32Array,
              count,
            };
          },
          collective,
        );
      const { value, grads } = tf.valueAndGrads((xi: tf.Tensor, g: tf.Tensor, b: tf.Tensor) =>
        tf.sum(tf.mul(f(xi, g, b), r)),
      )([x, gamma, beta]);
      value.dataSync();
      const y = f(x, gamma, beta).dataSync() as Float32Array;
      return { y, grads: grads.map((t) => t.dataSync() as Float32Array) };
    }),
  );
  const { y, grads } = prof.result as unknown as { y: Float32Array; grads: Float32Array[] };
  return { y, grads, ...stats!, kernels: prof.kernels.map((k) => k.name) };
}

/** Two workers with identical data: each gathers its own value twice. */
const twins: NormCollective = {
  worldSize: 2,
  allGather: <T>(v: T): T[] => [v, structuredClone(v)],
};

const shapes: number[][] = [
  [2, 5, 3, 4],
  [3, 7, 5, 1],
  [1, 9, 11, 3],
  [4, 6, 6, 17],
];

describe('batch norm kernels equal the tfjs-op path', () => {
  for (const backend of ['cpu', 'wasm'] as const) {
    const cases: [string, number[], NormCollective | undefined][] = [
      ...shapes.map((s) => [`[${s}]`, s, undefined] as [string, number[], undefined]),
      ['[3,5,7,6] synchronised over 2 workers', [3, 5, 7, 6], twins],
    ];
    it.each(cases)(`%s on ${backend}`, async (_name, shape, collective) => {
      await setBackend(backend);
      expect(hasBatchNormKernels(backend)).toBe(true);
      const seed = shape.reduce((a, b) => a * 7 + b, 0);
      const fast = await run(shape, seed, collective);
      const ref = await withoutKernels(backend, () => run(shape, seed, collective));
      expect(fast.kernels).toContain(BN_KERNELS.inputGrad);
      expect(ref.kernels).not.toContain(BN_KERNELS.moments);
      const n = shape[0] * shape[1] * shape[2];
      expect(fast.count).toBe(collective ? 2 * n : n);
      expect(fast.count).toBe(ref.count);
      expect(relErr(fast.mean, ref.mean)).toBeLessThan(1e-5);
      expect(relErr(fast.variance, ref.variance)).toBeLessThan(1e-5);
      expect(relErr(fast.y, ref.y)).toBeLessThan(1e-5);
      expect(fast.grads).toHaveLength(3);
      fast.grads.forEach((g, i) => expect(relErr(g, ref.grads[i])).toBeLessThan(1e-5));
    });
  }
  it('normalises: per-channel mean 0 and biased variance 1 before the affine map', async () => {
    await setBackend('wasm');
    const out = tf.tidy(() => {
      const x = tf.add(tf.mul(tf.randomNormal([2, 4, 5, 3], 0, 1, 'float32', 5), 4), 10);
      const y = batchNormTrain(x as tf.Tensor4D, tf.ones([3]), tf.zeros([3]), 0);
      const { mean, variance } = tf.moments(y, [0, 1, 2]);
      return [...mean.dataSync(), ...variance.dataSync()];
    });
    out.slice(0, 3).forEach((m) => expect(Math.abs(m)).toBeLessThan(1e-5));
    out.slice(3).forEach((v) => expect(Math.abs(v - 1)).toBeLessThan(1e-4));
  });
});
