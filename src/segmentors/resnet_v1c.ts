/**
 * ResNetV1c (mmseg's backbone of its ResNet-D8 models): ResNet with the deep
 * stem (three 3x3 convs) and the plain strided 1x1 shortcut. Its dilated
 * settings (`strides: [1, 2, 1, 1]`, `dilations: [1, 1, 2, 4]`,
 * `contractDilation`) are ResNet's own.
 */
import { z } from 'zod';
import { ResNet, resnetSchema } from '../backbones/resnet.js';
import { MODELS } from '../registry.js';

export const resnetV1cSchema = resnetSchema
  .extend({
    deepStem: z.boolean().default(true),
    avgDown: z.boolean().default(false),
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
    super(resnetV1cSchema.parse(options));
  }
}

MODELS.register(ResNetV1c, { name: 'ResNetV1c', schema: resnetV1cSchema });
