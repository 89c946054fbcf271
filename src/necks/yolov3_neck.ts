/**
 * YOLOv3 neck (mmdet `YOLOV3Neck`): from the coarsest backbone map down, a
 * `DetectionBlock` (five alternating 1x1 / 3x3 convs); its output goes to the
 * head and, through a 1x1 conv and a x2 nearest upsampling, is concatenated
 * (upsampled first) with the next finer backbone map, which feeds the next
 * DetectionBlock. Outputs are ordered coarse to fine (stride 32, 16, 8), as
 * the YOLOv3 head expects.
 */
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { MODELS } from '../registry.js';
import { ConvModule, interpolate, Module, type ActCfg, type NormCfg } from '../nn/index.js';
import { initWeights } from '../backbones/init_weights.js';
import { actCfgSchema, initSchema, normCfgSchema } from '../backbones/utils.js';

interface ConvCfgs {
  normCfg: NormCfg | null;
  actCfg: ActCfg | null;
}

/** conv1 1x1 (out), conv2 3x3 (2 out), conv3 1x1 (out), conv4 3x3 (2 out), conv5 1x1 (out). */
export class DetectionBlock extends Module {
  readonly convs: ConvModule[] = [];
  constructor(inChannels: number, outChannels: number, cfg: ConvCfgs) {
    super();
    const dbl = outChannels * 2;
    const specs: [number, number, number][] = [
      [inChannels, outChannels, 1],
      [outChannels, dbl, 3],
      [dbl, outChannels, 1],
      [outChannels, dbl, 3],
      [dbl, outChannels, 1],
    ];
    specs.forEach(([i, o, k], n) => {
      this.convs.push(
        this.addModule(
          `conv${n + 1}`,
          new ConvModule({
            inChannels: i,
            outChannels: o,
            kernelSize: k,
            padding: k === 3 ? 1 : 0,
            ...cfg,
          }),
        ),
      );
    });
  }
  forward(x: tf.Tensor4D): tf.Tensor4D {
    return this.convs.reduce((h, c) => c.forward(h), x);
  }
}

export const yolov3NeckSchema = z
  .object({
    numScales: z.number().int().positive(),
    /** Channels of the backbone maps, coarsest first (mmdet: [1024, 512, 256]). */
    inChannels: z.array(z.number().int().positive()).min(1),
    /** Channels of each DetectionBlock's output, coarsest first (mmdet: [512, 256, 128]). */
    outChannels: z.array(z.number().int().positive()).min(1),
    convCfg: z.null().optional(),
    normCfg: normCfgSchema.nullable().default({ type: 'BN', requiresGrad: true }),
    actCfg: actCfgSchema.nullable().default({ type: 'LeakyReLU', negativeSlope: 0.1 }),
    init: initSchema,
  })
  .strict();

export type YOLOV3NeckOptions = z.input<typeof yolov3NeckSchema>;

/**
 * Input: backbone maps finest first (as the backbone returns them, e.g.
 * strides 8, 16, 32); output: `numScales` maps coarsest first with
 * `outChannels` channels. Children `detect1..n`, `conv1..n-1` (mmdet names).
 *
 * @example
 * ```ts
 * const neck = MODELS.build<YOLOV3Neck>({ type: 'YOLOV3Neck', numScales: 3, inChannels: [256, 128, 64], outChannels: [128, 64, 32] });
 * // a backbone's maps of a 64x64 input at strides 8, 16, 32
 * const [c3, c4, c5] = [tf.zeros([1, 8, 8, 64]), tf.zeros([1, 4, 4, 128]), tf.zeros([1, 2, 2, 256])] as tf.Tensor4D[];
 * neck.forward([c3, c4, c5]).map((t) => t.shape); // => [[1, 2, 2, 128], [1, 4, 4, 64], [1, 8, 8, 32]]
 * ```
 */
export class YOLOV3Neck extends Module {
  readonly opts: z.output<typeof yolov3NeckSchema>;
  readonly detects: DetectionBlock[] = [];
  readonly convs: ConvModule[] = [];

  constructor(options: YOLOV3NeckOptions) {
    super();
    const o = (this.opts = yolov3NeckSchema.parse(options));
    if (o.inChannels.length !== o.numScales || o.outChannels.length !== o.numScales) {
      throw new Error(
        `YOLOV3Neck: numScales ${o.numScales} needs as many inChannels and outChannels, got inChannels ${JSON.stringify(o.inChannels)}, outChannels ${JSON.stringify(o.outChannels)}`,
      );
    }
    const cfg: ConvCfgs = {
      normCfg: o.normCfg ?? null,
      actCfg: o.actCfg ?? null,
    };
    this.detects.push(
      this.addModule('detect1', new DetectionBlock(o.inChannels[0], o.outChannels[0], cfg)),
    );
    for (let i = 1; i < o.numScales; i++) {
      const [inC, outC] = [o.inChannels[i], o.outChannels[i]];
      this.convs.push(
        this.addModule(
          `conv${i}`,
          new ConvModule({
            inChannels: o.outChannels[i - 1],
            outChannels: outC,
            kernelSize: 1,
            ...cfg,
          }),
        ),
      );
      this.detects.push(
        this.addModule(`detect${i + 1}`, new DetectionBlock(inC + outC, outC, cfg)),
      );
    }
    // mmcv's ConvModule init: Kaiming (fan_out) for its LeakyReLU slope, norms at 1.
    initWeights(
      this,
      o.init ?? [
        {
          type: 'Kaiming',
          layer: 'Conv2d',
          a: o.actCfg?.negativeSlope ?? 0,
          nonlinearity: o.actCfg?.type === 'LeakyReLU' ? 'leaky_relu' : 'relu',
        },
        { type: 'Constant', val: 1, layer: ['_BatchNorm', 'GroupNorm'] },
      ],
    );
  }

  forward(feats: tf.Tensor4D[]): tf.Tensor4D[] {
    const n = this.opts.numScales;
    if (!Array.isArray(feats) || feats.length !== n)
      throw new Error(
        `YOLOV3Neck: expected ${n} feature maps, got ${Array.isArray(feats) ? feats.length : typeof feats}`,
      );
    feats.forEach((f, i) => {
      const want = this.opts.inChannels[n - 1 - i];
      if (f.rank !== 4 || f.shape[3] !== want)
        throw new Error(
          `YOLOV3Neck: input ${i} must be NHWC with ${want} channels, got shape [${f.shape}]`,
        );
    });
    let out = tf.tidy(() => this.detects[0].forward(feats[n - 1]));
    const outs = [out];
    for (let i = 1; i < n; i++) {
      const prev = out;
      const lateral = feats[n - 1 - i];
      out = tf.tidy(() => {
        const up = interpolate(this.convs[i - 1].forward(prev), {
          scaleFactor: 2,
          mode: 'nearest',
        });
        return this.detects[i].forward(tf.concat([up, lateral], 3));
      });
      outs.push(out);
    }
    return outs;
  }
}

MODELS.register(YOLOV3Neck, { name: 'YOLOV3Neck', schema: yolov3NeckSchema });
