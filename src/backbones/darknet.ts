/**
 * Darknet-53 (Redmon & Farhadi, "YOLOv3: An Incremental Improvement", 2018)
 * as mmdetection's `Darknet`: a 3x3 stem conv, then five stages, each a
 * stride-2 3x3 conv followed by residual blocks (1x1 halving conv, 3x3 conv,
 * identity shortcut). Every conv is a ConvModule with BN and LeakyReLU(0.1).
 * Children `conv1`, `convResBlock{1..5}.conv`, `convResBlock{i}.res{k}.conv{1,2}`
 * (mmdet's `conv_res_block{i}` in camelCase).
 */
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { MODELS } from '../registry.js';
import { ConvModule, Module, type ActCfg, type NormCfg } from '../nn/index.js';
import { initWeights } from './init_weights.js';
import {
  actCfgSchema,
  checkInput,
  freezeChildren,
  indexList,
  initSchema,
  isNorm,
  normCfgSchema,
  setNormEval,
} from './utils.js';

interface ConvCfgs {
  normCfg: NormCfg | null;
  actCfg: ActCfg | null;
}

/** Darknet's residual block: 1x1 conv to half the channels, 3x3 conv back, plus the input. */
export class DarknetResBlock extends Module {
  readonly conv1: ConvModule;
  readonly conv2: ConvModule;
  constructor(channels: number, cfg: ConvCfgs) {
    super();
    if (channels % 2) throw new Error(`Darknet ResBlock: channels must be even, got ${channels}`);
    const half = channels / 2;
    this.conv1 = this.addModule(
      'conv1',
      new ConvModule({ inChannels: channels, outChannels: half, kernelSize: 1, ...cfg }),
    );
    this.conv2 = this.addModule(
      'conv2',
      new ConvModule({
        inChannels: half,
        outChannels: channels,
        kernelSize: 3,
        padding: 1,
        ...cfg,
      }),
    );
  }
  forward(x: tf.Tensor4D): tf.Tensor4D {
    return tf.add(this.conv2.forward(this.conv1.forward(x)), x);
  }
}

/** One stage: a stride-2 3x3 conv (`conv`) and `repeat` residual blocks (`res0`, `res1`, ...). */
export class DarknetConvResBlock extends Module {
  readonly conv: ConvModule;
  readonly blocks: DarknetResBlock[] = [];
  constructor(inChannels: number, outChannels: number, repeat: number, cfg: ConvCfgs) {
    super();
    this.conv = this.addModule(
      'conv',
      new ConvModule({ inChannels, outChannels, kernelSize: 3, stride: 2, padding: 1, ...cfg }),
    );
    for (let i = 0; i < repeat; i++)
      this.blocks.push(this.addModule(`res${i}`, new DarknetResBlock(outChannels, cfg)));
  }
  forward(x: tf.Tensor4D): tf.Tensor4D {
    // One tidy per block: each block's intermediates go as soon as it is done.
    let y = tf.tidy(() => this.conv.forward(x));
    for (const b of this.blocks) {
      const prev = y;
      y = tf.tidy(() => b.forward(prev));
    }
    return y;
  }
}

/** Residual blocks per stage and `[in, out]` channels of each stage, by depth (mmdet `arch_settings`). */
export const DARKNET_ARCH: Record<number, { layers: number[]; channels: [number, number][] }> = {
  53: {
    layers: [1, 2, 8, 8, 4],
    channels: [
      [32, 64],
      [64, 128],
      [128, 256],
      [256, 512],
      [512, 1024],
    ],
  },
};

export const darknetSchema = z
  .object({
    depth: z.literal(53).default(53),
    inChannels: z.number().int().positive().default(3),
    /** Indices into `[conv1, convResBlock1, ..., convResBlock5]`; the default gives strides 8, 16, 32. */
    outIndices: indexList.default([3, 4, 5]),
    /** Freezes the first `frozenStages` entries of that list (0 or -1: none), as mmdet's Darknet. */
    frozenStages: z.number().int().min(-1).max(6).default(-1),
    /** Multiplies every channel count (rounded; results must be even), for small variants. */
    widenFactor: z.number().positive().default(1),
    /** Multiplies the residual blocks per stage (`max(round(n * f), 1)`, as mmdet's CSPDarknet), for small variants. */
    deepenFactor: z.number().positive().default(1),
    convCfg: z.null().optional(),
    normCfg: normCfgSchema.default({ type: 'BN', requiresGrad: true }),
    actCfg: actCfgSchema.nullable().default({ type: 'LeakyReLU', negativeSlope: 0.1 }),
    normEval: z.boolean().default(true),
    init: initSchema,
  })
  .strict();

export type DarknetOptions = z.input<typeof darknetSchema>;

/**
 * Darknet backbone returning the maps of `outIndices` (NHWC). Index 0 is the
 * stem (stride 1), indices 1..5 the stages (strides 2, 4, 8, 16, 32).
 *
 * - `frozenStages`: k freezes `conv1` and the first k - 1 stages (parameters
 *   untrainable, BatchNorms in eval mode).
 * - `normEval` (default true as mmdet, for ImageNet-pretrained weights): every
 *   BatchNorm uses its running statistics while the model trains. Training
 *   from scratch wants `normEval: false`.
 * - `widenFactor`: channel multiplier (0.25 gives 8..256 channels);
 *   `deepenFactor`: residual-block multiplier (0.33 gives 1, 1, 3, 3, 1 blocks).
 *   Both 1 (the default) is Darknet-53.
 *
 * @example
 * ```ts
 * const d = MODELS.build<Darknet>({ type: 'Darknet', widenFactor: 0.25 });
 * d.forward(tf.zeros([1, 64, 64, 3])).map((t) => t.shape); // => [[1, 8, 8, 64], [1, 4, 4, 128], [1, 2, 2, 256]]
 * ```
 */
export class Darknet extends Module {
  readonly opts: z.output<typeof darknetSchema>;
  readonly crBlocks: string[] = ['conv1'];
  /** Channels of each entry of `outIndices`. */
  readonly outChannels: number[];
  readonly conv1: ConvModule;

  constructor(options: DarknetOptions = {}) {
    super();
    const o = (this.opts = darknetSchema.parse(options));
    const arch = DARKNET_ARCH[o.depth];
    if (!arch) throw new Error(`Darknet: invalid depth ${o.depth}`);
    const width = (c: number): number => {
      const w = Math.round(c * o.widenFactor);
      if (w < 2 || w % 2)
        throw new Error(
          `Darknet: widenFactor ${o.widenFactor} gives ${w} channels for ${c}; it must give an even number >= 2`,
        );
      return w;
    };
    if (Math.max(...o.outIndices) > arch.layers.length) {
      throw new Error(
        `Darknet: outIndices ${JSON.stringify(o.outIndices)} must be <= ${arch.layers.length}`,
      );
    }
    const cfg: ConvCfgs = {
      normCfg: o.normCfg,
      actCfg: o.actCfg ?? null,
    };
    const stem = width(arch.channels[0][0]);
    this.conv1 = this.addModule(
      'conv1',
      new ConvModule({
        inChannels: o.inChannels,
        outChannels: stem,
        kernelSize: 3,
        padding: 1,
        ...cfg,
      }),
    );
    const chans = [stem];
    arch.layers.forEach((n, i) => {
      const [inC, outC] = arch.channels[i];
      const name = `convResBlock${i + 1}`;
      const blocks = Math.max(Math.round(n * o.deepenFactor), 1);
      this.addModule(name, new DarknetConvResBlock(width(inC), width(outC), blocks, cfg));
      this.crBlocks.push(name);
      chans.push(width(outC));
    });
    this.outChannels = o.outIndices.map((i) => chans[i]);
    if (o.normCfg.requiresGrad === false) {
      for (const [, m] of this.namedModules()) if (isNorm(m)) m.freeze('');
    }
    initWeights(
      this,
      o.init ?? [
        { type: 'Kaiming', layer: 'Conv2d' },
        { type: 'Constant', val: 1, layer: ['_BatchNorm', 'GroupNorm'] },
      ],
    );
    this.train(true);
  }

  /** Keeps `normEval` and `frozenStages` in force whatever mode is asked. */
  override train(mode = true): this {
    super.train(mode);
    if (!this.opts) return this; // not constructed yet
    if (this.opts.frozenStages > 0)
      freezeChildren(this, this.crBlocks.slice(0, this.opts.frozenStages));
    if (mode && this.opts.normEval) setNormEval(this);
    return this;
  }

  forward(x: tf.Tensor4D): tf.Tensor4D[] {
    checkInput('Darknet', x, this.opts.inChannels);
    const children = new Map(this.namedChildren());
    const outs: tf.Tensor4D[] = [];
    let y = x;
    this.crBlocks.forEach((name, i) => {
      const prev = y;
      y =
        name === 'conv1'
          ? tf.tidy(() => this.conv1.forward(prev))
          : (children.get(name)!.forward(prev) as tf.Tensor4D);
      if (this.opts.outIndices.includes(i)) outs.push(y);
    });
    return outs;
  }
}

MODELS.register(Darknet, { name: 'Darknet', schema: darknetSchema });
