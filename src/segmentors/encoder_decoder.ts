/**
 * mmseg's `EncoderDecoder` segmentor: backbone -> optional neck -> decode
 * head (+ auxiliary heads in training). Glue only: the heads own the losses;
 * the segmentor runs whole-image or sliding-window inference and maps the
 * logits back to each original image (padding removed, flip undone, bilinear
 * resize, arg-max).
 */
import * as tf from '@tensorflow/tfjs-core';
import { readFloats } from '../ops/read.js';
import { z } from 'zod';
import { initWeights } from '../backbones/init_weights.js';
import { interpolate, Module, ModuleList } from '../nn/index.js';
import { isTypedConfig, MODELS, type TypedConfig } from '../registry.js';
import type { ImgMeta } from '../structures/index.js';
import type { BaseDecodeHead } from './decode_heads/decode_head.js';
import type { LossDict, SegBatch, SegDataSample, SegSample } from '../structures/index.js';

const pairSchema = z.union([
  z.number().int().positive(),
  z.tuple([z.number().int().positive(), z.number().int().positive()]),
]);

export const segTestCfgSchema = z
  .object({
    /** 'whole': the batch in one pass; 'slide': overlapping `cropSize` windows every `stride` pixels, averaged. */
    mode: z.enum(['whole', 'slide']).default('whole'),
    cropSize: pairSchema.optional(),
    stride: pairSchema.optional(),
    /** Return each image's logits (`segLogits`, original size) with the prediction. */
    outputLogits: z.boolean().default(false),
  })
  .strict();

export type SegTestCfg = z.input<typeof segTestCfgSchema>;

export const encoderDecoderSchema = z
  .object({
    backbone: z.unknown(),
    neck: z.unknown().optional(),
    decodeHead: z.looseObject({ type: z.unknown() }),
    auxiliaryHead: z
      .union([z.looseObject({ type: z.unknown() }), z.array(z.looseObject({ type: z.unknown() }))])
      .nullable()
      .optional(),
    trainCfg: z.looseObject({}).nullable().optional(),
    testCfg: z.unknown().optional(),
    dataPreprocessor: z.unknown().optional(),
    /** A local checkpoint file for the backbone (mmseg's `pretrained`; nothing is downloaded). */
    pretrained: z.string().nullable().optional(),
    initCfg: z.unknown().optional(),
  })
  .strict();

export type EncoderDecoderOptions = {
  backbone: Module | TypedConfig;
  neck?: Module | TypedConfig | null;
  decodeHead: TypedConfig;
  auxiliaryHead?: TypedConfig | TypedConfig[] | null;
  trainCfg?: Record<string, unknown> | null;
  testCfg?: SegTestCfg | null;
  dataPreprocessor?: unknown;
  pretrained?: string | null;
  initCfg?: unknown;
};

const pair = (v: number | [number, number]): [number, number] => (Array.isArray(v) ? v : [v, v]);
const asList = (x: tf.Tensor4D | tf.Tensor4D[]): tf.Tensor4D[] => (Array.isArray(x) ? x : [x]);

/**
 * The windows of mmseg's `slide_inference` over an `h x w` input: a grid of
 * `ceil((h - cropH) / strideH) + 1` rows (and likewise columns), each window
 * shifted back inside the image at the far edge; windows are `[y1, x1, y2, x2]`.
 *
 * @example
 * ```ts
 * slideWindows(10, 6, [6, 6], [4, 4]); // => [[0, 0, 6, 6], [4, 0, 10, 6]]
 * ```
 */
export function slideWindows(
  h: number,
  w: number,
  [ch, cw]: [number, number],
  [sh, sw]: [number, number],
): [number, number, number, number][] {
  const hGrids = Math.floor(Math.max(h - ch + sh - 1, 0) / sh) + 1;
  const wGrids = Math.floor(Math.max(w - cw + sw - 1, 0) / sw) + 1;
  const out: [number, number, number, number][] = [];
  for (let i = 0; i < hGrids; i++) {
    for (let j = 0; j < wGrids; j++) {
      const y2 = Math.min(i * sh + ch, h);
      const x2 = Math.min(j * sw + cw, w);
      out.push([Math.max(y2 - ch, 0), Math.max(x2 - cw, 0), y2, x2]);
    }
  }
  return out;
}

/**
 * @example
 * ```ts
 * const model = MODELS.build<EncoderDecoder>(config.model);
 * model.loss(batch);     // holds decode.loss_ce, decode.acc_seg, aux.loss_ce, aux.acc_seg
 * model.predict(batch);  // per image: metainfo, predSemSeg (data: Uint8Array, height, width), gtSemSeg
 * ```
 */
export class EncoderDecoder extends Module {
  static readonly configSchema = encoderDecoderSchema;
  static readonly unbuiltArgs = ['decodeHead', 'auxiliaryHead', 'trainCfg', 'testCfg'] as const;
  readonly backbone: Module;
  readonly neck?: Module;
  readonly decodeHead: BaseDecodeHead;
  readonly auxiliaryHead?: BaseDecodeHead | ModuleList<BaseDecodeHead>;
  readonly trainCfg: Record<string, unknown> | null;
  readonly testCfg: z.output<typeof segTestCfgSchema>;
  readonly numClasses: number;
  readonly alignCorners: boolean;

  constructor(opts: EncoderDecoderOptions) {
    super();
    const build = <M extends Module>(c: unknown, path: string): M =>
      isTypedConfig(c) ? MODELS.build<M>(c, { path }) : (c as M);
    this.backbone = this.addModule('backbone', build(opts.backbone, 'model.backbone'));
    if (opts.pretrained)
      initWeights(this.backbone, { type: 'Pretrained', checkpoint: opts.pretrained });
    if (opts.neck) this.neck = this.addModule('neck', build(opts.neck, 'model.neck'));
    this.decodeHead = this.addModule(
      'decodeHead',
      build<BaseDecodeHead>(opts.decodeHead, 'model.decodeHead'),
    );
    this.numClasses = this.decodeHead.numClasses;
    this.alignCorners = this.decodeHead.alignCorners;
    const aux = opts.auxiliaryHead;
    if (Array.isArray(aux)) {
      this.auxiliaryHead = this.addModule(
        'auxiliaryHead',
        new ModuleList(aux.map((c, i) => build<BaseDecodeHead>(c, `model.auxiliaryHead.${i}`))),
      );
    } else if (aux) {
      this.auxiliaryHead = this.addModule(
        'auxiliaryHead',
        build<BaseDecodeHead>(aux, 'model.auxiliaryHead'),
      );
    }
    this.trainCfg = opts.trainCfg ?? null;
    const t = segTestCfgSchema.safeParse(opts.testCfg ?? {});
    if (!t.success) {
      const issue = t.error.issues[0];
      throw new Error(
        `model.testCfg.${issue.path.join('.')}: ${issue.message} (got ${JSON.stringify(opts.testCfg)})`,
      );
    }
    this.testCfg = t.data;
    if (this.testCfg.mode === 'slide' && (!this.testCfg.cropSize || !this.testCfg.stride)) {
      throw new Error(
        `model.testCfg: mode 'slide' needs cropSize and stride, got ${JSON.stringify(opts.testCfg)}`,
      );
    }
  }

  /** Backbone (and neck) features, NHWC. */
  extractFeat(inputs: tf.Tensor4D): tf.Tensor4D[] {
    let x = asList(this.backbone.forward(inputs) as tf.Tensor4D | tf.Tensor4D[]);
    if (this.neck) x = asList(this.neck.forward(x) as tf.Tensor4D | tf.Tensor4D[]);
    return x;
  }

  /** Logits `[B, H, W, C]` at the size of `inputs` (mmseg's `encode_decode`). */
  encodeDecode(inputs: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() =>
      this.decodeHead.predict(this.extractFeat(inputs), [inputs.shape[1], inputs.shape[2]]),
    );
  }

  /** Losses of a batch (`decode.*`, `aux.*` or `aux_i.*`); call inside a gradient closure. */
  loss(batch: SegBatch): LossDict<tf.Scalar> {
    const feats = this.extractFeat(batch.inputs);
    const shape: [number, number] = [batch.inputs.shape[1], batch.inputs.shape[2]];
    const out: LossDict<tf.Scalar> = {};
    const add = (prefix: string, l: LossDict<tf.Scalar>) => {
      for (const [k, v] of Object.entries(l)) out[`${prefix}.${k}`] = v;
    };
    add('decode', this.decodeHead.loss(feats, batch.dataSamples, shape));
    if (this.auxiliaryHead instanceof ModuleList) {
      this.auxiliaryHead.items.forEach((h, i) =>
        add(`aux_${i}`, h.loss(feats, batch.dataSamples, shape)),
      );
    } else if (this.auxiliaryHead) {
      add('aux', this.auxiliaryHead.loss(feats, batch.dataSamples, shape));
    }
    return out;
  }

  /** Logits of the batch at its input size, by `testCfg.mode` (mmseg's `inference`). */
  inference(inputs: tf.Tensor4D): tf.Tensor4D {
    if (this.testCfg.mode === 'whole') return this.encodeDecode(inputs);
    return this.slideInference(inputs);
  }

  /**
   * mmseg's `slide_inference`: logits of each `cropSize` window (every
   * `stride` pixels, see {@link slideWindows}) summed into the full map and
   * divided by the number of windows covering each pixel.
   */
  slideInference(inputs: tf.Tensor4D): tf.Tensor4D {
    const [B, H, W] = inputs.shape;
    const C = this.numClasses;
    const crop = pair(this.testCfg.cropSize!);
    const stride = pair(this.testCfg.stride!);
    // Summed on the device (no read until the label map): each window's
    // logits padded to the full map and added.
    let sum: tf.Tensor4D = tf.zeros([B, H, W, C]);
    const count = new Float32Array(H * W);
    for (const [y1, x1, y2, x2] of slideWindows(H, W, crop, stride)) {
      const h = y2 - y1;
      const w = x2 - x1;
      const next = tf.tidy(() => {
        const logits = this.encodeDecode(
          tf.slice(inputs, [0, y1, x1, 0], [B, h, w, inputs.shape[3]]),
        );
        return tf.add(
          sum,
          tf.pad(logits, [
            [0, 0],
            [y1, H - y2],
            [x1, W - x2],
            [0, 0],
          ]),
        ) as tf.Tensor4D;
      });
      sum.dispose();
      sum = next;
      for (let y = y1; y < y2; y++) for (let x = x1; x < x2; x++) count[y * W + x]++;
    }
    const out = tf.tidy(() => tf.div(sum, tf.tensor4d(count, [1, H, W, 1])) as tf.Tensor4D);
    sum.dispose();
    return out;
  }

  /**
   * Per image: the logits cropped to the image (the batch padding and the
   * pipeline's Pad removed), flipped back if the pipeline flipped it,
   * resized bilinearly to the original size, and their arg-max
   * (mmseg's `postprocess_result`).
   */
  async postprocess(logits: tf.Tensor4D, samples: readonly SegSample[]): Promise<SegDataSample[]> {
    const out: SegDataSample[] = [];
    for (const [i, s] of samples.entries()) out.push(await this.postprocessOne(logits, s, i));
    return out;
  }

  private async postprocessOne(
    logits: tf.Tensor4D,
    s: SegSample,
    i: number,
  ): Promise<SegDataSample> {
    const m = s.metainfo;
    const [h, w] = m.imgShape ?? [logits.shape[1], logits.shape[2]];
    const [oh, ow] = m.oriShape ?? [h, w];
    const img = tf.tidy(() => {
      let x = tf.slice(
        logits,
        [i, 0, 0, 0],
        [1, Math.min(h, logits.shape[1]), Math.min(w, logits.shape[2]), this.numClasses],
      );
      if (m.flip) x = unflip(x, m.flipDirection);
      return x.shape[1] === oh && x.shape[2] === ow
        ? x
        : interpolate(x, { size: [oh, ow], mode: 'bilinear', alignCorners: this.alignCorners });
    });
    const pred = tf.tidy(() => tf.argMax(img, 3));
    let read: Float32Array[];
    try {
      read = await readFloats(this.testCfg.outputLogits ? [pred, img] : [pred]);
    } finally {
      pred.dispose();
      img.dispose();
    }
    const out: SegDataSample = {
      metainfo: m,
      predSemSeg: { data: Uint8Array.from(read[0]), height: oh, width: ow },
    };
    if (this.testCfg.outputLogits)
      out.segLogits = { data: read[1], height: oh, width: ow, channels: this.numClasses };
    // PackSegInputs labels the map with its own size (the original one when loaded after Resize).
    if (s.gtSemSeg) out.gtSemSeg = s.gtSemSeg;
    return out;
  }

  /** Predicted label maps at each original image size. */
  async predict(batch: SegBatch): Promise<SegDataSample[]> {
    // tidy: the backbone's and heads' intermediate tensors are freed, only the logits kept
    const logits = tf.tidy(() => this.inference(batch.inputs));
    try {
      return await this.postprocess(logits, batch.dataSamples);
    } finally {
      logits.dispose();
    }
  }

  /** mmseg's `forward(inputs, data_samples, mode)`: `'tensor'` returns the decode head's raw logits. */
  forward(batch: SegBatch, mode: 'loss' | 'predict' | 'tensor' = 'tensor'): unknown {
    if (mode === 'loss') return this.loss(batch);
    if (mode === 'predict') return this.predict(batch);
    return this.decodeHead.forward(this.extractFeat(batch.inputs));
  }
}

function unflip(x: tf.Tensor4D, dir: ImgMeta['flipDirection']): tf.Tensor4D {
  if (dir === 'horizontal' || dir === null) return tf.reverse(x, 2);
  if (dir === 'vertical') return tf.reverse(x, 1);
  return tf.reverse(x, [1, 2]);
}

MODELS.register(EncoderDecoder, { name: 'EncoderDecoder' });
