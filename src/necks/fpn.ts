/**
 * Feature Pyramid Network (Lin et al., "Feature Pyramid Networks for Object
 * Detection", 2017) as mmdetection's `FPN`: 1x1 lateral convs, top-down
 * nearest upsampling and addition, 3x3 output convs, and extra levels by
 * max pooling or by stride-2 convs. Children `lateralConvs.i.conv`, `fpnConvs.i.conv`.
 */
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { MODELS } from '../registry.js';
import { ConvModule, interpolate, Module, ModuleList } from '../nn/index.js';
import { initWeights } from '../backbones/init_weights.js';
import { actCfgSchema, initSchema, normCfgSchema } from '../backbones/utils.js';

export const fpnSchema = z
  .object({
    inChannels: z.array(z.number().int().positive()).min(1),
    outChannels: z.number().int().positive(),
    numOuts: z.number().int().positive(),
    startLevel: z.number().int().nonnegative().default(0),
    /** Last input level used (exclusive); -1 for all. */
    endLevel: z.number().int().default(-1),
    /** false: extra levels by max pool; true (= 'on_input') or where the first extra conv takes its input from ('onInput' etc. also accepted). */
    addExtraConvs: z
      .union([
        z.boolean(),
        z.enum(['on_input', 'on_lateral', 'on_output', 'onInput', 'onLateral', 'onOutput']),
      ])
      .default(false),
    reluBeforeExtraConvs: z.boolean().default(false),
    noNormOnLateral: z.boolean().default(false),
    normCfg: normCfgSchema.nullable().default(null),
    actCfg: actCfgSchema.nullable().default(null),
    /** `{mode: 'nearest'}` upsamples to the next level's size; with `scaleFactor` by that factor. */
    upsampleCfg: z
      .object({
        mode: z.enum(['nearest', 'bilinear']).default('nearest'),
        scaleFactor: z.number().positive().optional(),
        alignCorners: z.boolean().optional(),
      })
      .strict()
      .default({ mode: 'nearest' }),
    init: initSchema,
  })
  .strict();

export type FPNOptions = z.input<typeof fpnSchema>;

/**
 * FPN neck. Input: the backbone's maps (NHWC, fine to coarse); output:
 * `numOuts` maps of `outChannels` each.
 *
 * @example
 * ```ts
 * const fpn = MODELS.build<FPN>({ type: 'FPN', inChannels: [256, 512, 1024, 2048], outChannels: 256, numOuts: 5, startLevel: 1, addExtraConvs: 'on_input' });
 * // the maps of a 64x64 input at strides 4 to 32
 * const [c2, c3, c4, c5] = [[16, 256], [8, 512], [4, 1024], [2, 2048]].map(([s, c]) => tf.zeros([1, s, s, c]) as tf.Tensor4D);
 * fpn.forward([c2, c3, c4, c5]).map((t) => t.shape[1]); // => [8, 4, 2, 1, 1]
 * ```
 */
export class FPN extends Module {
  readonly opts: z.output<typeof fpnSchema>;
  readonly lateralConvs: ModuleList<ConvModule>;
  readonly fpnConvs: ModuleList<ConvModule>;
  readonly backboneEndLevel: number;
  readonly extraMode: false | 'on_input' | 'on_lateral' | 'on_output';

  constructor(options: FPNOptions) {
    super();
    const o = (this.opts = fpnSchema.parse(options));
    const n = o.inChannels.length;
    if (o.endLevel === -1 || o.endLevel === n - 1) {
      this.backboneEndLevel = n;
      if (o.numOuts < n - o.startLevel)
        throw new Error(`FPN: numOuts ${o.numOuts} < ${n - o.startLevel} levels used`);
    } else {
      this.backboneEndLevel = o.endLevel + 1;
      if (o.endLevel >= n) throw new Error(`FPN: endLevel ${o.endLevel} >= ${n} inputs`);
      if (o.numOuts !== o.endLevel - o.startLevel + 1)
        throw new Error(`FPN: numOuts must be endLevel - startLevel + 1`);
    }
    if (o.startLevel >= this.backboneEndLevel)
      throw new Error(`FPN: startLevel ${o.startLevel} must be < ${this.backboneEndLevel}`);
    const camel = { onInput: 'on_input', onLateral: 'on_lateral', onOutput: 'on_output' } as const;
    const extra = o.addExtraConvs;
    // mmdetection's snake_case values, or their camelCase spelling
    this.extraMode =
      extra === true
        ? 'on_input'
        : extra === false
          ? false
          : extra in camel
            ? camel[extra as keyof typeof camel]
            : (extra as 'on_input' | 'on_lateral' | 'on_output');
    const normCfg = o.normCfg ?? null;
    const actCfg = o.actCfg ?? null;
    const laterals: ConvModule[] = [];
    const fpns: ConvModule[] = [];
    for (let i = o.startLevel; i < this.backboneEndLevel; i++) {
      laterals.push(
        new ConvModule({
          inChannels: o.inChannels[i],
          outChannels: o.outChannels,
          kernelSize: 1,
          normCfg: o.noNormOnLateral ? null : normCfg,
          actCfg,
        }),
      );
      fpns.push(
        new ConvModule({
          inChannels: o.outChannels,
          outChannels: o.outChannels,
          kernelSize: 3,
          padding: 1,
          normCfg,
          actCfg,
        }),
      );
    }
    const extraLevels = o.numOuts - this.backboneEndLevel + o.startLevel;
    if (this.extraMode && extraLevels >= 1) {
      for (let i = 0; i < extraLevels; i++) {
        const inCh =
          i === 0 && this.extraMode === 'on_input'
            ? o.inChannels[this.backboneEndLevel - 1]
            : o.outChannels;
        fpns.push(
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
    }
    this.lateralConvs = this.addModule('lateralConvs', new ModuleList(laterals));
    this.fpnConvs = this.addModule('fpnConvs', new ModuleList(fpns));
    initWeights(this, o.init ?? [{ type: 'Xavier', layer: 'Conv2d', distribution: 'uniform' }]);
  }

  /** Top-down pathway: each coarser lateral upsampled and added to the next finer one (in place in `laterals`). */
  protected topDown(laterals: tf.Tensor4D[]): void {
    const up = this.opts.upsampleCfg;
    for (let i = laterals.length - 1; i > 0; i--) {
      const prev = laterals[i - 1];
      const size: [number, number] = [prev.shape[1], prev.shape[2]];
      const u = up.scaleFactor
        ? interpolate(laterals[i], {
            scaleFactor: up.scaleFactor,
            mode: up.mode,
            alignCorners: up.alignCorners,
          })
        : interpolate(laterals[i], { size, mode: up.mode, alignCorners: up.alignCorners });
      laterals[i - 1] = tf.add(prev, u);
    }
  }

  protected laterals(inputs: tf.Tensor4D[]): tf.Tensor4D[] {
    if (inputs.length !== this.opts.inChannels.length) {
      throw new Error(
        `${this.constructor.name}: expected ${this.opts.inChannels.length} inputs, got ${inputs.length}`,
      );
    }
    return this.lateralConvs.items.map((l, i) => l.forward(inputs[i + this.opts.startLevel]));
  }

  /** Appends the extra levels (max pool, or stride-2 convs) after the `used` pyramid outputs. */
  protected addExtraLevels(
    outs: tf.Tensor4D[],
    inputs: tf.Tensor4D[],
    laterals: tf.Tensor4D[],
    used: number,
  ): void {
    const o = this.opts;
    if (o.numOuts <= outs.length) return;
    if (!this.extraMode) {
      // mmdetection's F.max_pool2d(x, 1, stride=2): every other pixel.
      while (outs.length < o.numOuts) outs.push(tf.maxPool(outs[outs.length - 1], 1, 2, 'valid'));
      return;
    }
    const source =
      this.extraMode === 'on_input'
        ? inputs[this.backboneEndLevel - 1]
        : this.extraMode === 'on_lateral'
          ? laterals[laterals.length - 1]
          : outs[outs.length - 1];
    outs.push(this.fpnConvs.at(used).forward(source));
    for (let i = used + 1; i < o.numOuts; i++) {
      const last = outs[outs.length - 1];
      outs.push(this.fpnConvs.at(i).forward(o.reluBeforeExtraConvs ? tf.relu(last) : last));
    }
  }

  forward(inputs: tf.Tensor4D[]): tf.Tensor4D[] {
    const laterals = this.laterals(inputs);
    const lat = [...laterals];
    this.topDown(lat);
    const used = lat.length;
    const outs = lat.map((l, i) => this.fpnConvs.at(i).forward(l));
    this.addExtraLevels(outs, inputs, lat, used);
    return outs;
  }
}

/**
 * Path Aggregation FPN (Liu et al., "Path Aggregation Network", 2018) as
 * mmdetection's `PAFPN`: FPN, then a bottom-up path of stride-2 convs
 * (`downsampleConvs`) added to the next level and 3x3 `pafpnConvs`.
 */
export class PAFPN extends FPN {
  readonly downsampleConvs: ModuleList<ConvModule>;
  readonly pafpnConvs: ModuleList<ConvModule>;

  constructor(options: FPNOptions) {
    super({ ...options, init: [] });
    const o = this.opts;
    const normCfg = o.normCfg ?? null;
    const actCfg = o.actCfg ?? null;
    const downs: ConvModule[] = [];
    const pafpns: ConvModule[] = [];
    for (let i = o.startLevel + 1; i < this.backboneEndLevel; i++) {
      downs.push(
        new ConvModule({
          inChannels: o.outChannels,
          outChannels: o.outChannels,
          kernelSize: 3,
          stride: 2,
          padding: 1,
          normCfg,
          actCfg,
        }),
      );
      pafpns.push(
        new ConvModule({
          inChannels: o.outChannels,
          outChannels: o.outChannels,
          kernelSize: 3,
          padding: 1,
          normCfg,
          actCfg,
        }),
      );
    }
    this.downsampleConvs = this.addModule('downsampleConvs', new ModuleList(downs));
    this.pafpnConvs = this.addModule('pafpnConvs', new ModuleList(pafpns));
    initWeights(
      this,
      options.init ?? [{ type: 'Xavier', layer: 'Conv2d', distribution: 'uniform' }],
    );
  }

  override forward(inputs: tf.Tensor4D[]): tf.Tensor4D[] {
    const lat = this.laterals(inputs);
    this.topDown(lat);
    const used = lat.length;
    const inter = lat.map((l, i) => this.fpnConvs.at(i).forward(l));
    for (let i = 0; i < used - 1; i++)
      inter[i + 1] = tf.add(inter[i + 1], this.downsampleConvs.at(i).forward(inter[i]));
    const outs = [inter[0], ...inter.slice(1).map((t, i) => this.pafpnConvs.at(i).forward(t))];
    this.addExtraLevels(outs, inputs, lat, used);
    return outs;
  }
}

MODELS.register(FPN, { name: 'FPN', schema: fpnSchema });
MODELS.register(PAFPN, { name: 'PAFPN', schema: fpnSchema });
