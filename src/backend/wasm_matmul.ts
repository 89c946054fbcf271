/** `BatchMatMul` for the wasm backend: wasm's own, with transposed operands transposed first. */
import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { KernelRunner, type WasmBackend } from './wasm_runner.js';

/** wasm's own BatchMatMul, captured when ours is registered in its place. */
let wasmBatchMatMul: KernelFunc | undefined;

/** Keeps wasm's own kernel, which {@link batchMatMul} calls. */
export function captureWasmBatchMatMul(own: KernelFunc | undefined): void {
  wasmBatchMatMul = own;
}

/**
 * `BatchMatMul` with `transposeA` / `transposeB` as an explicit Transpose of
 * the last two axes and a plain product: wasm's kernel takes a slow path for
 * transposed operands (a `[3136,512]^T x [512,256]` product: ~0.9 s against
 * ~0.06 s this way), and every matMul gradient uses the flags.
 */
export const batchMatMul: KernelFunc = (args) => {
  const { transposeA, transposeB } = (args.attrs ?? {}) as {
    transposeA?: boolean;
    transposeB?: boolean;
  };
  if (!wasmBatchMatMul) throw new Error('wasm kernel BatchMatMul is not registered');
  if (!transposeA && !transposeB) return wasmBatchMatMul(args);
  const { a, b } = args.inputs as { a: TensorInfo; b: TensorInfo };
  const r = new KernelRunner(args.backend as unknown as WasmBackend);
  const lastTwo = (t: TensorInfo): number[] => {
    const n = t.shape.length;
    return [...Array.from({ length: n - 2 }, (_, i) => i), n - 1, n - 2];
  };
  try {
    const a2 = transposeA ? r.transpose(a, lastTwo(a)) : a;
    const b2 = transposeB ? r.transpose(b, lastTwo(b)) : b;
    return wasmBatchMatMul({
      ...args,
      inputs: { a: a2, b: b2 },
      attrs: { ...args.attrs, transposeA: false, transposeB: false },
    });
  } finally {
    r.dispose();
  }
};
