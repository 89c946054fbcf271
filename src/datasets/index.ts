/**
 * Data sets, transforms, the loader and the synthetic shapes set.
 */
export * from './base.js';
export * from './coco.js';
export { checkImageFiles, dropSummaries, imageFileProblem } from './data_checks.js';
export { clipBoxToImage } from './box_rule.js';
export { DatasetError, DropLog, SkipLog, type DropEntry } from './errors.js';
export { ColorPassPool, type ColorJob } from './color_workers.js';
export { headerSize, parseImageHeader, readImageSize, type ImageHeader } from './image_header.js';
export * from './loader.js';
export { decodeIndexedPng, encodeIndexedPng, vocPalette } from './png.js';
export {
  clipHalfPlane,
  fillSpans,
  polygonArea,
  rasterizePolygons,
  subtractRect,
  type FlatPolygon,
} from './raster.js';
export * from './synthetic.js';
export * from './transforms/index.js';
export { colorPassKernelAvailable } from './transforms/color_pass.js';
export type * from './types.js';
export * from './voc.js';
export * from './voc_seg.js';
export * from './wrappers.js';
export { Rng, type RngState } from '../utils/random.js';
