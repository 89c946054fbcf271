/**
 * Layers with PyTorch's semantics on NHWC tensors. Weight layouts are tfjs':
 * conv filters HWIO `[kh, kw, in/groups, out]`, transposed-conv filters
 * `[kh, kw, out, in]`, linear weights `[in, out]`; the torchvision converter
 * maps OIHW and `[out, in]` onto them.
 */
import * as tf from '@tensorflow/tfjs-core';
import { MODELS } from '../registry.js';
import { torchDefaultBias, torchDefaultWeight } from './init.js';
import { Module } from './module.js';
import { explicitPad, pair, type Pair } from './pair.js';

export interface Conv2dOptions {
  inChannels: number;
  outChannels: number;
  kernelSize: Pair;
  stride?: Pair;
  /** Symmetric zero padding per side (torch's `padding`), or 'same' / 'valid'. */
  padding?: Pair | 'same' | 'valid';
  dilation?: Pair;
  groups?: number;
  bias?: boolean;
}

/**
 * 2-D convolution (torch.nn.Conv2d) on NHWC input. `groups` = 1 is a plain
 * convolution, `groups = inChannels` a depthwise one (filter reshaped to
 * tfjs' `[kh, kw, in, multiplier]`), other values run one convolution per group.
 *
 * @example
 * ```ts
 * const conv = new Conv2d({ inChannels: 3, outChannels: 8, kernelSize: 3, padding: 1 });
 * conv.forward(tf.zeros([1, 32, 32, 3])).shape; // => [1, 32, 32, 8]
 * conv.weight.shape; // => [3, 3, 3, 8]
 * ```
 */
export class Conv2d extends Module {
  readonly weight: tf.Variable;
  readonly bias?: tf.Variable;
  readonly options: Required<Conv2dOptions>;

  constructor(opts: Conv2dOptions) {
    super();
    this.options = { stride: 1, padding: 0, dilation: 1, groups: 1, bias: true, ...opts };
    const { inChannels, outChannels, groups } = this.options;
    if (inChannels % groups || outChannels % groups) {
      throw new Error(
        `Conv2d: inChannels ${inChannels} and outChannels ${outChannels} must be divisible by groups ${groups}`,
      );
    }
    const [kh, kw] = pair(this.options.kernelSize);
    const shape = [kh, kw, inChannels / groups, outChannels];
    this.weight = this.addParameter('weight', torchDefaultWeight(shape));
    if (this.options.bias)
      this.bias = this.addParameter('bias', torchDefaultBias(shape, outChannels));
  }

  private get padArg(): 'same' | 'valid' | [[0, 0], [number, number], [number, number], [0, 0]] {
    const p = this.options.padding;
    return p === 'same' || p === 'valid' ? p : explicitPad(pair(p));
  }

  forward(x: tf.Tensor4D): tf.Tensor4D {
    const { groups, inChannels } = this.options;
    const stride = pair(this.options.stride);
    const dilation = pair(this.options.dilation);
    let y: tf.Tensor4D;
    if (groups === 1) {
      y = tf.conv2d(x, this.weight as tf.Tensor4D, stride, this.padArg, 'NHWC', dilation);
    } else if (groups === inChannels) {
      const [kh, kw, , out] = this.weight.shape;
      const f = tf.reshape(this.weight, [kh, kw, inChannels, out / inChannels]) as tf.Tensor4D;
      y = tf.depthwiseConv2d(x, f, stride, this.padArg, 'NHWC', dilation);
    } else {
      const xs = tf.split(x, groups, 3);
      const ws = tf.split(this.weight, groups, 3);
      y = tf.concat(
        xs.map((xi, i) =>
          tf.conv2d(xi as tf.Tensor4D, ws[i] as tf.Tensor4D, stride, this.padArg, 'NHWC', dilation),
        ),
        3,
      ) as tf.Tensor4D;
    }
    return this.bias ? tf.add(y, this.bias) : y;
  }
}

MODELS.register(Conv2d, { name: 'Conv2d' });
