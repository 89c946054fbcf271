/**
 * Detection ops, one folder per op: boxes/IoU, grid anchors, NMS family,
 * RoIAlign/RoIPool. Each op's kernels live beside it, one file per backend
 * (`host.ts`: typed arrays for cpu, wasm and tfjs-node; `webgpu.ts`: WGSL;
 * `webgl.ts`: GLSL); importing an op registers its `Tfdet*` kernels. The
 * prior generators and box coders built on these ops are in
 * `src/task_utils`, the RoI extractor in `src/roi_heads/roi_extractors`.
 */
export {
  HOST_BACKENDS,
  registerHostKernel,
  readHost,
  writeHost,
  type HostArray,
  type HostImpl,
  type HostOutput,
} from './kernel_util.js';
export * from './read.js';
export * from './boxes/boxes.js';
export * from './boxes/iou.js';
export * from './nms/nms.js';
export * from './nms/batched.js';
export * from './nms/soft_nms.js';
export * from './anchors/anchors.js';
export * from './roi_align/roi_align.js';
export {
  roiAlignForward,
  roiAlignBackward,
  roiPoolForward,
  roiPoolBackward,
  type RoIAlignAttrs,
  type RoIPoolAttrs,
} from './roi_align/host.js';
