/**
 * The Lite R-ASPP head (Howard et al., "Searching for MobileNetV3", 2019,
 * section 6.3) in torchvision's form (`LRASPPHead` of
 * `lraspp_mobilenet_v3_large`): on the high-level features (output stride
 * 16) a 1x1 conv-norm-ReLU to `channels`, gated per channel by a global
 * average pool, a 1x1 conv without bias and a sigmoid; resized bilinearly to
 * the low-level features (output stride 8) and classified (`convSeg`); plus a
 * 1x1 classifier of the low-level features themselves (`lowClassifier`).
 *
 * It decodes two levels: `inputTransform: 'multiple_select'` with `inIndex`
 * `[low, high]` and their `inChannels`. torchvision has no dropout before
 * the classifiers (`dropoutRatio: 0`). mmseg's `LRASPPHead` (its 49x49
 * strided pooling and concatenating up-sampling branches) is another head.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Conv2d, ConvModule, interpolate, type NormCfg } from '../../nn/index.js';
import { MODELS } from '../../registry.js';
import { BaseDecodeHead, decodeHeadSchema, type DecodeHeadOptions } from './decode_head.js';

/**
 * @example
 * ```ts
 * const head = MODELS.build<LRASPPHead>({ type: 'LRASPPHead', inChannels: [40, 960], inIndex: [0, 1],
 *   inputTransform: 'multiple_select', channels: 128, numClasses: 21, dropoutRatio: 0, normCfg: { type: 'BN' } });
 * head.forward([tf.zeros([1, 16, 16, 40]), tf.zeros([1, 8, 8, 960])]).shape; // => [1, 16, 16, 21]
 * head.scale.conv.bias; // => undefined
 * ```
 */
export class LRASPPHead extends BaseDecodeHead {
  static readonly configSchema = decodeHeadSchema;
  /** The high-level branch: 1x1 conv, norm, ReLU. */
  readonly cbr: ConvModule;
  /** The gate: 1x1 conv (no bias) and sigmoid of the globally pooled high-level features. */
  readonly scale: ConvModule;
  /** The classifier of the low-level features. */
  readonly lowClassifier: Conv2d;

  constructor(opts: DecodeHeadOptions) {
    super(opts);
    const ch = this.inChannels;
    if (this.inputTransform !== 'multiple_select' || !Array.isArray(ch) || ch.length !== 2)
      throw new Error(
        `LRASPPHead: decodes two levels: set inputTransform 'multiple_select' with inIndex [low, high] and inChannels [low, high], got ${JSON.stringify(this.inputTransform)} / ${JSON.stringify(ch)}`,
      );
    const [low, high] = ch as [number, number];
    this.cbr = this.addModule(
      'cbr',
      new ConvModule({
        inChannels: high,
        outChannels: this.channels,
        kernelSize: 1,
        normCfg: this.normCfg as NormCfg | null,
        actCfg: { type: 'ReLU' },
      }),
    );
    this.scale = this.addModule(
      'scale',
      new ConvModule({
        inChannels: high,
        outChannels: this.channels,
        kernelSize: 1,
        bias: false,
        actCfg: { type: 'Sigmoid' },
      }),
    );
    this.lowClassifier = this.addModule(
      'lowClassifier',
      new Conv2d({ inChannels: low, outChannels: this.numClasses, kernelSize: 1 }),
    );
    this.initHeadWeights();
  }

  forward(inputs: tf.Tensor4D[]): tf.Tensor4D {
    const [low, high] = this.transformInputs(inputs) as [tf.Tensor4D, tf.Tensor4D];
    const gate = this.scale.forward(tf.mean(high, [1, 2], true) as tf.Tensor4D);
    const x = tf.mul(this.cbr.forward(high), gate) as tf.Tensor4D;
    const up =
      x.shape[1] === low.shape[1] && x.shape[2] === low.shape[2]
        ? x
        : interpolate(x, {
            size: [low.shape[1], low.shape[2]],
            mode: 'bilinear',
            alignCorners: this.alignCorners,
          });
    return tf.add(this.lowClassifier.forward(low), this.clsSeg(up));
  }
}

MODELS.register(LRASPPHead, { name: 'LRASPPHead' });
