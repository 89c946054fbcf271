/**
 * GoogLeNet / Inception v1 (Szegedy et al., "Going Deeper with
 * Convolutions", 2015) as torchvision's (BN after every conv, eps 1e-3; the
 * "5x5" branch uses a 3x3 kernel as torchvision's does; no auxiliary heads).
 * Names are torchvision's: `conv1.conv`, `conv1.bn`, `inception3a.branch2.0.conv`, ...
 */
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { MODELS } from '../registry.js';
import { BatchNorm2d, Conv2d, MaxPool2d, Module, Sequential } from '../nn/index.js';
import { initWeights } from './init_weights.js';
import { checkInput, freezeChildren, indexList, initSchema, setNormEval } from './utils.js';

/** conv (no bias) - BN (eps 1e-3) - ReLU, torchvision's `BasicConv2d`. */
export class BasicConv2d extends Module {
  readonly conv: Conv2d;
  readonly bn: BatchNorm2d;
  constructor(
    inChannels: number,
    outChannels: number,
    kernelSize: number,
    stride = 1,
    padding = 0,
  ) {
    super();
    this.conv = this.addModule(
      'conv',
      new Conv2d({ inChannels, outChannels, kernelSize, stride, padding, bias: false }),
    );
    this.bn = this.addModule('bn', new BatchNorm2d(outChannels, { eps: 0.001 }));
  }
  forward(x: tf.Tensor4D): tf.Tensor4D {
    return tf.relu(this.bn.forward(this.conv.forward(x)));
  }
}

/** Four parallel branches (1x1; 1x1-3x3; 1x1-3x3; 3x3 max pool-1x1) concatenated on channels. */
export class Inception extends Module {
  readonly branches: Module[];
  constructor(
    inCh: number,
    ch1x1: number,
    ch3x3red: number,
    ch3x3: number,
    ch5x5red: number,
    ch5x5: number,
    poolProj: number,
  ) {
    super();
    this.branches = [
      this.addModule('branch1', new BasicConv2d(inCh, ch1x1, 1)),
      this.addModule(
        'branch2',
        new Sequential(
          new BasicConv2d(inCh, ch3x3red, 1),
          new BasicConv2d(ch3x3red, ch3x3, 3, 1, 1),
        ),
      ),
      this.addModule(
        'branch3',
        new Sequential(
          new BasicConv2d(inCh, ch5x5red, 1),
          new BasicConv2d(ch5x5red, ch5x5, 3, 1, 1),
        ),
      ),
      this.addModule(
        'branch4',
        new Sequential(
          new MaxPool2d({ kernelSize: 3, stride: 1, padding: 1, ceilMode: true }),
          new BasicConv2d(inCh, poolProj, 1),
        ),
      ),
    ];
  }
  forward(x: tf.Tensor4D): tf.Tensor4D {
    return tf.concat(
      this.branches.map((b) => b.forward(x) as tf.Tensor4D),
      3,
    );
  }
}

const INCEPTIONS: [string, number[]][] = [
  ['inception3a', [192, 64, 96, 128, 16, 32, 32]],
  ['inception3b', [256, 128, 128, 192, 32, 96, 64]],
  ['inception4a', [480, 192, 96, 208, 16, 48, 64]],
  ['inception4b', [512, 160, 112, 224, 24, 64, 64]],
  ['inception4c', [512, 128, 128, 256, 24, 64, 64]],
  ['inception4d', [512, 112, 144, 288, 32, 64, 64]],
  ['inception4e', [528, 256, 160, 320, 32, 128, 128]],
  ['inception5a', [832, 256, 160, 320, 32, 128, 128]],
  ['inception5b', [832, 384, 192, 384, 48, 128, 128]],
];

export const googLeNetSchema = z
  .object({
    /** Indices into the four levels [conv3 (stride 4, 192), inception3b (8, 480), inception4e (16, 832), inception5b (32, 1024)]. */
    outIndices: indexList.default([1, 2, 3]),
    /** -1: none; 0: conv1..conv3; k: also the inception modules of level k. */
    frozenStages: z.number().int().min(-1).max(3).default(-1),
    normEval: z.boolean().default(false),
    /** Re-normalise an ImageNet-normalised input to the [-1, 1] scaling of the original Inception weights (torchvision's `transform_input`). */
    transformInput: z.boolean().default(false),
    init: initSchema,
  })
  .strict();

export type GoogLeNetOptions = z.input<typeof googLeNetSchema>;

/**
 * GoogLeNet backbone with multi-scale outputs.
 *
 * @example
 * ```ts
 * const g = MODELS.build<GoogLeNet>({ type: 'GoogLeNet' });
 * g.forward(tf.zeros([1, 64, 64, 3])).map((t) => t.shape); // => [[1, 8, 8, 480], [1, 4, 4, 832], [1, 2, 2, 1024]]
 * ```
 */
export class GoogLeNet extends Module {
  readonly opts: z.output<typeof googLeNetSchema>;
  readonly outChannels = [192, 480, 832, 1024];
  private readonly children_ = new Map<string, Module>();
  private readonly pools = {
    maxpool1: new MaxPool2d({ kernelSize: 3, stride: 2, ceilMode: true }),
    maxpool2: new MaxPool2d({ kernelSize: 3, stride: 2, ceilMode: true }),
    maxpool3: new MaxPool2d({ kernelSize: 3, stride: 2, ceilMode: true }),
    maxpool4: new MaxPool2d({ kernelSize: 2, stride: 2, ceilMode: true }),
  };

  constructor(options: GoogLeNetOptions = {}) {
    super();
    const o = (this.opts = googLeNetSchema.parse(options));
    this.add('conv1', new BasicConv2d(3, 64, 7, 2, 3));
    this.add('conv2', new BasicConv2d(64, 64, 1));
    this.add('conv3', new BasicConv2d(64, 192, 3, 1, 1));
    for (const [name, a] of INCEPTIONS)
      this.add(name, new Inception(a[0], a[1], a[2], a[3], a[4], a[5], a[6]));
    initWeights(this, o.init ?? [{ type: 'Kaiming', layer: 'Conv2d' }]);
    this.train(true);
  }

  private add(name: string, m: Module): void {
    this.children_.set(name, this.addModule(name, m));
  }

  private static readonly LEVELS = [
    ['conv1', 'conv2', 'conv3'],
    ['inception3a', 'inception3b'],
    ['inception4a', 'inception4b', 'inception4c', 'inception4d', 'inception4e'],
    ['inception5a', 'inception5b'],
  ];

  override train(mode = true): this {
    super.train(mode);
    if (!this.opts) return this;
    for (let l = 0; l <= this.opts.frozenStages; l++) freezeChildren(this, GoogLeNet.LEVELS[l]);
    if (mode && this.opts.normEval) setNormEval(this);
    return this;
  }

  forward(x: tf.Tensor4D): tf.Tensor4D[] {
    checkInput('GoogLeNet', x, 3);
    const c = (n: string, t: tf.Tensor4D): tf.Tensor4D =>
      tf.tidy(() => this.children_.get(n)!.forward(t) as tf.Tensor4D);
    let y = x;
    if (this.opts.transformInput) {
      const scale = tf.tensor1d([0.229 / 0.5, 0.224 / 0.5, 0.225 / 0.5]);
      const shift = tf.tensor1d([(0.485 - 0.5) / 0.5, (0.456 - 0.5) / 0.5, (0.406 - 0.5) / 0.5]);
      y = tf.add(tf.mul(y, scale), shift);
    }
    const outs: tf.Tensor4D[] = [];
    const emit = (i: number): void => {
      if (this.opts.outIndices.includes(i)) outs.push(y);
    };
    y = c('conv3', c('conv2', this.pools.maxpool1.forward(c('conv1', y))));
    emit(0);
    y = c('inception3b', c('inception3a', this.pools.maxpool2.forward(y)));
    emit(1);
    y = this.pools.maxpool3.forward(y);
    for (const n of GoogLeNet.LEVELS[2]) y = c(n, y);
    emit(2);
    y = c('inception5b', c('inception5a', this.pools.maxpool4.forward(y)));
    emit(3);
    return outs;
  }
}

MODELS.register(GoogLeNet, { name: 'GoogLeNet', schema: googLeNetSchema });
