/** Transposed convolution with torch's semantics on NHWC tensors; weight `[kh, kw, out, in]`. */
import * as tf from '@tensorflow/tfjs-core';
import { MODELS } from '../registry.js';
import { torchDefaultBias, torchDefaultWeight } from './init.js';
import { Module } from './module.js';
import { pair, type Pair } from './pair.js';

export interface ConvTranspose2dOptions {
  inChannels: number;
  outChannels: number;
  kernelSize: Pair;
  stride?: Pair;
  padding?: Pair;
  outputPadding?: Pair;
  bias?: boolean;
}

/**
 * Transposed convolution (torch.nn.ConvTranspose2d, groups 1, dilation 1);
 * output size `(H - 1) * stride - 2 * padding + kernel + outputPadding`.
 * Weight `[kh, kw, out, in]`.
 */
export class ConvTranspose2d extends Module {
  readonly weight: tf.Variable;
  readonly bias?: tf.Variable;
  readonly options: Required<ConvTranspose2dOptions>;

  constructor(opts: ConvTranspose2dOptions) {
    super();
    this.options = { stride: 1, padding: 0, outputPadding: 0, bias: true, ...opts };
    const [kh, kw] = pair(this.options.kernelSize);
    const { inChannels, outChannels } = this.options;
    // torch computes fans from its [in, out, kh, kw] weight: fanIn = out * kh * kw.
    const torchLike = [kh, kw, outChannels, inChannels];
    this.weight = this.addParameter('weight', torchDefaultWeight(torchLike));
    if (this.options.bias)
      this.bias = this.addParameter('bias', torchDefaultBias(torchLike, outChannels));
  }

  forward(x: tf.Tensor4D): tf.Tensor4D {
    const [kh, kw] = pair(this.options.kernelSize);
    const [sh, sw] = pair(this.options.stride);
    const [ph, pw] = pair(this.options.padding);
    const [oph, opw] = pair(this.options.outputPadding);
    const [n, h, w] = x.shape;
    const oh = (h - 1) * sh + kh + oph;
    const ow = (w - 1) * sw + kw + opw;
    // Full transposed conv, then crop the torch padding (tfjs pads symmetrically only through 'same').
    let y = tf.conv2dTranspose(
      x,
      this.weight as tf.Tensor4D,
      [n, oh, ow, this.options.outChannels],
      [sh, sw],
      'valid',
    );
    if (ph || pw)
      y = tf.slice(y, [0, ph, pw, 0], [n, oh - 2 * ph, ow - 2 * pw, this.options.outChannels]);
    return this.bias ? tf.add(y, this.bias) : y;
  }
}

MODELS.register(ConvTranspose2d, { name: 'ConvTranspose2d' });
