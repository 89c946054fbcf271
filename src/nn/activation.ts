/** Activations by name (torch.nn's ReLU, SiLU, Hardswish, ...) and their module form. */
import * as tf from '@tensorflow/tfjs-core';
import { Module } from './module.js';

/** An activation: a parameter-free elementwise function. */
export class Activation extends Module {
  constructor(
    readonly kind:
      'ReLU' | 'ReLU6' | 'SiLU' | 'HSwish' | 'HSigmoid' | 'Sigmoid' | 'Tanh' | 'LeakyReLU' | 'GELU',
    readonly negativeSlope = 0.01,
  ) {
    super();
  }
  forward(x: tf.Tensor): tf.Tensor {
    return activate(this.kind, x, this.negativeSlope);
  }
}

/**
 * The activations by name. HSwish is `x * relu6(x + 3) / 6` and HSigmoid
 * `relu6(x + 3) / 6` (MobileNetV3 paper, torchvision's Hardswish/Hardsigmoid).
 */
export function activate(kind: Activation['kind'], x: tf.Tensor, negativeSlope = 0.01): tf.Tensor {
  switch (kind) {
    case 'ReLU':
      return tf.relu(x);
    case 'ReLU6':
      return tf.relu6(x);
    case 'SiLU':
      return tf.mul(x, tf.sigmoid(x));
    case 'HSwish':
      return tf.mul(x, tf.div(tf.relu6(tf.add(x, 3)), 6));
    case 'HSigmoid':
      return tf.div(tf.relu6(tf.add(x, 3)), 6);
    case 'Sigmoid':
      return tf.sigmoid(x);
    case 'Tanh':
      return tf.tanh(x);
    case 'LeakyReLU':
      return tf.leakyRelu(x, negativeSlope);
    case 'GELU':
      return tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.div(x, Math.SQRT2))));
  }
}

/** `actCfg` of a {@link ConvModule}; `null` for none. */
export interface ActCfg {
  type: Activation['kind'];
  negativeSlope?: number;
}
