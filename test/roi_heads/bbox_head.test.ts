import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import '../../src/roi_heads/index.js';
import type { ConvFCBBoxHead, RoISampling } from '../../src/roi_heads/index.js';
import type { DetSample } from '../../src/structures/index.js';
import { MODELS } from '../../src/registry.js';
import { imgMeta } from '../helpers/meta.js';

const meta = (scale = 1): DetSample['metainfo'] =>
  imgMeta(64, 64, {
    imgId: 1,
    oriShape: [Math.round(64 / scale), Math.round(64 / scale)],
    scaleFactor: [scale, scale],
  });

const head = (extra: Record<string, unknown> = {}): ConvFCBBoxHead =>
  MODELS.build<ConvFCBBoxHead>({
    type: 'Shared2FCBBoxHead',
    numClasses: 2,
    inChannels: 4,
    fcOutChannels: 8,
    roiFeatSize: 7,
    ...extra,
  });

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('Shared2FCBBoxHead', () => {
  it('two shared FCs on the channel-major flattened RoI, cls over numClasses + 1, class-specific deltas; mmdet names', () => {
    const h = head();
    expect(h.namedParameters().map(([n]) => n)).toEqual([
      'sharedFcs.0.weight',
      'sharedFcs.0.bias',
      'sharedFcs.1.weight',
      'sharedFcs.1.bias',
      'fcCls.weight',
      'fcCls.bias',
      'fcReg.weight',
      'fcReg.bias',
    ]);
    expect(h.sharedFcs.at(0).weight.shape).toEqual([4 * 7 * 7, 8]);
    const { clsScore, bboxPred } = h.forward(tf.ones([3, 7, 7, 4]) as tf.Tensor4D);
    expect(clsScore.shape).toEqual([3, 3]);
    expect(bboxPred.shape).toEqual([3, 8]);
    expect(
      head({ regClassAgnostic: true }).forward(tf.ones([1, 7, 7, 4]) as tf.Tensor4D).bboxPred.shape,
    ).toEqual([1, 4]);
    expect(() => head({ fcOutChannel: 8 })).toThrow(/fcOutChannel/);
    expect(() => head({ lossCls: { type: 'CrossEntropyLoss', useSigmoid: true } })).toThrow(
      /useSigmoid/,
    );
  });

  it('flattens RoI features in (C, H, W) order, as a torch checkpoint expects', () => {
    const h = MODELS.build<ConvFCBBoxHead>({
      type: 'ConvFCBBoxHead',
      numClasses: 1,
      inChannels: 2,
      roiFeatSize: 2,
      numSharedFcs: 1,
      fcOutChannels: 1,
    });
    // Weight row k picks flattened element k; make the FC output the element at (c=1, y=0, x=1) = NCHW index 1*4 + 0*2 + 1 = 5.
    const w = new Float32Array(8);
    w[5] = 1;
    h.sharedFcs.at(0).weight.assign(tf.tensor2d(w, [8, 1]));
    // NHWC input: value 10 * c + 2 * y + x.
    const x = tf.tensor4d([0, 10, 1, 11, 2, 12, 3, 13], [1, 2, 2, 2]);
    h.sharedFcs.at(0).bias!.assign(tf.zeros([1]));
    h.fcCls.weight.assign(tf.tensor2d([[1, 0]]));
    h.fcCls.bias!.assign(tf.zeros([2]));
    expect(h.forward(x).clsScore.dataSync()[0]).toBe(11);
  });

  const samplings: RoISampling[] = [
    {
      posPriors: Float32Array.of(0, 0, 10, 10),
      negPriors: Float32Array.of(30, 30, 40, 40),
      posGtBboxes: Float32Array.of(1, 1, 11, 11),
      posLabels: Int32Array.of(1),
      posAssignedGtInds: Int32Array.of(0),
    },
  ];

  it('targets: gt label and encoded box (stds 0.1, 0.1, 0.2, 0.2) for positives, background for negatives', () => {
    const t = head().getTargets(samplings);
    expect(Array.from(t.labels)).toEqual([1, 2]);
    expect(Array.from(t.labelWeights)).toEqual([1, 1]);
    expect(Array.from(t.posRows)).toEqual([0]);
    // centre shift 1 px of a 10-px box = 0.1, / 0.1 std = 1; same size: log 1 = 0.
    Array.from(t.posTargets).forEach((v, i) => expect(v).toBeCloseTo([1, 1, 0, 0][i], 5));
    expect(Array.from(head().getTargets(samplings, 2).labelWeights)).toEqual([2, 1]);
  });

  it('loss_cls (softmax CE over the sampled RoIs), loss_bbox (L1 on the own-class deltas, over all RoIs) and acc', () => {
    const h = head();
    const t = h.getTargets(samplings);
    const cls = tf.tensor2d([
      [0, 0, 0],
      [0, 0, 1],
    ]);
    // Row 0 is positive with label 1: its deltas are columns 4..7.
    const reg = tf.tensor2d([
      [9, 9, 9, 9, 0.5, 1, 0, 0.2],
      [9, 9, 9, 9, 9, 9, 9, 9],
    ]);
    const l = h.loss(cls, reg, t);
    const ce = (Math.log(3) + Math.log(1 + 2 / Math.E)) / 2;
    expect(l.loss_cls.dataSync()[0]).toBeCloseTo(ce, 5);
    expect(l.loss_bbox.dataSync()[0]).toBeCloseTo((0.5 + 0 + 0 + 0.2) / 2, 5);
    expect(l.acc.dataSync()[0]).toBeCloseTo(50, 4); // row 0 predicts class 0 (first of a tie), row 1 background
    // No positive: loss_bbox is a zero that still depends on the predictions.
    const negOnly = h.getTargets([
      {
        ...samplings[0],
        posPriors: new Float32Array(0),
        posGtBboxes: new Float32Array(0),
        posLabels: new Int32Array(0),
        posAssignedGtInds: new Int32Array(0),
      },
    ]);
    const g = tf.grad(
      (r: tf.Tensor) => h.loss(tf.zeros([1, 3]), r as tf.Tensor2D, negOnly).loss_bbox,
    )(tf.ones([1, 8]));
    expect(Array.from(g.dataSync())).toEqual(new Array(8).fill(0));
  });

  it('gradients of the custom linear match tfjs autodiff', () => {
    const h = head();
    const x = tf.randomNormal([5, 7, 7, 4], 0, 1, 'float32', 3) as tf.Tensor4D;
    const params = h.trainableParameters().map(([, v]) => v);
    const ours = tf.variableGrads(
      () => tf.sum(tf.mul(h.forward(x).clsScore, tf.range(0, 15).reshape([5, 3]))) as tf.Scalar,
      params,
    ).grads;
    const ref = tf.variableGrads(() => {
      let y: tf.Tensor = tf.reshape(tf.transpose(x, [0, 3, 1, 2]), [5, -1]);
      for (const fc of h.sharedFcs) y = tf.relu(tf.add(tf.matMul(y, fc.weight), fc.bias!));
      return tf.sum(
        tf.mul(
          tf.add(tf.matMul(y, h.fcCls.weight), h.fcCls.bias!),
          tf.range(0, 15).reshape([5, 3]),
        ),
      ) as tf.Scalar;
    }, params).grads;
    for (const k of Object.keys(ref)) {
      const a = ours[k].dataSync();
      const b = ref[k].dataSync();
      for (let i = 0; i < b.length; i++) expect(a[i]).toBeCloseTo(b[i], 4);
    }
  });

  it('predict: per-class score threshold, class-wise NMS, maxPerImg, boxes mapped back to the original image', () => {
    const h = head();
    // Two RoIs on the same object, one elsewhere. Zero deltas: the boxes are the RoIs.
    const rois = Float32Array.of(0, 0, 20, 20, 1, 1, 21, 21, 40, 40, 60, 60);
    const ln = Math.log;
    // softmax rows: RoI 0 (0.6, 0.3, 0.1), RoI 1 (0.5, 0.45, 0.05), RoI 2 (0.02, 0.9, 0.08)
    const cls = Float32Array.from([0.6, 0.3, 0.1, 0.5, 0.45, 0.05, 0.02, 0.9, 0.08].map(ln));
    const reg = new Float32Array(3 * 8);
    const cfg = { scoreThr: 0.25, nms: { iouThreshold: 0.5 }, maxPerImg: 100 };
    const r = h.predictByFeatSingle(rois, cls, reg, meta(0.5), cfg, true);
    // Above 0.25: (0, c0 .6), (0, c1 .3), (1, c0 .5), (1, c1 .45), (2, c1 .9). Class 0: RoI 1 overlaps RoI 0 (IoU 361/439) and goes;
    // class 1: RoI 1 (.45) suppresses RoI 0 (.3); RoI 2 is apart. Sorted by score.
    Array.from(r.scores).forEach((v, i) => expect(v).toBeCloseTo([0.9, 0.6, 0.45][i], 5));
    expect(Array.from(r.labels)).toEqual([1, 0, 1]);
    // Boxes back in original pixels: / scale factor 0.5.
    expect(Array.from(r.bboxes)).toEqual([80, 80, 120, 120, 0, 0, 40, 40, 2, 2, 42, 42]);
    const top1 = h.predictByFeatSingle(rois, cls, reg, meta(0.5), { ...cfg, maxPerImg: 1 }, false);
    expect(Array.from(top1.bboxes)).toEqual([40, 40, 60, 60]);
    const none = h.predictByFeatSingle(
      new Float32Array(0),
      new Float32Array(0),
      new Float32Array(0),
      meta(),
      cfg,
      true,
    );
    expect(none.scores.length).toBe(0);
  });
});
