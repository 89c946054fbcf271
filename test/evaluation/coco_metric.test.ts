import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CocoMetric, evaluateCoco, parseCocoDataset } from '../../src/evaluation/index.js';
import type { MetricDataSample } from '../../src/structures/index.js';
import { rleToBbox } from '../../src/masks/index.js';
import { METRICS } from '../../src/registry.js';
import { fixturePath, hasReal, readFixture } from './helpers.js';

const cases: any[] = readFixture('coco_expected.json');
const caseNamed = (n: string) => cases.find((c) => c.name === n)!;

/** COCO results -> per-image predInstances (xyxy boxes, 0-based labels). */
function toSamples(results: any[], catIds: number[], withMasks: boolean): MetricDataSample[] {
  const byImg = new Map<number, any[]>();
  for (const r of results) {
    if (!byImg.has(r.image_id)) byImg.set(r.image_id, []);
    byImg.get(r.image_id)!.push(r);
  }
  return [...byImg].map(([imgId, rs]) => ({
    imgId,
    predInstances: {
      bboxes: rs.map((r) => {
        const b = r.bbox ?? rleToBbox(r.segmentation);
        return [b[0], b[1], b[0] + b[2], b[1] + b[3]];
      }),
      scores: rs.map((r) => r.score),
      labels: rs.map((r) => catIds.indexOf(r.category_id)),
      masks: withMasks ? rs.map((r) => r.segmentation) : undefined,
    },
  }));
}

describe('CocoMetric', () => {
  it.skipIf(!hasReal)(
    'bbox and segm with an annotation file equal pycocotools run as mmdetection runs it',
    () => {
      const annFile = fixturePath('real/coco_val2014_100/instances_val2014_100.json');
      const gt = readFixture('real/coco_val2014_100/instances_val2014_100.json');
      const catIds: number[] = gt.categories.map((c: any) => c.id);
      const m = METRICS.build<CocoMetric>({
        type: 'CocoMetric',
        annFile,
        metric: ['bbox'],
        classwise: true,
      });
      const bboxRes = readFixture(
        'real/coco_val2014_100/instances_val2014_fakebbox100_results.json',
      );
      const samples = toSamples(bboxRes, catIds, false);
      for (let i = 0; i < samples.length; i += 8) m.process({}, samples.slice(i, i + 8));
      const out = m.compute();
      const e = caseNamed('val2014_100 bbox, maxDets 100/300/1000');
      const keys = [
        'mAP',
        'mAP_50',
        'mAP_75',
        'mAP_s',
        'mAP_m',
        'mAP_l',
        'AR@100',
        'AR@300',
        'AR@1000',
        'AR_s@1000',
        'AR_m@1000',
        'AR_l@1000',
      ];
      keys.forEach((k, i) =>
        expect(Math.abs(out[`coco/bbox_${k}`] - e.stats[i])).toBeLessThanOrEqual(1e-9),
      );
      // classwise: mean precision of each category over IoUs and recalls, area all, last maxDet
      const [, , K, A, M] = e.counts;
      const rows = m.classwiseTable.bbox;
      expect(rows).toHaveLength(K);
      rows.forEach((r, k) => {
        const pm = e.precisionMean[(k * A + 0) * M + M - 1];
        if (pm === -1) expect(r.mAP).toBeNaN();
        else expect(Math.abs(r.mAP - pm)).toBeLessThanOrEqual(1e-9);
        expect(out[`coco/${r.category}_precision`]).toBe(r.mAP);
      });

      const ms = new CocoMetric({ annFile, metric: 'segm' });
      const segmRes = readFixture(
        'real/coco_val2014_100/instances_val2014_fakesegm100_results.json',
      );
      ms.process({}, toSamples(segmRes, catIds, true));
      const so = ms.compute();
      const es = caseNamed('val2014_100 segm, maxDets 100/300/1000');
      keys.forEach((k, i) =>
        expect(Math.abs(so[`coco/segm_${k}`] - es.stats[i])).toBeLessThanOrEqual(1e-9),
      );
    },
  );

  it('proposal AR (category-agnostic) equals pycocotools with useCats=0', () => {
    const gtJson = readFixture('coco_synth_gt.json');
    const catIds: number[] = gtJson.categories.map((c: any) => c.id);
    const m = new CocoMetric({ annFile: fixturePath('coco_synth_gt.json'), metric: 'proposal' });
    m.process({}, toSamples(readFixture('coco_synth_dt_bbox.json'), catIds, false));
    const out = m.compute();
    const e = caseNamed('synth bbox, no categories, maxDets 100/300/1000');
    expect(Object.keys(out)).toEqual([
      'coco/AR@100',
      'coco/AR@300',
      'coco/AR@1000',
      'coco/AR_s@1000',
      'coco/AR_m@1000',
      'coco/AR_l@1000',
    ]);
    ['AR@100', 'AR@300', 'AR@1000', 'AR_s@1000', 'AR_m@1000', 'AR_l@1000'].forEach((k, i) =>
      expect(Math.abs(out[`coco/${k}`] - e.stats[6 + i])).toBeLessThanOrEqual(1e-9),
    );
  });

  it('ground truth from the samples (no annFile), as gt_to_coco_json', () => {
    const m = new CocoMetric({ metricItems: ['mAP', 'mAP_50'] });
    m.datasetMeta = { classes: ['a', 'b'] };
    const samples: MetricDataSample[] = [
      {
        imgId: 7,
        oriShape: [100, 120],
        predInstances: {
          bboxes: new Float32Array([10, 10, 50, 60, 0, 0, 20, 20]),
          scores: new Float32Array([0.9, 0.3]),
          labels: [0, 1],
        },
        instances: [
          { bbox: [10, 10, 50, 58], bboxLabel: 0 },
          { bbox: [60, 60, 100, 100], bboxLabel: 1 },
          { bbox: [0, 0, 30, 30], bboxLabel: 1, ignoreFlag: 1 },
        ],
      },
    ];
    m.process({}, samples);
    const out = m.compute();
    const gt = parseCocoDataset({
      images: [{ id: 7, width: 120, height: 100 }],
      categories: [
        { id: 0, name: 'a' },
        { id: 1, name: 'b' },
      ],
      annotations: [
        { id: 1, image_id: 7, category_id: 0, bbox: [10, 10, 40, 48], area: 1920, iscrowd: 0 },
        { id: 2, image_id: 7, category_id: 1, bbox: [60, 60, 40, 40], area: 1600, iscrowd: 0 },
        { id: 3, image_id: 7, category_id: 1, bbox: [0, 0, 30, 30], area: 900, iscrowd: 1 },
      ],
    });
    const ref = evaluateCoco(
      gt,
      [
        { image_id: 7, category_id: 0, bbox: [10, 10, 40, 50], score: Math.fround(0.9) },
        { image_id: 7, category_id: 1, bbox: [0, 0, 20, 20], score: Math.fround(0.3) },
      ],
      { maxDets: [100, 300, 1000] },
    );
    expect(out).toEqual({ 'coco/bbox_mAP': ref.stats[0], 'coco/bbox_mAP_50': ref.stats[1] });
    expect(out['coco/bbox_mAP_50']).toBeCloseTo(0.5, 12);
  });

  it('formatOnly writes COCO results JSON', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tfdet-coco-'));
    try {
      const prefix = join(dir, 'out', 'results');
      const m = new CocoMetric({
        annFile: fixturePath('coco_synth_gt.json'),
        formatOnly: true,
        outfilePrefix: prefix,
      });
      const rle = { size: [4, 4] as [number, number], counts: [5, 2, 2, 2, 5] };
      m.process({}, [
        {
          imgId: 100,
          predInstances: { bboxes: [[1, 1, 3, 3]], scores: [0.5], labels: [1], masks: [rle] },
        },
      ]);
      expect(m.compute()).toEqual({});
      const bbox = JSON.parse(readFileSync(`${prefix}.bbox.json`, 'utf8'));
      expect(bbox).toEqual([{ image_id: 100, category_id: 2, bbox: [1, 1, 2, 2], score: 0.5 }]);
      const segm = JSON.parse(readFileSync(`${prefix}.segm.json`, 'utf8'));
      expect(segm[0]).toMatchObject({
        image_id: 100,
        category_id: 2,
        score: 0.5,
        segmentation: { size: [4, 4], counts: '52203' },
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('bad options are reported with the key path', () => {
    expect(() => METRICS.build({ type: 'CocoMetric', metric: 'bboxx' })).toThrow(/metric/);
    expect(() => METRICS.build({ type: 'CocoMetric', clasSwise: true })).toThrow(/clasSwise/);
  });
});
