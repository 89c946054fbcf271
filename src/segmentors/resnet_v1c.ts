/**
 * ResNetV1c (mmseg's backbone of its ResNet-D8 models): ResNet with the deep
 * stem (three 3x3 convs) and the plain strided 1x1 shortcut, plus mmseg's
 * `contractDilation`: in a dilated stage the first block's 3x3 conv uses
 * half the stage's dilation (DeepLab's output-stride-8 setting,
 * `strides: [1, 2, 1, 1]`, `dilations: [1, 1, 2, 4]`).
 */
import { z } from 'zod';
import { BasicBlock, ResNet, resnetSchema } from '../backbones/resnet.js';
import type { Conv2d, Sequential } from '../nn/index.js';
import { MODELS } from '../registry.js';

export const resnetV1cSchema = resnetSchema
  .extend({
    deepStem: z.boolean().default(true),
    avgDown: z.boolean().default(false),
    contractDilation: z.boolean().default(false),
  })
  .strict();

export type ResNetV1cOptions = z.input<typeof resnetV1cSchema>;

/**
 * @example
 * ```ts
 * const r = MODELS.build<ResNetV1c>({ type: 'ResNetV1c', depth: 50, strides: [1, 2, 1, 1], dilations: [1, 1, 2, 4], contractDilation: true });
 * r.forward(tf.zeros([1, 64, 64, 3])).map((t) => t.shape.slice(1, 3)); // => [[16, 16], [8, 8], [8, 8], [8, 8]] (output stride 8 from layer2 on)
 * ```
 */
export class ResNetV1c extends ResNet {
  constructor(options: ResNetV1cOptions) {
    const { contractDilation, ...o } = resnetV1cSchema.parse(options);
    super(o);
    if (!contractDilation) return;
    const dilations = o.dilations ?? [1, 1, 1, 1];
    this.layerNames.forEach((name, i) => {
      const d = dilations[i];
      if (d <= 1) return;
      const first = (this.getChild(name) as Sequential).layers[0] as unknown as {
        conv1: Conv2d;
        conv2: Conv2d;
      };
      // The dilated 3x3 conv of the block: conv1 of a BasicBlock, conv2 of a Bottleneck.
      const conv = first instanceof BasicBlock ? first.conv1 : first.conv2;
      conv.options.dilation = Math.floor(d / 2);
      conv.options.padding = Math.floor(d / 2);
    });
  }
}

MODELS.register(ResNetV1c, { name: 'ResNetV1c', schema: resnetV1cSchema });
