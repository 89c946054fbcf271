/**
 * FCNHead (Long, Shelhamer and Darrell, "Fully Convolutional Networks for
 * Semantic Segmentation", CVPR 2015), as mmseg's `FCNHead`: `numConvs`
 * conv-norm-act layers, optionally the input concatenated back in
 * (`concatInput`), dropout and a 1x1 classifier. With `upsample: 'deconv'`
 * the class scores are brought to the input resolution by a transposed
 * convolution initialised to bilinear interpolation, as the FCN paper does;
 * otherwise (mmseg) the loss and the prediction resize the logits bilinearly.
 */
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import {
  ConvModule,
  ConvTranspose2d,
  Module,
  Sequential,
  type ActCfg,
  type NormCfg,
} from '../../nn/index.js';
import { MODELS } from '../../registry.js';
import { BaseDecodeHead, decodeHeadSchema } from './decode_head.js';

/**
 * The bilinear up-sampling kernel of FCN's `get_upsampling_weight`, for an
 * integer `factor`: size `2 * factor - factor % 2`, `w(k) = 1 - |k - c| / factor`
 * with `c` the kernel centre, outer product in 2-D. Returned flat, row-major `[size, size]`.
 *
 * @example
 * ```ts
 * bilinearKernel(2); // size 4: [0.25, 0.75, 0.75, 0.25] outer itself
 * Array.from(bilinearKernel(2).slice(0, 4)); // => [0.0625, 0.1875, 0.1875, 0.0625]
 * ```
 */
export function bilinearKernel(factor: number): Float32Array {
  if (!Number.isInteger(factor) || factor < 1)
    throw new RangeError(`bilinearKernel: factor must be a positive integer, got ${factor}`);
  const size = 2 * factor - (factor % 2);
  const c = (size - 1) / 2;
  const w1 = Array.from({ length: size }, (_, k) => 1 - Math.abs(k - c) / factor);
  const out = new Float32Array(size * size);
  for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) out[y * size + x] = w1[y] * w1[x];
  return out;
}

/**
 * A transposed convolution (stride `factor`, kernel {@link bilinearKernel})
 * whose weights start as channel-wise bilinear up-sampling. The input is
 * padded by one edge pixel on each side and the output cropped back to
 * `factor * (h, w)`, so that at initialisation it equals
 * `interpolate(x, {scaleFactor: factor, mode: 'bilinear'})` (half-pixel
 * centres, edge clamping) everywhere, borders included. Learned unless
 * `trainable` is false (FCN fixes its final up-sampling).
 *
 * @example
 * ```ts
 * const up = new BilinearDeconv(3, 8);
 * up.forward(tf.ones([1, 4, 4, 3])).shape; // => [1, 32, 32, 3] (all ones)
 * ```
 */
export class BilinearDeconv extends Module {
  readonly deconv: ConvTranspose2d;

  constructor(
    readonly channels: number,
    readonly factor: number,
    trainable = true,
  ) {
    super();
    const k = bilinearKernel(factor);
    const size = Math.round(Math.sqrt(k.length));
    this.deconv = this.addModule(
      'deconv',
      new ConvTranspose2d({
        inChannels: channels,
        outChannels: channels,
        kernelSize: size,
        stride: factor,
        bias: false,
      }),
    );
    // weight [kh, kw, out, in]: the kernel on the diagonal out == in, zero elsewhere.
    const w = new Float32Array(size * size * channels * channels);
    for (let p = 0; p < size * size; p++)
      for (let c = 0; c < channels; c++) w[(p * channels + c) * channels + c] = k[p]!;
    tf.tidy(() => this.deconv.weight.assign(tf.tensor4d(w, [size, size, channels, channels])));
    if (!trainable) this.freeze('deconv');
  }

  forward(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const [n, h, w, c] = x.shape;
      const f = this.factor;
      // Replicate one edge pixel on each side, so border outputs interpolate towards the edge value.
      let p = tf.concat(
        [tf.slice(x, [0, 0, 0, 0], [n, 1, w, c]), x, tf.slice(x, [0, h - 1, 0, 0], [n, 1, w, c])],
        1,
      );
      p = tf.concat(
        [
          tf.slice(p, [0, 0, 0, 0], [n, h + 2, 1, c]),
          p,
          tf.slice(p, [0, 0, w - 1, 0], [n, h + 2, 1, c]),
        ],
        2,
      );
      const y = this.deconv.forward(p);
      // Output row q of the padded input maps to row q - (f + floor(f / 2)) of the up-sampled map.
      const s = f + Math.floor(f / 2);
      return tf.slice(y, [0, s, s, 0], [n, h * f, w * f, c]);
    });
  }
}

export const fcnHeadSchema = decodeHeadSchema
  .extend({
    numConvs: z.number().int().nonnegative().optional(),
    kernelSize: z.number().int().positive().optional(),
    concatInput: z.boolean().optional(),
    dilation: z.number().int().positive().optional(),
    upsample: z.enum(['bilinear', 'deconv']).optional(),
    upsampleFactor: z.number().int().positive().optional(),
    upsampleTrainable: z.boolean().optional(),
  })
  .strict();

export type FCNHeadOptions = z.input<typeof fcnHeadSchema>;

/**
 * @example
 * ```ts
 * const head = MODELS.build<FCNHead>({ type: 'FCNHead', inChannels: 64, channels: 32, numClasses: 6, normCfg: { type: 'BN' } });
 * head.forward([tf.zeros([2, 16, 16, 64])]).shape; // => [2, 16, 16, 6]
 * // FCN-8s-style output at input resolution:
 * MODELS.build<FCNHead>({ type: 'FCNHead', inChannels: 64, channels: 32, numClasses: 6, normCfg: { type: 'BN' },
 *   upsample: 'deconv', upsampleFactor: 8 }).forward([tf.zeros([2, 16, 16, 64])]).shape; // => [2, 128, 128, 6]
 * ```
 */
export class FCNHead extends BaseDecodeHead {
  static readonly configSchema = fcnHeadSchema;
  readonly numConvs: number;
  readonly concatInput: boolean;
  readonly convs?: Sequential;
  readonly convCat?: ConvModule;
  readonly upsampleLayer?: BilinearDeconv;

  constructor(opts: FCNHeadOptions) {
    const o = fcnHeadSchema.parse(opts);
    const {
      numConvs: _n,
      kernelSize: _k,
      concatInput: _c,
      dilation: _d,
      upsample: _u,
      upsampleFactor: _f,
      upsampleTrainable: _t,
      ...base
    } = o;
    super(base);
    this.numConvs = o.numConvs ?? 2;
    this.concatInput = o.concatInput ?? true;
    const k = o.kernelSize ?? 3;
    const d = o.dilation ?? 1;
    const inCh = this.inChannels as number;
    if (Array.isArray(this.inChannels))
      throw new Error(
        "FCNHead: inChannels must be one number (inputTransform 'multiple_select' is not supported; use 'resize_concat')",
      );
    if (this.numConvs === 0 && inCh !== this.channels)
      throw new Error(
        `FCNHead: with numConvs 0, inChannels (${inCh}) must equal channels (${this.channels})`,
      );
    const cm = (i: number, out: number, dil: number) =>
      new ConvModule({
        inChannels: i,
        outChannels: out,
        kernelSize: k,
        padding: Math.floor(k / 2) * dil,
        dilation: dil,
        normCfg: this.normCfg as NormCfg | null,
        actCfg: this.actCfg as ActCfg | null,
      });
    if (this.numConvs > 0) {
      const layers = [cm(inCh, this.channels, d)];
      for (let i = 1; i < this.numConvs; i++) layers.push(cm(this.channels, this.channels, d));
      this.convs = this.addModule('convs', new Sequential(...layers));
    }
    if (this.concatInput)
      this.convCat = this.addModule('convCat', cm(inCh + this.channels, this.channels, 1));
    this.initHeadWeights();
    if ((o.upsample ?? 'bilinear') === 'deconv') {
      if (!o.upsampleFactor)
        throw new Error(
          "FCNHead: upsample 'deconv' needs upsampleFactor (the output stride of the decoded feature map, e.g. 8)",
        );
      this.upsampleLayer = this.addModule(
        'upsample',
        new BilinearDeconv(this.numClasses, o.upsampleFactor, o.upsampleTrainable ?? false),
      );
    } else if (o.upsampleFactor !== undefined || o.upsampleTrainable !== undefined) {
      throw new Error(
        "FCNHead: upsampleFactor / upsampleTrainable apply to upsample 'deconv' only",
      );
    }
  }

  /** Features before the classifier (mmseg's `_forward_feature`). */
  forwardFeature(inputs: tf.Tensor4D[]): tf.Tensor4D {
    const x = this.transformInputs(inputs) as tf.Tensor4D;
    let feats = this.convs ? (this.convs.forward(x) as tf.Tensor4D) : x;
    if (this.convCat) feats = this.convCat.forward(tf.concat([x, feats], 3));
    return feats;
  }

  forward(inputs: tf.Tensor4D[]): tf.Tensor4D {
    const logits = this.clsSeg(this.forwardFeature(inputs));
    return this.upsampleLayer ? this.upsampleLayer.forward(logits) : logits;
  }
}

MODELS.register(FCNHead, { name: 'FCNHead' });
