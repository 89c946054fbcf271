/**
 * Pieces shared by the backbones and necks: config schemas for `normCfg`,
 * `actCfg` and `init`, channel rounding, and the train-mode helpers behind
 * `frozenStages` / `normEval`.
 */
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import {
  BatchNorm2d,
  GroupNorm,
  Module,
  readSafetensors,
  type SafetensorsContent,
} from '../nn/index.js';

/** `normCfg` (mmcv names): `{type: 'BN' | 'GN', eps, momentum, numGroups, requiresGrad}`. */
export const normCfgSchema = z
  .object({
    type: z.enum(['BN', 'BN2d', 'SyncBN', 'GN']),
    requiresGrad: z.boolean().optional(),
    momentum: z.number().positive().max(1).optional(),
    eps: z.number().positive().optional(),
    numGroups: z.number().int().positive().optional(),
  })
  .strict();

/** `actCfg`: `{type: 'ReLU' | 'ReLU6' | 'HSwish' | ...}`. */
export const actCfgSchema = z
  .object({
    type: z.enum([
      'ReLU',
      'ReLU6',
      'SiLU',
      'HSwish',
      'HSigmoid',
      'Sigmoid',
      'Tanh',
      'LeakyReLU',
      'GELU',
    ]),
    negativeSlope: z.number().optional(),
  })
  .strict();

/** One weight-initialiser config (`{type: 'Kaiming' | 'Xavier' | 'Normal' | 'Constant' | 'Pretrained', ...}`). */
export const initCfgSchema = z.looseObject({
  type: z.enum(['Kaiming', 'Xavier', 'Normal', 'Constant', 'Uniform', 'Pretrained']),
});

/** `init`: one initialiser config or a list of them, applied in order. */
export const initSchema = z.union([initCfgSchema, z.array(initCfgSchema)]).optional();

/** A stage index list such as `outIndices: [0, 1, 2, 3]`. */
export const indexList = z.array(z.number().int().nonnegative()).min(1);

/**
 * Rounds `value` to the nearest multiple of `divisor`, never below
 * `minValue` nor below 90% of `value` (torchvision's and mmcv's
 * `_make_divisible`, used by the MobileNets' width multiplier).
 *
 * @example
 * ```ts
 * makeDivisible(32 * 0.75, 8); // => 24
 * makeDivisible(16 * 0.35, 8); // => 8
 * ```
 */
export function makeDivisible(
  value: number,
  divisor: number,
  minValue = divisor,
  minRatio = 0.9,
): number {
  let v = Math.max(
    minValue,
    Math.floor(value + divisor / 2) - (Math.floor(value + divisor / 2) % divisor),
  );
  if (v < minRatio * value) v += divisor;
  return v;
}

/** Whether a module is a normalisation layer (what `normEval` switches to eval). */
export const isNorm = (m: Module): boolean => m instanceof BatchNorm2d || m instanceof GroupNorm;

/** Puts every BatchNorm of the tree in eval mode (running statistics), leaving the rest as is. */
export function setNormEval(root: Module): void {
  for (const [, m] of root.namedModules()) if (m instanceof BatchNorm2d) m.training = false;
}

/**
 * Freezes the named children of `root`: parameters not trainable and the
 * modules in eval mode (so that their BatchNorms keep their statistics), as
 * mmdetection's `_freeze_stages`.
 */
export function freezeChildren(root: Module, names: string[]): void {
  const children = new Map(root.namedChildren());
  for (const n of names) {
    const m = children.get(n);
    if (!m) continue;
    m.eval();
    for (const [, p] of m.namedParameters()) p.trainable = false;
  }
}

/** Global average pooling over H and W: `[N, H, W, C] -> [N, C]`. */
export function globalAvgPool(x: tf.Tensor4D): tf.Tensor2D {
  return tf.mean(x, [1, 2]) as tf.Tensor2D;
}

/** A list of backbone inputs: a built module, or a config the caller builds. */
export const moduleOrConfig = z.custom<Module | { type: string }>(
  (v) =>
    v instanceof Module ||
    (typeof v === 'object' && v !== null && typeof (v as { type?: unknown }).type === 'string'),
  { message: 'a module or a {type, ...} config' },
);

/**
 * Reads a safetensors file (nn's `readSafetensors`; kept as the name the
 * converter and tests use; it once worked around a Buffer-view bug there).
 */
export function readSafetensorsFile(file: string): SafetensorsContent {
  return readSafetensors(file);
}

/**
 * Rejects an input that is not an NHWC batch with `channels` channels, with
 * a message naming the model (rather than a shape error from inside tfjs).
 */
export function checkInput(model: string, x: tf.Tensor, channels: number): void {
  if (x.rank !== 4 || x.shape[3] !== channels) {
    const hint = x.rank === 4 && x.shape[1] === channels ? ' (NCHW? tensors are NHWC here)' : '';
    throw new Error(
      `${model}: expected an NHWC input [N, H, W, ${channels}], got shape [${x.shape}]${hint}`,
    );
  }
}
