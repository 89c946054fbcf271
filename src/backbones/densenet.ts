/**
 * DenseNet (Huang et al., "Densely Connected Convolutional Networks", 2017)
 * as torchvision's, without the `features.` prefix: `conv0`, `norm0`,
 * `denseblock1.denselayer1.{norm1,conv1,norm2,conv2}`, `transition1.{norm,conv}`,
 * ..., `norm5`. Outputs are the dense blocks' outputs (strides 4, 8, 16, 32;
 * the last one after `norm5` and its ReLU, as torchvision's classifier sees it).
 */
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { MODELS } from '../registry.js';
import { AvgPool2d, BatchNorm2d, Conv2d, MaxPool2d, Module } from '../nn/index.js';
import { initWeights } from './init_weights.js';
import { checkInput, freezeChildren, indexList, initSchema, setNormEval } from './utils.js';

/** BN-ReLU-1x1 conv (bnSize x growth) - BN-ReLU-3x3 conv (growth); its output is concatenated to its input. */
export class DenseLayer extends Module {
  readonly norm1: BatchNorm2d;
  readonly conv1: Conv2d;
  readonly norm2: BatchNorm2d;
  readonly conv2: Conv2d;
  constructor(inChannels: number, growth: number, bnSize: number) {
    super();
    this.norm1 = this.addModule('norm1', new BatchNorm2d(inChannels));
    this.conv1 = this.addModule(
      'conv1',
      new Conv2d({ inChannels, outChannels: bnSize * growth, kernelSize: 1, bias: false }),
    );
    this.norm2 = this.addModule('norm2', new BatchNorm2d(bnSize * growth));
    this.conv2 = this.addModule(
      'conv2',
      new Conv2d({
        inChannels: bnSize * growth,
        outChannels: growth,
        kernelSize: 3,
        padding: 1,
        bias: false,
      }),
    );
  }
  /** The new `growth` channels only. */
  forward(x: tf.Tensor4D): tf.Tensor4D {
    const y = this.conv1.forward(tf.relu(this.norm1.forward(x)));
    return this.conv2.forward(tf.relu(this.norm2.forward(y)));
  }
}

/** `n` dense layers; each one's output is concatenated onto the running feature map. */
export class DenseBlock extends Module {
  readonly layers: DenseLayer[] = [];
  constructor(n: number, inChannels: number, growth: number, bnSize: number) {
    super();
    for (let i = 0; i < n; i++)
      this.layers.push(
        this.addModule(
          `denselayer${i + 1}`,
          new DenseLayer(inChannels + i * growth, growth, bnSize),
        ),
      );
  }
  forward(x: tf.Tensor4D): tf.Tensor4D {
    // Concatenating once per layer is what torchvision does too (its bn_function cats the list).
    let y = x;
    for (const l of this.layers) {
      const prev = y;
      y = tf.tidy(() => tf.concat([prev, l.forward(prev)], 3));
    }
    return y;
  }
}

/** BN-ReLU-1x1 conv (halving the channels) - 2x2 average pool. */
export class Transition extends Module {
  readonly norm: BatchNorm2d;
  readonly conv: Conv2d;
  readonly pool = new AvgPool2d({ kernelSize: 2, stride: 2 });
  constructor(inChannels: number, outChannels: number) {
    super();
    this.norm = this.addModule('norm', new BatchNorm2d(inChannels));
    this.conv = this.addModule(
      'conv',
      new Conv2d({ inChannels, outChannels, kernelSize: 1, bias: false }),
    );
  }
  forward(x: tf.Tensor4D): tf.Tensor4D {
    return this.pool.forward(this.conv.forward(tf.relu(this.norm.forward(x))));
  }
}

/** [growth rate, initial features, layers per block] (torchvision's densenetXXX). */
const ARCH: Record<number, [number, number, number[]]> = {
  121: [32, 64, [6, 12, 24, 16]],
  161: [48, 96, [6, 12, 36, 24]],
  169: [32, 64, [6, 12, 32, 32]],
  201: [32, 64, [6, 12, 48, 32]],
};

export const denseNetSchema = z
  .object({
    depth: z.literal([121, 161, 169, 201]).default(121),
    bnSize: z.number().int().positive().default(4),
    outIndices: indexList.default([0, 1, 2, 3]),
    /** -1: none; 0: the stem; k: the stem and blocks 1..k with their transitions. */
    frozenStages: z.number().int().min(-1).max(4).default(-1),
    normEval: z.boolean().default(false),
    init: initSchema,
  })
  .strict();

export type DenseNetOptions = z.input<typeof denseNetSchema>;

/**
 * DenseNet backbone (121, 161, 169, 201).
 *
 * @example
 * ```ts
 * const d = MODELS.build<DenseNet>({ type: 'DenseNet', depth: 121 });
 * d.forward(tf.zeros([1, 64, 64, 3])).map((t) => t.shape);
 * // => [[1, 16, 16, 256], [1, 8, 8, 512], [1, 4, 4, 1024], [1, 2, 2, 1024]]
 * ```
 */
export class DenseNet extends Module {
  readonly opts: z.output<typeof denseNetSchema>;
  readonly conv0: Conv2d;
  readonly norm0: BatchNorm2d;
  readonly pool0 = new MaxPool2d({ kernelSize: 3, stride: 2, padding: 1 });
  readonly blocks: DenseBlock[] = [];
  readonly transitions: Transition[] = [];
  readonly norm5: BatchNorm2d;
  readonly outChannels: number[] = [];

  constructor(options: DenseNetOptions = {}) {
    super();
    const o = (this.opts = denseNetSchema.parse(options));
    const [growth, init, layers] = ARCH[o.depth];
    this.conv0 = this.addModule(
      'conv0',
      new Conv2d({
        inChannels: 3,
        outChannels: init,
        kernelSize: 7,
        stride: 2,
        padding: 3,
        bias: false,
      }),
    );
    this.norm0 = this.addModule('norm0', new BatchNorm2d(init));
    let ch = init;
    layers.forEach((n, i) => {
      this.blocks.push(
        this.addModule(`denseblock${i + 1}`, new DenseBlock(n, ch, growth, o.bnSize)),
      );
      ch += n * growth;
      this.outChannels.push(ch);
      if (i < layers.length - 1) {
        this.transitions.push(
          this.addModule(`transition${i + 1}`, new Transition(ch, Math.floor(ch / 2))),
        );
        ch = Math.floor(ch / 2);
      }
    });
    this.norm5 = this.addModule('norm5', new BatchNorm2d(ch));
    initWeights(this, o.init ?? [{ type: 'Kaiming', layer: 'Conv2d', mode: 'fan_in' }]);
    this.train(true);
  }

  override train(mode = true): this {
    super.train(mode);
    if (!this.opts) return this;
    const k = this.opts.frozenStages;
    if (k >= 0) {
      const names = ['conv0', 'norm0'];
      for (let i = 1; i <= k; i++) names.push(`denseblock${i}`, `transition${i}`);
      if (k >= 4) names.push('norm5');
      freezeChildren(this, names);
    }
    if (mode && this.opts.normEval) setNormEval(this);
    return this;
  }

  forward(x: tf.Tensor4D): tf.Tensor4D[] {
    checkInput('DenseNet', x, 3);
    let y = this.pool0.forward(tf.relu(this.norm0.forward(this.conv0.forward(x))));
    const outs: tf.Tensor4D[] = [];
    this.blocks.forEach((block, i) => {
      y = block.forward(y);
      if (i === this.blocks.length - 1) y = tf.relu(this.norm5.forward(y));
      if (this.opts.outIndices.includes(i)) outs.push(y);
      if (i < this.transitions.length) y = this.transitions[i].forward(y);
    });
    return outs;
  }
}

MODELS.register(DenseNet, { name: 'DenseNet', schema: denseNetSchema });
