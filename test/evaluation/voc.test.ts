import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  averagePrecision,
  evalMap,
  VOCMetric,
  type MapAnnotation,
} from '../../src/evaluation/index.js';
import { METRICS } from '../../src/registry.js';
import { fixturePath, hasReal, readFixture } from './helpers.js';

const fx = readFixture('voc_expected.json');

/** Group flat gt/det records into evalMap inputs. */
function toInputs(images: string[], classes: (string | number)[], gts: any[], dets: any[]) {
  const ci = new Map(classes.map((c, i) => [String(c), i]));
  const ann: MapAnnotation[] = images.map((img) => {
    const g = gts.filter((x) => x.image === img);
    const keep = g.filter((x) => !x.difficult);
    const ign = g.filter((x) => x.difficult);
    return {
      bboxes: keep.map((x) => x.bbox),
      labels: keep.map((x) => ci.get(String(x.class))!),
      bboxesIgnore: ign.map((x) => x.bbox),
      labelsIgnore: ign.map((x) => ci.get(String(x.class))!),
    };
  });
  const det = images.map((img) =>
    classes.map((c) =>
      dets
        .filter((d) => d.image === img && String(d.class) === String(c))
        .map((d) => [...d.bbox, d.score]),
    ),
  );
  return { ann, det };
}

describe('evalMap equals the VOC devkit rules', () => {
  const s = fx.synth;
  const { ann, det } = toInputs(s.images, s.classes, s.gts, s.dets);
  for (const e of s.expected) {
    it(`synthetic: IoU ${e.iouThr}, ${e.evalMode}, legacy ${e.legacy}`, () => {
      const r = evalMap(det, ann, {
        iouThr: e.iouThr,
        evalMode: e.evalMode,
        useLegacyCoordinate: e.legacy,
      });
      // mmdetection keeps AP in float32: agreement to float32 precision
      expect(Math.abs(r.mAP[0] - e.mAP)).toBeLessThan(1e-6);
      r.classes.forEach((c, k) => {
        if (e.ap[k] === null) expect(c.numGts[0]).toBe(0);
        else expect(Math.abs(c.ap[0] - e.ap[k])).toBeLessThan(1e-6);
      });
    });
  }

  it.skipIf(!hasReal)(
    'real VOC2012 annotations (rodm_voc100): difficult ignored, legacy +1',
    () => {
      const d = readFixture('real/rodm_voc100/dets_abs_xyx2y2.json');
      const dir = fixturePath('real/rodm_voc100/Annotations');
      const gts: any[] = [];
      const images: string[] = [];
      for (const f of readdirSync(dir).sort()) {
        const xml = readFileSync(`${dir}/${f}`, 'utf8');
        const img = f.replace(/\.xml$/, '');
        images.push(img);
        for (const o of xml.match(/<object>[\s\S]*?<\/object>/g) ?? []) {
          const v = (k: string) => Number(o.match(new RegExp(`<${k}>([^<]*)</${k}>`))![1]);
          gts.push({
            image: img,
            class: o.match(/<name>([^<]*)<\/name>/)![1],
            bbox: [v('xmin'), v('ymin'), v('xmax'), v('ymax')],
            difficult: Number(o.match(/<difficult>([^<]*)<\/difficult>/)?.[1] ?? 0),
          });
        }
      }
      const dets = d.detections.map((x: any) => ({
        image: x.image,
        class: x.class,
        score: x.score,
        bbox: x.bbox_xyxy,
      }));
      const { ann, det } = toInputs(images, d.class_names, gts, dets);
      for (const e of fx.rodm_voc100.expected) {
        const r = evalMap(det, ann, {
          iouThr: e.iouThr,
          evalMode: e.evalMode,
          useLegacyCoordinate: true,
        });
        expect(Math.abs(r.mAP[0] - e.mAP)).toBeLessThan(1e-6);
      }
      // published: Cartucho/mAP on the same data prints "mAP = 61.39%"
      const area = evalMap(det, ann, { iouThr: 0.5, evalMode: 'area', useLegacyCoordinate: true });
      expect((area.mAP[0] * 100).toFixed(2)).toBe('61.39');
    },
  );

  it.skipIf(!hasReal)('rafaelpadilla test case 1 (expected APs of its test suite)', () => {
    const t = readFixture('real/rodm_test_case_1/test_case_1.json');
    const xyxy = (b: number[]) => [b[0], b[1], b[0] + b[2], b[1] + b[3]];
    const images = [...new Set(t.gts.map((g: any) => g.image))] as string[];
    const { ann, det } = toInputs(
      images,
      ['object'],
      t.gts.map((g: any) => ({ ...g, bbox: xyxy(g.bbox_xywh) })),
      t.dets.map((d: any) => ({ ...d, bbox: xyxy(d.bbox_xywh) })),
    );
    const exp = t['expected_from_tests/test_eval_pascal.py'];
    for (const [mode, key] of [
      ['11points', 'ELEVEN_POINT'],
      ['area', 'EVERY_POINT'],
    ] as const) {
      for (const [thr, ap] of Object.entries<number>(exp[key])) {
        const r = evalMap(det, ann, {
          iouThr: Number(thr),
          evalMode: mode,
          useLegacyCoordinate: true,
        });
        expect(Math.abs(r.classes[0].ap[0] - ap)).toBeLessThan(1e-7);
      }
    }
  });

  it.skipIf(!hasReal)("mmdetection's test_eval_map case", () => {
    for (const file of [
      'real/mmdet/mean_ap_test_case.json',
      'real/mmdet/mean_ap_test_case_1img.json',
    ]) {
      const t = readFixture(file);
      const images = [...new Set(t.gts.map((g: any) => g.image))] as string[];
      const { ann, det } = toInputs(images, ['0', '1'], t.gts, t.dets);
      const [lo, hi] = t.expected.mAP_range_exclusive;
      for (const legacy of [true, false]) {
        const m = evalMap(det, ann, { useLegacyCoordinate: legacy }).mAP[0];
        expect(m).toBeGreaterThan(lo);
        expect(m).toBeLessThan(hi);
      }
    }
  });
});

describe('VOC details', () => {
  it('averagePrecision examples', () => {
    expect(averagePrecision([0.5, 1], [1, 0.5], 'area')).toBe(0.75);
    expect(averagePrecision([0.5, 1], [1, 0.5], '11points')).toBe(
      Math.fround(Math.fround(6 + 5 * 0.5) / 11),
    );
  });

  it('difficult boxes are neither TP nor FP; duplicates are FP', () => {
    const ann: MapAnnotation[] = [
      {
        bboxes: [[0, 0, 10, 10]],
        labels: [0],
        bboxesIgnore: [[20, 20, 30, 30]],
        labelsIgnore: [0],
      },
    ];
    const det = [
      [
        [
          [20, 20, 30, 30, 0.95],
          [0, 0, 10, 10, 0.9],
          [0, 0, 10, 10, 0.8],
        ],
      ],
    ];
    const r = evalMap(det, ann, { evalMode: 'area' });
    expect(Array.from(r.classes[0].precision[0])).toEqual([0, 1, 0.5]); // the difficult match counts in neither
    expect(r.mAP[0]).toBe(1);
  });

  it('VOCMetric from samples, registered in METRICS', () => {
    const m = METRICS.build<VOCMetric>({
      type: 'VOCMetric',
      evalMode: 'area',
      iouThrs: [0.5, 0.75],
    });
    m.datasetMeta = { classes: ['cat', 'dog'] };
    m.process({}, [
      {
        predInstances: {
          bboxes: new Float32Array([0, 0, 10, 10, 50, 50, 60, 60]),
          scores: [0.9, 0.8],
          labels: [0, 1],
        },
        instances: [
          { bbox: [0, 0, 10, 10], bboxLabel: 0 },
          { bbox: [50, 50, 61, 61], bboxLabel: 1, ignoreFlag: 1 },
        ],
      },
    ]);
    const out = m.compute();
    expect(out).toEqual({ 'pascal_voc/AP50': 1, 'pascal_voc/AP75': 1, 'pascal_voc/mAP': 1 });
    expect(m.classTable.AP50[1]).toMatchObject({ class: 'dog', gts: 0, dets: 1 });
  });

  it.skipIf(!hasReal)("mmdetection's VOCMetric dummy results give 100", () => {
    const d = readFixture('real/mmdet/voc_metric_dummy_dets.json');
    const xml = readFileSync(
      fixturePath('real/mmdet/custom_dataset_Annotations/000001.xml'),
      'utf8',
    );
    const classes = ['dog', 'person'];
    const instances = (xml.match(/<object>[\s\S]*?<\/object>/g) ?? [])
      .map((o) => {
        const v = (k: string) => Number(o.match(new RegExp(`<${k}>([^<]*)</${k}>`))![1]);
        return {
          bbox: [v('xmin'), v('ymin'), v('xmax'), v('ymax')],
          bboxLabel: classes.indexOf(o.match(/<name>([^<]*)<\/name>/)![1]),
          ignoreFlag: Number(o.match(/<difficult>([^<]*)<\/difficult>/)?.[1] ?? 0),
        };
      })
      .filter((x) => x.bboxLabel >= 0);
    const m = new VOCMetric({ iouThrs: [0.1, 0.5] });
    m.datasetMeta = { classes };
    m.process({}, [
      {
        predInstances: {
          bboxes: d.detections.map((x: any) => x.bbox),
          scores: d.detections.map((x: any) => x.score),
          labels: d.detections.map((x: any) => classes.indexOf(x.class)),
        },
        instances,
      },
    ]);
    expect(m.compute()).toEqual({
      'pascal_voc/AP10': 1,
      'pascal_voc/AP50': 1,
      'pascal_voc/mAP': 1,
    });
  });
});
