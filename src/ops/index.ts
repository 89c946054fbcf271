/**
 * Detection ops: prior generators, IoU family, NMS family, RoIAlign/RoIPool,
 * box coders. Importing this module registers the `Tfdet*` kernels for the
 * cpu, wasm and tfjs-node backends (typed arrays) and for webgpu and webgl
 * (WGSL / GLSL programs), and the generators/coders in TASK_UTILS.
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
export * from './boxes/boxes.js';
export * from './boxes/iou.js';
export * from './nms/nms.js';
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
export * from './roi_extractor/single_roi_extractor.js';
export * from './coders/coders.js';
import './gpu_webgpu.js';
import './gpu_webgl.js';
export { YOLOAnchorGenerator, type YOLOAnchorGeneratorConfig } from './anchors/yolo_anchors.js';
export * from './coders/yolo_coder.js';
