/**
 * ChannelMapper (mmdetection's): one conv per input mapping it to
 * `outChannels`, plus optional extra stride-2 levels (DETR-family necks).
 */
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { MODELS } from '../registry.js';
import { ConvModule, Module, ModuleList } from '../nn/index.js';
import { initWeights } from '../backbones/init_weights.js';
import { actCfgSchema, initSchema, normCfgSchema } from '../backbones/utils.js';

export const channelMapperSchema = z
  .object({
    inChannels: z.array(z.number().int().positive()).min(1),
    outChannels: z.number().int().positive(),
    kernelSize: z.number().int().positive().default(3),
    normCfg: normCfgSchema.nullable().default(null),
    actCfg: actCfgSchema.nullable().default({ type: 'ReLU' }),
    /** More outputs than inputs adds 3x3 stride-2 convs: the first on the last input, the next on the previous output. */
    numOuts: z.number().int().positive().optional(),
    init: initSchema,
  })
  .strict();

/**
 * @example
 * ```ts
 * const cm = MODELS.build<ChannelMapper>({ type: 'ChannelMapper', inChannels: [512, 1024], outChannels: 256, numOuts: 3 });
 * const [c4, c5] = [tf.zeros([1, 4, 4, 512]), tf.zeros([1, 2, 2, 1024])] as tf.Tensor4D[];
 * cm.forward([c4, c5]).map((t) => t.shape[3]); // => [256, 256, 256]
 * ```
 */
export class ChannelMapper extends Module {
  readonly opts: z.output<typeof channelMapperSchema>;
  readonly convs: ModuleList<ConvModule>;
  readonly extraConvs?: ModuleList<ConvModule>;
  constructor(options: z.input<typeof channelMapperSchema>) {
    super();
    const o = (this.opts = channelMapperSchema.parse(options));
    const normCfg = o.normCfg ?? null;
    const actCfg = o.actCfg ?? null;
    const numOuts = o.numOuts ?? o.inChannels.length;
    if (numOuts < o.inChannels.length)
      throw new Error(`ChannelMapper: numOuts ${numOuts} < ${o.inChannels.length} inputs`);
    const pad = Math.floor((o.kernelSize - 1) / 2);
    this.convs = this.addModule(
      'convs',
      new ModuleList(
        o.inChannels.map(
          (c) =>
            new ConvModule({
              inChannels: c,
              outChannels: o.outChannels,
              kernelSize: o.kernelSize,
              padding: pad,
              normCfg,
              actCfg,
            }),
        ),
      ),
    );
    if (numOuts > o.inChannels.length) {
      const extra: ConvModule[] = [];
      for (let i = o.inChannels.length; i < numOuts; i++) {
        const inCh =
          i === o.inChannels.length ? o.inChannels[o.inChannels.length - 1] : o.outChannels;
        extra.push(
          new ConvModule({
            inChannels: inCh,
            outChannels: o.outChannels,
            kernelSize: 3,
            stride: 2,
            padding: 1,
            normCfg,
            actCfg,
          }),
        );
      }
      this.extraConvs = this.addModule('extraConvs', new ModuleList(extra));
    }
    initWeights(this, o.init ?? [{ type: 'Xavier', layer: 'Conv2d', distribution: 'uniform' }]);
  }
  forward(inputs: tf.Tensor4D[]): tf.Tensor4D[] {
    if (inputs.length !== this.convs.length)
      throw new Error(`ChannelMapper: expected ${this.convs.length} inputs, got ${inputs.length}`);
    const outs = this.convs.items.map((c, i) => c.forward(inputs[i]));
    if (this.extraConvs) {
      this.extraConvs.items.forEach((c, i) =>
        outs.push(c.forward(i === 0 ? inputs[inputs.length - 1] : outs[outs.length - 1])),
      );
    }
    return outs;
  }
}

MODELS.register(ChannelMapper, { name: 'ChannelMapper', schema: channelMapperSchema });
