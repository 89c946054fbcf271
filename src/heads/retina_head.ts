/**
 * mmdet `dense_heads/retina_head.py`: the RetinaNet head, an {@link AnchorHead}
 * with stacked conv towers for classification and regression.
 */
import type * as tf from '@tensorflow/tfjs-core';
import { ConvModule, Conv2d, ModuleList, type NormCfg } from '../nn/index.js';
import { biasInitWithProb } from '../nn/init.js';
import { MODELS } from '../registry.js';
import { AnchorHead, type AnchorHeadOptions } from './anchor_head.js';
import { normalInit } from './dense_utils.js';

/**
 * mmdet `RetinaHead` (Lin et al. 2017): `stackedConvs` 3x3 conv + ReLU towers
 * for classification and regression shared across levels, then 3x3 convs to
 * `A * C` sigmoid logits (bias at prior 0.01) and `A * 4` deltas.
 * Parameter names: `clsConvs.{i}.conv`, `regConvs.{i}.conv`, `retinaCls`, `retinaReg`.
 *
 * @example
 * ```ts
 * const head = MODELS.build<RetinaHead>({ type: 'RetinaHead', numClasses: 5, inChannels: 64, featChannels: 64, stackedConvs: 2,
 *   anchorGenerator: { type: 'AnchorGenerator', octaveBaseScale: 4, scalesPerOctave: 3, ratios: [0.5, 1, 2], strides: [8, 16] },
 *   bboxCoder: { type: 'DeltaXYWHBBoxCoder' } });
 * head.forward([tf.zeros([1, 32, 32, 64]), tf.zeros([1, 16, 16, 64])]).clsScores[0].shape; // => [1, 32, 32, 45]
 * ```
 */
export class RetinaHead extends AnchorHead {
  // `declare`: set by initLayers from the base constructor; a plain field would be reset to undefined after it.
  declare clsConvs: ModuleList<ConvModule>;
  declare regConvs: ModuleList<ConvModule>;
  declare retinaCls: Conv2d;
  declare retinaReg: Conv2d;

  protected override initLayers(opts: AnchorHeadOptions): void {
    const stacked = opts.stackedConvs ?? 4;
    const normCfg = (opts.normCfg ?? null) as NormCfg | null;
    this.clsConvs = this.addModule('clsConvs', new ModuleList<ConvModule>());
    this.regConvs = this.addModule('regConvs', new ModuleList<ConvModule>());
    for (let i = 0; i < stacked; i++) {
      const inC = i === 0 ? this.inChannels : this.featChannels;
      for (const list of [this.clsConvs, this.regConvs]) {
        const m = new ConvModule({
          inChannels: inC,
          outChannels: this.featChannels,
          kernelSize: 3,
          padding: 1,
          normCfg,
        });
        normalInit(m.conv, 0.01);
        list.push(m);
      }
    }
    const a = this.numBaseAnchors;
    const c = stacked ? this.featChannels : this.inChannels;
    this.retinaCls = this.addModule(
      'retinaCls',
      new Conv2d({
        inChannels: c,
        outChannels: a * this.clsOutChannels,
        kernelSize: 3,
        padding: 1,
      }),
    );
    this.retinaReg = this.addModule(
      'retinaReg',
      new Conv2d({ inChannels: c, outChannels: a * 4, kernelSize: 3, padding: 1 }),
    );
    normalInit(this.retinaCls, 0.01, biasInitWithProb(0.01));
    normalInit(this.retinaReg, 0.01);
  }

  override forwardSingle(x: tf.Tensor4D, _level = 0): [tf.Tensor4D, tf.Tensor4D] {
    let c = x;
    let r = x;
    for (const m of this.clsConvs) c = m.forward(c);
    for (const m of this.regConvs) r = m.forward(r);
    return [this.retinaCls.forward(c), this.retinaReg.forward(r)];
  }
}

MODELS.register(RetinaHead, { name: 'RetinaHead' });
