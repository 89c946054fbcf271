/**
 * MobileNetV2 (Sandler et al., "MobileNetV2: Inverted Residuals and Linear
 * Bottlenecks", 2018) as mmdetection's: `conv1`, `layer1..layer7` of inverted
 * residual blocks (`conv.0` expand, `conv.1` depthwise, `conv.2` linear
 * projection, each a ConvModule), and the final 1x1 `conv2`.
 */
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { MODELS } from '../registry.js';
import { ConvModule, Module, Sequential, type ActCfg, type NormCfg } from '../nn/index.js';
import { initWeights } from './init_weights.js';
import {
  actCfgSchema,
  checkInput,
  freezeChildren,
  indexList,
  initSchema,
  isNorm,
  makeDivisible,
  normCfgSchema,
  setNormEval,
} from './utils.js';

/** Inverted residual: 1x1 expand (when the ratio is not 1), 3x3 depthwise, 1x1 linear projection; identity shortcut when shapes allow. */
export class InvertedResidual extends Module {
  readonly conv: Sequential;
  readonly useResConnect: boolean;
  constructor(o: {
    inChannels: number;
    outChannels: number;
    stride: number;
    expandRatio: number;
    normCfg: NormCfg;
    actCfg: ActCfg;
  }) {
    super();
    const hidden = Math.round(o.inChannels * o.expandRatio);
    this.useResConnect = o.stride === 1 && o.inChannels === o.outChannels;
    const layers: Module[] = [];
    if (o.expandRatio !== 1) {
      layers.push(
        new ConvModule({
          inChannels: o.inChannels,
          outChannels: hidden,
          kernelSize: 1,
          normCfg: o.normCfg,
          actCfg: o.actCfg,
        }),
      );
    }
    layers.push(
      new ConvModule({
        inChannels: hidden,
        outChannels: hidden,
        kernelSize: 3,
        stride: o.stride,
        padding: 1,
        groups: hidden,
        normCfg: o.normCfg,
        actCfg: o.actCfg,
      }),
      new ConvModule({
        inChannels: hidden,
        outChannels: o.outChannels,
        kernelSize: 1,
        normCfg: o.normCfg,
        actCfg: null,
      }),
    );
    this.conv = this.addModule('conv', new Sequential(...layers));
  }
  forward(x: tf.Tensor4D): tf.Tensor4D {
    const y = this.conv.forward(x) as tf.Tensor4D;
    return this.useResConnect ? tf.add(x, y) : y;
  }
}

/** [expand ratio, channels, blocks, stride] of layer1..layer7 (the paper's Table 2). */
const ARCH: [number, number, number, number][] = [
  [1, 16, 1, 1],
  [6, 24, 2, 2],
  [6, 32, 3, 2],
  [6, 64, 4, 2],
  [6, 96, 3, 1],
  [6, 160, 3, 2],
  [6, 320, 1, 1],
];

export const mobileNetV2Schema = z
  .object({
    widenFactor: z.number().positive().default(1),
    /** Indices into [layer1..layer7, conv2]; 7 is the final 1x1 conv. */
    outIndices: indexList.default([1, 2, 4, 7]),
    /** -1: none; 0: conv1; k: conv1 and layer1..layerk. */
    frozenStages: z.number().int().min(-1).max(8).default(-1),
    normCfg: normCfgSchema.default({ type: 'BN' }),
    actCfg: actCfgSchema.default({ type: 'ReLU6' }),
    normEval: z.boolean().default(false),
    init: initSchema,
  })
  .strict();

export type MobileNetV2Options = z.input<typeof mobileNetV2Schema>;

/**
 * MobileNetV2 backbone. With `widenFactor` w, channels are
 * `makeDivisible(c * w, 8)` and the last conv has `makeDivisible(1280 * max(1, w), 8)`
 * (torchvision's `width_mult`).
 *
 * @example
 * ```ts
 * const m = MODELS.build<MobileNetV2>({ type: 'MobileNetV2', outIndices: [7] });
 * m.forward(tf.zeros([1, 64, 64, 3]))[0].shape; // => [1, 2, 2, 1280]
 * ```
 */
export class MobileNetV2 extends Module {
  readonly opts: z.output<typeof mobileNetV2Schema>;
  readonly layerNames: string[] = [];
  readonly outChannels: number[] = [];

  constructor(options: MobileNetV2Options = {}) {
    super();
    const o = (this.opts = mobileNetV2Schema.parse(options));
    if (Math.max(...o.outIndices) > 7)
      throw new Error(
        `MobileNetV2: outIndices must be in 0..7, got ${JSON.stringify(o.outIndices)}`,
      );
    const w = o.widenFactor;
    let inCh = makeDivisible(32 * w, 8);
    this.addModule(
      'conv1',
      new ConvModule({
        inChannels: 3,
        outChannels: inCh,
        kernelSize: 3,
        stride: 2,
        padding: 1,
        normCfg: o.normCfg,
        actCfg: o.actCfg,
      }),
    );
    ARCH.forEach(([t, c, n, s], i) => {
      const out = makeDivisible(c * w, 8);
      const blocks: Module[] = [];
      for (let b = 0; b < n; b++) {
        blocks.push(
          new InvertedResidual({
            inChannels: inCh,
            outChannels: out,
            stride: b === 0 ? s : 1,
            expandRatio: t,
            normCfg: o.normCfg,
            actCfg: o.actCfg,
          }),
        );
        inCh = out;
      }
      const name = `layer${i + 1}`;
      this.addModule(name, new Sequential(...blocks));
      this.layerNames.push(name);
      this.outChannels.push(out);
    });
    const last = makeDivisible(1280 * Math.max(1, w), 8);
    this.addModule(
      'conv2',
      new ConvModule({
        inChannels: inCh,
        outChannels: last,
        kernelSize: 1,
        normCfg: o.normCfg,
        actCfg: o.actCfg,
      }),
    );
    this.layerNames.push('conv2');
    this.outChannels.push(last);
    if (o.normCfg.requiresGrad === false)
      for (const [, m] of this.namedModules()) if (isNorm(m)) m.freeze('');
    initWeights(this, o.init ?? [{ type: 'Kaiming', layer: 'Conv2d' }]);
    this.train(true);
  }

  override train(mode = true): this {
    super.train(mode);
    if (!this.opts) return this;
    if (this.opts.frozenStages >= 0)
      freezeChildren(this, ['conv1', ...this.layerNames.slice(0, this.opts.frozenStages)]);
    if (mode && this.opts.normEval) setNormEval(this);
    return this;
  }

  forward(x: tf.Tensor4D): tf.Tensor4D[] {
    checkInput('MobileNetV2', x, 3);
    const children = new Map(this.namedChildren());
    let y = tf.tidy(() => children.get('conv1')!.forward(x) as tf.Tensor4D);
    const outs: tf.Tensor4D[] = [];
    this.layerNames.forEach((name, i) => {
      const layer = children.get(name)!;
      // a tidy per block frees its intermediates early (see ResNet.forward)
      for (const block of layer instanceof Sequential ? layer.layers : [layer]) {
        const prev = y;
        y = tf.tidy(() => block.forward(prev) as tf.Tensor4D);
      }
      if (this.opts.outIndices.includes(i)) outs.push(y);
    });
    return outs;
  }
}

MODELS.register(MobileNetV2, { name: 'MobileNetV2', schema: mobileNetV2Schema });
