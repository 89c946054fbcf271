/** FCNHead / ASPPHead shapes and options, and the bilinear initialisation of the FCN deconvolution. */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { setBackend } from '../../src/backend/index.js';
import { interpolate, setInitSeed } from '../../src/nn/index.js';
import { MODELS } from '../../src/registry.js';
import { ASPPHead, BilinearDeconv, bilinearKernel, FCNHead } from '../../src/segmentors/index.js';

beforeAll(async () => {
  await setBackend('cpu');
  setInitSeed(1);
});

const maxAbsDiff = (a: tf.Tensor, b: tf.Tensor): number =>
  tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);

describe('FCNHead', () => {
  it('decodes the selected level to numClasses logits at its resolution', () => {
    const head = MODELS.build<FCNHead>({
      type: 'FCNHead',
      inChannels: 12,
      inIndex: 1,
      channels: 8,
      numClasses: 5,
      normCfg: { type: 'BN' },
    });
    const feats = [
      tf.randomNormal([2, 16, 16, 6]) as tf.Tensor4D,
      tf.randomNormal([2, 8, 8, 12]) as tf.Tensor4D,
    ];
    expect(head.forward(feats).shape).toEqual([2, 8, 8, 5]);
    const names = [...head.stateDict().keys()];
    expect(names).toContain('convs.0.conv.weight');
    expect(names).toContain('convs.1.bn.runningMean');
    expect(names).toContain('convCat.conv.weight');
    expect(names).toContain('convSeg.weight');
    // inIndex -1 (the default) is the last level; numConvs 0 needs inChannels == channels
    const last = MODELS.build<FCNHead>({
      type: 'FCNHead',
      inChannels: 12,
      channels: 12,
      numConvs: 0,
      concatInput: false,
      numClasses: 3,
    });
    expect(last.forward(feats).shape).toEqual([2, 8, 8, 3]);
    expect([...last.stateDict().keys()].sort()).toEqual(['convSeg.bias', 'convSeg.weight']);
    expect(() =>
      MODELS.build({ type: 'FCNHead', inChannels: 12, channels: 8, numConvs: 0, numClasses: 3 }),
    ).toThrow(/numConvs 0/);
    expect(() =>
      MODELS.build({ type: 'FCNHead', inChannels: 12, channels: 8, numClasses: 3, bogus: 1 }),
    ).toThrow(/bogus/);
  });

  it("resize_concat input transform and 'deconv' up-sampling to the input resolution", () => {
    const head = MODELS.build<FCNHead>({
      type: 'FCNHead',
      inChannels: [6, 12],
      inIndex: [0, 1],
      inputTransform: 'resize_concat',
      channels: 8,
      numClasses: 4,
      upsample: 'deconv',
      upsampleFactor: 4,
    });
    const out = head.forward([
      tf.randomNormal([1, 8, 8, 6]) as tf.Tensor4D,
      tf.randomNormal([1, 4, 4, 12]) as tf.Tensor4D,
    ]);
    expect(out.shape).toEqual([1, 32, 32, 4]);
    // the final up-sampling is fixed unless upsampleTrainable
    expect(head.trainableParameters().some(([n]) => n.startsWith('upsample.'))).toBe(false);
    expect(() =>
      MODELS.build({
        type: 'FCNHead',
        inChannels: 6,
        channels: 8,
        numClasses: 3,
        upsample: 'deconv',
      }),
    ).toThrow(/upsampleFactor/);
  });
});

describe('ASPPHead', () => {
  it('image pool + 1x1 + dilated 3x3 branches, bottleneck, classifier', () => {
    const head = MODELS.build<ASPPHead>({
      type: 'ASPPHead',
      inChannels: 16,
      channels: 8,
      numClasses: 6,
      dilations: [1, 2, 3],
      normCfg: { type: 'BN' },
    });
    expect(head.forward([tf.randomNormal([2, 9, 11, 16]) as tf.Tensor4D]).shape).toEqual([
      2, 9, 11, 6,
    ]);
    const sd = head.stateDict();
    expect(sd.get('imagePool.conv.weight')!.shape).toEqual([1, 1, 16, 8]);
    expect(sd.get('asppModules.0.conv.weight')!.shape).toEqual([1, 1, 16, 8]);
    expect(sd.get('asppModules.2.conv.weight')!.shape).toEqual([3, 3, 16, 8]);
    expect(sd.get('bottleneck.conv.weight')!.shape).toEqual([3, 3, 32, 8]);
    expect(head.asppModules.at(2).conv.options.dilation).toBe(3);
    expect(head.asppModules.at(2).conv.options.padding).toBe(3);
    // default dilations are DeepLabV3's (1, 6, 12, 18)
    expect(
      MODELS.build<ASPPHead>({ type: 'ASPPHead', inChannels: 4, channels: 4, numClasses: 2 })
        .dilations,
    ).toEqual([1, 6, 12, 18]);
  });

  it('the image-pool branch sees the whole map: changing a far pixel changes every output', () => {
    // Seeded weights and input, and 16 channels: with 4, the pooled branch's ReLU could zero every channel.
    setInitSeed(5);
    const head = MODELS.build<ASPPHead>({
      type: 'ASPPHead',
      inChannels: 4,
      channels: 16,
      numClasses: 2,
      dilations: [1],
      dropoutRatio: 0,
    });
    head.eval();
    const x = tf.randomNormal([1, 12, 12, 4], 0, 1, 'float32', 3) as tf.Tensor4D;
    const y = tf.tidy(() =>
      tf.add(
        x,
        tf.pad(tf.fill([1, 1, 1, 4], 5), [
          [0, 0],
          [11, 0],
          [11, 0],
          [0, 0],
        ]),
      ),
    ) as tf.Tensor4D;
    const a = head.forward([x]);
    const b = head.forward([y]);
    // pixel (0, 0) is out of reach of the 1x1 and 3x3 branches, not of the pooled one
    expect(
      maxAbsDiff(tf.slice(a, [0, 0, 0, 0], [1, 1, 1, 2]), tf.slice(b, [0, 0, 0, 0], [1, 1, 1, 2])),
    ).toBeGreaterThan(1e-6);
  });
});

describe('bilinear deconvolution (FCN)', () => {
  it('kernel values of FCN get_upsampling_weight', () => {
    expect(Array.from(bilinearKernel(2).slice(0, 4))).toEqual([0.0625, 0.1875, 0.1875, 0.0625]);
    const k3 = bilinearKernel(3); // size 5: [1/3, 2/3, 1, 2/3, 1/3]
    expect(k3.length).toBe(25);
    expect(k3[12]).toBeCloseTo(1, 6);
    expect(k3[0]).toBeCloseTo(1 / 9, 6);
    expect(() => bilinearKernel(0)).toThrow(/positive integer/);
  });

  for (const f of [2, 3, 4, 8]) {
    it(`factor ${f}: equals bilinear interpolation on a constant, a linear ramp and random maps`, () => {
      const up = new BilinearDeconv(3, f);
      const constant = tf.fill([1, 5, 4, 3], 2.5) as tf.Tensor4D;
      const co = up.forward(constant);
      expect(co.shape).toEqual([1, 5 * f, 4 * f, 3]);
      expect(maxAbsDiff(co, tf.fill(co.shape, 2.5))).toBeLessThan(1e-5);
      // a ramp along x in channel 0, along y in channel 1 (channels do not mix)
      const ramp = tf.tidy(() => {
        const xs = tf.tile(tf.reshape(tf.range(0, 4), [1, 1, 4, 1]), [1, 5, 1, 1]);
        const ys = tf.tile(tf.reshape(tf.range(0, 5), [1, 5, 1, 1]), [1, 1, 4, 1]);
        return tf.concat([xs, ys, tf.zeros([1, 5, 4, 1])], 3) as tf.Tensor4D;
      });
      const ref = interpolate(ramp, { scaleFactor: f, mode: 'bilinear' });
      expect(maxAbsDiff(up.forward(ramp), ref)).toBeLessThan(1e-5);
      // interior of the ramp is exactly linear: output x = (ox + 0.5) / f - 0.5
      const row = up
        .forward(ramp)
        .slice([0, 0, 0, 0], [1, 1, 4 * f, 1])
        .dataSync();
      const mid = 2 * f;
      expect(row[mid]).toBeCloseTo((mid + 0.5) / f - 0.5, 5);
      const rnd = tf.randomNormal([2, 3, 6, 3]) as tf.Tensor4D;
      expect(
        maxAbsDiff(up.forward(rnd), interpolate(rnd, { scaleFactor: f, mode: 'bilinear' })),
      ).toBeLessThan(1e-5);
    });
  }

  it('trainable: the gradient reaches the deconvolution weights', () => {
    const up = new BilinearDeconv(2, 2, true);
    const x = tf.randomNormal([1, 3, 3, 2]) as tf.Tensor4D;
    const { grads } = tf.variableGrads(
      () => tf.sum(tf.square(up.forward(x))) as tf.Scalar,
      [up.deconv.weight],
    );
    expect(Object.values(grads)[0].shape).toEqual(up.deconv.weight.shape);
    expect(tf.max(tf.abs(Object.values(grads)[0])).dataSync()[0]).toBeGreaterThan(0);
  });
});
