import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { batchedNms, boxIou, nms, roiAlign, roiPool } from '../../src/ops/index.js';
import { fixture, maxAbsDiff, useBackend } from './helpers.js';

const iouFx = fixture('box_iou.json');
const nmsFx = fixture('nms.json');
const bnmsFx = fixture('batched_nms.json');
const roiFx = fixture('roi_align.json');
const errors: Record<string, number> = {};

afterAll(() => {
  console.log(`max abs error vs torchvision ${iouFx.torchvision}: ${JSON.stringify(errors)}`);
});

for (const backend of ['cpu', 'wasm'] as const) {
  describe(`torchvision fixtures on ${backend}`, () => {
    beforeAll(() => useBackend(backend));
    const note = (k: string, v: number) =>
      (errors[`${backend}.${k}`] = Math.max(errors[`${backend}.${k}`] ?? 0, v));

    it('boxIou and GIoU match box_iou / generalized_box_iou within 1e-5 (NaN where torchvision has NaN)', () => {
      const a = tf.tensor2d(iouFx.a, [iouFx.n, 4]);
      const b = tf.tensor2d(iouFx.b, [iouFx.m, 4]);
      const iou = boxIou(a, b).dataSync();
      const giou = boxIou(a, b, { mode: 'giou' }).dataSync();
      // The fixture writes torchvision's NaN (0/0 for empty boxes) as null.
      const ref = iouFx.iou.map((v: number | null) => (v === null ? NaN : v));
      const gref = iouFx.giou.map((v: number | null) => (v === null ? NaN : v));
      note('boxIou', maxAbsDiff(iou, ref));
      note('giou', maxAbsDiff(giou, gref));
      expect(maxAbsDiff(iou, ref)).toBeLessThan(1e-5);
      expect(maxAbsDiff(giou, gref)).toBeLessThan(1e-5);
      // aligned pairs = diagonal
      const n = 30;
      const al = boxIou(a, tf.slice(b, [0, 0], [n, 4]) as tf.Tensor2D, {
        aligned: true,
      }).dataSync();
      const diag = Array.from({ length: n }, (_, i) => ref[i * iouFx.m + i]);
      expect(maxAbsDiff(al, diag)).toBeLessThan(1e-5);
    });

    it('nms keeps exactly the indices torchvision keeps', () => {
      for (const c of nmsFx.cases) {
        const n = c.scores.length;
        const keep = nms(tf.tensor2d(c.boxes, [n, 4]), tf.tensor1d(c.scores), c.iou);
        expect(Array.from(keep)).toEqual(c.keep);
      }
    });

    it('batchedNms keeps exactly the indices torchvision keeps (offset trick and per-class loop)', () => {
      for (const c of bnmsFx.cases) {
        const n = c.scores.length;
        const args = [
          tf.tensor2d(c.boxes, [n, 4]),
          tf.tensor1d(c.scores),
          tf.tensor1d(c.labels, 'int32'),
        ] as const;
        // torchvision switches to the per-class loop above 1000 boxes.
        expect(Array.from(batchedNms(...args, { iouThreshold: c.iou, splitThr: 1001 }))).toEqual(
          c.keep,
        );
        // mmcv's default split (10000) uses the offset trick here; same result on these sets.
        expect(Array.from(batchedNms(...args, { iouThreshold: c.iou }))).toEqual(c.keep);
      }
    });

    it('roiAlign forward and its gradient match torchvision within 1e-5', () => {
      let runs = 0;
      for (const c of roiFx.cases) {
        const feat = tf.tensor4d(c.features, c.shape);
        const rois = tf.tensor2d(c.rois, [c.k, 5]);
        for (const r of c.runs) {
          const opts = {
            outputSize: r.outputSize as [number, number],
            spatialScale: c.scale,
            samplingRatio: r.samplingRatio,
            aligned: r.aligned,
          };
          const out = roiAlign(feat, rois, opts);
          const dy = tf.tensor(r.dy, out.shape);
          const g = tf.grad((x: tf.Tensor) => roiAlign(x as tf.Tensor4D, rois, opts))(feat, dy);
          const eo = maxAbsDiff(out.dataSync(), r.out);
          const eg = maxAbsDiff(g.dataSync(), r.grad);
          note('roiAlign', eo);
          note('roiAlignGrad', eg);
          expect(eo, `forward scale ${c.scale} ${JSON.stringify(opts)}`).toBeLessThan(1e-5);
          expect(eg, `backward scale ${c.scale} ${JSON.stringify(opts)}`).toBeLessThan(1e-5);
          runs++;
        }
        const p = c.pool;
        const out = roiPool(feat, rois, { outputSize: p.outputSize, spatialScale: c.scale });
        const dy = tf.tensor(p.dy, out.shape);
        const g = tf.grad((x: tf.Tensor) =>
          roiPool(x as tf.Tensor4D, rois, { outputSize: p.outputSize, spatialScale: c.scale }),
        )(feat, dy);
        note('roiPool', maxAbsDiff(out.dataSync(), p.out));
        note('roiPoolGrad', maxAbsDiff(g.dataSync(), p.grad));
        expect(maxAbsDiff(out.dataSync(), p.out)).toBeLessThan(1e-5);
        expect(maxAbsDiff(g.dataSync(), p.grad)).toBeLessThan(1e-5);
      }
      // 8 per case with samplingRatio 0 and 2, and 2 with -1 (torchvision's default).
      expect(runs).toBe(30);
      let adaptive = 0;
      for (const c of roiFx.cases) for (const r of c.runs) if (r.samplingRatio === -1) adaptive++;
      expect(adaptive).toBe(6);
    });
  });
}
