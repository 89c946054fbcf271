import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { TASK_UTILS } from '../../src/registry.js';
import {
  AnchorGenerator,
  MlvlPointGenerator,
  SSDAnchorGenerator,
  YOLOAnchorGenerator,
} from '../../src/task_utils/index.js';
import { fixture, maxAbsDiff, useBackend } from '../ops/helpers.js';

const fx = fixture('anchors.json');

describe('prior generators vs mmdetection formulas', () => {
  beforeAll(() => useBackend('wasm'));

  it('RetinaNet AnchorGenerator (octave scales, 5 levels) equals mmdet bit for bit, valid flags too', () => {
    const r = fx.retinanet;
    const gen = TASK_UTILS.build<AnchorGenerator>({
      type: 'AnchorGenerator',
      octaveBaseScale: 4,
      scalesPerOctave: 3,
      ratios: [0.5, 1.0, 2.0],
      strides: [8, 16, 32, 64, 128],
    });
    expect(gen.numBasePriors).toEqual([9, 9, 9, 9, 9]);
    const host = gen.gridPriorsHost(r.featmapSizes);
    const dev = gen.gridPriors(r.featmapSizes);
    const valid = gen.validFlagsHost(r.featmapSizes, r.padShape);
    r.levels.forEach((lvl: any, i: number) => {
      expect(Array.from(gen.baseAnchors[i])).toEqual(lvl.base);
      expect(Array.from(host[i])).toEqual(lvl.anchors);
      expect(Array.from(dev[i].dataSync())).toEqual(lvl.anchors);
      expect(dev[i].shape).toEqual([lvl.anchors.length / 4, 4]);
      expect(Array.from(valid[i])).toEqual(lvl.valid);
    });
  });

  it('SSD300 SSDAnchorGenerator equals mmdet (min/max sizes, ratios, order)', () => {
    const s = fx.ssd300;
    const gen = TASK_UTILS.build<SSDAnchorGenerator>({
      type: 'SSDAnchorGenerator',
      scaleMajor: false,
      inputSize: 300,
      basesizeRatioRange: [0.15, 0.9],
      strides: s.strides,
      ratios: s.ratios,
    });
    expect(gen.minSizes).toEqual(s.minSizes);
    expect(gen.maxSizes).toEqual(s.maxSizes);
    expect(gen.numBasePriors).toEqual([4, 6, 6, 6, 4, 4]);
    const all = gen.gridPriors(s.featmapSizes);
    let total = 0;
    s.levels.forEach((lvl: any, i: number) => {
      expect(Array.from(gen.baseAnchors[i])).toEqual(lvl.base);
      expect(maxAbsDiff(all[i].dataSync(), lvl.anchors)).toBe(0);
      total += all[i].shape[0];
    });
    expect(total).toBe(8732);
  });

  it('doc examples: tiny AnchorGenerator, YOLO and point generators', () => {
    const gen = new AnchorGenerator({ strides: [16], ratios: [1], scales: [1], baseSizes: [9] });
    expect(Array.from(gen.gridPriorsHost([[2, 2]])[0])).toEqual([
      -4.5, -4.5, 4.5, 4.5, 11.5, -4.5, 20.5, 4.5, -4.5, 11.5, 4.5, 20.5, 11.5, 11.5, 20.5, 20.5,
    ]);
    const centred = new AnchorGenerator({
      strides: [16],
      ratios: [1],
      scales: [1],
      centerOffset: 0.5,
    });
    expect(Array.from(centred.baseAnchors[0])).toEqual([0, 0, 16, 16]);
    const yolo = TASK_UTILS.build<YOLOAnchorGenerator>({
      type: 'YOLOAnchorGenerator',
      strides: [32],
      baseSizes: [
        [
          [116, 90],
          [156, 198],
        ],
      ],
    });
    expect(Array.from(yolo.baseAnchors[0])).toEqual([-42, -29, 74, 61, -62, -83, 94, 115]);
    expect(Array.from(yolo.gridPriors([[1, 2]])[0].dataSync())).toEqual([
      -42, -29, 74, 61, -62, -83, 94, 115, -10, -29, 106, 61, -30, -83, 126, 115,
    ]);
    const pts = TASK_UTILS.build<MlvlPointGenerator>({
      type: 'MlvlPointGenerator',
      strides: [8, 16],
    });
    const [p0, p1] = pts.gridPriorsHost(
      [
        [1, 2],
        [1, 1],
      ],
      true,
    );
    expect(Array.from(p0)).toEqual([4, 4, 8, 8, 12, 4, 8, 8]);
    expect(Array.from(p1)).toEqual([8, 8, 16, 16]);
    expect(
      Array.from(new MlvlPointGenerator({ strides: [8], offset: 0 }).gridPriorsHost([[2, 1]])[0]),
    ).toEqual([0, 0, 0, 8]);
    expect(
      Array.from(
        pts.validFlagsHost(
          [
            [2, 2],
            [1, 1],
          ],
          [8, 9],
        )[0],
      ),
    ).toEqual([1, 1, 0, 0]);
    const ssd = new SSDAnchorGenerator({
      strides: [8, 16, 32, 64, 100, 300],
      ratios: [[2], [2, 3], [2, 3], [2, 3], [2], [2]],
      scaleMajor: false,
    });
    expect(Array.from(ssd.baseAnchors[0].slice(0, 8)).map((v) => +v.toFixed(6))).toEqual([
      -6.5, -6.5, 14.5, 14.5, -11.370426, -11.370426, 19.370426, 19.370426,
    ]);
  });

  it("torchvision's anchors: per-level sizes, base anchors rounded half to even, strides from the feature sizes", () => {
    // torchvision AnchorGenerator(((32, 40),), ((0.5, 1.0),)): stack([-ws, -hs, ws, hs]) / 2, rounded
    const gen = new AnchorGenerator({
      strides: [8, 64],
      ratios: [0.5, 1],
      sizes: [[32, 40], [5]],
      roundBase: true,
      stridesFromFeatmaps: true,
    });
    // ws = [45.25, 56.57, 32, 40] / 2 -> 22.63, 28.28, 16, 20 (rounded: 23, 28, 16, 20); hs / 2 = 11.31, 14.14, 16, 20
    expect(Array.from(gen.baseAnchors[0])).toEqual([
      -23, -11, 23, 11, -28, -14, 28, 14, -16, -16, 16, 16, -20, -20, 20, 20,
    ]);
    // 5 * 0.707 / 2 = 1.77 -> 2, 5 * 1.414 / 2 = 3.54 -> 4; 5 / 2 = 2.5 -> 2 (half to even)
    expect(Array.from(gen.baseAnchors[1])).toEqual([-4, -2, 4, 2, -2, -2, 2, 2]);
    // a 160 x 224 input: P3 20 x 28; the second level 3 x 4 gets strides floor(224 / 4) = 56, floor(160 / 3) = 53
    expect(
      gen.levelStrides([
        [20, 28],
        [3, 4],
      ]),
    ).toEqual([
      [8, 8],
      [56, 53],
    ]);
    const last = gen.gridPriorsHost([
      [20, 28],
      [3, 4],
    ])[1];
    expect(Array.from(last.subarray(last.length - 4))).toEqual([
      3 * 56 - 2,
      2 * 53 - 2,
      3 * 56 + 2,
      2 * 53 + 2,
    ]);
    expect(
      () => new AnchorGenerator({ strides: [8], ratios: [1], sizes: [[32]], scales: [1] }),
    ).toThrow(/'sizes' replaces/);
    expect(() => new AnchorGenerator({ strides: [8, 16], ratios: [1], sizes: [[32]] })).toThrow(
      /'sizes' has 1 levels for 2 strides/,
    );
  });

  it('rejects bad configs with clear messages', () => {
    expect(() => new AnchorGenerator({ strides: [8], ratios: [1] })).toThrow(
      /scales.*octaveBaseScale/,
    );
    expect(
      () => new AnchorGenerator({ strides: [8], ratios: [1], scales: [1], baseSizes: [1, 2] }),
    ).toThrow(/baseSizes/);
    expect(() => new SSDAnchorGenerator({ strides: [8, 16], ratios: [[2]] })).toThrow(/ratios/);
    expect(
      () =>
        new SSDAnchorGenerator({ strides: [8, 16, 32], ratios: [[2], [2], [2]], inputSize: 400 }),
    ).toThrow(/inputSize/);
    const gen = new AnchorGenerator({ strides: [8, 16], ratios: [1], scales: [1] });
    expect(() => gen.gridPriors([[2, 2]])).toThrow(/expected 2 feature map sizes/);
    expect(tf.memory().numTensors).toBeGreaterThanOrEqual(0);
  });
});
