/** mmcv's `ConvModule`: conv + optional norm + optional activation. */
import type * as tf from '@tensorflow/tfjs-core';
import { MODELS } from '../registry.js';
import { Activation, type ActCfg } from './activation.js';
import { Conv2d, type Conv2dOptions } from './conv.js';
import { Module } from './module.js';
import { buildNormLayer, type NormCfg } from './norm.js';

export interface ConvModuleOptions extends Conv2dOptions {
  /** `'auto'` (the default): a bias only when there is no norm layer. */
  bias?: boolean;
  normCfg?: NormCfg | null;
  actCfg?: ActCfg | null;
}

/**
 * Conv + optional norm + optional activation (mmcv's ConvModule, order
 * conv-norm-act). Children are named `conv`, `bn`/`gn` and `activate`, so
 * state dict keys read `...conv.weight`, `...bn.runningMean`.
 */
export class ConvModule extends Module {
  readonly conv: Conv2d;
  readonly norm?: Module;
  readonly act?: Activation;
  constructor(opts: ConvModuleOptions) {
    super();
    const normCfg = opts.normCfg ?? null;
    const actCfg = opts.actCfg === undefined ? ({ type: 'ReLU' } as ActCfg) : opts.actCfg;
    this.conv = this.addModule('conv', new Conv2d({ ...opts, bias: opts.bias ?? !normCfg }));
    if (normCfg) {
      const [name, layer] = buildNormLayer(normCfg, opts.outChannels);
      this.norm = this.addModule(name, layer);
      if (normCfg.requiresGrad === false) this.freeze(name);
    }
    if (actCfg)
      this.act = this.addModule('activate', new Activation(actCfg.type, actCfg.negativeSlope));
  }
  forward(x: tf.Tensor4D): tf.Tensor4D {
    let y = this.conv.forward(x);
    if (this.norm) y = this.norm.forward(y) as tf.Tensor4D;
    if (this.act) y = this.act.forward(y) as tf.Tensor4D;
    return y;
  }
}

MODELS.register(ConvModule, { name: 'ConvModule' });
