/**
 * Parameter counts equal torchvision's (sum of p.numel() with the 1000-class
 * classifier), for every depth and width; the reference numbers come from
 * `export_torchvision.py --counts` and are committed.
 */
import * as fs from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { setBackend } from '../../src/backend/index.js';
import { MODELS } from '../../src/registry.js';
import type { Module } from '../../src/nn/index.js';
import '../../src/backbones/index.js';
import '../../src/classifiers/index.js';

const ref = JSON.parse(
  fs.readFileSync('test/fixtures/backbones/torchvision_param_counts.json', 'utf8'),
) as {
  torchvision: string;
  counts: Record<string, number>;
};

const clf = (
  backbone: Record<string, unknown>,
  head: Record<string, unknown>,
): Record<string, unknown> => ({
  type: 'ImageClassifier',
  backbone: { ...backbone, init: [] },
  head,
});

/** Our model for each torchvision name in the fixture. */
function ourConfig(name: string): Record<string, unknown> {
  let m: RegExpMatchArray | null;
  if ((m = name.match(/^resnet(\d+)$/))) {
    const depth = Number(m[1]);
    return clf(
      { type: 'ResNet', depth },
      { type: 'LinearClsHead', numClasses: 1000, inChannels: depth < 50 ? 512 : 2048 },
    );
  }
  if ((m = name.match(/^vgg(\d+)(_bn)?$/)))
    return {
      type: 'VGG',
      depth: Number(m[1]),
      numClasses: 1000,
      normCfg: m[2] ? { type: 'BN' } : null,
      init: [],
    };
  if ((m = name.match(/^mobilenet_v2_w([\d.]+)$/))) {
    const w = Number(m[1]);
    const last = w > 1 ? Math.round((1280 * w) / 8) * 8 : 1280;
    return clf(
      { type: 'MobileNetV2', widenFactor: w },
      { type: 'LinearClsHead', numClasses: 1000, inChannels: last },
    );
  }
  if ((m = name.match(/^mobilenet_v3_(large|small)_w([\d.]+)$/))) {
    const arch = m[1] as 'large' | 'small';
    const w = Number(m[2]);
    const backbone = { type: 'MobileNetV3', arch, widenFactor: w };
    const probe = MODELS.build<{ outChannels: number[] } & Module>({ ...backbone, init: [] });
    const inCh = probe.outChannels[probe.outChannels.length - 1];
    probe.dispose();
    const div8 = (v: number): number => Math.max(8, Math.floor(v + 4) - (Math.floor(v + 4) % 8));
    const mid = div8((arch === 'large' ? 1280 : 1024) * w);
    return clf(backbone, {
      type: 'StackedLinearClsHead',
      numClasses: 1000,
      inChannels: inCh,
      midChannels: [mid],
      actCfg: { type: 'HSwish' },
    });
  }
  if ((m = name.match(/^densenet(\d+)$/))) {
    const depth = Number(m[1]);
    const ch = { 121: 1024, 161: 2208, 169: 1664, 201: 1920 }[depth]!;
    return clf(
      { type: 'DenseNet', depth },
      { type: 'LinearClsHead', numClasses: 1000, inChannels: ch },
    );
  }
  if (name === 'googlenet')
    return clf(
      { type: 'GoogLeNet' },
      { type: 'LinearClsHead', numClasses: 1000, inChannels: 1024 },
    );
  throw new Error(`no config for ${name}`);
}

beforeAll(async () => {
  // cpu: drawing the initial weights of the VGGs is about 3x faster than on wasm
  await setBackend('cpu');
});

describe(`parameter counts vs torchvision ${ref.torchvision}`, () => {
  it.each(Object.keys(ref.counts))('%s', (name) => {
    const model = MODELS.build<Module>(ourConfig(name));
    try {
      expect(model.numParameters()).toBe(ref.counts[name]);
    } finally {
      model.dispose();
    }
  });
});
