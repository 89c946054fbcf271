/** In-memory synthetic shapes batches and a tiny training loop for the detector tests. */
import * as tf from '@tensorflow/tfjs-core';
import { renderSyntheticImage } from '../../src/datasets/synthetic.js';
import { Adam } from '../../src/engine/optim/optimizers.js';
import type { DetBatch, DetDataSample, DetSample } from '../../src/structures/index.js';
import type { Module } from '../../src/nn/module.js';
import { boxIouHost } from '../../src/ops/boxes/iou.js';
import { Rng } from '../../src/utils/random.js';
import { imgMeta } from '../helpers/meta.js';

/**
 * `n` rendered images of side `size` (seeded), normalised to roughly [-2, 2],
 * as one batch; with `withMasks`, each object's instance mask (from the
 * object map) too.
 */
export function syntheticBatch(
  n: number,
  size: number,
  seed = 0,
  first = 0,
  withMasks = false,
): DetBatch {
  const data = new Float32Array(n * size * size * 3);
  const dataSamples: DetSample[] = [];
  const opts = {
    objectsPerImage: [1, 3] as [number, number],
    sizeRange: [(40 * size) / 256, (120 * size) / 256] as [number, number],
    occlusionProb: 0,
  };
  for (let k = 0; k < n; k++) {
    const r = renderSyntheticImage(Rng.derive(seed, first + k), size, opts);
    const off = k * size * size * 3;
    for (let i = 0; i < r.pixels.length; i++) data[off + i] = (r.pixels[i] - 128) / 64;
    const gtInstances: DetSample['gtInstances'] = {
      bboxes: Float32Array.from(r.objects.flatMap((o) => o.bbox)),
      labels: Int32Array.from(r.objects.map((o) => o.label)),
    };
    if (withMasks) {
      const masks = r.objects.map((_, j) =>
        Uint8Array.from(r.objectMap, (v) => (v === j + 1 ? 1 : 0)),
      );
      gtInstances.masks = { height: size, width: size, masks };
    }
    dataSamples.push({
      metainfo: imgMeta(size, size, { imgId: first + k, batchInputShape: [size, size] }),
      gtInstances,
    });
  }
  return { inputs: tf.tensor4d(data, [n, size, size, 3]), dataSamples };
}

/** {@link syntheticBatch} with instance masks. */
export const maskBatch = (n: number, size: number, seed: number): DetBatch =>
  syntheticBatch(n, size, seed, 0, true);

type Trainable = Module & { loss(b: DetBatch): Record<string, tf.Scalar | tf.Scalar[]> };

/** Adam steps over `batches` in turn; returns the total loss of every step. */
export function trainSteps(
  model: Trainable,
  batches: DetBatch[],
  iters: number,
  lr = 1e-3,
): number[] {
  const params = model.trainableParameters();
  const opt = new Adam({ lr });
  opt.setParams(params.map(([name, variable]) => ({ name, variable, lrMult: 1, decayMult: 1 })));
  const byVar = new Map(params.map(([name, v]) => [v.name, name]));
  const losses: number[] = [];
  model.train();
  for (let it = 0; it < iters; it++) {
    const batch = batches[it % batches.length];
    const { value, grads } = tf.variableGrads(
      () => {
        const l = model.loss(batch);
        const terms = Object.entries(l)
          .filter(([k]) => k.includes('loss'))
          .flatMap(([, v]) => (Array.isArray(v) ? v : [v]));
        return tf.addN(terms) as tf.Scalar;
      },
      params.map(([, v]) => v),
    );
    losses.push(value.dataSync()[0]);
    opt.step(new Map(Object.entries(grads).map(([k, g]) => [byVar.get(k)!, g])));
    tf.dispose([value, ...Object.values(grads)]);
  }
  return losses;
}

/** Fraction of gt boxes matched by a prediction of the same label with IoU >= 0.5 and score >= `minScore`. */
export function recallAt50(preds: DetDataSample[], samples: DetSample[], minScore = 0.3): number {
  let hit = 0;
  let total = 0;
  preds.forEach((p, i) => {
    const gt = samples[i].gtInstances;
    const g = gt.labels.length;
    total += g;
    const m = p.predInstances.scores.length;
    if (!m || !g) return;
    const iou = boxIouHost(gt.bboxes, p.predInstances.bboxes);
    for (let a = 0; a < g; a++) {
      for (let b = 0; b < m; b++) {
        if (
          p.predInstances.scores[b] >= minScore &&
          p.predInstances.labels[b] === gt.labels[a] &&
          iou[a * m + b] >= 0.5
        ) {
          hit++;
          break;
        }
      }
    }
  });
  return total ? hit / total : 1;
}

export const mean = (xs: number[]): number => xs.reduce((s, x) => s + x, 0) / xs.length;

/** A tiny Faster R-CNN (eighth-width ResNet-18, 16-channel FPN) for two-stage tests on 64-px inputs. */
export const tinyFasterRcnn = {
  type: 'FasterRCNN',
  backbone: {
    type: 'ResNet',
    depth: 18,
    baseChannels: 8,
    numStages: 3,
    outIndices: [1, 2],
    normEval: false,
  },
  neck: { type: 'FPN', inChannels: [16, 32], outChannels: 16, numOuts: 2 },
  rpnHead: {
    type: 'RPNHead',
    inChannels: 16,
    featChannels: 16,
    anchorGenerator: {
      type: 'AnchorGenerator',
      scales: [4],
      ratios: [0.5, 1, 2],
      strides: [8, 16],
    },
    bboxCoder: { type: 'DeltaXYWHBBoxCoder', targetMeans: [0, 0, 0, 0], targetStds: [1, 1, 1, 1] },
  },
  roiHead: {
    type: 'StandardRoIHead',
    bboxRoiExtractor: {
      type: 'SingleRoIExtractor',
      roiLayer: { type: 'RoIAlign', outputSize: 7, samplingRatio: 0 },
      outChannels: 16,
      featmapStrides: [8, 16],
    },
    bboxHead: {
      type: 'Shared2FCBBoxHead',
      inChannels: 16,
      fcOutChannels: 32,
      roiFeatSize: 7,
      numClasses: 5,
    },
  },
  trainCfg: {
    rpn: {
      assigner: {
        type: 'MaxIoUAssigner',
        posIouThr: 0.7,
        negIouThr: 0.3,
        minPosIou: 0.3,
        matchLowQuality: true,
        ignoreIofThr: -1,
      },
      sampler: {
        type: 'RandomSampler',
        num: 64,
        posFraction: 0.5,
        negPosUb: -1,
        addGtAsProposals: false,
      },
      allowedBorder: -1,
      posWeight: -1,
    },
    rpnProposal: {
      nmsPre: 200,
      maxPerImg: 100,
      nms: { type: 'nms', iouThreshold: 0.7 },
      minBboxSize: 0,
    },
    rcnn: {
      assigner: {
        type: 'MaxIoUAssigner',
        posIouThr: 0.5,
        negIouThr: 0.5,
        minPosIou: 0.5,
        matchLowQuality: false,
        ignoreIofThr: -1,
      },
      sampler: {
        type: 'RandomSampler',
        num: 32,
        posFraction: 0.25,
        negPosUb: -1,
        addGtAsProposals: true,
      },
      posWeight: -1,
    },
  },
  testCfg: {
    rpn: { nmsPre: 200, maxPerImg: 100, nms: { type: 'nms', iouThreshold: 0.7 }, minBboxSize: 0 },
    rcnn: { scoreThr: 0.05, nms: { type: 'nms', iouThreshold: 0.5 }, maxPerImg: 100 },
  },
};
