import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  BatchNorm2d,
  ConvModule,
  Linear,
  Module,
  ModuleList,
  Sequential,
  init,
  setBackend,
  setInitSeed,
} from '../../src/index.js';

class Block extends Module {
  readonly conv1: ConvModule;
  readonly convs: ModuleList<ConvModule>;
  readonly fc: Linear;
  constructor() {
    super();
    this.conv1 = this.addModule(
      'conv1',
      new ConvModule({
        inChannels: 3,
        outChannels: 4,
        kernelSize: 3,
        padding: 1,
        normCfg: { type: 'BN' },
      }),
    );
    this.convs = this.addModule(
      'convs',
      new ModuleList([
        new ConvModule({
          inChannels: 4,
          outChannels: 4,
          kernelSize: 1,
          normCfg: null,
          actCfg: null,
        }),
      ]),
    );
    this.fc = this.addModule('fc', new Linear(4, 2));
  }
  forward(x: tf.Tensor4D): tf.Tensor {
    const h = this.convs.at(0).forward(this.conv1.forward(x));
    return this.fc.forward(tf.mean(h, [1, 2]));
  }
}

beforeAll(async () => {
  await setBackend('cpu');
});

describe('Module', () => {
  it('names parameters and buffers after the module tree', () => {
    const m = new Block();
    expect(m.namedParameters().map(([n]) => n)).toEqual([
      'conv1.conv.weight',
      'conv1.bn.weight',
      'conv1.bn.bias',
      'convs.0.conv.weight',
      'convs.0.conv.bias',
      'fc.weight',
      'fc.bias',
    ]);
    expect(m.namedBuffers().map(([n]) => n)).toEqual([
      'conv1.bn.runningMean',
      'conv1.bn.runningVar',
      'conv1.bn.numBatchesTracked',
    ]);
    expect(m.numParameters()).toBe(3 * 3 * 3 * 4 + 4 + 4 + 4 * 4 + 4 + 4 * 2 + 2);
    expect([...m.stateDict().keys()]).toHaveLength(10);
  });

  it('reports missing, unexpected and mismatched keys, and strict loading refuses them', () => {
    const a = new Block();
    const sd: Record<string, tf.Tensor> = Object.fromEntries(
      [...a.stateDict()].filter(([k]) => k !== 'fc.bias'),
    );
    sd['fc.weight'] = tf.zeros([4, 3]);
    sd['head.extra'] = tf.zeros([1]);
    const b = new Block();
    expect(() => b.loadStateDict(sd)).toThrow(
      'loadStateDict into Block: missing keys: fc.bias; unexpected keys: head.extra; shape mismatch: fc.weight: [4,2] vs [4,3]',
    );
    const before = b.fc.weight.dataSync().slice();
    const r = b.loadStateDict(sd, { strict: false });
    expect(r).toEqual({
      missingKeys: ['fc.bias'],
      unexpectedKeys: ['head.extra'],
      mismatchedKeys: ['fc.weight: [4,2] vs [4,3]'],
    });
    expect(Array.from(b.fc.weight.dataSync())).toEqual(Array.from(before)); // mismatched: untouched
    expect(Array.from(b.conv1.conv.weight.dataSync())).toEqual(
      Array.from(a.conv1.conv.weight.dataSync()),
    );
  });

  it('freezes by name prefix, at dot boundaries', () => {
    const m = new Block();
    const hit = m.freeze('conv1');
    expect(hit).toEqual(['conv1.conv.weight', 'conv1.bn.weight', 'conv1.bn.bias']);
    expect(m.trainableParameters().map(([n]) => n)).toEqual([
      'convs.0.conv.weight',
      'convs.0.conv.bias',
      'fc.weight',
      'fc.bias',
    ]);
    expect(m.freeze('conv').length).toBe(0); // 'conv' is not a prefix of 'conv1.*' at a dot boundary
    m.freeze('conv1', false);
    expect(m.trainableParameters()).toHaveLength(7);
  });

  it('only trainable parameters move under an optimizer step', () => {
    const m = new Block();
    m.freeze(['conv1', 'fc.bias']);
    const before = new Map([...m.stateDict()].map(([k, v]) => [k, v.dataSync().slice()]));
    const x = tf.randomNormal([2, 6, 6, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
    const vars = m.trainableParameters().map(([, v]) => v);
    const opt = tf.train.sgd(0.5);
    opt.minimize(() => tf.sum(tf.square(m.forward(x))) as tf.Scalar, false, vars);
    const moved = [...m.namedParameters()]
      .filter(([k, v]) => Array.from(v.dataSync()).some((x, i) => x !== before.get(k)![i]))
      .map(([k]) => k);
    expect(moved).toEqual(['convs.0.conv.weight', 'convs.0.conv.bias', 'fc.weight']);
  });

  it('train/eval switches BatchNorm between batch and running statistics', () => {
    const bn = new BatchNorm2d(2);
    const x = tf.add(
      tf.mul(tf.randomNormal([4, 3, 3, 2], 0, 1, 'float32', 5), 3),
      5,
    ) as tf.Tensor4D;
    const seq = new Sequential(bn);
    const yTrain = seq.train().forward(x);
    expect(Math.abs(tf.mean(yTrain).dataSync()[0])).toBeLessThan(1e-5);
    expect(bn.numBatchesTracked.dataSync()[0]).toBe(1);
    const rm = bn.runningMean.dataSync();
    expect(rm[0]).toBeGreaterThan(0.3); // 0.1 * ~5
    seq.eval();
    expect(bn.training).toBe(false);
    const yEval = seq.forward(x);
    expect(Math.abs(tf.mean(yEval).dataSync()[0] - tf.mean(yTrain).dataSync()[0])).toBeGreaterThan(
      1,
    );
    expect(bn.numBatchesTracked.dataSync()[0]).toBe(1);
  });

  it('initialisers follow the seed and the fan formulas', () => {
    setInitSeed(42);
    const a = init.kaiming([3, 3, 64, 128], { mode: 'fanOut', nonlinearity: 'relu' }).dataSync();
    setInitSeed(42);
    const b = init.kaiming([3, 3, 64, 128], { mode: 'fanOut', nonlinearity: 'relu' }).dataSync();
    expect(Array.from(a)).toEqual(Array.from(b));
    const std = Math.sqrt(Array.from(a).reduce((s, v) => s + v * v, 0) / a.length);
    expect(std).toBeCloseTo(Math.sqrt(2 / (3 * 3 * 128)), 3);
    expect(init.fans([3, 3, 64, 128])).toEqual([576, 1152]);
    expect(init.biasInitWithProb(0.01)).toBeCloseTo(-4.59511985013459, 12);
    const u = init.xavier([100, 50], { distribution: 'uniform' }).dataSync();
    const bound = Math.sqrt(6 / 150);
    expect(Math.max(...u)).toBeLessThanOrEqual(bound);
    expect(Math.min(...u)).toBeGreaterThanOrEqual(-bound);
  });
});
