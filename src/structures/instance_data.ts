/**
 * Instances of one image (mmdetection's `InstanceData`): the ground truth a
 * head trains on, the predictions a model returns, and the annotated
 * objects of a data list.
 */
import type { AnyRLE } from '../masks/index.js';

/**
 * Instance masks as bitmaps of the current image size, one row-major
 * `Uint8Array` (0/1) per instance.
 */
export interface BitmapMasks {
  height: number;
  width: number;
  masks: Uint8Array[];
}

/** A predicted mask: COCO RLE, or a row-major 0/1 plane of the original image (`oriShape`). */
export type PredMask = AnyRLE | ArrayLike<number>;

/**
 * Predicted instances of one image (mmdetection's `pred_instances`), in the
 * forms the metrics accept; {@link InstanceData} is the form the models
 * produce.
 */
export interface PredInstances {
  /** `[N, 4]` boxes `x1, y1, x2, y2` in original image pixels, as rows or flat. */
  bboxes: ArrayLike<number> | readonly (readonly number[])[];
  scores: ArrayLike<number>;
  /** 0-based class labels. */
  labels: ArrayLike<number>;
  /** Instance masks, one per box: COCO RLE (compressed or uncompressed) or a row-major 0/1 plane of the original image (what Mask R-CNN's `predict` gives). */
  masks?: readonly PredMask[];
  /** Mask scores; default the box scores. */
  maskScores?: ArrayLike<number>;
}

/** Detections of one image, in original-image pixels when rescaled: {@link PredInstances} as the models produce them. */
export interface InstanceData extends PredInstances {
  /** `n*4` `[x1, y1, x2, y2]`. */
  bboxes: Float32Array;
  scores: Float32Array;
  labels: Int32Array;
  /**
   * Instance masks (Mask R-CNN), one per box: row-major `h*w` 0/1 planes
   * of the same image as the boxes (the original image when rescaled).
   */
  masks?: Uint8Array[];
}

/** Ground-truth instances in network-input pixels. */
export interface GtInstances {
  /** `n*4` `[x1, y1, x2, y2]`. */
  bboxes: Float32Array;
  labels: Int32Array;
  masks?: BitmapMasks;
}

/** One annotated object (mmdetection's data-list `instances`, camelCase). */
export interface GtInstance {
  /** `x1, y1, x2, y2`. */
  bbox: readonly number[];
  bboxLabel: number;
  /** 1: crowd (COCO) / difficult (VOC). */
  ignoreFlag?: number;
  /** COCO segmentation (polygons or RLE). */
  mask?: number[][] | AnyRLE;
}
