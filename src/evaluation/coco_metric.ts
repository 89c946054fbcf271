/**
 * `CocoMetric`: mmdetection's COCO metric (bbox, segm, proposal) over
 * streamed predictions, computed with {@link evaluateCoco}.
 */
import { dirname } from 'node:path';
import { z } from 'zod';
import { validateArgs } from '../config/validate.js';
import { METRICS } from '../registry.js';
import { compressRle, rleEncode, type RLE } from '../masks/index.js';
import { evaluateCoco, summarizeOne, type CocoEvalResult } from './coco_eval.js';
import {
  loadCocoDataset,
  type CocoAnnotation,
  type CocoJson,
  type CocoResult,
} from './coco_format.js';
import type { MetricDataSample, PredMask } from '../structures/index.js';
import { assertSomeGroundTruth, rowsOf, type DatasetMeta, type Metric } from './metric.js';
import { ensureDir, writeFileAtomic } from '../utils/fs.js';

/** Options of {@link CocoMetric} (mmdetection's `CocoMetric` arguments, camelCase). */
export interface CocoMetricOptions {
  /** COCO ground-truth file; without it the ground truth is built from the samples' `instances`. */
  annFile?: string;
  /** `'bbox'`, `'segm'`, `'proposal'` or several. Default `'bbox'`. */
  metric?: CocoMetricType | CocoMetricType[];
  /** Also report AP per class (`coco/<class>_precision`) and keep the table in `classwiseTable`. */
  classwise?: boolean;
  /** Max detections per image for AR (and COCOeval's `maxDets`). Default `[100, 300, 1000]`. */
  proposalNums?: number[];
  /** IoU thresholds; default `.50:.05:.95`. */
  iouThrs?: number[];
  /** Which of the 12 numbers to report (mmdetection's `metric_items`). */
  metricItems?: string[];
  /** Only write the results JSON (needs `outfilePrefix`); `compute()` returns `{}`. */
  formatOnly?: boolean;
  /** Write `<prefix>.bbox.json` / `<prefix>.segm.json` in COCO results format. */
  outfilePrefix?: string;
  /** Key prefix; default `'coco'`. */
  prefix?: string;
}

/** One kind of COCO evaluation. */
export type CocoMetricType = 'bbox' | 'segm' | 'proposal';

const optionsSchema = z
  .object({
    annFile: z.string().optional(),
    metric: z
      .union([
        z.enum(['bbox', 'segm', 'proposal']),
        z.array(z.enum(['bbox', 'segm', 'proposal'])).min(1),
      ])
      .optional(),
    classwise: z.boolean().optional(),
    proposalNums: z.array(z.number().int().positive()).min(1).optional(),
    iouThrs: z.array(z.number().min(0).max(1)).min(1).optional(),
    metricItems: z
      .array(
        z.enum([
          'mAP',
          'mAP_50',
          'mAP_75',
          'mAP_s',
          'mAP_m',
          'mAP_l',
          'AR@100',
          'AR@300',
          'AR@1000',
          'AR_s@1000',
          'AR_m@1000',
          'AR_l@1000',
        ]),
      )
      .optional(),
    formatOnly: z.boolean().optional(),
    outfilePrefix: z.string().optional(),
    prefix: z.string().optional(),
  })
  .strict();

/** mmdetection's `coco_metric_names`: item name -> index into the 12 stats. */
export const COCO_METRIC_NAMES: Record<string, number> = {
  mAP: 0,
  mAP_50: 1,
  mAP_75: 2,
  mAP_s: 3,
  mAP_m: 4,
  mAP_l: 5,
  'AR@100': 6,
  'AR@300': 7,
  'AR@1000': 8,
  'AR_s@1000': 9,
  'AR_m@1000': 10,
  'AR_l@1000': 11,
};

/** One row of the per-class table (`classwise`). */
export interface CocoClassRow {
  category: string;
  mAP: number;
  mAP_50: number;
  mAP_75: number;
  mAP_s: number;
  mAP_m: number;
  mAP_l: number;
}

/**
 * The ground truth of a sample as `instances`, from mmdetection-style
 * `gtInstances` (and `ignoredInstances`, as crowd boxes that are ignored).
 */
function instancesOf(
  s: MetricDataSample,
  imgId: number,
): NonNullable<MetricDataSample['instances']> {
  const out: { bbox: number[]; bboxLabel: number; ignoreFlag: number }[] = [];
  const add = (g: MetricDataSample['gtInstances'], what: string, ignoreFlag: number) => {
    if (!g) return;
    rowsOf(g.bboxes, 4, `${what}(img ${imgId}).bboxes`).forEach((bbox, j) =>
      out.push({ bbox, bboxLabel: g.labels[j], ignoreFlag }),
    );
  };
  add(s.gtInstances, 'gtInstances', 0);
  add(s.ignoredInstances, 'ignoredInstances', 1);
  return out;
}

/**
 * What {@link CocoMetric} keeps of one image (JSON-serialisable: data-parallel
 * validation gathers these from every worker). `imgId` is absent when the
 * sample had none; the image is then numbered by its position.
 */
export interface CocoMetricResult {
  imgId?: number;
  bboxes: number[][];
  scores: number[];
  labels: number[];
  masks?: RLE[];
  maskScores?: number[];
  height?: number;
  width?: number;
  instances?: MetricDataSample['instances'];
}

/**
 * The masks of one image's predictions as compressed COCO RLE: RLEs are
 * compressed, bitmaps (row-major `h*w`, `h, w` from `oriShape` or
 * `height`/`width`) encoded as pycocotools' `mask.encode` does.
 *
 * @example
 * ```ts
 * masksToRle([Uint8Array.of(0, 1, 1, 0, 1, 0)], { oriShape: [2, 3] }, 1, 1); // => [{ size: [2, 3], counts: '231' }]
 * ```
 */
export function masksToRle(
  masks: readonly PredMask[],
  s: Pick<MetricDataSample, 'oriShape' | 'height' | 'width'>,
  imgId: number,
  n: number,
): RLE[] {
  if (masks.length !== n)
    throw new RangeError(`predInstances(img ${imgId}): ${n} boxes but ${masks.length} masks`);
  return masks.map((m, i) => {
    if (typeof m === 'object' && m !== null && 'counts' in m) return compressRle(m);
    const [h, w] = s.oriShape ?? [s.height, s.width];
    if (!h || !w)
      throw new TypeError(
        `predInstances(img ${imgId}).masks[${i}]: a bitmap mask needs the sample's oriShape (or height/width)`,
      );
    const bits = m;
    if (bits.length !== h * w)
      throw new RangeError(
        `predInstances(img ${imgId}).masks[${i}]: ${bits.length} pixels, the image has ${h}x${w} = ${h * w}`,
      );
    return rleEncode(bits, h, w);
  });
}

/**
 * Convert collected predictions to COCO results lists, as mmdetection's
 * `CocoMetric.results2json`: boxes `xyxy -> [x, y, x2 - x, y2 - y]`,
 * `category_id = catIds[label]`.
 *
 * @example
 * ```ts
 * predictionsToCocoResults([{ imgId: 1, bboxes: [[1, 2, 4, 6]], scores: [0.5], labels: [0] }], [3]).bbox;
 * // => [{ image_id: 1, category_id: 3, bbox: [1, 2, 3, 4], score: 0.5 }]
 * ```
 */
export function predictionsToCocoResults(
  preds: readonly {
    imgId: number;
    bboxes: number[][];
    scores: ArrayLike<number>;
    labels: ArrayLike<number>;
    masks?: readonly RLE[];
    maskScores?: ArrayLike<number>;
  }[],
  catIds: readonly number[],
): { bbox: CocoResult[]; segm: CocoResult[] } {
  const bbox: CocoResult[] = [];
  const segm: CocoResult[] = [];
  for (const p of preds) {
    for (let i = 0; i < p.bboxes.length; i++) {
      const b = p.bboxes[i];
      const label = p.labels[i];
      const catId = catIds[label];
      if (catId === undefined)
        throw new RangeError(
          `image ${p.imgId}: label ${label} has no category (${catIds.length} categories)`,
        );
      bbox.push({
        image_id: p.imgId,
        category_id: catId,
        bbox: [b[0], b[1], b[2] - b[0], b[3] - b[1]],
        score: p.scores[i],
      });
      if (p.masks) {
        segm.push({
          image_id: p.imgId,
          category_id: catId,
          bbox: [b[0], b[1], b[2] - b[0], b[3] - b[1]],
          score: (p.maskScores ?? p.scores)[i],
          segmentation: p.masks[i],
        });
      }
    }
  }
  return { bbox, segm };
}

/**
 * COCO detection metric, as mmdetection's `CocoMetric`: `process()` collects
 * predictions per image; `compute()` runs pycocotools-exact evaluation and
 * returns `coco/bbox_mAP`, `coco/bbox_mAP_50`, `..._75`, `_s`, `_m`, `_l`,
 * the AR items (`coco/bbox_AR@100`, ...) and, with `classwise`,
 * `coco/<class>_precision`. As in mmdetection, COCOeval's `maxDets` is
 * `proposalNums`, so `mAP` is at 100 detections and the other items at
 * `proposalNums[2]`; segm evaluation drops the boxes so that areas are mask
 * areas. Values are not rounded (mmdetection rounds to 3 decimals for logs).
 * For `segm`, `predInstances.masks` holds one mask per box: COCO RLE, or a
 * row-major 0/1 bitmap of the original image (Mask R-CNN's output),
 * encoded to RLE with the sample's `oriShape` (see {@link masksToRle}).
 *
 * @example
 * ```ts
 * // usually METRICS.build({ type: 'CocoMetric', annFile: 'instances_val2017.json', metric: ['bbox', 'segm'] })
 * const m = new CocoMetric({ metricItems: ['mAP', 'mAP_50', 'AR@100'] }); // ground truth from the samples
 * m.datasetMeta = { classes: ['cat'] };
 * m.process({}, [{ imgId: 1, oriShape: [20, 20], predInstances: { bboxes: [[2, 2, 12, 12]], scores: [0.9], labels: [0] },
 *   instances: [{ bbox: [2, 2, 12, 12], bboxLabel: 0 }] }]);
 * m.compute(); // => { 'coco/bbox_mAP': 0.9999999999999998, 'coco/bbox_mAP_50': 0.9999999999999999, 'coco/bbox_AR@100': 1 }
 * ```
 */
export class CocoMetric implements Metric<MetricDataSample> {
  static readonly configSchema = optionsSchema;
  readonly options: Required<
    Pick<CocoMetricOptions, 'classwise' | 'proposalNums' | 'formatOnly' | 'prefix'>
  > &
    CocoMetricOptions;
  datasetMeta?: DatasetMeta;
  /** Per-class AP table of the last `compute()` with `classwise`, per metric. */
  classwiseTable: Record<string, CocoClassRow[]> = {};
  /** Full evaluation results of the last `compute()`, per metric. */
  lastEval: Record<string, CocoEvalResult> = {};
  /** One entry per processed image, in order (mmengine's `BaseMetric.results`). */
  results: CocoMetricResult[] = [];
  private gt?: CocoJson;

  constructor(options: CocoMetricOptions = {}) {
    const o = validateArgs(optionsSchema, options, 'CocoMetric');
    this.options = {
      classwise: false,
      proposalNums: [100, 300, 1000],
      formatOnly: false,
      prefix: 'coco',
      ...o,
    };
    if (this.options.formatOnly && !this.options.outfilePrefix)
      throw new Error('CocoMetric: formatOnly needs outfilePrefix');
    if (this.options.annFile) this.gt = loadCocoDataset(this.options.annFile);
  }

  /** Metric kinds to compute. */
  get metrics(): CocoMetricType[] {
    const m = this.options.metric ?? 'bbox';
    return Array.isArray(m) ? m : [m];
  }

  reset(): void {
    this.results = [];
  }

  process(_dataBatch: unknown, dataSamples: readonly MetricDataSample[]): void {
    for (const s of dataSamples) {
      const p = s.predInstances;
      if (!p) throw new TypeError('CocoMetric.process: a data sample has no predInstances');
      if (s.imgId === undefined && this.gt)
        throw new TypeError('CocoMetric.process: with annFile every data sample needs imgId');
      const imgId = s.imgId ?? this.results.length;
      const bboxes = rowsOf(p.bboxes, 4, `predInstances(img ${imgId}).bboxes`);
      if (p.scores.length !== bboxes.length || p.labels.length !== bboxes.length) {
        throw new RangeError(
          `predInstances(img ${imgId}): ${bboxes.length} boxes, ${p.scores.length} scores, ${p.labels.length} labels`,
        );
      }
      const c: CocoMetricResult = {
        imgId: s.imgId,
        bboxes,
        scores: Array.from(p.scores),
        labels: Array.from(p.labels),
      };
      if (p.masks) c.masks = masksToRle(p.masks, s, imgId, bboxes.length);
      if (p.maskScores) c.maskScores = Array.from(p.maskScores);
      if (!this.gt) {
        const [h, w] = s.oriShape ?? [s.height, s.width];
        c.height = h;
        c.width = w;
        c.instances = s.instances ?? instancesOf(s, imgId);
      }
      this.results.push(c);
    }
  }

  /** The results with every image id set (a sample without one is numbered by its position). */
  private numbered(): (CocoMetricResult & { imgId: number })[] {
    return this.results.map((r, i) =>
      r.imgId === undefined ? { ...r, imgId: i } : r,
    ) as (CocoMetricResult & { imgId: number })[];
  }

  /** Ground truth built from the samples, as mmdetection's `gt_to_coco_json`. */
  private gtFromSamples(): CocoJson {
    const classes = this.datasetMeta?.classes;
    const maxLabel = Math.max(
      -1,
      ...this.results.flatMap((r) => [...r.labels, ...(r.instances ?? []).map((i) => i.bboxLabel)]),
    );
    const names = classes ?? Array.from({ length: maxLabel + 1 }, (_, i) => String(i));
    const images = [];
    const annotations: CocoAnnotation[] = [];
    for (const r of this.numbered()) {
      if (r.height === undefined || r.width === undefined)
        throw new TypeError(
          `CocoMetric: image ${r.imgId} needs oriShape (or width/height) without annFile`,
        );
      images.push({ id: r.imgId, width: r.width, height: r.height, file_name: '' });
      for (const inst of r.instances ?? []) {
        const b = inst.bbox;
        const bb = [b[0], b[1], b[2] - b[0], b[3] - b[1]];
        const ann: CocoAnnotation = {
          id: annotations.length + 1,
          image_id: r.imgId,
          bbox: bb,
          iscrowd: inst.ignoreFlag ?? 0,
          category_id: inst.bboxLabel,
          area: bb[2] * bb[3],
        };
        if (inst.mask) ann.segmentation = inst.mask;
        annotations.push(ann);
      }
    }
    assertSomeGroundTruth('CocoMetric', this.results.length, annotations.length);
    return { images, annotations, categories: names.map((name, id) => ({ id, name })) };
  }

  /** Category ids in label order: data set categories whose names are in `datasetMeta.classes`, else all. */
  private catIdsOf(gt: CocoJson): number[] {
    const classes = this.datasetMeta?.classes;
    if (!classes) return gt.categories.map((c) => c.id);
    const wanted = new Set(classes);
    return gt.categories.filter((c) => wanted.has(c.name)).map((c) => c.id);
  }

  /** The collected predictions in COCO results format (what `outfilePrefix` writes). */
  toCocoResults(): { bbox: CocoResult[]; segm: CocoResult[] } {
    const gt = this.gt ?? this.gtFromSamples();
    return predictionsToCocoResults(this.numbered(), this.catIdsOf(gt));
  }

  compute(): Record<string, number> {
    const gt = this.gt ?? this.gtFromSamples();
    const catIds = this.catIdsOf(gt);
    const res = predictionsToCocoResults(this.numbered(), catIds);
    const { prefix, outfilePrefix, formatOnly, proposalNums, iouThrs, classwise } = this.options;
    if (outfilePrefix) {
      ensureDir(dirname(outfilePrefix));
      writeFileAtomic(`${outfilePrefix}.bbox.json`, JSON.stringify(res.bbox));
      if (this.results.some((r) => r.masks))
        writeFileAtomic(`${outfilePrefix}.segm.json`, JSON.stringify(res.segm));
    }
    // as mmdetection: all images of the ground truth
    const imgIds = gt.images.map((i) => i.id);
    this.results = [];
    if (formatOnly) return {};
    const out: Record<string, number> = {};
    for (const metric of this.metrics) {
      const iouType = metric === 'segm' ? 'segm' : 'bbox';
      let dt: CocoResult[];
      if (metric === 'segm') {
        // without boxes, loadRes takes areas from the masks (mmdetection pops 'bbox')
        dt = res.segm.map(({ bbox: _b, ...rest }) => rest);
        if (dt.length === 0 && res.bbox.length > 0)
          throw new Error('CocoMetric: segm metric needs predInstances.masks');
      } else dt = res.bbox;
      const r = evaluateCoco(gt, dt, {
        iouType,
        imgIds,
        catIds: metric === 'proposal' ? undefined : catIds,
        useCats: metric !== 'proposal',
        maxDets: proposalNums,
        iouThrs,
      });
      this.lastEval[metric] = r;
      const items =
        this.options.metricItems ??
        (metric === 'proposal'
          ? ['AR@100', 'AR@300', 'AR@1000', 'AR_s@1000', 'AR_m@1000', 'AR_l@1000']
          : Object.keys(COCO_METRIC_NAMES));
      for (const item of items) {
        const key = metric === 'proposal' ? `${prefix}/${item}` : `${prefix}/${metric}_${item}`;
        out[key] = r.stats[COCO_METRIC_NAMES[item]]!;
      }
      if (classwise && metric !== 'proposal') {
        const rows: CocoClassRow[] = [];
        const nameOf = new Map(gt.categories.map((c) => [c.id, c.name]));
        r.params.catIds.forEach((catId, k) => {
          const m = proposalNums[proposalNums.length - 1];
          // mmdetection: precision[:, :, k, area, -1], NaN when empty
          const one = (o: { iouThr?: number; areaRng?: string }) => {
            const v = summarizeOne(r, true, { ...o, maxDets: m, catIndex: k });
            return v === -1 ? NaN : v;
          };
          const row: CocoClassRow = {
            category: nameOf.get(catId) ?? String(catId),
            mAP: one({}),
            mAP_50: one({ iouThr: 0.5 }),
            mAP_75: one({ iouThr: 0.75 }),
            mAP_s: one({ areaRng: 'small' }),
            mAP_m: one({ areaRng: 'medium' }),
            mAP_l: one({ areaRng: 'large' }),
          };
          rows.push(row);
          out[`${prefix}/${row.category}_precision`] = row.mAP;
        });
        this.classwiseTable[metric] = rows;
      }
    }
    return out;
  }
}

METRICS.register(CocoMetric);
