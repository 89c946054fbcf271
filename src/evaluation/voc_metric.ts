/**
 * `VOCMetric`: mmdetection's PASCAL VOC mAP metric over streamed predictions.
 */
import { z } from 'zod';
import { validateArgs } from '../config/validate.js';
import { METRICS } from '../registry.js';
import { evalMap, type MapAnnotation } from './voc_eval.js';
import type { MetricDataSample } from '../structures/index.js';
import { assertSomeGroundTruth, rowsOf, type DatasetMeta, type Metric } from './metric.js';

/** Options of {@link VOCMetric} (mmdetection's arguments, camelCase). */
export interface VOCMetricOptions {
  /** IoU threshold(s); one AP per threshold, `mAP` is their mean. Default 0.5. */
  iouThrs?: number | number[];
  /** Object scale ranges `[[minSide, maxSide], ...]`; default all sizes. */
  scaleRanges?: [number, number][];
  /** Only `'mAP'`. */
  metric?: 'mAP';
  /** `'11points'` (VOC2007, mmdetection's default) or `'area'` (VOC2010+). */
  evalMode?: '11points' | 'area';
  /** Legacy +1 pixel widths, as mmdetection's VOCMetric passes to `eval_map` (default true). */
  useLegacyCoordinate?: boolean;
  /** Key prefix; default `'pascal_voc'`. */
  prefix?: string;
}

const optionsSchema = z
  .object({
    iouThrs: z
      .union([z.number().min(0).max(1), z.array(z.number().min(0).max(1)).min(1)])
      .optional(),
    scaleRanges: z.array(z.tuple([z.number(), z.number()])).optional(),
    metric: z.literal('mAP').optional(),
    evalMode: z.enum(['11points', 'area']).optional(),
    useLegacyCoordinate: z.boolean().optional(),
    prefix: z.string().optional(),
  })
  .strict();

/** One row of the per-class table. */
export interface VocClassRow {
  class: string;
  gts: number;
  dets: number;
  /** Recall after all detections. */
  recall: number;
  ap: number;
}

/** What {@link VOCMetric} keeps of one image (JSON-serialisable, for data-parallel validation). */
export interface VocMetricResult {
  bboxes: number[][];
  scores: number[];
  labels: number[];
  gt: MapAnnotation;
}

/**
 * PASCAL VOC metric, as mmdetection's `VOCMetric`: per-class AP with
 * `difficult` boxes ignored (neither TP nor FP), duplicate detections FP,
 * `evalMode` `'11points'` or `'area'`; `compute()` returns
 * `pascal_voc/AP50` (one `APxx` per IoU threshold) and `pascal_voc/mAP`
 * (their mean), unrounded. Ground truth comes from the samples:
 * `gtInstances` + `ignoredInstances`, or `instances` with `ignoreFlag` for
 * difficult boxes.
 *
 * @example
 * ```ts
 * const m = new VOCMetric({ evalMode: 'area' });
 * m.datasetMeta = { classes: ['cat'] };
 * m.process({}, [{ predInstances: { bboxes: [[0, 0, 10, 10]], scores: [0.9], labels: [0] }, instances: [{ bbox: [0, 0, 10, 10], bboxLabel: 0 }] }]);
 * m.compute(); // => { 'pascal_voc/AP50': 1, 'pascal_voc/mAP': 1 }
 * ```
 */
export class VOCMetric implements Metric<MetricDataSample> {
  static readonly configSchema = optionsSchema;
  readonly options: Required<
    Pick<VOCMetricOptions, 'evalMode' | 'useLegacyCoordinate' | 'prefix'>
  > &
    VOCMetricOptions;
  datasetMeta?: DatasetMeta;
  /** Per-class table of the last `compute()`, per IoU threshold (key `AP50`...). */
  classTable: Record<string, VocClassRow[]> = {};
  /** One entry per processed image, in order (mmengine's `BaseMetric.results`). */
  results: VocMetricResult[] = [];

  constructor(options: VOCMetricOptions = {}) {
    const o = validateArgs(optionsSchema, options, 'VOCMetric');
    this.options = { evalMode: '11points', useLegacyCoordinate: true, prefix: 'pascal_voc', ...o };
  }

  reset(): void {
    this.results = [];
  }

  process(_dataBatch: unknown, dataSamples: readonly MetricDataSample[]): void {
    for (const s of dataSamples) {
      const i = this.results.length;
      const p = s.predInstances;
      if (!p) throw new TypeError(`VOCMetric.process: sample ${i} has no predInstances`);
      const bboxes = rowsOf(p.bboxes, 4, `predInstances(sample ${i}).bboxes`);
      let gt: MapAnnotation;
      if (s.gtInstances) {
        gt = {
          bboxes: rowsOf(s.gtInstances.bboxes, 4, `gtInstances(sample ${i}).bboxes`),
          labels: Array.from(s.gtInstances.labels),
          bboxesIgnore: s.ignoredInstances
            ? rowsOf(s.ignoredInstances.bboxes, 4, `ignoredInstances(sample ${i}).bboxes`)
            : [],
          labelsIgnore: s.ignoredInstances ? Array.from(s.ignoredInstances.labels) : [],
        };
      } else {
        const inst = s.instances ?? [];
        const keep = inst.filter((x) => !x.ignoreFlag);
        const ign = inst.filter((x) => x.ignoreFlag);
        gt = {
          bboxes: keep.map((x) => [...x.bbox]),
          labels: keep.map((x) => x.bboxLabel),
          bboxesIgnore: ign.map((x) => [...x.bbox]),
          labelsIgnore: ign.map((x) => x.bboxLabel),
        };
      }
      this.results.push({ bboxes, scores: Array.from(p.scores), labels: Array.from(p.labels), gt });
    }
  }

  compute(): Record<string, number> {
    const results = this.results;
    this.results = [];
    assertSomeGroundTruth(
      'VOCMetric',
      results.length,
      results.reduce((n, r) => n + r.gt.labels.length + (r.gt.labelsIgnore?.length ?? 0), 0),
    );
    const classes = this.datasetMeta?.classes;
    const maxLabel = Math.max(
      -1,
      ...results.flatMap((r) => [
        ...r.labels,
        ...Array.from(r.gt.labels),
        ...Array.from(r.gt.labelsIgnore ?? []),
      ]),
    );
    const numClasses = classes?.length ?? maxLabel + 1;
    const dets = results.map((r) => {
      const perClass: number[][][] = Array.from({ length: numClasses }, () => []);
      r.bboxes.forEach((b, j) => {
        const l = r.labels[j];
        if (l < 0 || l >= numClasses)
          throw new RangeError(`VOCMetric: label ${l} outside 0..${numClasses - 1}`);
        perClass[l].push([b[0], b[1], b[2], b[3], r.scores[j]]);
      });
      return perClass;
    });
    const thrs =
      this.options.iouThrs === undefined
        ? [0.5]
        : Array.isArray(this.options.iouThrs)
          ? this.options.iouThrs
          : [this.options.iouThrs];
    const { prefix } = this.options;
    const out: Record<string, number> = {};
    const means: number[] = [];
    for (const thr of thrs) {
      const r = evalMap(
        dets,
        results.map((x) => x.gt),
        {
          iouThr: thr,
          evalMode: this.options.evalMode,
          useLegacyCoordinate: this.options.useLegacyCoordinate,
          scaleRanges: this.options.scaleRanges,
        },
      );
      const key = `AP${String(Math.trunc(thr * 100)).padStart(2, '0')}`;
      // with scale ranges mmdetection reports the mean over them
      const mean = r.mAP.reduce((a, b) => a + b, 0) / r.mAP.length;
      out[`${prefix}/${key}`] = mean;
      means.push(mean);
      this.classTable[key] = r.classes.map((c, k) => ({
        class: classes?.[k] ?? String(k),
        gts: c.numGts[0],
        dets: c.numDets,
        recall: c.recall[0].length ? c.recall[0][c.recall[0].length - 1] : 0,
        ap: c.ap[0],
      }));
    }
    out[`${prefix}/mAP`] = means.reduce((a, b) => a + b, 0) / means.length;
    return out;
  }
}

METRICS.register(VOCMetric);
