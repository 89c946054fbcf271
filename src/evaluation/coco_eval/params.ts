/**
 * Parameters of the COCO evaluation (pycocotools `Params`), the result type
 * and the input error.
 */

import type { CocoJson } from '../coco_format.js';

/** Which geometry is compared. */
export type CocoIouType = 'bbox' | 'segm';

/** Parameters of {@link evaluateCoco} (pycocotools `Params`, camelCase). */
export interface CocoEvalOptions {
  iouType?: CocoIouType;
  /** Image ids to evaluate; default all ground-truth images. */
  imgIds?: readonly number[];
  /** Category ids to evaluate; default all ground-truth categories. */
  catIds?: readonly number[];
  /** IoU thresholds; default `np.linspace(.5, .95, 10)`. */
  iouThrs?: readonly number[];
  /** Recall thresholds; default `np.linspace(0, 1, 101)`. */
  recThrs?: readonly number[];
  /** Max detections per image; default `[1, 10, 100]` (sorted). */
  maxDets?: readonly number[];
  /** Area ranges `[lo, hi]` (inclusive); default all/small/medium/large. */
  areaRng?: readonly (readonly [number, number])[];
  /** Labels of `areaRng`; default `['all', 'small', 'medium', 'large']`. */
  areaRngLbl?: readonly string[];
  /** Evaluate per category (default) or category-agnostic (proposals). */
  useCats?: boolean;
  /** The file the results came from, named in errors about them (`results[j]...`). */
  resultsFile?: string;
  /** The file the ground truth came from, named in errors about it (`images[i]...`, `annotations[j]...`). */
  gtFile?: string;
}

/** Resolved parameters. */
export interface CocoEvalParams {
  iouType: CocoIouType;
  imgIds: number[];
  catIds: number[];
  iouThrs: number[];
  recThrs: number[];
  maxDets: number[];
  areaRng: [number, number][];
  areaRngLbl: string[];
  useCats: boolean;
}

/** Result of {@link evaluateCoco}: pycocotools' `eval` dict and `stats`. */
export interface CocoEvalResult {
  params: CocoEvalParams;
  /** `[T, R, K, A, M]`. */
  counts: [number, number, number, number, number];
  /** Precision `[T][R][K][A][M]`, C order (`precision[(((t*R + r)*K + k)*A + a)*M + m]`); -1 for absent categories. */
  precision: Float64Array;
  /** Recall `[T][K][A][M]`, C order; -1 for absent categories. */
  recall: Float64Array;
  /** Score at each precision sample `[T][R][K][A][M]`. */
  scores: Float64Array;
  /** The 12 summary numbers of `COCOeval.summarize()` (AP, AP50, AP75, APs, APm, APl, AR1, AR10, AR100, ARs, ARm, ARl). */
  stats: number[];
}

/**
 * numpy's `np.linspace(start, stop, num)` (endpoint included), to the bit:
 * `i * step + start` with the last value set to `stop`.
 *
 * @example
 * ```ts
 * linspace(0.5, 0.95, 10)[1]; // => 0.55
 * ```
 */
export function linspace(start: number, stop: number, num: number): number[] {
  const out: number[] = [];
  const step = (stop - start) / (num - 1);
  for (let i = 0; i < num; i++) out.push(i * step + start);
  if (num > 1) out[num - 1] = stop;
  return out;
}

/**
 * Default parameters of pycocotools' `Params` for bbox/segm.
 *
 * @example
 * ```ts
 * defaultCocoParams('bbox').maxDets; // => [1, 10, 100]
 * ```
 */
export function defaultCocoParams(
  iouType: CocoIouType = 'bbox',
): Omit<CocoEvalParams, 'imgIds' | 'catIds'> {
  return {
    iouType,
    iouThrs: linspace(0.5, 0.95, Math.round((0.95 - 0.5) / 0.05) + 1),
    recThrs: linspace(0, 1, Math.round((1 - 0) / 0.01) + 1),
    maxDets: [1, 10, 100],
    areaRng: [
      [0 ** 2, 1e5 ** 2],
      [0 ** 2, 32 ** 2],
      [32 ** 2, 96 ** 2],
      [96 ** 2, 1e5 ** 2],
    ],
    areaRngLbl: ['all', 'small', 'medium', 'large'],
    useCats: true,
  };
}

const uniqueSorted = (ids: Iterable<number>): number[] => [...new Set(ids)].sort((a, b) => a - b);

/** Error in the inputs of an evaluation (ids that do not correspond, missing fields). */
export class CocoEvalError extends Error {
  /** `inGt`: the ground truth lacks what is needed (its file is named), else the results do. */
  constructor(
    message: string,
    readonly inGt = false,
  ) {
    super(message);
    this.name = 'CocoEvalError';
  }
}

/** pycocotools' `Params` from the options: ids unique and sorted, `maxDets` sorted. */
export function resolveParams(gt: CocoJson, options: CocoEvalOptions): CocoEvalParams {
  const iouType = options.iouType ?? 'bbox';
  if (iouType !== 'bbox' && iouType !== 'segm')
    throw new CocoEvalError(`iouType must be 'bbox' or 'segm', got ${JSON.stringify(iouType)}`);
  const def = defaultCocoParams(iouType);
  const params: CocoEvalParams = {
    iouType,
    imgIds: uniqueSorted(options.imgIds ?? gt.images.map((i) => i.id)),
    catIds: uniqueSorted(options.catIds ?? gt.categories.map((c) => c.id)),
    iouThrs: options.iouThrs ? [...options.iouThrs] : def.iouThrs,
    recThrs: options.recThrs ? [...options.recThrs] : def.recThrs,
    maxDets: options.maxDets ? [...options.maxDets].sort((a, b) => a - b) : def.maxDets,
    areaRng: options.areaRng
      ? options.areaRng.map((r) => [r[0], r[1]] as [number, number])
      : def.areaRng,
    areaRngLbl: options.areaRngLbl ? [...options.areaRngLbl] : def.areaRngLbl,
    useCats: options.useCats ?? true,
  };
  return params;
}
