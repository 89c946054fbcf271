/**
 * ResNet (He et al., "Deep Residual Learning for Image Recognition", 2016)
 * and ResNetV1d (Bag of Tricks, He et al. 2019: deep stem, average-pool
 * shortcut), as mmdetection's `ResNet`/`ResNetV1d`. The module tree and names
 * are torchvision's (`conv1`, `bn1`, `layer1.0.conv1`, `layer1.0.downsample.0`),
 * so torchvision weights load through a short name table.
 */
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { MODELS } from '../registry.js';
import {
  AvgPool2d,
  buildNormLayer,
  Conv2d,
  MaxPool2d,
  Module,
  Sequential,
  Activation,
  type NormCfg,
} from '../nn/index.js';
import { initWeights, type InitCfg } from './init_weights.js';
import {
  checkInput,
  freezeChildren,
  indexList,
  initSchema,
  isNorm,
  normCfgSchema,
  setNormEval,
} from './utils.js';

interface BlockOptions {
  inplanes: number;
  planes: number;
  stride: number;
  dilation: number;
  downsample?: Module;
  style: 'pytorch' | 'caffe';
  normCfg: NormCfg;
}

/** conv3x3-norm-relu-conv3x3-norm plus the shortcut (ResNet-18/34). */
export class BasicBlock extends Module {
  static readonly expansion = 1;
  readonly conv1: Conv2d;
  readonly conv2: Conv2d;
  readonly norm1: Module;
  readonly norm2: Module;
  readonly downsample?: Module;

  constructor(o: BlockOptions) {
    super();
    const d = o.dilation;
    this.conv1 = this.addModule(
      'conv1',
      new Conv2d({
        inChannels: o.inplanes,
        outChannels: o.planes,
        kernelSize: 3,
        stride: o.stride,
        padding: d,
        dilation: d,
        bias: false,
      }),
    );
    this.norm1 = this.addNorm(1, o.normCfg, o.planes);
    this.conv2 = this.addModule(
      'conv2',
      new Conv2d({
        inChannels: o.planes,
        outChannels: o.planes,
        kernelSize: 3,
        padding: 1,
        bias: false,
      }),
    );
    this.norm2 = this.addNorm(2, o.normCfg, o.planes);
    if (o.downsample) this.downsample = this.addModule('downsample', o.downsample);
  }

  protected addNorm(i: number, cfg: NormCfg, ch: number): Module {
    const [name, layer] = buildNormLayer(cfg, ch);
    return this.addModule(`${name}${i}`, layer);
  }

  /** The norm layer whose weight `zeroInitResidual` zeroes. */
  get lastNorm(): Module {
    return this.norm2;
  }

  forward(x: tf.Tensor4D): tf.Tensor4D {
    let y = tf.relu(this.norm1.forward(this.conv1.forward(x)) as tf.Tensor4D);
    y = this.norm2.forward(this.conv2.forward(y)) as tf.Tensor4D;
    const identity = this.downsample ? (this.downsample.forward(x) as tf.Tensor4D) : x;
    return tf.relu(tf.add(y, identity));
  }
}

/**
 * conv1x1-conv3x3-conv1x1 with expansion 4 (ResNet-50/101/152). In the
 * 'pytorch' style the stride sits on the 3x3 conv (torchvision, "ResNet v1.5"),
 * in the 'caffe' style on the first 1x1.
 */
export class Bottleneck extends Module {
  static readonly expansion = 4;
  readonly conv1: Conv2d;
  readonly conv2: Conv2d;
  readonly conv3: Conv2d;
  readonly norm1: Module;
  readonly norm2: Module;
  readonly norm3: Module;
  readonly downsample?: Module;

  constructor(o: BlockOptions) {
    super();
    const [s1, s2] = o.style === 'pytorch' ? [1, o.stride] : [o.stride, 1];
    const d = o.dilation;
    const out = o.planes * Bottleneck.expansion;
    this.conv1 = this.addModule(
      'conv1',
      new Conv2d({
        inChannels: o.inplanes,
        outChannels: o.planes,
        kernelSize: 1,
        stride: s1,
        bias: false,
      }),
    );
    this.norm1 = this.addNorm(1, o.normCfg, o.planes);
    this.conv2 = this.addModule(
      'conv2',
      new Conv2d({
        inChannels: o.planes,
        outChannels: o.planes,
        kernelSize: 3,
        stride: s2,
        padding: d,
        dilation: d,
        bias: false,
      }),
    );
    this.norm2 = this.addNorm(2, o.normCfg, o.planes);
    this.conv3 = this.addModule(
      'conv3',
      new Conv2d({ inChannels: o.planes, outChannels: out, kernelSize: 1, bias: false }),
    );
    this.norm3 = this.addNorm(3, o.normCfg, out);
    if (o.downsample) this.downsample = this.addModule('downsample', o.downsample);
  }

  protected addNorm(i: number, cfg: NormCfg, ch: number): Module {
    const [name, layer] = buildNormLayer(cfg, ch);
    return this.addModule(`${name}${i}`, layer);
  }

  get lastNorm(): Module {
    return this.norm3;
  }

  forward(x: tf.Tensor4D): tf.Tensor4D {
    let y = tf.relu(this.norm1.forward(this.conv1.forward(x)) as tf.Tensor4D);
    y = tf.relu(this.norm2.forward(this.conv2.forward(y)) as tf.Tensor4D);
    y = this.norm3.forward(this.conv3.forward(y)) as tf.Tensor4D;
    const identity = this.downsample ? (this.downsample.forward(x) as tf.Tensor4D) : x;
    return tf.relu(tf.add(y, identity));
  }
}

type BlockClass = typeof BasicBlock | typeof Bottleneck;

const ARCH: Record<number, [BlockClass, number[]]> = {
  18: [BasicBlock, [2, 2, 2, 2]],
  34: [BasicBlock, [3, 4, 6, 3]],
  50: [Bottleneck, [3, 4, 6, 3]],
  101: [Bottleneck, [3, 4, 23, 3]],
  152: [Bottleneck, [3, 8, 36, 3]],
};

export const resnetSchema = z
  .object({
    depth: z.literal([18, 34, 50, 101, 152]),
    inChannels: z.number().int().positive().default(3),
    stemChannels: z.number().int().positive().optional(),
    baseChannels: z.number().int().positive().default(64),
    numStages: z.number().int().min(1).max(4).default(4),
    strides: z.array(z.number().int().positive()).optional(),
    dilations: z.array(z.number().int().positive()).optional(),
    outIndices: indexList.default([0, 1, 2, 3]),
    style: z.enum(['pytorch', 'caffe']).default('pytorch'),
    deepStem: z.boolean().default(false),
    avgDown: z.boolean().default(false),
    /**
     * mmseg's `contract_dilation` (torchvision's `replace_stride_with_dilation`
     * does the same): in a stage dilated by d > 1 the first block's 3x3 conv
     * uses d / 2, the previous stage's dilation.
     */
    contractDilation: z.boolean().default(false),
    frozenStages: z.number().int().min(-1).default(-1),
    normCfg: normCfgSchema.default({ type: 'BN', requiresGrad: true }),
    normEval: z.boolean().default(true),
    zeroInitResidual: z.boolean().default(true),
    init: initSchema,
  })
  .strict();

export type ResNetOptions = z.input<typeof resnetSchema>;

/**
 * ResNet backbone returning the feature maps of the stages in `outIndices`
 * (NHWC, strides 4, 8, 16, 32 for indices 0..3).
 *
 * - `frozenStages`: -1 trains everything; 0 freezes the stem; k also freezes
 *   `layer1..layerk` (parameters untrainable, BatchNorms in eval mode).
 * - `normEval` (default true as mmdetection): every BatchNorm stays in eval
 *   mode while the model trains (running statistics, no update).
 * - `zeroInitResidual`: the last norm of each block starts at zero, so each
 *   block starts as the identity (Goyal et al. 2017).
 * - `deepStem` / `avgDown`: the ResNet-D tweaks (see {@link ResNetV1d}).
 * - `strides` / `dilations` per stage, with `contractDilation`: a dilated
 *   network at output stride 8 (`strides: [1, 2, 1, 1]`, `dilations: [1, 1, 2, 4]`),
 *   as mmseg's ResNet-D8 and torchvision's segmentation backbones.
 *
 * @example
 * ```ts
 * const r18 = MODELS.build<ResNet>({ type: 'ResNet', depth: 18, outIndices: [1, 3] });
 * r18.forward(tf.zeros([1, 64, 64, 3])).map((t) => t.shape); // => [[1, 8, 8, 128], [1, 2, 2, 512]]
 * ```
 */
export class ResNet extends Module {
  readonly opts: z.output<typeof resnetSchema>;
  readonly layerNames: string[] = [];
  readonly stem?: Sequential;
  readonly conv1?: Conv2d;
  readonly norm1?: Module;
  readonly maxpool = new MaxPool2d({ kernelSize: 3, stride: 2, padding: 1 });
  /** Channels of each stage's output. */
  readonly outChannels: number[] = [];

  constructor(options: ResNetOptions) {
    super();
    const o = (this.opts = resnetSchema.parse(options));
    const entry = ARCH[o.depth];
    if (!entry) throw new Error(`ResNet: invalid depth ${o.depth}`);
    const [Block, stageBlocks] = entry;
    const strides = o.strides ?? [1, 2, 2, 2];
    const dilations = o.dilations ?? [1, 1, 1, 1];
    if (strides.length < o.numStages || dilations.length < o.numStages) {
      throw new Error(`ResNet: strides and dilations need ${o.numStages} entries`);
    }
    if (Math.max(...o.outIndices) >= o.numStages)
      throw new Error(
        `ResNet: outIndices ${JSON.stringify(o.outIndices)} must be < numStages ${o.numStages}`,
      );
    const stemChannels = o.stemChannels ?? o.baseChannels;
    const norm = (ch: number): Module => buildNormLayer(o.normCfg, ch)[1];
    if (o.deepStem) {
      const half = stemChannels / 2;
      this.stem = this.addModule(
        'stem',
        new Sequential(
          new Conv2d({
            inChannels: o.inChannels,
            outChannels: half,
            kernelSize: 3,
            stride: 2,
            padding: 1,
            bias: false,
          }),
          norm(half),
          new Activation('ReLU'),
          new Conv2d({
            inChannels: half,
            outChannels: half,
            kernelSize: 3,
            padding: 1,
            bias: false,
          }),
          norm(half),
          new Activation('ReLU'),
          new Conv2d({
            inChannels: half,
            outChannels: stemChannels,
            kernelSize: 3,
            padding: 1,
            bias: false,
          }),
          norm(stemChannels),
          new Activation('ReLU'),
        ),
      );
    } else {
      this.conv1 = this.addModule(
        'conv1',
        new Conv2d({
          inChannels: o.inChannels,
          outChannels: stemChannels,
          kernelSize: 7,
          stride: 2,
          padding: 3,
          bias: false,
        }),
      );
      const [nn, layer] = buildNormLayer(o.normCfg, stemChannels);
      this.norm1 = this.addModule(`${nn}1`, layer);
    }
    let inplanes = stemChannels;
    for (let i = 0; i < o.numStages; i++) {
      const planes = o.baseChannels * 2 ** i;
      const stride = strides[i];
      const out = planes * Block.expansion;
      const blocks: Module[] = [];
      for (let b = 0; b < stageBlocks[i]; b++) {
        const s = b === 0 ? stride : 1;
        const needDown = b === 0 && (stride !== 1 || inplanes !== out);
        const downsample = needDown ? this.makeDownsample(inplanes, out, stride, o) : undefined;
        blocks.push(
          new Block({
            inplanes: b === 0 ? inplanes : out,
            planes,
            stride: s,
            dilation:
              b === 0 && o.contractDilation && dilations[i] > 1
                ? Math.floor(dilations[i] / 2)
                : dilations[i],
            downsample,
            style: o.style,
            normCfg: o.normCfg,
          }),
        );
      }
      inplanes = out;
      const name = `layer${i + 1}`;
      this.addModule(name, new Sequential(...blocks));
      this.layerNames.push(name);
      this.outChannels.push(out);
    }
    if (o.normCfg.requiresGrad === false) {
      for (const [, m] of this.namedModules()) if (isNorm(m)) m.freeze('');
    }
    const init = (o.init as InitCfg | InitCfg[] | undefined) ?? [
      { type: 'Kaiming', layer: 'Conv2d' },
    ];
    initWeights(this, init);
    const pretrained = (Array.isArray(init) ? init : [init]).some((c) => c.type === 'Pretrained');
    if (o.zeroInitResidual && !pretrained) {
      for (const name of this.layerNames) {
        for (const [, block] of this.getChild(name).namedChildren()) {
          const norm = (block as BasicBlock | Bottleneck).lastNorm as Module & {
            weight?: tf.Variable;
          };
          if (norm.weight) norm.weight.assign(tf.zerosLike(norm.weight));
        }
      }
    }
    this.train(true);
  }

  private makeDownsample(
    inplanes: number,
    out: number,
    stride: number,
    o: z.output<typeof resnetSchema>,
  ): Module {
    const norm = buildNormLayer(o.normCfg, out)[1];
    if (o.avgDown) {
      const layers: Module[] = [];
      if (stride !== 1)
        layers.push(
          new AvgPool2d({ kernelSize: stride, stride, ceilMode: true, countIncludePad: false }),
        );
      layers.push(
        new Conv2d({ inChannels: inplanes, outChannels: out, kernelSize: 1, bias: false }),
        norm,
      );
      return new Sequential(...layers);
    }
    return new Sequential(
      new Conv2d({ inChannels: inplanes, outChannels: out, kernelSize: 1, stride, bias: false }),
      norm,
    );
  }

  /** Keeps `normEval` and `frozenStages` in force whatever mode is asked. */
  override train(mode = true): this {
    super.train(mode);
    if (!this.opts) return this; // not constructed yet
    if (this.opts.frozenStages >= 0) {
      freezeChildren(this, this.opts.deepStem ? ['stem'] : ['conv1', 'bn1', 'gn1']);
      freezeChildren(this, this.layerNames.slice(0, this.opts.frozenStages));
    }
    if (mode && this.opts.normEval) setNormEval(this);
    return this;
  }

  protected getChild(name: string): Module {
    const m = new Map(this.namedChildren()).get(name);
    if (!m) throw new Error(`ResNet has no child '${name}'`);
    return m;
  }

  forward(x: tf.Tensor4D): tf.Tensor4D[] {
    checkInput(this.constructor.name, x, this.opts.inChannels);
    // One tidy per block frees each block's intermediates as soon as it is
    // done (what the gradient tape needs it keeps itself); without it a
    // forward at 800x1216 holds every activation of the network at once.
    let y = tf.tidy(() => {
      const s = this.stem
        ? (this.stem.forward(x) as tf.Tensor4D)
        : tf.relu(this.norm1!.forward(this.conv1!.forward(x)) as tf.Tensor4D);
      return this.maxpool.forward(s);
    });
    const outs: tf.Tensor4D[] = [];
    this.layerNames.forEach((name, i) => {
      for (const block of (this.getChild(name) as Sequential).layers) {
        const prev = y;
        y = tf.tidy(() => block.forward(prev) as tf.Tensor4D);
      }
      if (this.opts.outIndices.includes(i)) outs.push(y);
    });
    return outs;
  }
}

/**
 * ResNetV1d: ResNet with a deep stem (three 3x3 convs instead of the 7x7) and
 * an average-pool shortcut (`deepStem` and `avgDown` on), as mmdetection's.
 */
export class ResNetV1d extends ResNet {
  constructor(options: ResNetOptions) {
    super(resnetV1dSchema.parse(options));
  }
}

export const resnetV1dSchema = resnetSchema.extend({
  deepStem: z.boolean().default(true),
  avgDown: z.boolean().default(true),
});

MODELS.register(ResNet, { name: 'ResNet', schema: resnetSchema });
MODELS.register(ResNetV1d, { name: 'ResNetV1d', schema: resnetV1dSchema });
