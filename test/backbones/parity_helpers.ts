/** Builds our counterpart of each exported torchvision model and compares outputs. */
import * as tf from '@tensorflow/tfjs-core';
import {
  convertTorchvisionStateDict,
  readSafetensorsFile as readSafetensors,
} from '../../src/backbones/index.js';
import * as fs from 'node:fs';
import { readWeights, type Module } from '../../src/nn/index.js';
import { MODELS } from '../../src/registry.js';
import '../../src/backbones/index.js';
import '../../src/classifiers/index.js';

/** Our config for each model name of scripts/fixtures/backbones/export_torchvision.py. */
export const OUR_CONFIGS: Record<string, Record<string, unknown>> = {
  resnet18: cls(
    { type: 'ResNet', depth: 18 },
    { type: 'LinearClsHead', numClasses: 1000, inChannels: 512 },
  ),
  resnet50: cls(
    { type: 'ResNet', depth: 50 },
    { type: 'LinearClsHead', numClasses: 1000, inChannels: 2048 },
  ),
  vgg16: { type: 'VGG', depth: 16, numClasses: 1000, init: [] },
  vgg11_bn: { type: 'VGG', depth: 11, numClasses: 1000, normCfg: { type: 'BN' }, init: [] },
  mobilenet_v2: cls(
    { type: 'MobileNetV2' },
    { type: 'LinearClsHead', numClasses: 1000, inChannels: 1280 },
  ),
  mobilenet_v3_large: cls(
    { type: 'MobileNetV3', arch: 'large' },
    {
      type: 'StackedLinearClsHead',
      numClasses: 1000,
      inChannels: 960,
      midChannels: [1280],
      actCfg: { type: 'HSwish' },
    },
  ),
  mobilenet_v3_small: cls(
    { type: 'MobileNetV3', arch: 'small' },
    {
      type: 'StackedLinearClsHead',
      numClasses: 1000,
      inChannels: 576,
      midChannels: [1024],
      actCfg: { type: 'HSwish' },
    },
  ),
  mobilenet_v3_small_w050_c16: cls(
    { type: 'MobileNetV3', arch: 'small', widenFactor: 0.5 },
    {
      type: 'StackedLinearClsHead',
      numClasses: 16,
      inChannels: 288,
      midChannels: [512],
      actCfg: { type: 'HSwish' },
    },
  ),
  densenet121: cls(
    { type: 'DenseNet', depth: 121 },
    { type: 'LinearClsHead', numClasses: 1000, inChannels: 1024 },
  ),
  googlenet: cls(
    { type: 'GoogLeNet', outIndices: [0, 1, 2, 3] },
    { type: 'LinearClsHead', numClasses: 1000, inChannels: 1024 },
  ),
};

function cls(
  backbone: Record<string, unknown>,
  head: Record<string, unknown>,
): Record<string, unknown> {
  return { type: 'ImageClassifier', backbone: { ...backbone, init: [] }, head };
}

/** max |a - b| / max |b|: the error relative to the reference's scale. */
export function relError(ours: tf.Tensor, ref: tf.Tensor): number {
  if (ours.shape.join() !== ref.shape.join())
    throw new Error(`shape [${ours.shape}] vs reference [${ref.shape}]`);
  return tf.tidy(() => {
    const diff = tf.max(tf.abs(tf.sub(ours, ref))).dataSync()[0];
    const scale = tf.max(tf.abs(ref)).dataSync()[0];
    return diff / Math.max(scale, 1e-12);
  });
}

export interface ParityResult {
  name: string;
  logits: number;
  features: number[];
  maxRel: number;
  /** Our parameter count and torchvision's. */
  params: number;
}

/**
 * Loads `dir/NAME.weights.pth` (torch.save) or `dir/NAME.weights.safetensors`
 * into our model, runs `dir/NAME.io.safetensors`' input and compares.
 */
export function checkParity(dir: string, name: string): ParityResult {
  const model = MODELS.build<Module>(OUR_CONFIGS[name]);
  try {
    const pth = `${dir}/${name}.weights.pth`;
    const { tensors } = readWeights(
      fs.existsSync(pth) ? pth : `${dir}/${name}.weights.safetensors`,
    );
    const { state } = convertTorchvisionStateDict(tensors, undefined, { disposeSource: true });
    const isVgg = name.startsWith('vgg');
    const report = isVgg
      ? model.loadStateDict(state, { prefix: 'backbone' })
      : model.loadStateDict(state);
    for (const t of state.values()) t.dispose();
    if (report.missingKeys.length || report.unexpectedKeys.length)
      throw new Error(JSON.stringify(report));
    model.eval();
    const io = readSafetensors(`${dir}/${name}.io.safetensors`).tensors;
    const x = io.get('input') as tf.Tensor4D;
    const r = tf.tidy(() => {
      let logits: tf.Tensor;
      let feats: tf.Tensor[];
      if (isVgg) {
        const outs = model.forward(x) as tf.Tensor[];
        logits = outs[outs.length - 1]!;
        feats = outs.slice(0, -1);
      } else {
        const clf = model as unknown as { extractFeat(x: tf.Tensor4D): tf.Tensor[]; head: Module };
        feats = clf.extractFeat(x);
        logits = clf.head.forward(feats) as tf.Tensor;
      }
      const features = feats.map((f, i) => relError(f, io.get(`feat${i}`)!));
      if (io.has(`feat${feats.length}`))
        throw new Error(`${name}: ${feats.length} features, the reference has more`);
      const lg = relError(logits, io.get('logits')!);
      return { logits: lg, features };
    });
    for (const t of io.values()) t.dispose();
    return { name, ...r, maxRel: Math.max(r.logits, ...r.features), params: model.numParameters() };
  } finally {
    model.dispose();
  }
}
