/**
 * Shared plumbing for the host (typed-array) kernels: one implementation
 * serves the 'cpu', 'wasm' and 'tensorflow' (tfjs-node) backends.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { DataType, KernelBackend, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';

/** Backends served by the typed-array implementations. */
export const HOST_BACKENDS = ['cpu', 'wasm', 'tensorflow'] as const;

export type HostArray = Float32Array | Int32Array;

/** One output of a host kernel. */
export interface HostOutput {
  shape: number[];
  dtype: DataType;
  values: HostArray;
}

/**
 * A typed-array kernel: inputs in the order of `inputNames`, outputs in
 * kernel order. When the kernel was registered with an output-shape
 * function, `out` holds preallocated output arrays (on wasm: views of the
 * heap, not zeroed) that the kernel fills and returns, saving a copy.
 */
export type HostImpl = (
  inputs: HostArray[],
  shapes: number[][],
  attrs: NamedAttrMap,
  out?: HostArray[],
) => HostOutput[];

/** Output shapes and dtypes of a host kernel, known before it runs. */
export type HostShapes = (
  shapes: number[][],
  attrs: NamedAttrMap,
) => { shape: number[]; dtype: DataType }[];

interface AnyBackend {
  readSync(dataId: unknown): unknown;
  typedArrayFromHeap?(t: TensorInfo): HostArray;
  makeOutput?(
    shape: number[],
    dtype: DataType,
    memoryOffset?: number,
    values?: unknown,
  ): TensorInfo;
  makeTensorInfo?(shape: number[], dtype: DataType, values?: unknown): TensorInfo;
}

const isWasm = (b: AnyBackend): boolean =>
  typeof b.typedArrayFromHeap === 'function' && typeof b.makeOutput === 'function';

/** Reads a tensor's values without a copy where the backend allows it (wasm heap view, cpu store). */
export function readHost(backend: KernelBackend, t: TensorInfo): HostArray {
  const b = backend as unknown as AnyBackend;
  if (isWasm(b)) return b.typedArrayFromHeap!(t);
  const v = b.readSync(t.dataId) as HostArray;
  if (t.dtype === 'float32' && !(v instanceof Float32Array))
    return Float32Array.from(v as ArrayLike<number>);
  if (t.dtype === 'int32' && !(v instanceof Int32Array))
    return Int32Array.from(v as ArrayLike<number>);
  return v;
}

/** Creates an output tensor holding `values` on a host backend. */
export function writeHost(backend: KernelBackend, out: HostOutput): TensorInfo {
  const b = backend as unknown as AnyBackend;
  if (isWasm(b)) {
    const info = b.makeOutput!(out.shape, out.dtype);
    if (out.values.length) b.typedArrayFromHeap!(info).set(out.values);
    return info;
  }
  return b.makeTensorInfo!(out.shape, out.dtype, out.values);
}

const registered = new Set<string>();

/** Whether a kernel is registered for (name, backend); re-registering would throw in tfjs. */
export function isRegistered(kernelName: string, backendName: string): boolean {
  return (
    registered.has(`${kernelName}/${backendName}`) ||
    tf.getKernel(kernelName, backendName) !== undefined
  );
}

/** Registers `kernelFunc` unless the pair already exists (modules may be imported twice by bundlers). */
export function registerOnce(
  kernelName: string,
  backendName: string,
  kernelFunc: tf.KernelFunc,
): void {
  if (isRegistered(kernelName, backendName)) return;
  registered.add(`${kernelName}/${backendName}`);
  tf.registerKernel({ kernelName, backendName, kernelFunc });
}

/**
 * Registers a typed-array kernel for every host backend, and for
 * `extraBackends` (inputs read back with readSync, the result uploaded).
 * With `outShapes`, wasm outputs are allocated on the heap first and the
 * kernel writes into them (input views are taken after the allocation, which
 * may grow the heap and detach older views).
 */
export function registerHostKernel(
  kernelName: string,
  inputNames: string[],
  impl: HostImpl,
  extraBackends: string[] = [],
  outShapes?: HostShapes,
): void {
  const kernelFunc = hostKernelFunc(kernelName, inputNames, impl, outShapes);
  for (const bn of [...HOST_BACKENDS, ...extraBackends]) registerOnce(kernelName, bn, kernelFunc);
}

/** The kernel function behind {@link registerHostKernel}. */
export function hostKernelFunc(
  kernelName: string,
  inputNames: string[],
  impl: HostImpl,
  outShapes?: HostShapes,
): tf.KernelFunc {
  return ({ inputs, backend: be, attrs }) => {
    const backend = be as KernelBackend;
    const infos = inputNames.map((n) => {
      const t = (inputs as Record<string, TensorInfo | undefined>)[n];
      if (!t) throw new Error(`${kernelName}: missing input '${n}'.`);
      return t;
    });
    const shapes = infos.map((t) => t.shape);
    const b = backend as unknown as AnyBackend;
    if (outShapes && isWasm(b)) {
      const outInfos = outShapes(shapes, attrs ?? {}).map((o) => b.makeOutput!(o.shape, o.dtype));
      const outViews = outInfos.map((o) => b.typedArrayFromHeap!(o));
      const arrays = infos.map((t) => readHost(backend, t));
      impl(arrays, shapes, attrs ?? {}, outViews);
      return outInfos.length === 1 ? outInfos[0] : outInfos;
    }
    const arrays = infos.map((t) => readHost(backend, t));
    const outs = impl(arrays, shapes, attrs ?? {});
    const infosOut = outs.map((o) => writeHost(backend, o));
    return infosOut.length === 1 ? infosOut[0] : infosOut;
  };
}

/** Runs a registered kernel through the engine (records gradients where registered). */
export function runKernel<T extends tf.Tensor | tf.Tensor[]>(
  kernelName: string,
  inputs: Record<string, tf.Tensor>,
  attrs: Record<string, unknown> = {},
): T {
  return tf.engine().runKernel<T>(kernelName, inputs, attrs as NamedAttrMap);
}

/** Host values of a tensor, array or typed array as float32. */
export function toF32(x: tf.Tensor | ArrayLike<number> | number[][], what: string): Float32Array {
  if (x instanceof tf.Tensor) {
    if (tf.getBackend() === 'webgpu') {
      // tfjs' webgpu readSync goes through an OffscreenCanvas and returned wrong values under SwiftShader.
      throw new Error(
        `${what}: cannot read a webgpu tensor synchronously; pass a typed array (await t.data()) or use the async variant (nmsAsync).`,
      );
    }
    const v = x.dataSync();
    return v instanceof Float32Array ? v : Float32Array.from(v as ArrayLike<number>);
  }
  if (x instanceof Float32Array) return x;
  if (Array.isArray(x) && x.length && Array.isArray(x[0])) return Float32Array.from(x.flat());
  if (Array.isArray(x) || ArrayBuffer.isView(x)) return Float32Array.from(x as ArrayLike<number>);
  throw new Error(`${what}: expected a tensor or an array of numbers, got ${typeof x}.`);
}

/** Checks a [N, 4] boxes tensor's shape with a message naming the op and argument. */
export function assertBoxes(t: tf.Tensor, op: string, arg: string, cols = 4): void {
  if (t.rank !== 2 || t.shape[1] !== cols) {
    throw new Error(`${op}: '${arg}' must have shape [N, ${cols}], got [${t.shape.join(', ')}].`);
  }
}
