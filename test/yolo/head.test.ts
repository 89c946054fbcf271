/**
 * YOLOV3Head on a hand-made case: its targets (encoded box, objectness,
 * one-hot class, negative and ignored anchors, per-level layout), each loss
 * term against hand-computed values, and the prediction path (decode,
 * objectness x class score, rescale). Also MSELoss reductions.
 */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { setBackend } from '../../src/backend/index.js';
import '../../src/detectors/index.js';
import type { YOLOV3Head } from '../../src/heads/index.js';
import type { DetSample } from '../../src/structures/index.js';
import { MSELoss } from '../../src/losses/index.js';
import { MODELS, TASK_UTILS } from '../../src/registry.js';
import { YOLOAnchorGenerator } from '../../src/task_utils/index.js';
import { imgMeta } from '../helpers/meta.js';

beforeAll(async () => {
  await setBackend('cpu');
});

const LN2 = Math.log(2);
const bce = (x: number, t: number): number =>
  Math.max(x, 0) - x * t + Math.log1p(Math.exp(-Math.abs(x)));

function makeHead(testCfg: Record<string, unknown> = {}): YOLOV3Head {
  return MODELS.build<YOLOV3Head>({
    type: 'YOLOV3Head',
    numClasses: 3,
    inChannels: [4, 4],
    outChannels: [4, 4],
    featmapStrides: [32, 16],
    anchorGenerator: {
      type: 'YOLOAnchorGenerator',
      strides: [32, 16],
      baseSizes: [
        [
          [40, 40],
          [56, 56],
        ],
        [
          [12, 12],
          [24, 24],
        ],
      ],
    },
    lossCls: { type: 'CrossEntropyLoss', useSigmoid: true, reduction: 'sum' },
    lossConf: { type: 'CrossEntropyLoss', useSigmoid: true, reduction: 'sum' },
    lossXy: { type: 'CrossEntropyLoss', useSigmoid: true, lossWeight: 2, reduction: 'sum' },
    lossWh: { type: 'MSELoss', lossWeight: 2, reduction: 'sum' },
    trainCfg: { assigner: { type: 'GridAssigner', posIouThr: 0.5, negIouThr: 0.5, minPosIou: 0 } },
    testCfg: {
      nmsPre: 100,
      minBboxSize: 0,
      scoreThr: 0.6,
      confThr: 0.1,
      nms: { type: 'nms', iouThreshold: 0.45 },
      maxPerImg: 10,
      ...testCfg,
    },
  });
}

const meta = (scale = 1): DetSample['metainfo'] =>
  imgMeta(64, 64, {
    oriShape: [64 / scale, 64 / scale],
    scaleFactor: [scale, scale],
    batchInputShape: [64, 64],
  });

// Image 0: one 32x24 box centred at (47.5, 40), class 2. Its centre lies in stride-16 cell (y 2, x 2),
// whose 24x24 anchor [28, 28, 52, 52] overlaps it best of all responsible anchors (IoU 492/852 = 0.58):
// the positive. The 24x24 anchor of the next cell (2, 3), [44, 28, 68, 52], overlaps it by
// 468/876 = 0.53 > negIouThr without being responsible: ignored. Image 1 has no gt: all negatives.
const samples: DetSample[] = [
  {
    metainfo: meta(),
    gtInstances: { bboxes: Float32Array.of(31.5, 28, 63.5, 52), labels: Int32Array.of(2) },
  },
  { metainfo: meta(), gtInstances: { bboxes: new Float32Array(0), labels: new Int32Array(0) } },
];
const K = 8; // 5 + 3 classes
const N = [2 * 2 * 2, 4 * 4 * 2]; // anchors per image on each level
const row1 = (y: number, x: number, a: number): number => (y * 4 + x) * 2 + a; // level-1 row of image 0
const POS = row1(2, 2, 1);
const IGN = row1(2, 3, 1);

/** Prediction maps (zeros) with `set(level, flatIndex, value)` edits. */
function predMaps(
  edit: (set: (l: number, b: number, row: number, k: number, v: number) => void) => void,
): tf.Tensor4D[] {
  const data = [new Float32Array(2 * N[0] * K), new Float32Array(2 * N[1] * K)];
  edit((l, b, row, k, v) => {
    data[l][(b * N[l] + row) * K + k] = v;
  });
  return [tf.tensor4d(data[0], [2, 2, 2, 2 * K]), tf.tensor4d(data[1], [2, 4, 4, 2 * K])];
}

const val = (x: tf.Scalar | tf.Scalar[] | undefined): number[] =>
  (x as tf.Scalar[]).map((s) => s.dataSync()[0]);

describe('YOLOV3Head targets', () => {
  it('one positive with its encoded box, objectness and one-hot class; the ignored anchor; negatives elsewhere', () => {
    const head = makeHead();
    const t = head.getTargets(
      [
        [2, 2],
        [4, 4],
      ],
      samples,
    );
    expect(t.numPos).toBe(1);
    expect(t.targetMaps[0].every((v) => v === 0)).toBe(true);
    const rowPos = Array.from(t.targetMaps[1].subarray(POS * K, POS * K + K));
    const want = [(47.5 - 40) / 16 + 0.5, 0.5, Math.log(32 / 24), 0, 1, 0, 0, 1];
    rowPos.forEach((v, i) => expect(v).toBeCloseTo(want[i], 6));
    // every other row is all zero
    let nonzero = 0;
    t.targetMaps[1].forEach((v, i) => (v !== 0 && Math.floor(i / K) !== POS ? nonzero++ : 0));
    expect(nonzero).toBe(0);
    // negatives: everything of level 0, everything of level 1 but the positive and the ignored anchor, all of image 1
    expect(Array.from(t.negMaps[0])).toEqual(new Array(2 * N[0]).fill(1));
    const neg1 = Array.from(t.negMaps[1]);
    expect(neg1[POS]).toBe(0);
    expect(neg1[IGN]).toBe(0);
    expect(neg1.filter((v) => v === 1)).toHaveLength(2 * N[1] - 2);
    expect(t.assign[0].gtInds[N[0] + IGN]).toBe(-1);
  });

  it('label smoothing spreads oneHotSmoother over the classes', () => {
    const head = MODELS.build<YOLOV3Head>({
      ...(makeHead() as unknown as { opts: object }).opts,
      type: 'YOLOV3Head',
      oneHotSmoother: 0.3,
    });
    const t = head.getTargets(
      [
        [2, 2],
        [4, 4],
      ],
      samples,
    );
    Array.from(t.targetMaps[1].subarray(POS * K + 5, POS * K + 8)).forEach((v, c) =>
      expect(v).toBeCloseTo(c === 2 ? 0.7 + 0.1 : 0.1, 6),
    );
  });
});

describe('YOLOV3Head losses', () => {
  it('all-zero logits: each term by hand, per level', () => {
    const head = makeHead();
    const l = head.lossByFeat(
      predMaps(() => {}),
      samples,
    );
    // cls: 1 positive x 3 classes x BCE(0, .) = ln 2 each
    expect(val(l.loss_cls)[0]).toBeCloseTo(0, 6);
    expect(val(l.loss_cls)[1]).toBeCloseTo(3 * LN2, 5);
    // conf: positives + negatives; level 0 has 16 rows, level 1 64 rows minus the ignored one
    expect(val(l.loss_conf)[0]).toBeCloseTo(16 * LN2, 4);
    expect(val(l.loss_conf)[1]).toBeCloseTo(63 * LN2, 4);
    // xy: weight 2 x (BCE(0, 0.96875) + BCE(0, 0.5))
    expect(val(l.loss_xy)[1]).toBeCloseTo(2 * 2 * LN2, 5);
    // wh: weight 2 x ((0 - log(32/24))^2 + 0^2)
    expect(val(l.loss_wh)[1]).toBeCloseTo(2 * Math.log(32 / 24) ** 2, 5);
    expect(val(l.loss_xy)[0]).toBe(0);
    expect(val(l.loss_wh)[0]).toBe(0);
  });

  it('non-zero logits: only the right rows count', () => {
    const head = makeHead();
    const l = head.lossByFeat(
      predMaps((set) => {
        set(1, 0, POS, 0, 1.5); // x logit
        set(1, 0, POS, 2, 0.25); // log w
        set(1, 0, POS, 4, 2); // objectness of the positive
        set(1, 0, POS, 7, 3); // class 2 logit
        set(1, 0, POS, 5, -1); // class 0 logit
        set(1, 0, IGN, 4, 7); // objectness of the ignored anchor: no loss
        set(1, 0, IGN, 5, 9); // class logit of a non-positive: no loss
        set(1, 1, 5, 4, -4); // objectness of a negative of image 1
      }),
      samples,
    );
    expect(val(l.loss_cls)[1]).toBeCloseTo(bce(-1, 0) + LN2 + bce(3, 1), 5);
    expect(val(l.loss_conf)[1]).toBeCloseTo(61 * LN2 + bce(2, 1) + bce(-4, 0), 4);
    expect(val(l.loss_xy)[1]).toBeCloseTo(2 * (bce(1.5, 0.96875) + LN2), 5);
    expect(val(l.loss_wh)[1]).toBeCloseTo(2 * (0.25 - Math.log(32 / 24)) ** 2, 5);
  });

  it('gradients flow to the prediction maps of positives (all terms) and negatives (objectness only)', () => {
    const head = makeHead();
    const maps = predMaps(() => {});
    const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => {
      const l = head.lossByFeat([a as tf.Tensor4D, b as tf.Tensor4D], samples);
      return tf.addN(Object.values(l).flatMap((v) => v as tf.Scalar[])) as tf.Scalar;
    })(maps);
    const g1 = g[1].dataSync();
    const at = (b: number, row: number, k: number): number => g1[(b * N[1] + row) * K + k];
    expect(at(0, POS, 0)).toBeCloseTo(2 * (0.5 - 0.96875), 5); // d BCE / dx = sigmoid(x) - t, weight 2
    expect(at(0, POS, 2)).toBeCloseTo(2 * 2 * (0 - Math.log(32 / 24)), 5); // d (x - t)^2 = 2 (x - t), weight 2
    expect(at(0, POS, 4)).toBeCloseTo(-0.5, 5);
    expect(at(0, IGN, 4)).toBe(0);
    expect(at(0, IGN, 0)).toBe(0);
    expect(at(1, 3, 4)).toBeCloseTo(0.5, 5);
    expect(at(1, 3, 5)).toBe(0);
  });

  it('a batch without any gt: only objectness loss, no NaN', () => {
    const head = makeHead();
    const l = head.lossByFeat(
      predMaps(() => {}),
      [samples[1], samples[1]],
    );
    expect(val(l.loss_cls)).toEqual([0, 0]);
    expect(val(l.loss_conf)[1]).toBeCloseTo(64 * LN2, 4);
  });
});

describe('YOLOV3Head predict', () => {
  it('decodes the confident anchor, scores objectness x class, rescales', async () => {
    const head = makeHead();
    const maps = predMaps((set) => {
      set(1, 0, POS, 2, Math.log(32 / 24));
      set(1, 0, POS, 4, 3);
      set(1, 0, POS, 5, -5);
      set(1, 0, POS, 6, -5);
      set(1, 0, POS, 7, 4);
    });
    const s = [
      { ...samples[0], metainfo: meta(2) },
      { ...samples[1], metainfo: meta(2) },
    ];
    const [p0, p1] = await head.predictByFeat(maps, s, true);
    const sig = (x: number): number => 1 / (1 + Math.exp(-x));
    expect(Array.from(p0.predInstances.labels)).toEqual([2]);
    expect(p0.predInstances.scores[0]).toBeCloseTo(sig(3) * sig(4), 6);
    // centre (40, 40), 32x24, in input pixels [24, 28, 56, 52]; scale factor 2 -> original pixels
    Array.from(p0.predInstances.bboxes).forEach((v, i) =>
      expect(v).toBeCloseTo([12, 14, 28, 26][i], 4),
    );
    expect(p1.predInstances.scores.length).toBe(0); // all class probabilities 0.5 < scoreThr 0.6
    const raw = (await head.predictByFeat(maps, samples, false))[0];
    Array.from(raw.predInstances.bboxes).forEach((v, i) =>
      expect(v).toBeCloseTo([24, 28, 56, 52][i], 4),
    );
  });

  it('confThr drops low-objectness anchors before the class score', async () => {
    const head = makeHead({ confThr: 0.96, scoreThr: 0 });
    const maps = predMaps((set) => set(1, 0, POS, 4, 3)); // objectness sigmoid(3) = 0.9526 < 0.96
    expect((await head.predictByFeat(maps, samples, false))[0].predInstances.scores.length).toBe(0);
    const all = makeHead({ confThr: 0.9, scoreThr: 0, maxPerImg: 100, nms: null });
    // one anchor passes confThr: its 3 class scores (0.5 each) times 0.9526
    const p = (await all.predictByFeat(maps, samples, false))[0].predInstances;
    expect(p.scores.length).toBe(3);
    p.scores.forEach((v) => expect(v).toBeCloseTo(0.5 / (1 + Math.exp(-3)), 6));
  });

  it('builds with the registered YOLOAnchorGenerator (one class), and names the wrong generator it got', () => {
    expect(TASK_UTILS.get('YOLOAnchorGenerator')).toBe(YOLOAnchorGenerator);
    const head = makeHead();
    expect(head.priorGenerator).toBeInstanceOf(YOLOAnchorGenerator);
    expect(head.priorGenerator.constructor.name).toBe('YOLOAnchorGenerator');
    expect(head.numAnchors).toBe(2);
    expect(() =>
      MODELS.build({
        type: 'YOLOV3Head',
        numClasses: 3,
        inChannels: [4],
        outChannels: [4],
        featmapStrides: [32],
        anchorGenerator: {
          type: 'SSDAnchorGenerator',
          strides: [32],
          ratios: [[2]],
          minSizes: [8],
          maxSizes: [16],
        },
      }),
    ).toThrow(
      /needs a YOLOAnchorGenerator \(it provides the responsible flags\), got SSDAnchorGenerator$/,
    );
  });

  it('config errors name the field', () => {
    expect(() =>
      MODELS.build(
        { type: 'YOLOV3Head', numClasses: 3, inChannels: [4, 4], outChannels: [4] },
        { path: 'model.bboxHead' },
      ),
    ).toThrow(
      /inChannels \[4,4\], outChannels \[4\] and featmapStrides \[32,16,8\] must have the same length/,
    );
    expect(() =>
      MODELS.build({
        type: 'YOLOV3Head',
        numClasses: 3,
        inChannels: [4],
        outChannels: [4],
        featmapStrides: [32],
        anchorGenerator: { type: 'AnchorGenerator', strides: [32], ratios: [1], scales: [1] },
      }),
    ).toThrow(/needs a YOLOAnchorGenerator/);
    expect(() =>
      MODELS.build(
        { type: 'YOLOV3Head', numClasses: 3, inChannels: [4, 4, 4], lossWH: {} },
        { path: 'model.bboxHead' },
      ),
    ).toThrow(/lossWH/);
  });
});

describe('MSELoss', () => {
  it('reductions, weight, avgFactor, lossWeight', () => {
    const p = tf.tensor2d([
      [1, 2],
      [3, 4],
    ]);
    const t = tf.tensor2d([
      [0, 2],
      [1, 1],
    ]);
    // squared errors 1, 0, 4, 9
    expect(new MSELoss().forward(p, t).dataSync()[0]).toBeCloseTo(14 / 4, 6);
    expect(
      new MSELoss({ reduction: 'sum', lossWeight: 2 }).forward(p, t).dataSync()[0],
    ).toBeCloseTo(28, 5);
    expect(Array.from(new MSELoss({ reduction: 'none' }).forward(p, t).dataSync())).toEqual([
      1, 0, 4, 9,
    ]);
    expect(
      new MSELoss({ reduction: 'sum' })
        .forward(p, t, { weight: tf.tensor1d([0, 1]) })
        .dataSync()[0],
    ).toBeCloseTo(13, 5);
    expect(new MSELoss().forward(p, t, { avgFactor: 2 }).dataSync()[0]).toBeCloseTo(7, 5);
    expect(() => new MSELoss().forward(p, tf.zeros([4]))).toThrow(/same shape/);
    expect(() =>
      MODELS.build({ type: 'MSELoss', reduce: 'sum' }, { path: 'model.bboxHead.lossWh' }),
    ).toThrow(/reduce/);
  });
});
