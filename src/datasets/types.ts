import type { BitmapMasks, FlipDirection, PackedDataSample } from '../structures/index.js';
import type { Rng } from '../utils/random.js';

/**
 * Types of the data path: what a dataset yields for one image, what the
 * pipeline transforms read and write (mmdetection's "results dict",
 * camelCased), and what the packer hands the model.
 */

/** An RLE in COCO's form: counts of alternating 0/1 runs over the column-major mask. */
export interface Rle {
  size: [number, number];
  counts: string | number[];
}

/** A COCO polygon segmentation: a list of polygons, each `[x0, y0, x1, y1, ...]`. */
export type Polygons = number[][];

/** One annotated object, as a dataset lists it (before any transform). */
export interface InstanceInfo {
  /** `[x1, y1, x2, y2]` in pixels of the original image. */
  bbox: [number, number, number, number];
  /** Contiguous label in `[0, numClasses)`. */
  bboxLabel: number;
  /** Ignored in training and evaluation (VOC `difficult`, COCO `iscrowd`). */
  ignoreFlag: boolean;
  /** Instance mask: polygons or RLE, in original image pixels. */
  mask?: Polygons | Rle;
  /** VOC `truncated` flag, kept for reference. */
  truncated?: boolean;
}

/** What a dataset knows about one image before loading it. */
export interface DataInfo {
  imgPath: string;
  imgId: string | number;
  /** From the annotation file; 0 when unknown (the loader reads the image header). */
  height: number;
  width: number;
  instances: InstanceInfo[];
  /** Path of a semantic segmentation map (VOC `SegmentationClass` PNG). */
  segMapPath?: string;
  /** The dataset's index of this entry. */
  sampleIdx?: number;
  [key: string]: unknown;
}

/** Decoded pixels, HWC. `Uint8Array` until Normalize, `Float32Array` after. */
export interface ImageBuffer {
  data: Uint8Array | Float32Array;
  height: number;
  width: number;
  channels: number;
}

/**
 * The results dict that flows through the pipeline (mmdetection's
 * `results`, camelCased). Transforms read and write its fields and record
 * what they did (`scaleFactor`, `flip`, `padShape`) so predictions can be
 * mapped back to the original image.
 */
export interface DataSample extends DataInfo {
  /** Current pixels. */
  img?: ImageBuffer;
  /** `[h, w]` of the image as decoded (after EXIF orientation). */
  oriShape?: [number, number];
  /** `[h, w]` after the last resize / crop (before padding). */
  imgShape?: [number, number];
  /** `[sx, sy]`: current pixels per original pixel, product of every resize. */
  scaleFactor?: [number, number];
  /** Whether the image was flipped and how. */
  flip?: boolean;
  flipDirection?: FlipDirection | null;
  /** `[h, w]` after padding. */
  padShape?: [number, number];
  /** Pad's `sizeDivisor`, so the loader pads the batch to a multiple of it too. */
  padSizeDivisor?: number;
  /** Boxes `n*4` as `[x1, y1, x2, y2]` in current pixels. */
  gtBboxes?: Float32Array;
  gtBboxesLabels?: Int32Array;
  gtIgnoreFlags?: Uint8Array;
  gtMasks?: BitmapMasks;
  /** Semantic map, HW, class index per pixel, 255 = ignore. */
  gtSegMap?: Uint8Array;
  /** A per-pixel affine colour map not yet applied to `img` (see `pixels.ts`). */
  colorMap?: ColorMap;
  /** Normalize's settings, recorded for the packed meta. */
  imgNormCfg?: { mean: number[]; std: number[]; toRgb: boolean };
  /** Generator for this sample's random transforms (set by the data set / loader). */
  rng?: Rng;
  /** Flips not yet applied to `img` (done by the colour pass). */
  lazyFlip?: { h: boolean; v: boolean };
  /** Set by the loader: Pad and the packer leave the colour pass to the collate, which writes straight into the batch. */
  deferPixels?: boolean;
  /** Pad's fill value, kept for a deferred colour pass. */
  padVal?: number[];
  /** Internal: the encoded file not yet decoded (decode is fused with the first resize / flip). */
  pending?: PendingDecode;
}

/**
 * A per-pixel affine colour map `out[c] = sum_k m[c*3+k] * in[k] + t[c]`,
 * applied lazily so that PhotoMetricDistortion and Normalize cost one pass.
 */
export interface ColorMap {
  m: Float64Array;
  t: Float64Array;
}

/** The encoded image and the geometric ops queued for its decode. */
export interface PendingDecode {
  file: string;
  buffer: Buffer;
  /** EXIF orientation (1 = none). */
  orientation: number;
  /** Size after orientation. */
  height: number;
  width: number;
  /** Target size of a queued resize. */
  resizeTo?: [number, number];
  flipH: boolean;
  flipV: boolean;
  /** The decode must convert to sRGB (CMYK, 16-bit, unknown format). */
  needsSrgb: boolean;
}

/**
 * Pixels whose colour pass is left to the collate (inside the loader): the
 * decoded `src`, the colour map and flips to apply, and the fill of the
 * padding up to the packed size.
 */
export interface DeferredPixels {
  src: ImageBuffer;
  colorMap?: ColorMap;
  flipH: boolean;
  flipV: boolean;
  padVal: number[];
}

/** What PackDetInputs / PackSegInputs produce for one image. */
export interface PackedInputs {
  /**
   * HWC float32 (or uint8 when no colour map ran) pixels of size `padShape`.
   * Inside the loader, `data` may be empty and `deferred` set: the collate
   * then writes the pixels straight into the batch.
   */
  inputs: ImageBuffer & { deferred?: DeferredPixels };
  /** A {@link DetSample} (always with `ignoredInstances`), with PackSegInputs' label map. */
  dataSample: PackedDataSample;
}

/** A transform: mutates / replaces the sample, or returns null to drop it. */
export interface Transform {
  transform(
    results: DataSample,
  ): DataSample | PackedInputs | null | Promise<DataSample | PackedInputs | null>;
}
