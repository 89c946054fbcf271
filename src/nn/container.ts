/** torch.nn's containers: Sequential and ModuleList. */
import type * as tf from '@tensorflow/tfjs-core';
import { Module } from './module.js';

/** Children in order, called one after the other. Children are named '0', '1', ... */
export class Sequential extends Module {
  readonly layers: Module[];
  constructor(...layers: Module[]) {
    super();
    this.layers = layers.map((l, i) => this.addModule(String(i), l));
  }
  forward(x: tf.Tensor): tf.Tensor {
    return this.layers.reduce((h, l) => l.forward(h) as tf.Tensor, x);
  }
  get length(): number {
    return this.layers.length;
  }
}

/** A list of children named '0', '1', ... that the owner calls itself. */
export class ModuleList<M extends Module = Module> extends Module {
  readonly items: M[] = [];
  constructor(items: M[] = []) {
    super();
    for (const m of items) this.push(m);
  }
  push(m: M): void {
    this.items.push(this.addModule(String(this.items.length), m));
  }
  get length(): number {
    return this.items.length;
  }
  at(i: number): M {
    const m = this.items[i];
    if (!m) throw new Error(`ModuleList index ${i} out of range (${this.items.length})`);
    return m;
  }
  [Symbol.iterator](): Iterator<M> {
    return this.items[Symbol.iterator]();
  }
  forward(): never {
    throw new Error('ModuleList has no forward; call its items');
  }
}
