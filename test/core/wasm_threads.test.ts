import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import {
  enableWasmThreads,
  resolveWasmThreads,
  setBackend,
  wasmThreadsFromEnv,
} from '../../src/index.js';

/** Forward and backward of a strided, padded convolution; returns [y, dx, dw] values. */
function convStep(): Float32Array[] {
  return tf.tidy(() => {
    const x = tf.randomNormal([2, 17, 15, 6], 0, 1, 'float32', 1) as tf.Tensor4D;
    const w = tf.randomNormal([3, 3, 6, 10], 0, 0.3, 'float32', 2) as tf.Tensor4D;
    const f = (a: tf.Tensor, b: tf.Tensor): tf.Tensor =>
      tf
        .relu(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, 'same'))
        .square()
        .sum();
    const y = tf.conv2d(x, w, 2, 'same');
    const [dx, dw] = tf.grads(f)([x, w]);
    return [y, dx, dw].map((t) => t.dataSync() as Float32Array);
  });
}

/** Drops the running wasm backend so the next start picks its build again. */
function restartWasm(): void {
  const factory = tf.findBackendFactory('wasm');
  tf.removeBackend('wasm');
  tf.registerBackend('wasm', factory, 2);
}

const maxAbsDiff = (a: Float32Array, b: Float32Array): number =>
  a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

describe('threaded wasm backend', () => {
  it('computes a convolution and its gradients like the single-threaded build', async () => {
    const single = await setBackend('wasm', { wasmThreads: 1 });
    expect(single.reason).toBe('wasm: embedded wasm, single-threaded SIMD build');
    const ref = convStep();
    const wasm = (await import('@tensorflow/tfjs-backend-wasm')) as { getThreadsCount(): number };
    expect(wasm.getThreadsCount()).toBe(1);

    restartWasm();
    const threaded = await setBackend('wasm', { wasmThreads: 2 });
    expect(threaded).toEqual({
      name: 'wasm',
      reason: 'wasm: embedded wasm, threaded SIMD build, 2 threads',
    });
    expect(wasm.getThreadsCount()).toBe(2);
    // XNNPACK's pool thread runs on one of our pthread workers.
    const pthreads = (
      tf.backend() as unknown as { wasm: { PThread: { runningWorkers: unknown[] } } }
    ).wasm.PThread;
    expect(pthreads.runningWorkers.length).toBe(1);
    const got = convStep();
    for (let i = 0; i < ref.length; i++) {
      expect(got[i].length).toBe(ref[i].length);
      expect(maxAbsDiff(got[i], ref[i])).toBeLessThan(1e-4 * Math.max(1, ...ref[i].map(Math.abs)));
    }
    // The build is fixed once started.
    await expect(setBackend('wasm', { wasmThreads: 3 })).rejects.toThrow(
      /already runs with 2 thread\(s\)/,
    );
  });

  it('falls back to the single-threaded build and says why', async () => {
    restartWasm();
    const r = await enableWasmThreads(2, { timeoutMs: 1 });
    expect(r.threads).toBe(1);
    expect(r.reason).toBe(
      'single-threaded SIMD build (threads unavailable: the pthread workers did not load within 0.001 s)',
    );
    expect(tf.getBackend()).toBe('wasm');
    expect(convStep()[0].length).toBe(2 * 9 * 8 * 10);
  });

  it('reads TFDET_WASM_THREADS and rejects bad counts', async () => {
    expect(wasmThreadsFromEnv({})).toBeUndefined();
    expect(wasmThreadsFromEnv({ TFDET_WASM_THREADS: '4' })).toBe(4);
    expect(() => wasmThreadsFromEnv({ TFDET_WASM_THREADS: 'two' })).toThrow(
      'TFDET_WASM_THREADS="two": expected an integer thread count from 1 to 8',
    );
    expect(() => wasmThreadsFromEnv({ TFDET_WASM_THREADS: '9' })).toThrow(/from 1 to 8/);
    expect(resolveWasmThreads(3, { TFDET_WASM_THREADS: '2' })).toBe(3);
    expect(resolveWasmThreads(undefined, { TFDET_WASM_THREADS: '2' })).toBe(2);
    expect(() => resolveWasmThreads(0)).toThrow(
      'wasmThreads 0: expected an integer thread count from 1 to 8',
    );
    // A bad count stops `auto` too instead of quietly passing over wasm.
    await expect(setBackend('auto', { wasmThreads: 1.5 })).rejects.toThrow(
      /wasmThreads 1.5: expected/,
    );
  });
});
