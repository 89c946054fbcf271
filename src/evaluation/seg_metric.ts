/**
 * Semantic segmentation metrics, as mmsegmentation's `IoUMetric`:
 * per-class intersection / union / prediction / label pixel areas summed over
 * the data set (pixels whose label is `ignoreIndex` skipped), then aAcc, IoU,
 * Acc, Dice, Fscore, Precision, Recall; means over classes ignore NaN
 * (a class absent from both prediction and ground truth has IoU 0/0 = NaN).
 */
import { z } from 'zod';
import { validateArgs } from '../config/validate.js';
import { METRICS } from '../registry.js';
import type { SegMetricSample } from '../structures/index.js';
import type { DatasetMeta, Metric } from './metric.js';

/**
 * Accumulated pixel counts: the confusion matrix `[label][pred]` (row-major
 * `numClasses * numClasses`) of pixels whose label and prediction are both
 * classes, plus label pixels whose prediction is out of range (`labelExtra`)
 * and predictions of a class on pixels whose label is out of range
 * (`predExtra`).
 */
export interface SegAreas {
  numClasses: number;
  confusion: Float64Array;
  labelExtra: Float64Array;
  predExtra: Float64Array;
}

/** Per-class pixel areas (mmseg's `total_area_intersect` / `_union` / `_pred_label` / `_label`). */
export interface SegAreaTotals {
  intersect: Float64Array;
  union: Float64Array;
  predLabel: Float64Array;
  label: Float64Array;
}

/** Per-class values (fractions, NaN where undefined) and aAcc. */
export interface SegMetricValues {
  aAcc: number;
  IoU: Float64Array;
  Acc: Float64Array;
  Dice: Float64Array;
  Fscore: Float64Array;
  Precision: Float64Array;
  Recall: Float64Array;
}

/**
 * Empty accumulator of {@link SegAreas}.
 *
 * @example
 * ```ts
 * createSegAreas(3).confusion.length; // => 9
 * ```
 */
export function createSegAreas(numClasses: number): SegAreas {
  return {
    numClasses,
    confusion: new Float64Array(numClasses * numClasses),
    labelExtra: new Float64Array(numClasses),
    predExtra: new Float64Array(numClasses),
  };
}

/**
 * Add one image's label map to `areas`, as mmsegmentation's
 * `intersect_and_union`: pixels labelled `ignoreIndex` are skipped; values
 * outside `[0, numClasses)` count in no class (torch.histc drops them), but a
 * class label with an out-of-range prediction still counts in the label area.
 *
 * @example
 * ```ts
 * const a = createSegAreas(2);
 * accumulateSegAreas(a, [0, 1, 1, 0], [0, 1, 0, 255]); // pred, label
 * Array.from(a.confusion); // => [1, 1, 0, 1]
 * ```
 */
export function accumulateSegAreas(
  areas: SegAreas,
  pred: ArrayLike<number>,
  label: ArrayLike<number>,
  ignoreIndex = 255,
): SegAreas {
  if (pred.length !== label.length)
    throw new RangeError(
      `segmentation: prediction has ${pred.length} pixels, label has ${label.length}`,
    );
  const n = areas.numClasses;
  const conf = areas.confusion;
  for (let i = 0; i < label.length; i++) {
    const l = label[i];
    if (l === ignoreIndex) continue;
    const p = pred[i];
    const lIn = l >= 0 && l < n && Number.isInteger(l);
    const pIn = p >= 0 && p < n && Number.isInteger(p);
    if (lIn && pIn) conf[l * n + p]++;
    else if (lIn) areas.labelExtra[l]++;
    else if (pIn) areas.predExtra[p]++;
  }
  return areas;
}

/**
 * Intersection, union, prediction and label areas per class.
 *
 * @example
 * ```ts
 * const t = segAreaTotals(accumulateSegAreas(createSegAreas(2), [0, 1, 1, 0], [0, 1, 0, 255]));
 * Array.from(t.union); // => [2, 2]
 * ```
 */
export function segAreaTotals(a: SegAreas): SegAreaTotals {
  const n = a.numClasses;
  const t = {
    intersect: new Float64Array(n),
    union: new Float64Array(n),
    predLabel: new Float64Array(n),
    label: new Float64Array(n),
  };
  for (let c = 0; c < n; c++) {
    let row = 0;
    let col = 0;
    for (let k = 0; k < n; k++) {
      row += a.confusion[c * n + k];
      col += a.confusion[k * n + c];
    }
    t.intersect[c] = a.confusion[c * n + c]!;
    t.label[c] = row + a.labelExtra[c];
    t.predLabel[c] = col + a.predExtra[c];
    t.union[c] = t.predLabel[c] + t.label[c] - t.intersect[c];
  }
  return t;
}

/**
 * Per-class metrics from summed areas, as mmsegmentation's
 * `total_area_to_metrics` (in float64; mmseg sums areas in float32):
 * IoU = I/U, Acc = Recall = I/label, Dice = 2I/(pred + label),
 * Precision = I/pred, Fscore = (1 + beta^2) P R / (beta^2 P + R),
 * aAcc = sum I / sum label.
 *
 * @example
 * ```ts
 * const a = createSegAreas(2);
 * accumulateSegAreas(a, [0, 1, 1, 0], [0, 1, 0, 255]);
 * const v = segMetricsFromAreas(a);
 * v.aAcc; // => 0.6666666666666666
 * Array.from(v.IoU); // => [0.5, 0.5]
 * ```
 */
export function segMetricsFromAreas(
  areas: SegAreas,
  beta = 1,
): SegMetricValues & { totals: SegAreaTotals } {
  const a = segAreaTotals(areas);
  const n = areas.numClasses;
  const mk = () => new Float64Array(n);
  const v = { IoU: mk(), Acc: mk(), Dice: mk(), Fscore: mk(), Precision: mk(), Recall: mk() };
  let si = 0;
  let sl = 0;
  for (let c = 0; c < n; c++) {
    const I = a.intersect[c];
    const L = a.label[c];
    const P = a.predLabel[c];
    si += I;
    sl += L;
    v.IoU[c] = I / a.union[c];
    v.Acc[c] = I / L;
    v.Dice[c] = (2 * I) / (P + L);
    const prec = I / P;
    const rec = I / L;
    v.Precision[c] = prec;
    v.Recall[c] = rec;
    v.Fscore[c] = ((1 + beta ** 2) * (prec * rec)) / (beta ** 2 * prec + rec);
  }
  return { aAcc: si / sl, ...v, totals: a };
}

/**
 * Mean over values that are not NaN (numpy's `nanmean`); NaN when all are.
 *
 * @example
 * ```ts
 * nanMean([0.5, NaN, 1]); // => 0.75
 * ```
 */
export function nanMean(values: ArrayLike<number>): number {
  let s = 0;
  let k = 0;
  for (let i = 0; i < values.length; i++) {
    const x = values[i];
    if (!Number.isNaN(x)) {
      s += x;
      k++;
    }
  }
  return k ? s / k : NaN;
}

/** Which mean metrics {@link SegMetric} reports. */
export type SegMetricName = 'mIoU' | 'mDice' | 'mFscore';

/** Options of {@link SegMetric} (mmsegmentation's `IoUMetric` arguments, camelCase). */
export interface SegMetricOptions {
  /** Label value to skip. Default 255. */
  ignoreIndex?: number;
  /** Default all three: `['mIoU', 'mDice', 'mFscore']`. */
  iouMetrics?: SegMetricName[];
  /** Replace NaN per-class values by this number before averaging (mmseg's `nan_to_num`). */
  nanToNum?: number;
  /** F-score beta. Default 1. */
  beta?: number;
  /** Number of classes when `datasetMeta.classes` is not set. */
  numClasses?: number;
  /** Key prefix; default none (mmseg's keys are `aAcc`, `mIoU`, ...). */
  prefix?: string;
}

const optionsSchema = z
  .object({
    ignoreIndex: z.number().int().optional(),
    iouMetrics: z
      .array(z.enum(['mIoU', 'mDice', 'mFscore']))
      .min(1)
      .optional(),
    nanToNum: z.number().optional(),
    beta: z.number().positive().optional(),
    numClasses: z.number().int().positive().optional(),
    prefix: z.string().optional(),
  })
  .strict();

/** One row of the per-class table (percentages). */
export interface SegClassRow {
  class: string;
  IoU: number;
  Acc: number;
  Dice: number;
  Fscore: number;
  Precision: number;
  Recall: number;
}

/**
 * One image's pixel counts in {@link SegMetric}, as `[index, count]` pairs of
 * the non-zero entries of {@link SegAreas}' arrays (JSON-serialisable, for
 * data-parallel validation).
 */
export interface SegMetricResult {
  confusion: [number, number][];
  labelExtra: [number, number][];
  predExtra: [number, number][];
}

function nonZero(a: Float64Array): [number, number][] {
  const out: [number, number][] = [];
  for (let i = 0; i < a.length; i++) if (a[i] !== 0) out.push([i, a[i]]);
  return out;
}

/**
 * Semantic segmentation metric, as mmsegmentation's `IoUMetric`, accumulated
 * in a confusion matrix over the data set. `compute()` returns percentages
 * (x100, unrounded; mmseg rounds to 2 decimals): `aAcc`, and per requested
 * metric `mIoU` + `mAcc`, `mDice` + `mAcc`, `mFscore` + `mPrecision` + `mRecall`,
 * means over classes skipping NaN.
 *
 * @example
 * ```ts
 * const m = new SegMetric({ numClasses: 2 });
 * m.process({}, [{ predSemSeg: { data: [0, 1, 1, 0] }, gtSemSeg: { data: [0, 1, 0, 255] } }]);
 * m.compute();
 * // => { aAcc: 66.66666666666666, mIoU: 50, mAcc: 75, mDice: 66.66666666666666,
 * //   mFscore: 66.66666666666666, mPrecision: 75, mRecall: 75 }
 * ```
 */
export class SegMetric implements Metric<SegMetricSample> {
  static readonly configSchema = optionsSchema;
  readonly options: Required<Pick<SegMetricOptions, 'ignoreIndex' | 'iouMetrics' | 'beta'>> &
    SegMetricOptions;
  datasetMeta?: DatasetMeta;
  /** Per-class table of the last `compute()`. */
  classTable: SegClassRow[] = [];
  /** Values of the last `compute()` (fractions) with the summed areas. */
  lastValues?: SegMetricValues & { totals: SegAreaTotals };
  /** One entry per processed image, in order (mmengine's `BaseMetric.results`). */
  results: SegMetricResult[] = [];

  constructor(options: SegMetricOptions = {}) {
    const o = validateArgs(optionsSchema, options, 'SegMetric');
    this.options = { ignoreIndex: 255, iouMetrics: ['mIoU', 'mDice', 'mFscore'], beta: 1, ...o };
  }

  private get numClasses(): number {
    const n = this.datasetMeta?.classes?.length ?? this.options.numClasses;
    if (!n) throw new Error('SegMetric: set datasetMeta.classes or the numClasses option');
    return n;
  }

  reset(): void {
    this.results = [];
  }

  process(_dataBatch: unknown, dataSamples: readonly SegMetricSample[]): void {
    for (const s of dataSamples) {
      if (!s.gtSemSeg)
        throw new Error(
          'SegMetric: a sample has no gtSemSeg; load the label maps in the test pipeline (LoadAnnotations with withSeg: true, then PackSegInputs)',
        );
      if (s.predSemSeg.data.length !== s.gtSemSeg.data.length) {
        const dims = (m: { data: ArrayLike<number>; height?: number; width?: number }) =>
          m.height && m.width && m.height * m.width === m.data.length
            ? `${m.height}x${m.width}`
            : `${m.data.length} pixels`;
        throw new RangeError(
          `SegMetric: prediction (${dims(s.predSemSeg)}) and label map (${dims(s.gtSemSeg)}) differ in size; ` +
            'predictions are at the original image size, so load the label map after Resize in the test pipeline (as mmseg does)',
        );
      }
      const areas = createSegAreas(this.numClasses);
      accumulateSegAreas(areas, s.predSemSeg.data, s.gtSemSeg.data, this.options.ignoreIndex);
      this.results.push({
        confusion: nonZero(areas.confusion),
        labelExtra: nonZero(areas.labelExtra),
        predExtra: nonZero(areas.predExtra),
      });
    }
  }

  compute(): Record<string, number> {
    const areas = createSegAreas(this.numClasses);
    for (const r of this.results) {
      for (const [i, v] of r.confusion) areas.confusion[i] += v;
      for (const [i, v] of r.labelExtra) areas.labelExtra[i] += v;
      for (const [i, v] of r.predExtra) areas.predExtra[i] += v;
    }
    this.results = [];
    const v = segMetricsFromAreas(areas, this.options.beta);
    this.lastValues = v;
    const fix = (a: Float64Array) =>
      this.options.nanToNum === undefined
        ? a
        : a.map((x) => (Number.isNaN(x) ? this.options.nanToNum! : x));
    const p = this.options.prefix ? `${this.options.prefix}/` : '';
    const out: Record<string, number> = { [`${p}aAcc`]: v.aAcc * 100 };
    for (const m of this.options.iouMetrics) {
      if (m === 'mIoU') {
        out[`${p}mIoU`] = nanMean(fix(v.IoU)) * 100;
        out[`${p}mAcc`] = nanMean(fix(v.Acc)) * 100;
      } else if (m === 'mDice') {
        out[`${p}mDice`] = nanMean(fix(v.Dice)) * 100;
        out[`${p}mAcc`] = nanMean(fix(v.Acc)) * 100;
      } else {
        out[`${p}mFscore`] = nanMean(fix(v.Fscore)) * 100;
        out[`${p}mPrecision`] = nanMean(fix(v.Precision)) * 100;
        out[`${p}mRecall`] = nanMean(fix(v.Recall)) * 100;
      }
    }
    const classes = this.datasetMeta?.classes;
    this.classTable = Array.from({ length: areas.numClasses }, (_, c) => ({
      class: classes?.[c] ?? String(c),
      IoU: fix(v.IoU)[c] * 100,
      Acc: fix(v.Acc)[c] * 100,
      Dice: fix(v.Dice)[c] * 100,
      Fscore: fix(v.Fscore)[c] * 100,
      Precision: fix(v.Precision)[c] * 100,
      Recall: fix(v.Recall)[c] * 100,
    }));
    return out;
  }
}

METRICS.register(SegMetric);
