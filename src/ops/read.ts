/**
 * Reading tensors back to JavaScript asynchronously, several at once in one
 * read: the one way that works on every backend (webgpu's synchronous read
 * is unreliable; on webgl each read stalls the pipeline), and the fewer
 * reads, the fewer stalls.
 */
import * as tf from '@tensorflow/tfjs-core';

/**
 * The values of `tensors` as float32, read in one transfer (flattened and
 * concatenated on the device first when there are several). The arrays are
 * views of one buffer; the tensors are not disposed.
 *
 * @example
 * ```ts
 * await readFloats([tf.tensor1d([1, 2]), tf.tensor2d([[3], [4]])]); // => [Float32Array [1, 2], Float32Array [3, 4]]
 * ```
 */
export async function readFloats(tensors: readonly tf.Tensor[]): Promise<Float32Array[]> {
  if (tensors.length === 0) return [];
  if (tensors.length === 1) {
    const t = tensors[0];
    if (t.dtype === 'float32') return [(await t.data()) as Float32Array];
  }
  const flat = flatten(tensors);
  let all: Float32Array;
  try {
    all = (await flat.data()) as Float32Array;
  } finally {
    flat.dispose();
  }
  return split(all, tensors);
}

/**
 * {@link readFloats} read synchronously: for code that cannot wait (inside a
 * gradient closure). Not on webgpu, whose synchronous read is unreliable.
 *
 * @example
 * ```ts
 * readFloatsSync([tf.tensor1d([1, 2]), tf.tensor1d([3], 'int32')]); // => [Float32Array [1, 2], Float32Array [3]]
 * ```
 */
export function readFloatsSync(tensors: readonly tf.Tensor[]): Float32Array[] {
  if (tensors.length === 0) return [];
  if (tensors.length === 1 && tensors[0].dtype === 'float32')
    return [tensors[0].dataSync() as Float32Array];
  const flat = flatten(tensors);
  let all: Float32Array;
  try {
    all = flat.dataSync() as Float32Array;
  } finally {
    flat.dispose();
  }
  return split(all, tensors);
}

function flatten(tensors: readonly tf.Tensor[]): tf.Tensor {
  return tf.tidy(() =>
    tf.concat(
      tensors.map((t) => tf.reshape(t.dtype === 'float32' ? t : tf.cast(t, 'float32'), [-1])),
    ),
  );
}

function split(all: Float32Array, tensors: readonly tf.Tensor[]): Float32Array[] {
  let at = 0;
  return tensors.map((t) => {
    const v = all.subarray(at, at + t.size);
    at += t.size;
    return v;
  });
}
