/**
 * Necks against a functional PyTorch re-statement of mmdetection's forward
 * passes (scripts/fixtures/backbones/necks_reference.py, committed outputs),
 * plus shapes, names and config checks.
 */
import * as fs from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { setBackend } from '../../src/backend/index.js';
import { readSafetensorsFile } from '../../src/backbones/index.js';
import { MODELS } from '../../src/registry.js';
import type { Module } from '../../src/nn/index.js';
import '../../src/necks/index.js';

const FIX = 'test/fixtures/backbones';
const ref = JSON.parse(fs.readFileSync(`${FIX}/necks.json`, 'utf8')) as {
  torch: string;
  cases: Record<string, Record<string, unknown>>;
};
let tensors: Map<string, tf.Tensor>;

beforeAll(async () => {
  await setBackend('cpu');
  tensors = readSafetensorsFile(`${FIX}/necks.safetensors`).tensors;
});

const relError = (a: tf.Tensor, b: tf.Tensor): number =>
  tf.tidy(
    () =>
      tf.max(tf.abs(tf.sub(a, b))).dataSync()[0] / Math.max(tf.max(tf.abs(b)).dataSync()[0], 1e-12),
  );

describe(`necks vs PyTorch ${ref.torch} reference`, () => {
  it.each(Object.keys(ref.cases))('%s', (name) => {
    const neck = MODELS.build<Module>({ ...ref.cases[name], init: [] });
    const state = new Map<string, tf.Tensor>();
    const inputs: tf.Tensor4D[] = [];
    const expected: tf.Tensor[] = [];
    for (const [k, v] of tensors) {
      if (!k.startsWith(`${name}.`)) continue;
      const rest = k.slice(name.length + 1);
      let m: RegExpMatchArray | null;
      if ((m = rest.match(/^in\.(\d+)$/))) inputs[Number(m[1])] = v as tf.Tensor4D;
      else if ((m = rest.match(/^out\.(\d+)$/))) expected[Number(m[1])] = v;
      else state.set(rest, v.rank === 4 ? tf.transpose(v, [2, 3, 1, 0]) : v); // OIHW -> HWIO
    }
    neck.loadStateDict(state); // strict: names match mmdetection's layout one to one
    const outs = neck.forward(inputs) as tf.Tensor[];
    expect(outs.map((o) => o.shape)).toEqual(expected.map((e) => e.shape));
    const errs = outs.map((o, i) => relError(o, expected[i]));
    console.log(
      `${name}: sizes ${outs.map((o) => o.shape[1]).join(',')}, max rel err ${Math.max(...errs).toExponential(2)}`,
    );
    for (const e of errs) expect(e).toBeLessThan(1e-5);
    neck.dispose();
  });
});

describe('neck configs', () => {
  it('FPN addExtraConvs: true means on_input; the first extra conv takes the backbone channels', () => {
    const fpn = MODELS.build<Module>({
      type: 'FPN',
      inChannels: [256, 512, 1024, 2048],
      outChannels: 256,
      startLevel: 1,
      numOuts: 5,
      addExtraConvs: true,
    });
    const shapes = new Map(fpn.namedParameters().map(([n, p]) => [n, p.shape]));
    expect(shapes.get('fpnConvs.3.conv.weight')).toEqual([3, 3, 2048, 256]);
    expect(shapes.get('fpnConvs.4.conv.weight')).toEqual([3, 3, 256, 256]);
    expect(shapes.get('lateralConvs.2.conv.weight')).toEqual([1, 1, 2048, 256]);
    expect(shapes.has('lateralConvs.3.conv.weight')).toBe(false);
    fpn.dispose();
  });

  it('FPN with a norm has bias-free convs named conv/bn', () => {
    const fpn = MODELS.build<Module>({
      type: 'FPN',
      inChannels: [8, 16],
      outChannels: 8,
      numOuts: 2,
      normCfg: { type: 'BN' },
    });
    const names = fpn.namedParameters().map(([n]) => n);
    expect(names).toContain('lateralConvs.0.bn.weight');
    expect(names).not.toContain('lateralConvs.0.conv.bias');
    fpn.dispose();
  });

  it('bad configs are ConfigErrors naming the key', () => {
    expect(() =>
      MODELS.build(
        { type: 'FPN', inChannels: [8], outChannels: 8, numOuts: 1, addExtraConvs: 'on_top' },
        { path: 'model.neck' },
      ),
    ).toThrow(/model\.neck\.addExtraConvs/);
    expect(() =>
      MODELS.build(
        { type: 'FPN', inChannels: [8, 16], outChannels: 8, numOuts: 1 },
        { path: 'model.neck' },
      ),
    ).toThrow(/numOuts 1 < 2/);
    expect(() =>
      MODELS.build({ type: 'SSDNeck', levelStrides: [2, 2, 1] }, { path: 'model.neck' }),
    ).toThrow(/levelStrides and levelPaddings need 4 entries/);
    expect(() =>
      MODELS.build(
        { type: 'ChannelMapper', inChannels: [8], outChannels: 8, numOut: 2 },
        { path: 'model.neck' },
      ),
    ).toThrow(/model\.neck\.numOut: expected a known key.*'numOuts'/);
    expect(() =>
      MODELS.build({ type: 'ChannelMapper', inChannels: [8] }, { path: 'model.neck' }),
    ).toThrow(/model\.neck\.outChannels: expected number/);
  });

  it('SSDNeck from SSDVGG channels gives six levels at 300 px sizes', () => {
    const neck = MODELS.build<Module>({ type: 'SSDNeck' });
    const outs = neck.forward([
      tf.zeros([1, 38, 38, 512]),
      tf.zeros([1, 19, 19, 1024]),
    ]) as tf.Tensor[];
    expect(outs.map((o) => o.shape.slice(1))).toEqual([
      [38, 38, 512],
      [19, 19, 1024],
      [10, 10, 512],
      [5, 5, 256],
      [3, 3, 256],
      [1, 1, 256],
    ]);
    neck.dispose();
  });
});
