import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import {
  Activation,
  AdaptiveAvgPool2d,
  AvgPool2d,
  BatchNorm2d,
  Conv2d,
  ConvTranspose2d,
  GroupNorm,
  Linear,
  MaxPool2d,
  Module,
  interpolate,
  setBackend,
} from '../../src/index.js';

interface T {
  shape: number[];
  data: number[];
}
interface Case {
  name: string;
  kind: string;
  args?: any;
  x: T;
  x2?: T;
  weight?: T;
  bias?: T | null;
  y: T;
  y2?: T;
  runningMean?: T;
  runningVar?: T;
}
const here = path.dirname(new URL(import.meta.url).pathname);
const { cases } = JSON.parse(
  fs.readFileSync(path.join(here, '..', 'fixtures', 'nn', 'layers.json'), 'utf8'),
) as { cases: Case[] };

const raw = (t: T): tf.Tensor => tf.tensor(t.data, t.shape);
/** NCHW fixture tensor -> NHWC. */
const nhwc = (t: T): tf.Tensor4D => tf.transpose(raw(t), [0, 2, 3, 1]) as tf.Tensor4D;

function maxRelErr(a: tf.Tensor, b: tf.Tensor): number {
  expect(a.shape).toEqual(b.shape);
  const x = a.dataSync();
  const y = b.dataSync();
  let worst = 0;
  for (let i = 0; i < x.length; i++)
    worst = Math.max(worst, Math.abs(x[i] - y[i]) / Math.max(1, Math.abs(y[i])));
  return worst;
}

function load(m: Module, entries: Record<string, tf.Tensor>): void {
  const report = m.loadStateDict(entries, { strict: false });
  expect(report.mismatchedKeys).toEqual([]);
  expect(report.unexpectedKeys).toEqual([]);
}

function run(c: Case): [tf.Tensor, tf.Tensor][] {
  const x = c.kind === 'linear' ? raw(c.x) : nhwc(c.x);
  switch (c.kind) {
    case 'conv': {
      const m = new Conv2d(c.args);
      load(m, {
        weight: tf.transpose(raw(c.weight!), [2, 3, 1, 0]),
        ...(c.bias ? { bias: raw(c.bias) } : {}),
      });
      return [[m.forward(x as tf.Tensor4D), nhwc(c.y)]];
    }
    case 'deconv': {
      const m = new ConvTranspose2d(c.args);
      // torch [in, out, kh, kw] -> ours [kh, kw, out, in]
      load(m, { weight: tf.transpose(raw(c.weight!), [2, 3, 1, 0]), bias: raw(c.bias!) });
      return [[m.forward(x as tf.Tensor4D), nhwc(c.y)]];
    }
    case 'bn': {
      const m = new BatchNorm2d(c.weight!.shape[0]);
      load(m, { weight: raw(c.weight!), bias: raw(c.bias!) });
      const yTrain = m.train().forward(x as tf.Tensor4D);
      const yEval = m.eval().forward(nhwc(c.x2!));
      return [
        [yTrain, nhwc(c.y)],
        [yEval, nhwc(c.y2!)],
        [m.runningMean, raw(c.runningMean!)],
        [m.runningVar, raw(c.runningVar!)],
      ];
    }
    case 'gn': {
      const m = new GroupNorm(2, c.weight!.shape[0]);
      load(m, { weight: raw(c.weight!), bias: raw(c.bias!) });
      return [[m.forward(x as tf.Tensor4D), nhwc(c.y)]];
    }
    case 'maxpool':
      return [[new MaxPool2d(c.args).forward(x as tf.Tensor4D), nhwc(c.y)]];
    case 'avgpool':
      return [[new AvgPool2d(c.args).forward(x as tf.Tensor4D), nhwc(c.y)]];
    case 'adaptive':
      return [[new AdaptiveAvgPool2d(c.args.outputSize).forward(x as tf.Tensor4D), nhwc(c.y)]];
    case 'interp':
      return [[interpolate(x as tf.Tensor4D, c.args), nhwc(c.y)]];
    case 'linear': {
      const m = new Linear(c.args.inFeatures, c.args.outFeatures);
      load(m, { weight: tf.transpose(raw(c.weight!)), bias: raw(c.bias!) });
      return [[m.forward(x), raw(c.y)]];
    }
    case 'act':
      return [[new Activation(c.args.type).forward(x), nhwc(c.y)]];
    default:
      throw new Error(`unknown case kind ${c.kind}`);
  }
}

for (const backend of ['cpu', 'wasm'] as const) {
  describe(`layers match PyTorch on ${backend}`, () => {
    it.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
      await setBackend(backend);
      tf.tidy(() => {
        for (const [ours, ref] of run(c)) expect(maxRelErr(ours, ref)).toBeLessThan(2e-5);
      });
    });
  });
}
