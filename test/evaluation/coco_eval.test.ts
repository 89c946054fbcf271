import { describe, expect, it } from 'vitest';
import {
  evaluateCoco,
  formatCocoSummary,
  linspace,
  parseCocoDataset,
  parseCocoResults,
  pyFixed3,
} from '../../src/evaluation/index.js';
import { hasReal, readFixture } from './helpers.js';

const cases: any[] = readFixture('coco_expected.json');

function loadDt(rel: string): any[] {
  if (rel === 'coco_synth_dt_segm.json+bbox') {
    const b = readFixture('coco_synth_dt_bbox.json');
    return readFixture('coco_synth_dt_segm.json').map((s: any, i: number) => ({
      ...s,
      bbox: b[i].bbox,
    }));
  }
  const d = readFixture(rel);
  const list = Array.isArray(d) ? d : d.annotations;
  return list.map((x: any) => ({ ...x, image_id: Number(x.image_id) }));
}

describe('evaluateCoco equals pycocotools', () => {
  for (const c of cases) {
    const real = c.gt.startsWith('real/');
    it.skipIf(real && !hasReal)(c.name, () => {
      const gt = parseCocoDataset(readFixture(c.gt));
      const dt = parseCocoResults(loadDt(c.dt));
      const p = c.params;
      const r = evaluateCoco(gt, dt, {
        iouType: c.iouType,
        useCats: p.useCats === undefined ? undefined : !!p.useCats,
        maxDets: p.maxDets,
        iouThrs: p.iouThrs,
        imgIds: p.imgIds,
        catIds: p.catIds,
      });
      expect(r.counts).toEqual(c.counts);
      expect(r.stats.length).toBe(12);
      expect(formatCocoSummary(r).split('\n')).toEqual(c.lines);
      // the requirement is 1e-9; the implementation reproduces numpy's summation order, so the bits agree
      for (let i = 0; i < 12; i++) expect(r.stats[i], `stat ${i}`).toBe(c.stats[i]);
      const [T, R, K, A, M] = r.counts;
      for (let j = 0; j < c.recall.length; j++)
        expect(Math.abs(r.recall[j] - c.recall[j])).toBeLessThanOrEqual(1e-12);
      for (let k = 0; k < K; k++)
        for (let a = 0; a < A; a++)
          for (let m = 0; m < M; m++) {
            const vals: number[] = [];
            for (let t = 0; t < T; t++)
              for (let ri = 0; ri < R; ri++) {
                const v = r.precision[(((t * R + ri) * K + k) * A + a) * M + m];
                if (v > -1) vals.push(v);
              }
            const mean = vals.length ? vals.reduce((s, v) => s + v, 0) / vals.length : -1;
            expect(Math.abs(mean - c.precisionMean[(k * A + a) * M + m])).toBeLessThanOrEqual(1e-9);
          }
    });
  }
});

describe('COCO evaluation details', () => {
  it('thresholds are numpy linspace values', () => {
    const t = linspace(0.5, 0.95, 10);
    expect(t[5]).toBe(0.75);
    expect(t[1]).toBe(0.55);
    expect(linspace(0, 1, 101)[7]).toBe(0.07);
  });

  it('perfect single detection', () => {
    const gt = {
      images: [{ id: 1, width: 10, height: 10 }],
      categories: [{ id: 1, name: 'a' }],
      annotations: [
        { id: 1, image_id: 1, category_id: 1, bbox: [0, 0, 4, 4], area: 16, iscrowd: 0 },
      ],
    };
    const r = evaluateCoco(gt, [{ image_id: 1, category_id: 1, bbox: [0, 0, 4, 4], score: 0.9 }]);
    // precision of a perfect detection is 1 / (1 + np.spacing(1)) in pycocotools too
    expect(r.stats.map((v) => Number(v.toFixed(12)))).toEqual([
      1, 1, 1, 1, -1, -1, 1, 1, 1, 1, -1, -1,
    ]);
    expect(r.stats[0]).toBe(1 / (1 + 2.220446049250313e-16));
    const lines = formatCocoSummary(r).split('\n');
    expect(lines).toHaveLength(12);
    expect(lines[0]).toBe(
      ' Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = 1.000',
    );
    expect(lines[6]).toBe(
      ' Average Recall     (AR) @[ IoU=0.50:0.95 | area=   all | maxDets=  1 ] = 1.000',
    );
    expect(lines[4]).toBe(
      ' Average Precision  (AP) @[ IoU=0.50:0.95 | area=medium | maxDets=100 ] = -1.000',
    );
  });

  it('results on images outside the ground truth are rejected', () => {
    const gt = { images: [{ id: 1 }], categories: [{ id: 1, name: 'a' }], annotations: [] };
    expect(() =>
      evaluateCoco(gt, [{ image_id: 2, category_id: 1, bbox: [0, 0, 1, 1], score: 1 }]),
    ).toThrow(/image_id 2/);
  });

  it('python-style rounding of printed numbers', () => {
    expect(pyFixed3(0.0625)).toBe('0.062');
    expect(pyFixed3(0.0635)).toBe((0.0635).toFixed(3));
    expect(pyFixed3(-1)).toBe('-1.000');
    expect(pyFixed3(0.12345)).toBe('0.123');
  });

  it('bad input names the JSON path', () => {
    expect(() =>
      parseCocoResults([{ image_id: 1, category_id: 1, bbox: [0, 0, 1], score: 1 }], 'dt.json'),
    ).toThrow(/dt\.json: \[0\]\.bbox/);
    expect(() =>
      parseCocoDataset(
        { images: [], categories: [], annotations: [{ id: 1, image_id: 1, category_id: 1 }] },
        'gt.json',
      ),
    ).toThrow(/gt\.json: annotations\[0\]\.area/);
    expect(() =>
      parseCocoDataset(
        { images: [{ id: 1 }, { id: '2' }], annotations: [], categories: [] },
        'gt.json',
      ),
    ).toThrow('gt.json: images[1].id: expected number, got "2"');
    expect(() => parseCocoDataset([1, 2], 'gt.json')).toThrow(
      'gt.json: (root): expected a COCO data set object',
    );
    expect(() => parseCocoResults({ foo: 1 }, 'dt.json')).toThrow(
      'dt.json: (root): expected an array of results',
    );
  });
});

describe('the synthetic COCO fixture covers the cases pycocotools must agree on', () => {
  it('crowd boxes, all area ranges and their bounds, images without ground truth, classes without detections, >100 detections per image, tied scores', () => {
    const gt = readFixture('coco_synth_gt.json');
    const dt: any[] = readFixture('coco_synth_dt_bbox.json');
    const anns: any[] = gt.annotations;
    expect(anns.filter((a) => a.iscrowd).length).toBeGreaterThan(3);
    expect(anns.some((a) => a.area < 32 ** 2)).toBe(true);
    expect(anns.some((a) => a.area > 32 ** 2 && a.area < 96 ** 2)).toBe(true);
    expect(anns.some((a) => a.area > 96 ** 2)).toBe(true);
    expect(anns.some((a) => a.area === 32 ** 2) && anns.some((a) => a.area === 96 ** 2)).toBe(true);
    expect(anns.some((a) => a.ignore === 1 && !a.iscrowd)).toBe(true);
    const withGt = new Set(anns.map((a) => a.image_id));
    expect(
      gt.images.filter((i: any) => !withGt.has(i.id) && dt.some((d) => d.image_id === i.id)).length,
    ).toBeGreaterThan(0);
    const detCats = new Set(dt.map((d) => d.category_id));
    expect(anns.some((a) => !detCats.has(a.category_id))).toBe(true); // class with ground truth, no detections
    expect(gt.categories.some((c: any) => !anns.some((a) => a.category_id === c.id))).toBe(true); // class absent entirely
    const perImgCat = new Map<string, number>();
    for (const d of dt)
      perImgCat.set(
        `${d.image_id}/${d.category_id}`,
        (perImgCat.get(`${d.image_id}/${d.category_id}`) ?? 0) + 1,
      );
    expect(Math.max(...perImgCat.values())).toBeGreaterThan(100);
    const scores = dt.map((d) => d.score);
    expect(new Set(scores).size).toBeLessThan(scores.length * 0.7); // many tied scores
    expect(
      anns.some((a) => Array.isArray(a.segmentation)) &&
        anns.some((a) => typeof a.segmentation?.counts === 'string'),
    ).toBe(true);
    expect(anns.some((a) => a.iscrowd && Array.isArray(a.segmentation?.counts))).toBe(true); // uncompressed crowd RLE
  });
});
