/**
 * The wasm backend's training kernels (ours) against the cpu backend's, and the
 * dilation-aware conv gradients against torch autograd.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import {
  BatchNorm2d,
  Conv2d,
  MaxPool2d,
  batchNormTrain,
  interpolate,
  setBackend,
} from '../../src/index.js';

type Inputs = Record<string, tf.Tensor>;

/** Gradients of sum(f(inputs) * r) w.r.t. every input, on `backend`, as plain arrays. */
async function gradsOn(
  backend: 'cpu' | 'wasm',
  make: () => Inputs,
  f: (t: Inputs) => tf.Tensor,
): Promise<Float32Array[]> {
  await setBackend(backend);
  return tf.tidy(() => {
    const ins = make();
    const keys = Object.keys(ins);
    const y0 = f(ins);
    const r = tf.randomNormal(y0.shape, 0, 1, 'float32', 7);
    const g = tf.grads((...xs: tf.Tensor[]) =>
      tf.sum(tf.mul(f(Object.fromEntries(keys.map((k, i) => [k, xs[i]]))), r)),
    );
    return g(keys.map((k) => ins[k])).map((t) => t.dataSync() as Float32Array);
  });
}

function relErr(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let num = 0;
  let den = 0;
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    worst = Math.max(worst, Math.abs(a[i] - b[i]));
    num = Math.max(num, Math.abs(a[i] - b[i]));
    den = Math.max(den, Math.abs(b[i]));
  }
  expect(den).toBeGreaterThan(0); // a gradient of all zeros would make the comparison vacuous
  return worst / den;
}

async function expectSameGrads(make: () => Inputs, f: (t: Inputs) => tf.Tensor): Promise<void> {
  const cpu = await gradsOn('cpu', make, f);
  const wasm = await gradsOn('wasm', make, f);
  expect(wasm.length).toBe(cpu.length);
  cpu.forEach((c, i) => expect(relErr(wasm[i], c)).toBeLessThan(1e-4));
}

const rnd = (shape: number[], seed: number) => tf.randomNormal(shape, 0, 1, 'float32', seed);

describe("wasm gradients equal the cpu backend's", () => {
  const convCases: [string, number, number, 'same' | 'valid' | number][] = [
    ['stride 1 same', 1, 1, 'same'],
    ['stride 2 same', 2, 1, 'same'],
    ['stride 1 valid', 1, 1, 'valid'],
    ['stride 2 valid', 2, 1, 'valid'],
    ['dilation 2 same', 1, 2, 'same'],
    ['dilation 2 valid', 1, 2, 'valid'],
    ['stride 2 explicit pad 1', 2, 1, 1],
  ];
  for (const [name, s, d, pad] of convCases) {
    it(`conv2d ${name}`, () =>
      expectSameGrads(
        () => ({ x: rnd([2, 13, 11, 3], 1), w: rnd([3, 3, 3, 6], 2) }),
        ({ x, w }) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, s, pad, 'NHWC', d),
      ));
    it(`depthwise conv2d ${name}`, () =>
      expectSameGrads(
        () => ({ x: rnd([2, 13, 11, 4], 3), w: rnd([3, 3, 4, 2], 4) }),
        ({ x, w }) => tf.depthwiseConv2d(x as tf.Tensor4D, w as tf.Tensor4D, s, pad, 'NHWC', d),
      ));
  }
  it('conv2d 3x3 stride 2 same on an even size (asymmetric padding)', () =>
    expectSameGrads(
      () => ({ x: rnd([2, 12, 10, 3], 16), w: rnd([3, 3, 3, 5], 17) }),
      ({ x, w }) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 2, 'same'),
    ));
  it('conv2d 1x1 stride 2 (a downsample: phases without taps)', () =>
    expectSameGrads(
      () => ({ x: rnd([2, 9, 8, 4], 18), w: rnd([1, 1, 4, 6], 19) }),
      ({ x, w }) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 2, 'valid'),
    ));
  it('conv2d 1x1 stride 2 on 16 channels (im2col copies whole channel runs)', () =>
    expectSameGrads(
      () => ({ x: rnd([2, 9, 8, 16], 22), w: rnd([1, 1, 16, 5], 23) }),
      ({ x, w }) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 2, 'valid'),
    ));
  it('conv2d 1x1 stride 1 (the filter gradient is one product with the input)', () =>
    expectSameGrads(
      () => ({ x: rnd([2, 7, 6, 5], 24), w: rnd([1, 1, 5, 4], 25) }),
      ({ x, w }) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'same'),
    ));
  it('conv2d 3x3 stride (2, 1), dilation 1, 20 channels', () =>
    expectSameGrads(
      () => ({ x: rnd([2, 11, 9, 20], 26), w: rnd([3, 3, 20, 4], 27) }),
      ({ x, w }) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, [2, 1], 'same'),
    ));
  it('conv2d 3x3 on one image of 128 channels (the filter gradient as im2col and one product)', () =>
    expectSameGrads(
      () => ({ x: rnd([1, 6, 5, 128], 28), w: rnd([3, 3, 128, 4], 29) }),
      ({ x, w }) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'same'),
    ));
  it('conv2d 3x3 stride 3 valid', () =>
    expectSameGrads(
      () => ({ x: rnd([1, 11, 14, 2], 20), w: rnd([3, 3, 2, 3], 21) }),
      ({ x, w }) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 3, 'valid'),
    ));
  it('conv2d 7x7 stride 2 (a ResNet stem)', () =>
    expectSameGrads(
      () => ({ x: rnd([2, 32, 32, 3], 5), w: rnd([7, 7, 3, 8], 6) }),
      ({ x, w }) =>
        tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 2, [
          [0, 0],
          [3, 3],
          [3, 3],
          [0, 0],
        ]),
    ));
  it('gather (UnsortedSegmentSum)', () =>
    expectSameGrads(
      () => ({ x: rnd([9, 5], 7) }),
      ({ x }) => tf.gather(x, tf.tensor1d([0, 3, 3, 8, 1, 3], 'int32')),
    ));
  it('gather on axis 1', () =>
    expectSameGrads(
      () => ({ x: rnd([4, 6, 3], 8) }),
      ({ x }) => tf.gather(x, tf.tensor1d([5, 0, 5], 'int32'), 1),
    ));
  it('batch norm (batch statistics)', () =>
    expectSameGrads(
      () => ({ x: rnd([3, 5, 4, 6], 9), g: rnd([6], 10), b: rnd([6], 11) }),
      ({ x, g, b }) => {
        const { mean, variance } = tf.moments(x, [0, 1, 2]);
        return tf.batchNorm(x, mean, variance, b, g, 1e-5);
      },
    ));
  it('batch norm with the hand-written gradient (batchNormTrain)', () =>
    expectSameGrads(
      () => ({ x: rnd([3, 5, 4, 6], 9), g: rnd([6], 10), b: rnd([6], 11) }),
      ({ x, g, b }) => batchNormTrain(x as tf.Tensor4D, g, b, 1e-5),
    ));
  it('matMul 2-D (its gradient multiplies transposed operands)', () =>
    expectSameGrads(
      () => ({ a: rnd([7, 5], 16), b: rnd([5, 4], 17) }),
      ({ a, b }) => tf.matMul(a, b),
    ));
  it('batched matMul', () =>
    expectSameGrads(
      () => ({ a: rnd([3, 6, 5], 18), b: rnd([3, 5, 4], 19) }),
      ({ a, b }) => tf.matMul(a, b),
    ));
  it('matMul forward with every transpose flag, rank 2 and 3', async () => {
    const cases: [number[], number[], boolean, boolean][] = [
      [[6, 5], [5, 4], false, false],
      [[5, 6], [5, 4], true, false],
      [[6, 5], [4, 5], false, true],
      [[5, 6], [4, 5], true, true],
      [[2, 5, 6], [1, 4, 5], true, true],
      [[1, 6, 5], [3, 4, 5], false, true],
      [[2, 5, 6], [2, 5, 4], true, false],
    ];
    for (const [sa, sb, ta, tb] of cases) {
      const run = async (backend: 'cpu' | 'wasm') => {
        await setBackend(backend);
        return tf.tidy(
          () => tf.matMul(rnd(sa, 20), rnd(sb, 21), ta, tb).dataSync() as Float32Array,
        );
      };
      const cpu = await run('cpu');
      expect(relErr(await run('wasm'), cpu)).toBeLessThan(1e-5);
    }
  });
  it('max pool 3x3 stride 2', () =>
    expectSameGrads(
      () => ({ x: rnd([2, 9, 10, 3], 12) }),
      ({ x }) => tf.maxPool(x as tf.Tensor4D, 3, 2, 'same'),
    ));
  it('avg pool 2x2 stride 2', () =>
    expectSameGrads(
      () => ({ x: rnd([2, 8, 10, 3], 13) }),
      ({ x }) => tf.avgPool(x as tf.Tensor4D, 2, 2, 'valid'),
    ));
  it('resize bilinear (half pixel)', () =>
    expectSameGrads(
      () => ({ x: rnd([2, 5, 7, 3], 14) }),
      ({ x }) => tf.image.resizeBilinear(x as tf.Tensor4D, [11, 9], false, true),
    ));
  it('resize nearest x2', () =>
    expectSameGrads(
      () => ({ x: rnd([2, 5, 7, 3], 15) }),
      ({ x }) => tf.image.resizeNearestNeighbor(x as tf.Tensor4D, [10, 14]),
    ));
});

describe('BatchNorm2d training gradient', () => {
  it('equals the generic gradient of batchNorm(x, moments(x)) on both backends', async () => {
    for (const backend of ['cpu', 'wasm'] as const) {
      await setBackend(backend);
      tf.tidy(() => {
        const x = tf.add(tf.mul(rnd([4, 5, 3, 6], 21), 2), 1) as tf.Tensor4D;
        const r = rnd([4, 5, 3, 6], 22);
        const bn = new BatchNorm2d(6);
        bn.loadStateDict(
          { weight: tf.add(rnd([6], 23), 1), bias: rnd([6], 24) },
          { strict: false },
        );
        const ours = tf.grads((xi: tf.Tensor, g: tf.Tensor, b: tf.Tensor) =>
          tf.sum(tf.mul(batchNormTrain(xi as tf.Tensor4D, g, b, 1e-5), r)),
        )([x, bn.weight!, bn.bias!]);
        const generic = tf.grads((xi: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
          const { mean, variance } = tf.moments(xi, [0, 1, 2]);
          return tf.sum(tf.mul(tf.batchNorm(xi, mean, variance, b, g, 1e-5), r));
        })([x, bn.weight!, bn.bias!]);
        ours.forEach((o, i) =>
          expect(
            relErr(o.dataSync() as Float32Array, generic[i].dataSync() as Float32Array),
          ).toBeLessThan(1e-5),
        );
        // and the layer's own forward in training mode uses it
        const { grads } = tf.variableGrads(
          () => tf.sum(tf.mul(bn.train().forward(x), r)) as tf.Scalar,
          [bn.weight!, bn.bias!],
        );
        expect(
          relErr(
            grads[bn.weight!.name].dataSync() as Float32Array,
            generic[1].dataSync() as Float32Array,
          ),
        ).toBeLessThan(1e-5);
      });
    }
  });
});

interface GradCase {
  name: string;
  stride: number;
  padding: number;
  dilation: number;
  groups: number;
  cin: number;
  cout: number;
  k: number;
  x: { shape: number[]; data: number[] };
  w: { shape: number[]; data: number[] };
  r: { shape: number[]; data: number[] };
  dx: { shape: number[]; data: number[] };
  dw: { shape: number[]; data: number[] };
}
const here = path.dirname(new URL(import.meta.url).pathname);
interface OpCase {
  name: string;
  args: any;
  x: GradCase['x'];
  r: GradCase['x'];
  dx: GradCase['x'];
}
const fixture = JSON.parse(
  fs.readFileSync(path.join(here, '..', 'fixtures', 'nn', 'grads.json'), 'utf8'),
) as {
  cases: GradCase[];
  ops: OpCase[];
};
const gradCases = fixture.cases;

describe('conv gradients equal torch autograd (dilated, strided, depthwise)', () => {
  for (const backend of ['cpu', 'wasm'] as const) {
    it.each(gradCases.map((c) => [c.name, c] as const))(`%s on ${backend}`, async (_n, c) => {
      await setBackend(backend);
      tf.tidy(() => {
        const nhwc = (t: GradCase['x']) =>
          tf.transpose(tf.tensor(t.data, t.shape) as tf.Tensor, [0, 2, 3, 1]) as tf.Tensor4D;
        const conv = new Conv2d({
          inChannels: c.cin,
          outChannels: c.cout,
          kernelSize: c.k,
          stride: c.stride,
          padding: c.padding,
          dilation: c.dilation,
          groups: c.groups,
          bias: false,
        });
        conv.loadStateDict({ weight: tf.transpose(tf.tensor(c.w.data, c.w.shape), [2, 3, 1, 0]) });
        const x = nhwc(c.x);
        const r = nhwc(c.r);
        const { grads } = tf.variableGrads(
          () => tf.sum(tf.mul(conv.forward(x), r)) as tf.Scalar,
          [conv.weight],
        );
        const dxFn = tf.grad((xi: tf.Tensor) => tf.sum(tf.mul(conv.forward(xi as tf.Tensor4D), r)));
        const dx = dxFn(x);
        const dw = grads[conv.weight.name];
        expect(
          relErr(dx.dataSync() as Float32Array, nhwc(c.dx).dataSync() as Float32Array),
        ).toBeLessThan(1e-5);
        const dwRef = tf.transpose(tf.tensor(c.dw.data, c.dw.shape), [2, 3, 1, 0]);
        expect(
          relErr(dw.dataSync() as Float32Array, dwRef.dataSync() as Float32Array),
        ).toBeLessThan(1e-5);
      });
    });
  }
});

describe('pooling and resize gradients equal torch autograd', () => {
  for (const backend of ['cpu', 'wasm'] as const) {
    it.each(fixture.ops.map((c) => [c.name, c] as const))(`%s on ${backend}`, async (_n, c) => {
      await setBackend(backend);
      tf.tidy(() => {
        const nhwc = (t: GradCase['x']) =>
          tf.transpose(tf.tensor(t.data, t.shape) as tf.Tensor, [0, 2, 3, 1]) as tf.Tensor4D;
        const f = (x: tf.Tensor4D): tf.Tensor4D =>
          c.args.kind === 'maxpool' ? new MaxPool2d(c.args).forward(x) : interpolate(x, c.args);
        const r = nhwc(c.r);
        const dx = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(f(x as tf.Tensor4D), r)))(nhwc(c.x));
        expect(
          relErr(dx.dataSync() as Float32Array, nhwc(c.dx).dataSync() as Float32Array),
        ).toBeLessThan(1e-5);
      });
    });
  }
});
