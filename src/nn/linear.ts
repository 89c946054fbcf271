/** torch.nn's `linear.py`: Linear (weight `[in, out]`) and Identity. */
import * as tf from '@tensorflow/tfjs-core';
import { MODELS } from '../registry.js';
import { torchDefaultBias, torchDefaultWeight } from './init.js';
import { Module } from './module.js';

/** y = x W + b (torch.nn.Linear) with W `[in, out]`, on the last axis. */
export class Linear extends Module {
  readonly weight: tf.Variable;
  readonly bias?: tf.Variable;
  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    bias = true,
  ) {
    super();
    const shape = [inFeatures, outFeatures];
    this.weight = this.addParameter('weight', torchDefaultWeight(shape));
    if (bias) this.bias = this.addParameter('bias', torchDefaultBias(shape, outFeatures));
  }
  forward(x: tf.Tensor): tf.Tensor {
    const lead = x.shape.slice(0, -1);
    const y = tf.matMul(tf.reshape(x, [-1, this.inFeatures]), this.weight);
    const out = this.bias ? tf.add(y, this.bias) : y;
    return lead.length === 1 ? out : tf.reshape(out, [...lead, this.outFeatures]);
  }
}

/** Passes its input through. */
export class Identity extends Module {
  forward<T>(x: T): T {
    return x;
  }
}

MODELS.register(Linear, { name: 'Linear' });
MODELS.register(Identity, { name: 'Identity' });
