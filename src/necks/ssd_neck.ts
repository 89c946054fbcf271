/**
 * SSDNeck (mmdetection's): L2Norm on the first input (conv4_3, ParseNet
 * scale 20) and extra layers down to six levels, each a 1x1 conv to half
 * the channels then a 3x3 conv (stride 2 or 1). Children `l2Norm`,
 * `extraLayers.i.0.conv`, `extraLayers.i.1.conv`.
 */
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { MODELS } from '../registry.js';
import { ConvModule, Module, ModuleList, Sequential } from '../nn/index.js';
import { initWeights } from '../backbones/init_weights.js';
import { L2Norm } from '../backbones/vgg.js';
import { actCfgSchema, initSchema, normCfgSchema } from '../backbones/utils.js';

export const ssdNeckSchema = z
  .object({
    inChannels: z.array(z.number().int().positive()).min(1).default([512, 1024]),
    outChannels: z
      .array(z.number().int().positive())
      .min(1)
      .default([512, 1024, 512, 256, 256, 256]),
    levelStrides: z.array(z.number().int().positive()).default([2, 2, 1, 1]),
    levelPaddings: z.array(z.number().int().nonnegative()).default([1, 1, 0, 0]),
    /** Scale the L2Norm starts at; `null` for no L2Norm. */
    l2NormScale: z.number().positive().nullable().default(20),
    lastKernelSize: z.number().int().positive().default(3),
    /** Depthwise-separable 3x3 convs in the extra layers (SSDLite). */
    useDepthwise: z.boolean().default(false),
    normCfg: normCfgSchema.nullable().default(null),
    actCfg: actCfgSchema.nullable().default({ type: 'ReLU' }),
    init: initSchema,
  })
  .strict();

/**
 * @example
 * ```ts
 * const neck = MODELS.build<SSDNeck>({ type: 'SSDNeck' });
 * // SSDVGG's maps of a 300x300 input
 * const [conv4_3, fc7] = [tf.zeros([1, 38, 38, 512]), tf.zeros([1, 19, 19, 1024])] as tf.Tensor4D[];
 * neck.forward([conv4_3, fc7]).map((t) => t.shape[1]); // => [38, 19, 10, 5, 3, 1]
 * ```
 */
export class SSDNeck extends Module {
  readonly opts: z.output<typeof ssdNeckSchema>;
  readonly l2Norm?: L2Norm;
  readonly extraLayers: ModuleList<Sequential>;
  constructor(options: z.input<typeof ssdNeckSchema> = {}) {
    super();
    const o = (this.opts = ssdNeckSchema.parse(options));
    const nIn = o.inChannels.length;
    if (
      o.outChannels.length < nIn ||
      o.outChannels.slice(0, nIn).some((c, i) => c !== o.inChannels[i])
    ) {
      throw new Error(
        `SSDNeck: outChannels must start with inChannels ${JSON.stringify(o.inChannels)}`,
      );
    }
    const extra = o.outChannels.slice(nIn);
    if (o.levelStrides.length !== extra.length || o.levelPaddings.length !== extra.length) {
      throw new Error(
        `SSDNeck: levelStrides and levelPaddings need ${extra.length} entries (one per extra level)`,
      );
    }
    if (o.l2NormScale !== null)
      this.l2Norm = this.addModule('l2Norm', new L2Norm(o.inChannels[0], o.l2NormScale));
    const normCfg = o.normCfg ?? null;
    const actCfg = o.actCfg ?? null;
    let prev = o.inChannels[nIn - 1];
    const layers: Sequential[] = [];
    extra.forEach((out, i) => {
      const k = i === extra.length - 1 ? o.lastKernelSize : 3;
      const mid = Math.floor(out / 2);
      const s = o.levelStrides[i];
      const p = o.levelPaddings[i];
      const second = o.useDepthwise
        ? new Sequential(
            new ConvModule({
              inChannels: mid,
              outChannels: mid,
              kernelSize: k,
              stride: s,
              padding: p,
              groups: mid,
              normCfg,
              actCfg,
            }),
            new ConvModule({ inChannels: mid, outChannels: out, kernelSize: 1, normCfg, actCfg }),
          )
        : new ConvModule({
            inChannels: mid,
            outChannels: out,
            kernelSize: k,
            stride: s,
            padding: p,
            normCfg,
            actCfg,
          });
      layers.push(
        new Sequential(
          new ConvModule({ inChannels: prev, outChannels: mid, kernelSize: 1, normCfg, actCfg }),
          second,
        ),
      );
      prev = out;
    });
    this.extraLayers = this.addModule('extraLayers', new ModuleList(layers));
    initWeights(this, o.init ?? [{ type: 'Xavier', layer: 'Conv2d', distribution: 'uniform' }]);
  }
  forward(inputs: tf.Tensor4D[]): tf.Tensor4D[] {
    const outs = [...inputs];
    if (this.l2Norm) outs[0] = this.l2Norm.forward(outs[0]);
    let y = outs[outs.length - 1];
    for (const layer of this.extraLayers) {
      y = layer.forward(y) as tf.Tensor4D;
      outs.push(y);
    }
    return outs;
  }
}

MODELS.register(SSDNeck, { name: 'SSDNeck', schema: ssdNeckSchema });
