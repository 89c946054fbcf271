/**
 * Pieces shared by the dense heads: flattening NHWC level outputs into
 * `[B, N, K]`, prior caches, config helpers, and the post-processing of
 * mmdet's `_predict_by_feat_single` + `_bbox_post_process`.
 */
import * as tf from '@tensorflow/tfjs-core';
import { nextSeed } from '../nn/init.js';
import { batchedNms } from '../ops/nms/batched.js';
import { isTypedConfig, MODELS, TASK_UTILS } from '../registry.js';
import type { DenseTestCfg } from './types.js';
import type { DetDataSample, DetSample, InstanceData } from '../structures/index.js';

/** A config `{type, ...}` built in `registry`, or an already built object passed through. */
export function buildOr<T>(
  registry: typeof MODELS | typeof TASK_UTILS,
  cfg: unknown,
  path: string,
): T {
  if (isTypedConfig(cfg)) return registry.build<T>(cfg, { path });
  return cfg as T;
}

/** `[B, H, W, A*K]` level outputs -> one `[B, sum(H*W*A), K]` tensor (anchor order y, x, a). */
export function flattenLevels(levels: tf.Tensor4D[], k: number): tf.Tensor3D {
  const b = levels[0].shape[0];
  const flat = levels.map((t) => tf.reshape(t, [b, -1, k]));
  return (flat.length === 1 ? flat[0] : tf.concat(flat, 1)) as tf.Tensor3D;
}

/** The typed arrays `parts` end to end in a new array of `make(total length)`. */
function concatTyped<T extends Float32Array | Int32Array | Uint8Array>(
  parts: readonly T[],
  make: (n: number) => T,
): T {
  const out = make(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Concatenate Float32Arrays. */
export const concatF32 = (parts: readonly Float32Array[]): Float32Array =>
  concatTyped(parts, (n) => new Float32Array(n));
/** Concatenate Int32Arrays. */
export const concatI32 = (parts: readonly Int32Array[]): Int32Array =>
  concatTyped(parts, (n) => new Int32Array(n));
/** Concatenate Uint8Arrays. */
export const concatU8 = (parts: readonly Uint8Array[]): Uint8Array =>
  concatTyped(parts, (n) => new Uint8Array(n));

/** `[h, w]` of each feature map. */
export const featSizes = (feats: tf.Tensor4D[]): [number, number][] =>
  feats.map((f) => [f.shape[1], f.shape[2]]);

/** `log(p / (1 - p))`: compare logits against a probability threshold without a sigmoid per element. */
export const logit = (p: number): number =>
  p <= 0 ? -Infinity : p >= 1 ? Infinity : Math.log(p / (1 - p));

export const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

/** Candidates of one level: (prior, class) pairs with their scores, best first. */
export interface Candidates {
  priorIdx: Int32Array;
  labels: Int32Array;
  scores: Float32Array;
}

/**
 * mmdet `filter_scores_and_topk`: the (prior, class) pairs of `scores`
 * ([n, c] probabilities, row-major) above `scoreThr`, the `nmsPre` best kept
 * (`<= 0`: all), in descending score order.
 */
export function filterScoresAndTopk(
  scores: Float32Array,
  c: number,
  scoreThr: number,
  nmsPre: number,
): Candidates {
  const idx: number[] = [];
  for (let i = 0; i < scores.length; i++) if (scores[i] > scoreThr) idx.push(i);
  idx.sort((a, b) => scores[b] - scores[a] || a - b);
  const keep = nmsPre > 0 ? idx.slice(0, nmsPre) : idx;
  return {
    priorIdx: Int32Array.from(keep, (i) => Math.floor(i / c)),
    labels: Int32Array.from(keep, (i) => i % c),
    scores: Float32Array.from(keep, (i) => scores[i]),
  };
}

/**
 * mmdet `_bbox_post_process`: rescale boxes to the original image (divide by
 * `scaleFactor` [w, h]), drop boxes not larger than `minBboxSize`, run
 * class-aware NMS and keep `maxPerImg`.
 */
export function bboxPostProcess(
  bboxes: Float32Array,
  scores: Float32Array,
  labels: Int32Array,
  meta: DetSample['metainfo'],
  cfg: DenseTestCfg,
  rescale: boolean,
): InstanceData {
  const n = scores.length;
  const b = Float32Array.from(bboxes);
  if (rescale && meta.scaleFactor) {
    const [sw, sh] = meta.scaleFactor;
    for (let i = 0; i < n; i++) {
      b[4 * i] /= sw;
      b[4 * i + 1] /= sh;
      b[4 * i + 2] /= sw;
      b[4 * i + 3] /= sh;
    }
  }
  const minSize = cfg.minBboxSize ?? 0;
  let keepIdx: number[] = [];
  for (let i = 0; i < n; i++) {
    if (
      minSize >= 0 &&
      !(b[4 * i + 2] - b[4 * i] > minSize && b[4 * i + 3] - b[4 * i + 1] > minSize)
    )
      continue;
    keepIdx.push(i);
  }
  if (cfg.nms && keepIdx.length) {
    const kb = new Float32Array(keepIdx.length * 4);
    keepIdx.forEach((i, k) => kb.set(b.subarray(4 * i, 4 * i + 4), 4 * k));
    const keep = batchedNms(
      kb,
      Float32Array.from(keepIdx, (i) => scores[i]),
      Int32Array.from(keepIdx, (i) => labels[i]),
      { iouThreshold: cfg.nms.iouThreshold, classAgnostic: cfg.nms.classAgnostic },
    );
    keepIdx = Array.from(keep, (k) => keepIdx[k]);
  } else keepIdx.sort((x, y) => scores[y] - scores[x]);
  const maxPer = cfg.maxPerImg ?? -1;
  if (maxPer > 0) keepIdx = keepIdx.slice(0, maxPer);
  const out: InstanceData = {
    bboxes: new Float32Array(keepIdx.length * 4),
    scores: Float32Array.from(keepIdx, (i) => scores[i]),
    labels: Int32Array.from(keepIdx, (i) => labels[i]),
  };
  keepIdx.forEach((i, k) => out.bboxes.set(b.subarray(4 * i, 4 * i + 4), 4 * k));
  return out;
}

/** Gather rows `idx` of a flat `[n, k]` array. */
export function gatherRows(a: Float32Array, k: number, idx: ArrayLike<number>): Float32Array {
  const out = new Float32Array(idx.length * k);
  for (let r = 0; r < idx.length; r++) out.set(a.subarray(idx[r] * k, idx[r] * k + k), r * k);
  return out;
}

/** Re-draw a conv's weight from N(0, std) and set its bias (mmdet `normal_init`). */
export function normalInit(
  conv: { weight: tf.Variable; bias?: tf.Variable },
  std = 0.01,
  bias = 0,
  seed?: number,
): void {
  conv.weight.assign(tf.randomNormal(conv.weight.shape, 0, std, 'float32', seed ?? nextSeed()));
  conv.bias?.assign(tf.fill(conv.bias.shape, bias));
}

/** mmdet `reduce_mean`-free average factor guard: at least 1. */
export const atLeastOne = (x: number): number => Math.max(x, 1);

/**
 * A prediction sample: the input sample with `predInstances` added, as
 * mmdet's heads add `pred_instances` to the data sample they were given. The
 * meta fields are also at the top level (as mmdet's `DetDataSample` exposes
 * them), which is where the metrics read `imgId` and `oriShape`; the input's
 * `gtInstances` and `ignoredInstances` go along, which is where metrics
 * without an annotation file (VOCMetric, CocoMetric without `annFile`) read
 * the ground truth.
 */
export function toDetDataSample(s: DetSample, inst: InstanceData): DetDataSample {
  // ImgMeta's imgId may be a string (VOC file stems); the spread keeps it as is
  const out = { ...s.metainfo, metainfo: s.metainfo, predInstances: inst } as DetDataSample;
  if (s.gtInstances) out.gtInstances = s.gtInstances;
  if (s.ignoredInstances) out.ignoredInstances = s.ignoredInstances;
  return out;
}
