/**
 * mmseg's `BaseDecodeHead`: picks the backbone / neck levels it decodes
 * (`inIndex`, `inputTransform`), ends in a dropout and a 1x1 classifier
 * (`convSeg`), and owns the per-pixel loss (logits resized to the label
 * map, cross-entropy with ignore index 255) and the accuracy it logs.
 */
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { initWeights } from '../../backbones/init_weights.js';
import { Conv2d, Dropout, interpolate, Module, ModuleList } from '../../nn/index.js';
import { isTypedConfig, MODELS, TASK_UTILS, type TypedConfig } from '../../registry.js';
import { OHEMPixelSampler } from '../ohem_pixel_sampler.js';
import '../../losses/index.js';
import type { LossDict, SegSample } from '../../structures/index.js';

/** A loss module called as `forward(pred [N, C], labels [N])` (CrossEntropyLoss). */
export interface SegLossModule extends Module {
  forward(
    pred: tf.Tensor,
    target: tf.Tensor | Int32Array,
    opts?: { weight?: tf.Tensor; avgFactor?: number },
  ): tf.Tensor;
}

export const decodeHeadSchema = z
  .object({
    inChannels: z.union([z.number().int().positive(), z.array(z.number().int().positive()).min(1)]),
    channels: z.number().int().positive(),
    numClasses: z.number().int().min(2),
    outChannels: z.number().int().positive().optional(),
    dropoutRatio: z.number().min(0).max(1).optional(),
    convCfg: z.unknown().optional(),
    normCfg: z.looseObject({ type: z.string() }).nullable().optional(),
    actCfg: z.looseObject({ type: z.string() }).nullable().optional(),
    inIndex: z.union([z.number().int(), z.array(z.number().int()).min(1)]).optional(),
    inputTransform: z.enum(['resize_concat', 'multiple_select']).nullable().optional(),
    lossDecode: z.unknown().optional(),
    ignoreIndex: z.number().int().optional(),
    /** A pixel sampler config (`{type: 'OHEMPixelSampler', thresh, minKept}`) or null. */
    sampler: z.looseObject({ type: z.string() }).nullable().optional(),
    alignCorners: z.boolean().optional(),
    threshold: z.number().optional(),
    initCfg: z.unknown().optional(),
  })
  .strict();

export type DecodeHeadOptions = z.input<typeof decodeHeadSchema>;

/** mmseg's `loss_name` of the registered losses. */
const LOSS_NAMES: Record<string, string> = {
  CrossEntropyLoss: 'loss_ce',
  FocalLoss: 'loss_focal',
  DiceLoss: 'loss_dice',
};

function lossName(cfg: unknown, m: Module): string {
  const type = isTypedConfig(cfg) && typeof cfg.type === 'string' ? cfg.type : m.constructor.name;
  return (
    LOSS_NAMES[type] ??
    `loss_${type
      .replace(/Loss$/, '')
      .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
      .toLowerCase()}`
  );
}

/** Python-style index: negative counts from the end. */
function pick<T>(list: readonly T[], i: number, what: string): T {
  const j = i < 0 ? list.length + i : i;
  const v = list[j];
  if (v === undefined)
    throw new RangeError(`${what}: inIndex ${i} is out of range for ${list.length} feature map(s)`);
  return v;
}

/**
 * The label maps of a batch as one `[B * H * W]` Int32Array at the batch
 * size `H x W`: each sample's map at the top-left (where the loader put its
 * image), the rest `ignoreIndex`.
 *
 * @example
 * ```ts
 * const metainfo = { imgPath: 'a.png' };
 * const m = { data: Uint8Array.from([1, 2]), height: 1, width: 2 };
 * Array.from(stackLabels([{ metainfo, gtSemSeg: m }], 2, 2, 255)); // => [1, 2, 255, 255]
 * ```
 */
export function stackLabels(
  samples: readonly SegSample[],
  H: number,
  W: number,
  ignoreIndex: number,
): Int32Array {
  const out = new Int32Array(samples.length * H * W).fill(ignoreIndex);
  samples.forEach((s, b) => {
    const g = s.gtSemSeg;
    if (!g)
      throw new Error(
        `decode head: sample ${b} (${String(s.metainfo?.imgPath ?? '?')}) has no gtSemSeg; load it with LoadAnnotations({withSeg: true}) and PackSegInputs`,
      );
    if (g.data.length !== g.height * g.width)
      throw new Error(
        `decode head: sample ${b}: gtSemSeg has ${g.data.length} values for ${g.height}x${g.width}`,
      );
    if (g.height > H || g.width > W)
      throw new Error(
        `decode head: sample ${b}: gtSemSeg ${g.height}x${g.width} is larger than the batch ${H}x${W}`,
      );
    for (let y = 0; y < g.height; y++) {
      const src = g.data.subarray(y * g.width, (y + 1) * g.width);
      out.set(src, (b * H + y) * W);
    }
  });
  return out;
}

/**
 * Percentage of non-ignored pixels whose arg-max class equals the label
 * (mmseg's `accuracy(seg_logits, seg_label, ignore_index)`); 0 when all are ignored.
 */
export function pixelAccuracy(
  pred: Int32Array | Uint8Array,
  labels: Int32Array,
  ignoreIndex: number,
): number {
  let n = 0;
  let hit = 0;
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] === ignoreIndex) continue;
    n++;
    if (pred[i] === labels[i]) hit++;
  }
  return n ? (100 * hit) / n : 0;
}

/**
 * Base class of the decode heads: subclasses build their layers and
 * implement {@link forward} (features -> logits `[B, h, w, numClasses]`,
 * usually through {@link clsSeg}).
 */
export abstract class BaseDecodeHead extends Module {
  readonly inChannels: number | number[];
  readonly channels: number;
  readonly numClasses: number;
  readonly outChannels: number;
  readonly inIndex: number | number[];
  readonly inputTransform: 'resize_concat' | 'multiple_select' | null;
  readonly ignoreIndex: number;
  readonly alignCorners: boolean;
  readonly normCfg: z.output<typeof decodeHeadSchema>['normCfg'];
  readonly actCfg: z.output<typeof decodeHeadSchema>['actCfg'];
  readonly convSeg: Conv2d;
  readonly dropout?: Dropout;
  readonly lossDecode: ModuleList<SegLossModule>;
  /** Chooses the pixels that train (mmseg's `sampler`); all non-ignored pixels without one. */
  readonly sampler?: OHEMPixelSampler;
  private readonly lossNames: string[];

  constructor(opts: DecodeHeadOptions) {
    super();
    const o = decodeHeadSchema.parse(opts);
    this.inputTransform = o.inputTransform ?? null;
    this.inIndex = o.inIndex ?? -1;
    if (
      this.inputTransform &&
      (!Array.isArray(o.inChannels) ||
        !Array.isArray(this.inIndex) ||
        o.inChannels.length !== this.inIndex.length)
    ) {
      throw new Error(
        `${this.constructor.name}: inputTransform '${this.inputTransform}' needs inChannels and inIndex as lists of the same length`,
      );
    }
    if (!this.inputTransform && (Array.isArray(o.inChannels) || Array.isArray(this.inIndex))) {
      throw new Error(
        `${this.constructor.name}: inChannels and inIndex are single numbers unless inputTransform is set, got ${JSON.stringify(o.inChannels)} / ${JSON.stringify(this.inIndex)}`,
      );
    }
    // As mmseg: resize_concat decodes the concatenation of the selected levels.
    this.inChannels =
      this.inputTransform === 'resize_concat'
        ? (o.inChannels as number[]).reduce((a, b) => a + b, 0)
        : o.inChannels;
    this.channels = o.channels;
    this.numClasses = o.numClasses;
    this.outChannels = o.outChannels ?? o.numClasses;
    if (this.outChannels !== this.numClasses)
      throw new Error(
        `${this.constructor.name}: outChannels ${this.outChannels} must equal numClasses ${this.numClasses} (softmax decoding)`,
      );
    this.ignoreIndex = o.ignoreIndex ?? 255;
    this.alignCorners = o.alignCorners ?? false;
    this.normCfg = o.normCfg ?? null;
    this.actCfg = o.actCfg === undefined ? { type: 'ReLU' } : o.actCfg;
    const lossCfgs = (
      o.lossDecode === undefined
        ? [{ type: 'CrossEntropyLoss', useSigmoid: false, lossWeight: 1.0 }]
        : Array.isArray(o.lossDecode)
          ? o.lossDecode
          : [o.lossDecode]
    ) as unknown[];
    const losses = lossCfgs.map((c, i) =>
      isTypedConfig(c)
        ? MODELS.build<SegLossModule>(c, { path: `lossDecode.${i}` })
        : (c as SegLossModule),
    );
    this.lossNames = losses.map((m, i) => lossName(lossCfgs[i], m));
    this.lossDecode = this.addModule('lossDecode', new ModuleList(losses));
    if (o.sampler) {
      const { ignoreIndex, ...rest } = o.sampler as TypedConfig & { ignoreIndex?: number };
      this.sampler = TASK_UTILS.build<OHEMPixelSampler>(
        { ...rest, ignoreIndex: ignoreIndex ?? this.ignoreIndex },
        { path: 'sampler' },
      );
    }
    const dropoutRatio = o.dropoutRatio ?? 0.1;
    this.convSeg = this.addModule(
      'convSeg',
      new Conv2d({ inChannels: this.channels, outChannels: this.outChannels, kernelSize: 1 }),
    );
    if (dropoutRatio > 0) this.dropout = this.addModule('dropout', new Dropout(dropoutRatio));
  }

  /** mmseg's `init_weights`: Kaiming for the convs, normal(0, 0.01) for the classifier. */
  protected initHeadWeights(): void {
    initWeights(this, { type: 'Kaiming', layer: 'Conv2d' });
    initWeights(this.convSeg, { type: 'Normal', layer: 'Conv2d', std: 0.01, bias: 0 });
  }

  /** The input feature(s) of this head (mmseg's `_transform_inputs`). */
  protected transformInputs(inputs: tf.Tensor4D[]): tf.Tensor4D | tf.Tensor4D[] {
    if (!this.inputTransform) return pick(inputs, this.inIndex as number, this.constructor.name);
    const sel = (this.inIndex as number[]).map((i) => pick(inputs, i, this.constructor.name));
    if (this.inputTransform === 'multiple_select') return sel;
    const [, h, w] = sel[0].shape;
    return tf.concat(
      sel.map((x) =>
        x.shape[1] === h && x.shape[2] === w
          ? x
          : interpolate(x, { size: [h, w], mode: 'bilinear', alignCorners: this.alignCorners }),
      ),
      3,
    );
  }

  /** Dropout then the 1x1 classifier. */
  clsSeg(feat: tf.Tensor4D): tf.Tensor4D {
    const x = this.dropout ? (this.dropout.forward(feat) as tf.Tensor4D) : feat;
    return this.convSeg.forward(x);
  }

  /** Logits `[B, h, w, numClasses]` of the features (all levels of the backbone / neck). */
  abstract override forward(inputs: tf.Tensor4D[]): tf.Tensor4D;

  /** Losses (`loss_ce`, ...) and `acc_seg` of a batch; call inside a gradient closure. */
  loss(
    inputs: tf.Tensor4D[],
    samples: readonly SegSample[],
    batchShape: [number, number],
  ): LossDict<tf.Scalar> {
    return this.lossByFeat(this.forward(inputs), samples, batchShape);
  }

  /**
   * mmseg's `loss_by_feat`: logits resized (bilinear) to the batch input
   * size, then each decode loss over the pixels with the stacked labels
   * (weighted by the pixel sampler's choice when there is one).
   */
  lossByFeat(
    logits: tf.Tensor4D,
    samples: readonly SegSample[],
    [H, W]: [number, number],
  ): LossDict<tf.Scalar> {
    const labels = stackLabels(samples, H, W, this.ignoreIndex);
    const up =
      logits.shape[1] === H && logits.shape[2] === W
        ? logits
        : interpolate(logits, { size: [H, W], mode: 'bilinear', alignCorners: this.alignCorners });
    const flat = tf.reshape(up, [-1, this.numClasses]) as tf.Tensor2D;
    const weight = this.sampler
      ? tf.tensor1d(this.sampler.sample(flat, labels, samples.length))
      : undefined;
    const out: LossDict<tf.Scalar> = {};
    this.lossDecode.items.forEach((loss, i) => {
      const name = this.lossNames[i];
      const v = loss.forward(flat, labels, { weight }) as tf.Scalar;
      out[name] = out[name] ? tf.add(out[name], v) : v;
    });
    const pred = tf.tidy(() => tf.argMax(flat, 1).dataSync() as Int32Array);
    out.acc_seg = tf.scalar(pixelAccuracy(pred, labels, this.ignoreIndex));
    return out;
  }

  /** Logits resized to the batch input size (mmseg's `predict_by_feat`). */
  predict(inputs: tf.Tensor4D[], batchShape: [number, number]): tf.Tensor4D {
    return tf.tidy(() => {
      const logits = this.forward(inputs);
      const [H, W] = batchShape;
      return logits.shape[1] === H && logits.shape[2] === W
        ? logits
        : interpolate(logits, { size: [H, W], mode: 'bilinear', alignCorners: this.alignCorners });
    });
  }
}
