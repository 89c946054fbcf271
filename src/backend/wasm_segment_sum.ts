/** `UnsortedSegmentSum` (the gradient of gather) for the wasm backend: a typed-array scatter-add. */
import { util, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import type { WasmBackend } from './wasm_runner.js';

/** out[segment[i], ...] += x[i, ...] for segment in [0, numSegments); others dropped (as TF). */
export const unsortedSegmentSum: KernelFunc = ({ inputs, backend, attrs = {} }) => {
  const { x, segmentIds } = inputs as { x: TensorInfo; segmentIds: TensorInfo };
  const numSegments = attrs.numSegments as number;
  const b = backend as unknown as WasmBackend;
  const inner = util.sizeFromShape(x.shape.slice(segmentIds.shape.length));
  const outShape = [numSegments, ...x.shape.slice(segmentIds.shape.length)];
  const out = b.makeOutput(outShape, x.dtype as 'float32' | 'int32');
  // Views are taken after the allocation: growing wasm memory detaches older ones.
  const xs = b.typedArrayFromHeap(x);
  const ids = b.typedArrayFromHeap(segmentIds);
  const os = b.typedArrayFromHeap(out);
  os.fill(0);
  for (let i = 0; i < ids.length; i++) {
    const s = ids[i];
    if (s < 0 || s >= numSegments) continue;
    const src = i * inner;
    const dst = s * inner;
    for (let k = 0; k < inner; k++) os[dst + k] += xs[src + k];
  }
  return out;
};
