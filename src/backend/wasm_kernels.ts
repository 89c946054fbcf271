/**
 * Training kernels that tfjs' wasm backend lacks, built from its own fast
 * (XNNPACK) convolution and transpose kernels rather than scalar loops:
 *
 * - `Conv2DBackpropFilter`: the filter gradient of a convolution is itself a
 *   convolution of the input (batch and channels swapped) with the output
 *   gradient as the filter, stride and dilation swapping roles.
 * - `Conv2DBackpropInput` (replaces wasm's scalar loop): a convolution of the
 *   (stride-dilated) output gradient with the spatially flipped, transposed filter.
 * - `DepthwiseConv2dNativeBackpropFilter` / `...BackpropInput`: the same
 *   identities with depthwise convolutions.
 * - `UnsortedSegmentSum` (the gradient of gather): a typed-array scatter-add.
 * - `BatchMatMul` (wraps wasm's): transposed operands are transposed
 *   explicitly first; wasm's transposed path is an order of magnitude slower.
 *
 * The kernels live in wasm_conv_grads.ts, wasm_depthwise_grads.ts,
 * wasm_segment_sum.ts and wasm_matmul.ts; this file registers them.
 *
 * Each kernel also accepts a `dilations` attribute, which the gradients of
 * `src/backend/gradients.ts` pass for dilated convolutions.
 */
import {
  getKernel,
  registerKernel,
  unregisterKernel,
  type KernelConfig,
} from '@tensorflow/tfjs-core';
import { conv2DBackpropFilter, conv2DBackpropInput } from './wasm_conv_grads.js';
import { depthwiseBackpropFilter, depthwiseBackpropInput } from './wasm_depthwise_grads.js';
import { batchMatMul, captureWasmBatchMatMul } from './wasm_matmul.js';
import { unsortedSegmentSum } from './wasm_segment_sum.js';

const KERNELS: KernelConfig[] = [
  { kernelName: 'BatchMatMul', backendName: 'wasm', kernelFunc: batchMatMul },
  { kernelName: 'Conv2DBackpropFilter', backendName: 'wasm', kernelFunc: conv2DBackpropFilter },
  { kernelName: 'Conv2DBackpropInput', backendName: 'wasm', kernelFunc: conv2DBackpropInput },
  {
    kernelName: 'DepthwiseConv2dNativeBackpropFilter',
    backendName: 'wasm',
    kernelFunc: depthwiseBackpropFilter,
  },
  {
    kernelName: 'DepthwiseConv2dNativeBackpropInput',
    backendName: 'wasm',
    kernelFunc: depthwiseBackpropInput,
  },
  { kernelName: 'UnsortedSegmentSum', backendName: 'wasm', kernelFunc: unsortedSegmentSum },
];

let registered = false;

/**
 * Registers the training kernels for the wasm backend (idempotent). Kernels
 * wasm already has (its scalar `Conv2DBackpropInput`) are replaced.
 */
export function registerWasmTrainingKernels(): void {
  if (registered) return;
  registered = true;
  const own = getKernel('BatchMatMul', 'wasm');
  captureWasmBatchMatMul(own?.kernelFunc);
  for (const k of KERNELS) {
    if (k.kernelName === 'BatchMatMul' && !own) continue;
    if (getKernel(k.kernelName, 'wasm')) unregisterKernel(k.kernelName, 'wasm');
    // wasm binds its C function in the kernel's setupFunc when the backend starts: keep it.
    registerKernel(k.kernelName === 'BatchMatMul' ? { ...k, setupFunc: own.setupFunc } : k);
  }
}
