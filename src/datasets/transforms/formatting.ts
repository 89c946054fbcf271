/**
 * The last steps of a pipeline: dropping degenerate annotations and packing
 * the sample into model inputs + a data sample (mmdetection's
 * `FilterAnnotations`, `PackDetInputs`, `PackSegInputs`).
 */
import { z } from 'zod';
import type { GtInstances } from '../../structures/index.js';
import type { BitmapMasks, ImgMeta } from '../../structures/index.js';
import type { DataSample, DeferredPixels, PackedInputs } from '../types.js';
import { DatasetError } from '../errors.js';
import { keepInstances } from './sample_utils.js';
import { materialize } from './color_map.js';
import { ensureDecoded } from './decode.js';
import { TRANSFORMS } from '../../registry.js';

/**
 * Drop boxes smaller than `minGtBboxWh` (`byBox`) and masks with fewer than
 * `minGtMaskArea` pixels (`byMask`). With `keepEmpty` (the default, as in
 * mmdetection) a sample left with no box is dropped (null) so the data set
 * draws another.
 */
export class FilterAnnotations {
  static readonly configSchema = z
    .object({
      minGtBboxWh: z.tuple([z.number(), z.number()]).optional(),
      minGtMaskArea: z.number().optional(),
      byBox: z.boolean().optional(),
      byMask: z.boolean().optional(),
      keepEmpty: z.boolean().optional(),
    })
    .strict();
  readonly minWh: [number, number];
  readonly minArea: number;
  readonly byBox: boolean;
  readonly byMask: boolean;
  readonly keepEmpty: boolean;

  constructor(
    opts: {
      minGtBboxWh?: [number, number];
      minGtMaskArea?: number;
      byBox?: boolean;
      byMask?: boolean;
      keepEmpty?: boolean;
    } = {},
  ) {
    this.minWh = opts.minGtBboxWh ?? [1, 1];
    this.minArea = opts.minGtMaskArea ?? 1;
    this.byBox = opts.byBox ?? true;
    this.byMask = opts.byMask ?? false;
    this.keepEmpty = opts.keepEmpty ?? true;
  }

  transform(results: DataSample): DataSample | null {
    const b = results.gtBboxes;
    if (!b || b.length === 0) return results;
    const n = b.length / 4;
    const keep = new Array<boolean>(n).fill(true);
    if (this.byBox)
      for (let i = 0; i < n; i++)
        keep[i] =
          b[i * 4 + 2] - b[i * 4] > this.minWh[0] && b[i * 4 + 3] - b[i * 4 + 1] > this.minWh[1];
    if (this.byMask && results.gtMasks) {
      results.gtMasks.masks.forEach((m, i) => {
        let a = 0;
        for (let k = 0; k < m.length; k++) a += m[k];
        if (a < this.minArea) keep[i] = false;
      });
    }
    if (!keep.some(Boolean) && this.keepEmpty) return null;
    keepInstances(results, keep);
    return results;
  }
}

function selectInstances(results: DataSample, want: 0 | 1): GtInstances {
  const flags = results.gtIgnoreFlags;
  const b = results.gtBboxes ?? new Float32Array(0);
  const l = results.gtBboxesLabels ?? new Int32Array(b.length / 4);
  const idx: number[] = [];
  for (let i = 0; i < b.length / 4; i++) if ((flags?.[i] ?? 0) === want) idx.push(i);
  const bboxes = new Float32Array(idx.length * 4);
  idx.forEach((j, k) => bboxes.set(b.subarray(j * 4, j * 4 + 4), k * 4));
  const out: GtInstances = { bboxes, labels: Int32Array.from(idx, (j) => l[j]) };
  if (results.gtMasks)
    out.masks = {
      ...results.gtMasks,
      masks: idx.map((j) => results.gtMasks!.masks[j]),
    } satisfies BitmapMasks;
  return out;
}

/** The packed pixels: materialised, or (inside the loader) deferred to the collate. */
async function packPixels(results: DataSample): Promise<PackedInputs['inputs']> {
  const img = await ensureDecoded(results, true);
  const [H, W] = results.padShape ?? [img.height, img.width];
  if (results.deferPixels) {
    const deferred: DeferredPixels = {
      src: img,
      colorMap: results.colorMap,
      flipH: results.lazyFlip?.h ?? false,
      flipV: results.lazyFlip?.v ?? false,
      padVal: results.padVal ?? [0, 0, 0],
    };
    return { data: new Float32Array(0), height: H, width: W, channels: 3, deferred };
  }
  return materialize(results, W, H, results.padVal ?? 0);
}

/** The meta keys every detector reads (mmdetection's default `meta_keys`, camelCase, and `padShape`). */
const REQUIRED_META_KEYS = [
  'imgId',
  'imgPath',
  'oriShape',
  'imgShape',
  'scaleFactor',
  'flip',
  'flipDirection',
  'padShape',
] as const;
/** Meta keys packed only when the pipeline set them (and `metaKeys`, if given, lists them). */
const OPTIONAL_META_KEYS = ['padSizeDivisor', 'imgNormCfg'] as const;
const KNOWN_META_KEYS: readonly string[] = [...REQUIRED_META_KEYS, ...OPTIONAL_META_KEYS];

/**
 * `metaKeys`: the meta fields that go into `metainfo` (as mmdetection's
 * `meta_keys`). Unknown names are rejected rather than ignored, and the keys
 * the detectors read cannot be left out.
 */
const metaKeysSchema = z.array(z.string()).superRefine((keys, ctx) => {
  keys.forEach((k, i) => {
    if (!KNOWN_META_KEYS.includes(k))
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: [i],
        message: `a known meta key (${KNOWN_META_KEYS.map((x) => `'${x}'`).join(', ')})`,
      });
  });
  const missing = REQUIRED_META_KEYS.filter((k) => !keys.includes(k));
  if (missing.length)
    ctx.addIssue({
      code: z.ZodIssueCode.custom,
      message: `every meta key the models read (missing ${missing.map((x) => `'${x}'`).join(', ')})`,
    });
});

function meta(
  results: DataSample,
  img: { height: number; width: number },
  metaKeys?: readonly string[],
): ImgMeta {
  const wants = (k: (typeof OPTIONAL_META_KEYS)[number]) => !metaKeys || metaKeys.includes(k);
  const m: ImgMeta = {
    imgId: results.imgId,
    imgPath: results.imgPath,
    oriShape: results.oriShape ?? [results.height, results.width],
    imgShape: results.imgShape ?? [img.height, img.width],
    scaleFactor: results.scaleFactor ?? [1, 1],
    flip: results.flip ?? false,
    flipDirection: results.flipDirection ?? null,
    padShape: results.padShape ?? [img.height, img.width],
  };
  if (results.padSizeDivisor && wants('padSizeDivisor')) m.padSizeDivisor = results.padSizeDivisor;
  if (results.imgNormCfg && wants('imgNormCfg')) m.imgNormCfg = results.imgNormCfg;
  return m;
}

/**
 * The label map with its size: the network input's when the map went
 * through the geometric transforms with the image, the original image's when
 * it was loaded after `Resize` (mmseg's test pipelines keep the ground truth
 * at the original size for evaluation).
 */
function packedSegMap(
  results: DataSample,
  data: Uint8Array,
  inputs: { height: number; width: number },
): { data: Uint8Array; height: number; width: number } {
  if (data.length === inputs.height * inputs.width)
    return { data, height: inputs.height, width: inputs.width };
  const [oh, ow] = results.oriShape ?? [0, 0];
  if (data.length === oh * ow) return { data, height: oh, width: ow };
  throw new DatasetError(
    results.imgPath ?? '',
    'gtSegMap',
    `label map has ${data.length} pixels, neither the input's ${inputs.width}x${inputs.height} nor the original image's ${ow}x${oh}`,
  );
}

/**
 * Pack a sample for a detector: `inputs` (HWC pixels, float32 when a colour
 * map / Normalize ran) and a data sample with the meta, the ground truth
 * (`gtInstances`) and the ignored instances (VOC difficult, COCO crowd).
 *
 * @example
 * ```ts
 * const { inputs, dataSample } = await new PackDetInputs().transform(results);
 * dataSample.gtInstances.bboxes; // Float32Array n*4, network-input pixels
 * ```
 */
export class PackDetInputs {
  static readonly configSchema = z.object({ metaKeys: metaKeysSchema.optional() }).strict();
  constructor(readonly opts: { metaKeys?: string[] } = {}) {
    if (opts.metaKeys) metaKeysSchema.parse(opts.metaKeys);
  }

  async transform(results: DataSample): Promise<PackedInputs> {
    const inputs = await packPixels(results);
    const out: PackedInputs = {
      inputs,
      dataSample: {
        metainfo: meta(results, inputs, this.opts.metaKeys),
        gtInstances: selectInstances(results, 0),
        ignoredInstances: selectInstances(results, 1),
      },
    };
    if (results.gtSegMap) out.dataSample.gtSemSeg = packedSegMap(results, results.gtSegMap, inputs);
    return out;
  }
}

/** Pack a sample for a segmentor: `inputs` and `gtSemSeg` (HW class indices, 255 = ignore). */
export class PackSegInputs {
  static readonly configSchema = z.object({ metaKeys: metaKeysSchema.optional() }).strict();
  constructor(readonly opts: { metaKeys?: string[] } = {}) {
    if (opts.metaKeys) metaKeysSchema.parse(opts.metaKeys);
  }

  async transform(results: DataSample): Promise<PackedInputs> {
    const inputs = await packPixels(results);
    const empty: GtInstances = { bboxes: new Float32Array(0), labels: new Int32Array(0) };
    const out: PackedInputs = {
      inputs,
      dataSample: {
        metainfo: meta(results, inputs, this.opts.metaKeys),
        gtInstances: empty,
        ignoredInstances: empty,
      },
    };
    if (results.gtSegMap) out.dataSample.gtSemSeg = packedSegMap(results, results.gtSegMap, inputs);
    return out;
  }
}

TRANSFORMS.register(FilterAnnotations, { name: 'FilterAnnotations' });
TRANSFORMS.register(PackDetInputs, { name: 'PackDetInputs' });
TRANSFORMS.register(PackSegInputs, { name: 'PackSegInputs' });
