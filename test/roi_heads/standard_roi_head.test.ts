import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import '../../src/roi_heads/index.js';
import { bbox2roi, type StandardRoIHead } from '../../src/roi_heads/index.js';
import type { DetSample } from '../../src/structures/index.js';
import { MODELS } from '../../src/registry.js';
import { addGtAsProposals } from '../../src/task_utils/samplers.js';
import { detSample } from '../helpers/meta.js';

const sample = (boxes: number[][], labels: number[], size = 64): DetSample =>
  detSample(boxes, labels, size);

const roiHead = (sampler: Record<string, unknown>): StandardRoIHead =>
  MODELS.build<StandardRoIHead>({
    type: 'StandardRoIHead',
    bboxRoiExtractor: {
      type: 'SingleRoIExtractor',
      roiLayer: { type: 'RoIAlign', outputSize: 7, samplingRatio: 0 },
      outChannels: 4,
      featmapStrides: [4, 8],
    },
    bboxHead: { type: 'Shared2FCBBoxHead', inChannels: 4, fcOutChannels: 8, numClasses: 3 },
    trainCfg: {
      assigner: {
        type: 'MaxIoUAssigner',
        posIouThr: 0.5,
        negIouThr: 0.5,
        minPosIou: 0.5,
        matchLowQuality: false,
        ignoreIofThr: -1,
      },
      sampler: { type: 'RandomSampler', negPosUb: -1, ...sampler },
      posWeight: -1,
    },
    testCfg: { scoreThr: 0.05, nms: { type: 'nms', iouThreshold: 0.5 }, maxPerImg: 100 },
  });

/** `n` boxes: shifted copies of `box` by `step * i` pixels in x. */
const shifted = (box: number[], n: number, step: number): number[] =>
  Array.from({ length: n }, (_, i) => [
    box[0] + step * i,
    box[1],
    box[2] + step * i,
    box[3],
  ]).flat();

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('RoI sampling (StandardRoIHead + RandomSampler)', () => {
  const gt = sample(
    [
      [0, 0, 20, 20],
      [30, 30, 60, 60],
    ],
    [2, 0],
  );

  it('adds the gt boxes in front of the proposals: without any positive proposal the positives are the gts', () => {
    const h = roiHead({ num: 8, posFraction: 0.5, addGtAsProposals: true });
    // Proposals far from both gts (IoU 0): negatives only.
    const props = Float32Array.from(shifted([0, 40, 10, 50], 3, 2));
    const [r] = h.sampleRois([{ bboxes: props }], [gt]);
    expect(r.posLabels.length).toBe(2);
    expect(Array.from(r.posAssignedGtInds).sort()).toEqual([0, 1]);
    expect(Array.from(r.posPriors)).toEqual(Array.from(r.posGtBboxes)); // a gt box is its own proposal
    expect(r.negPriors.length / 4).toBe(3); // only 3 negatives exist
    const [noGt] = roiHead({ num: 8, posFraction: 0.5, addGtAsProposals: false }).sampleRois(
      [{ bboxes: props }],
      [gt],
    );
    expect(noGt.posLabels.length).toBe(0);
  });

  it('keeps num * posFraction positives and fills up to num with negatives', () => {
    const h = roiHead({ num: 16, posFraction: 0.25, addGtAsProposals: true, seed: 1 });
    // 10 proposals with IoU >= 0.5 with gt 0 (1-px shifts), 40 background proposals.
    const props = Float32Array.from([
      ...shifted([0, 0, 20, 20], 10, 1),
      ...shifted([0, 40, 8, 48], 40, 1),
    ]);
    const [r] = h.sampleRois([{ bboxes: props }], [gt]);
    expect(r.posLabels.length).toBe(4);
    expect(r.negPriors.length / 4).toBe(12);
    for (let k = 0; k < 4; k++)
      expect(r.posLabels[k]).toBe(gt.gtInstances.labels[r.posAssignedGtInds[k]]);
  });

  it('posFraction over many proposals: exactly 128 of 512, the rest negatives (mmdet R-CNN default)', () => {
    const h = roiHead({ num: 512, posFraction: 0.25, addGtAsProposals: true });
    const props = Float32Array.from([
      ...shifted([0, 0, 20, 20], 2, 1),
      ...shifted([30, 30, 60, 60], 1000, 0),
      ...shifted([0, 40, 8, 48], 1000, 0.01),
    ]);
    const [r] = h.sampleRois([{ bboxes: props }], [gt]);
    expect(r.posLabels.length).toBe(128);
    expect(r.negPriors.length / 4).toBe(384);
  });

  it('addGtAsProposals gives each gt IoU 1 with itself', () => {
    const a = addGtAsProposals(
      {
        numGts: 2,
        gtInds: Int32Array.of(0, 2, -1),
        maxOverlaps: Float32Array.of(0.1, 0.7, 0.45),
        labels: Int32Array.of(-1, 4, -1),
      },
      Int32Array.of(3, 4),
    );
    expect(Array.from(a.gtInds)).toEqual([1, 2, 0, 2, -1]);
    expect(Array.from(a.labels)).toEqual([3, 4, -1, 4, -1]);
    expect(Array.from(a.maxOverlaps)).toEqual([1, 1, 0.1, 0.7, 0.45].map(Math.fround));
  });

  it('bbox2roi prefixes each box with its image index', () => {
    expect(
      Array.from(
        bbox2roi([Float32Array.of(1, 2, 3, 4), new Float32Array(0), Float32Array.of(5, 6, 7, 8)]),
      ),
    ).toEqual([0, 1, 2, 3, 4, 2, 5, 6, 7, 8]);
  });
});

describe('StandardRoIHead', () => {
  const feats = (): tf.Tensor4D[] => [
    tf.randomNormal([2, 16, 16, 4], 0, 1, 'float32', 1) as tf.Tensor4D,
    tf.randomNormal([2, 8, 8, 4], 0, 1, 'float32', 2) as tf.Tensor4D,
  ];

  it('loss: loss_cls, loss_bbox, acc over the RoIs of every image; gradients reach the features', () => {
    const h = roiHead({ num: 16, posFraction: 0.25, addGtAsProposals: true });
    const samples = [sample([[4, 4, 30, 30]], [1]), sample([[20, 10, 50, 60]], [2])];
    const props = [
      { bboxes: Float32Array.from(shifted([4, 4, 30, 30], 5, 3)) },
      { bboxes: new Float32Array(0) },
    ];
    const [f0, f1] = feats();
    const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => {
      const l = h.loss([a as tf.Tensor4D, b as tf.Tensor4D], props, samples);
      expect(Object.keys(l).sort()).toEqual(['acc', 'loss_bbox', 'loss_cls']);
      return tf.add(l.loss_cls as tf.Scalar, l.loss_bbox as tf.Scalar);
    })([f0, f1]);
    expect(tf.sum(tf.abs(g[0])).dataSync()[0]).toBeGreaterThan(0);
  });

  it('predict: detections per image (none without proposals), rescaled; mask heads are optional but need an extractor', async () => {
    const h = roiHead({ num: 16, posFraction: 0.25 });
    const s0 = sample([], []);
    const s1 = {
      ...s0,
      metainfo: {
        ...s0.metainfo,
        scaleFactor: [2, 2] as [number, number],
        oriShape: [32, 32] as [number, number],
      },
    };
    const res = await h.predict(
      feats(),
      [{ bboxes: Float32Array.of(4, 4, 30, 30, 10, 10, 40, 40) }, { bboxes: new Float32Array(0) }],
      [s1, s0],
    );
    expect(res).toHaveLength(2);
    expect(res[1].predInstances.scores.length).toBe(0);
    const b = res[0].predInstances.bboxes;
    for (const v of b) expect(v).toBeLessThanOrEqual(32); // boxes clipped to the 64-px input, then halved
    expect(res[0].predInstances.scores.length).toBeGreaterThan(0); // an untrained head scores ~1/(C+1) per class > 0.05
    expect(() =>
      MODELS.build({
        type: 'StandardRoIHead',
        bboxRoiExtractor: {
          type: 'SingleRoIExtractor',
          roiLayer: { type: 'RoIAlign', outputSize: 7 },
          outChannels: 4,
          featmapStrides: [4],
        },
        bboxHead: { type: 'Shared2FCBBoxHead', inChannels: 4, numClasses: 3 },
        maskHead: { type: 'FCNMaskHead', numClasses: 3 },
      }),
    ).toThrow(/maskRoiExtractor/);
  });
});
