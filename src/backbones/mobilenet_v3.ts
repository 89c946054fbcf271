/**
 * MobileNetV3 large and small (Howard et al., "Searching for MobileNetV3",
 * 2019) with squeeze-and-excitation, h-swish and h-sigmoid as the paper and
 * torchvision. Names follow mmpretrain's: `layer0` (stem), `layer1..layerN`
 * inverted residuals with `expandConv`, `depthwiseConv`, `se.conv1`/`se.conv2`,
 * `linearConv`, and the last 1x1 conv `layer{N+1}`.
 */
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { MODELS } from '../registry.js';
import { ConvModule, Module, type NormCfg } from '../nn/index.js';
import { initWeights } from './init_weights.js';
import {
  checkInput,
  freezeChildren,
  indexList,
  initSchema,
  isNorm,
  makeDivisible,
  normCfgSchema,
  setNormEval,
} from './utils.js';

/**
 * Squeeze-and-excitation (Hu et al. 2018): global average, 1x1 conv + ReLU,
 * 1x1 conv + h-sigmoid, channel-wise scale. Convs carry biases (no norm).
 */
export class SELayer extends Module {
  readonly conv1: ConvModule;
  readonly conv2: ConvModule;
  constructor(channels: number, squeeze: number, gateAct: 'HSigmoid' | 'Sigmoid' = 'HSigmoid') {
    super();
    this.conv1 = this.addModule(
      'conv1',
      new ConvModule({
        inChannels: channels,
        outChannels: squeeze,
        kernelSize: 1,
        actCfg: { type: 'ReLU' },
      }),
    );
    this.conv2 = this.addModule(
      'conv2',
      new ConvModule({
        inChannels: squeeze,
        outChannels: channels,
        kernelSize: 1,
        actCfg: { type: gateAct },
      }),
    );
  }
  forward(x: tf.Tensor4D): tf.Tensor4D {
    const s = this.conv2.forward(this.conv1.forward(tf.mean(x, [1, 2], true) as tf.Tensor4D));
    return tf.mul(x, s);
  }
}

/** One row of the paper's Tables 1/2: kernel, expanded channels, out channels, SE, activation, stride. */
type Row = [
  kernel: number,
  exp: number,
  out: number,
  se: boolean,
  act: 'RE' | 'HS',
  stride: number,
];

const LARGE: Row[] = [
  [3, 16, 16, false, 'RE', 1],
  [3, 64, 24, false, 'RE', 2],
  [3, 72, 24, false, 'RE', 1],
  [5, 72, 40, true, 'RE', 2],
  [5, 120, 40, true, 'RE', 1],
  [5, 120, 40, true, 'RE', 1],
  [3, 240, 80, false, 'HS', 2],
  [3, 200, 80, false, 'HS', 1],
  [3, 184, 80, false, 'HS', 1],
  [3, 184, 80, false, 'HS', 1],
  [3, 480, 112, true, 'HS', 1],
  [3, 672, 112, true, 'HS', 1],
  [5, 672, 160, true, 'HS', 2],
  [5, 960, 160, true, 'HS', 1],
  [5, 960, 160, true, 'HS', 1],
];

const SMALL: Row[] = [
  [3, 16, 16, true, 'RE', 2],
  [3, 72, 24, false, 'RE', 2],
  [3, 88, 24, false, 'RE', 1],
  [5, 96, 40, true, 'HS', 2],
  [5, 240, 40, true, 'HS', 1],
  [5, 240, 40, true, 'HS', 1],
  [5, 120, 48, true, 'HS', 1],
  [5, 144, 48, true, 'HS', 1],
  [5, 288, 96, true, 'HS', 2],
  [5, 576, 96, true, 'HS', 1],
  [5, 576, 96, true, 'HS', 1],
];

/** MobileNetV3's bottleneck: [1x1 expand], kxk depthwise, [SE], 1x1 linear; identity shortcut when stride 1 and same channels. */
export class MobileNetV3Block extends Module {
  readonly useResConnect: boolean;
  readonly expandConv?: ConvModule;
  readonly depthwiseConv: ConvModule;
  readonly se?: SELayer;
  readonly linearConv: ConvModule;
  constructor(o: {
    inChannels: number;
    kernel: number;
    exp: number;
    out: number;
    se: boolean;
    act: 'ReLU' | 'HSwish';
    stride: number;
    dilation?: number;
    normCfg: NormCfg;
  }) {
    super();
    this.useResConnect = o.stride === 1 && o.inChannels === o.out;
    const actCfg = { type: o.act } as const;
    const d = o.dilation ?? 1;
    if (o.exp !== o.inChannels) {
      this.expandConv = this.addModule(
        'expandConv',
        new ConvModule({
          inChannels: o.inChannels,
          outChannels: o.exp,
          kernelSize: 1,
          normCfg: o.normCfg,
          actCfg,
        }),
      );
    }
    this.depthwiseConv = this.addModule(
      'depthwiseConv',
      new ConvModule({
        inChannels: o.exp,
        outChannels: o.exp,
        kernelSize: o.kernel,
        stride: d > 1 ? 1 : o.stride,
        padding: ((o.kernel - 1) / 2) * d,
        dilation: d,
        groups: o.exp,
        normCfg: o.normCfg,
        actCfg,
      }),
    );
    if (o.se)
      this.se = this.addModule('se', new SELayer(o.exp, makeDivisible(Math.floor(o.exp / 4), 8)));
    this.linearConv = this.addModule(
      'linearConv',
      new ConvModule({
        inChannels: o.exp,
        outChannels: o.out,
        kernelSize: 1,
        normCfg: o.normCfg,
        actCfg: null,
      }),
    );
  }
  forward(x: tf.Tensor4D): tf.Tensor4D {
    let y = this.expandConv ? this.expandConv.forward(x) : x;
    y = this.depthwiseConv.forward(y);
    if (this.se) y = this.se.forward(y);
    y = this.linearConv.forward(y);
    return this.useResConnect ? tf.add(x, y) : y;
  }
}

export const mobileNetV3Schema = z
  .object({
    arch: z.enum(['large', 'small']).default('large'),
    widenFactor: z.number().positive().default(1),
    /** Indices into [layer0, layer1, ..., layerN+1]; default: the ends of the stride-4/8/16/32 stages. */
    outIndices: indexList.optional(),
    /** -1: none; k: layer0..layerk. */
    frozenStages: z.number().int().min(-1).default(-1),
    normCfg: normCfgSchema.default({ type: 'BN', eps: 0.001, momentum: 0.01 }),
    normEval: z.boolean().default(false),
    /** Dilate the last stage instead of striding it (torchvision's `dilated`, for segmentation). */
    dilated: z.boolean().default(false),
    init: initSchema,
  })
  .strict();

export type MobileNetV3Options = z.input<typeof mobileNetV3Schema>;

/**
 * MobileNetV3 backbone. Channels scale with `widenFactor` as torchvision's
 * `width_mult` (`makeDivisible(c * w, 8)`); the last 1x1 conv has 6x the
 * channels of the last block (960 large, 576 small at w = 1).
 *
 * @example
 * ```ts
 * const m = MODELS.build<MobileNetV3>({ type: 'MobileNetV3', arch: 'large' });
 * m.forward(tf.zeros([1, 64, 64, 3])).map((t) => t.shape);
 * // => [[1, 16, 16, 24], [1, 8, 8, 40], [1, 4, 4, 112], [1, 2, 2, 960]]
 * ```
 */
export class MobileNetV3 extends Module {
  readonly opts: z.output<typeof mobileNetV3Schema>;
  readonly layerNames: string[] = [];
  readonly outChannels: number[] = [];
  readonly outIndices: number[];

  constructor(options: MobileNetV3Options = {}) {
    super();
    const o = (this.opts = mobileNetV3Schema.parse(options));
    const rows = o.arch === 'large' ? LARGE : SMALL;
    const adj = (c: number): number => makeDivisible(c * o.widenFactor, 8);
    let inCh = adj(16);
    this.addLayer(
      new ConvModule({
        inChannels: 3,
        outChannels: inCh,
        kernelSize: 3,
        stride: 2,
        padding: 1,
        normCfg: o.normCfg,
        actCfg: { type: 'HSwish' },
      }),
      inCh,
    );
    const lastStrided = rows.reduce((last, r, i) => (r[5] === 2 ? i : last), 0);
    rows.forEach(([kernel, exp, out, se, act, stride], i) => {
      const dilation = o.dilated && i >= lastStrided ? 2 : 1;
      const block = new MobileNetV3Block({
        inChannels: inCh,
        kernel,
        exp: adj(exp),
        out: adj(out),
        se,
        act: act === 'HS' ? 'HSwish' : 'ReLU',
        stride,
        dilation,
        normCfg: o.normCfg,
      });
      inCh = adj(out);
      this.addLayer(block, inCh);
    });
    const last = 6 * inCh;
    this.addLayer(
      new ConvModule({
        inChannels: inCh,
        outChannels: last,
        kernelSize: 1,
        normCfg: o.normCfg,
        actCfg: { type: 'HSwish' },
      }),
      last,
    );
    const n = this.layerNames.length;
    this.outIndices = o.outIndices ?? (o.arch === 'large' ? [3, 6, 12, 16] : [1, 3, 8, 12]);
    if (Math.max(...this.outIndices) >= n)
      throw new Error(
        `MobileNetV3: outIndices must be < ${n}, got ${JSON.stringify(this.outIndices)}`,
      );
    if (o.normCfg.requiresGrad === false)
      for (const [, m] of this.namedModules()) if (isNorm(m)) m.freeze('');
    initWeights(this, o.init ?? [{ type: 'Kaiming', layer: 'Conv2d' }]);
    this.train(true);
  }

  private addLayer(m: Module, ch: number): void {
    const name = `layer${this.layerNames.length}`;
    this.addModule(name, m);
    this.layerNames.push(name);
    this.outChannels.push(ch);
  }

  override train(mode = true): this {
    super.train(mode);
    if (!this.opts) return this;
    if (this.opts.frozenStages >= 0)
      freezeChildren(this, this.layerNames.slice(0, this.opts.frozenStages + 1));
    if (mode && this.opts.normEval) setNormEval(this);
    return this;
  }

  forward(x: tf.Tensor4D): tf.Tensor4D[] {
    checkInput('MobileNetV3', x, 3);
    const children = new Map(this.namedChildren());
    const outs: tf.Tensor4D[] = [];
    let y = x;
    this.layerNames.forEach((name, i) => {
      const prev = y;
      // a tidy per block frees its intermediates early (see ResNet.forward)
      y = tf.tidy(() => children.get(name)!.forward(prev) as tf.Tensor4D);
      if (this.outIndices.includes(i)) outs.push(y);
    });
    return outs;
  }
}

MODELS.register(MobileNetV3, { name: 'MobileNetV3', schema: mobileNetV3Schema });
