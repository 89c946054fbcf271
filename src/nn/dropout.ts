/** torch.nn's `Dropout`. */
import * as tf from '@tensorflow/tfjs-core';
import { Module } from './module.js';

/** Inverted dropout (torch.nn.Dropout); identity in eval mode. */
export class Dropout extends Module {
  constructor(readonly p = 0.5) {
    super();
  }
  forward(x: tf.Tensor): tf.Tensor {
    return this.training && this.p > 0 ? tf.dropout(x, this.p) : x;
  }
}
