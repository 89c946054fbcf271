/**
 * ASPPHead (Chen et al., "Rethinking Atrous Convolution for Semantic Image
 * Segmentation", DeepLabV3, 2017), as mmseg's `ASPPHead`: atrous spatial
 * pyramid pooling (an image-level branch of global average pooling + 1x1
 * conv broadcast back to the map, a 1x1 branch and 3x3 branches at
 * `dilations`), concatenated, a 3x3 bottleneck, dropout and the classifier.
 *
 * torchvision's `DeepLabHead` is the same head with two options:
 * `imagePoolLast` (its ASPP concatenates the pooled branch after the others)
 * and `projectChannels` (its ASPP projects the concatenation by a 1x1
 * conv-norm-act and a dropout of `projectDropout`, 0.5, before the 3x3
 * conv; it has no dropout before the classifier: `dropoutRatio: 0`).
 */
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { ConvModule, Dropout, ModuleList, type ActCfg, type NormCfg } from '../../nn/index.js';
import { MODELS } from '../../registry.js';
import { BaseDecodeHead, decodeHeadSchema } from './decode_head.js';

export const asppHeadSchema = decodeHeadSchema
  .extend({
    dilations: z.array(z.number().int().positive()).min(1).optional(),
    imagePoolLast: z.boolean().optional(),
    projectChannels: z.number().int().positive().optional(),
    projectDropout: z.number().min(0).max(1).optional(),
  })
  .strict();

export type ASPPHeadOptions = z.input<typeof asppHeadSchema>;

/**
 * @example
 * ```ts
 * const head = MODELS.build<ASPPHead>({ type: 'ASPPHead', inChannels: 64, channels: 32, numClasses: 6, dilations: [1, 12, 24, 36] });
 * head.forward([tf.zeros([2, 16, 16, 64])]).shape; // => [2, 16, 16, 6]
 * // torchvision's DeepLabHead
 * const tv = MODELS.build<ASPPHead>({ type: 'ASPPHead', inChannels: 64, channels: 32, numClasses: 6, dilations: [1, 12, 24, 36],
 *   imagePoolLast: true, projectChannels: 32, dropoutRatio: 0, normCfg: { type: 'BN' } });
 * tv.project!.conv.weight.shape; // => [1, 1, 160, 32]
 * ```
 */
export class ASPPHead extends BaseDecodeHead {
  static readonly configSchema = asppHeadSchema;
  readonly dilations: number[];
  readonly imagePool: ConvModule;
  readonly asppModules: ModuleList<ConvModule>;
  readonly bottleneck: ConvModule;
  readonly imagePoolLast: boolean;
  readonly project?: ConvModule;
  readonly projectDropout?: Dropout;

  constructor(opts: ASPPHeadOptions) {
    const o = asppHeadSchema.parse(opts);
    const { dilations, imagePoolLast, projectChannels, projectDropout, ...base } = o;
    super(base);
    if (Array.isArray(this.inChannels))
      throw new Error(
        "ASPPHead: inChannels must be one number (inputTransform 'multiple_select' is not supported; use 'resize_concat')",
      );
    this.dilations = dilations ?? [1, 6, 12, 18];
    this.imagePoolLast = imagePoolLast ?? false;
    if (projectDropout !== undefined && projectChannels === undefined)
      throw new Error('ASPPHead: projectDropout applies with projectChannels only');
    const inCh = this.inChannels;
    const norm = this.normCfg as NormCfg | null;
    const act = this.actCfg as ActCfg | null;
    // mmseg names: image_pool.1 is the conv after the pooling; here the pooling is a function.
    this.imagePool = this.addModule(
      'imagePool',
      new ConvModule({
        inChannels: inCh,
        outChannels: this.channels,
        kernelSize: 1,
        normCfg: norm,
        actCfg: act,
      }),
    );
    this.asppModules = this.addModule(
      'asppModules',
      new ModuleList(
        this.dilations.map(
          (d) =>
            new ConvModule({
              inChannels: inCh,
              outChannels: this.channels,
              kernelSize: d === 1 ? 1 : 3,
              dilation: d,
              padding: d === 1 ? 0 : d,
              normCfg: norm,
              actCfg: act,
            }),
        ),
      ),
    );
    const catChannels = (this.dilations.length + 1) * this.channels;
    if (projectChannels !== undefined) {
      this.project = this.addModule(
        'project',
        new ConvModule({
          inChannels: catChannels,
          outChannels: projectChannels,
          kernelSize: 1,
          normCfg: norm,
          actCfg: act,
        }),
      );
      const p = projectDropout ?? 0.5;
      if (p > 0) this.projectDropout = this.addModule('projectDropout', new Dropout(p));
    }
    this.bottleneck = this.addModule(
      'bottleneck',
      new ConvModule({
        inChannels: projectChannels ?? catChannels,
        outChannels: this.channels,
        kernelSize: 3,
        padding: 1,
        normCfg: norm,
        actCfg: act,
      }),
    );
    this.initHeadWeights();
  }

  /** Features before the classifier (mmseg's `_forward_feature`). */
  forwardFeature(inputs: tf.Tensor4D[]): tf.Tensor4D {
    const x = this.transformInputs(inputs) as tf.Tensor4D;
    const [n, h, w] = x.shape;
    // The pooled branch is 1x1, so the bilinear resize of mmseg is a broadcast.
    const pooled = this.imagePool.forward(tf.mean(x, [1, 2], true) as tf.Tensor4D);
    const pool = tf.broadcastTo(pooled, [n, h, w, this.channels]) as tf.Tensor4D;
    const branches = this.asppModules.items.map((m) => m.forward(x));
    let y = tf.concat(this.imagePoolLast ? [...branches, pool] : [pool, ...branches], 3);
    if (this.project) y = this.project.forward(y);
    if (this.projectDropout) y = this.projectDropout.forward(y) as tf.Tensor4D;
    return this.bottleneck.forward(y);
  }

  forward(inputs: tf.Tensor4D[]): tf.Tensor4D {
    return this.clsSeg(this.forwardFeature(inputs));
  }
}

MODELS.register(ASPPHead, { name: 'ASPPHead' });
