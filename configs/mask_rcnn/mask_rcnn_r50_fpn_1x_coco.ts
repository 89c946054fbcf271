/**
 * Mask R-CNN R-50-FPN, 1x schedule on COCO instances (mmdet
 * `mask-rcnn_r50_fpn_1x_coco.py`): the COCO detection data with masks
 * loaded (`coco_instance.py`), bbox and segm COCO metrics, SGD 0.02 at
 * batch 16.
 */
const imgNorm = { mean: [123.675, 116.28, 103.53], std: [58.395, 57.12, 57.375], toRgb: true };
const trainPipeline = [
  { type: 'LoadImageFromFile' },
  { type: 'LoadAnnotations', withBbox: true, withMask: true },
  { type: 'Resize', scale: [1333, 800], keepRatio: true },
  { type: 'RandomFlip', prob: 0.5 },
  { type: 'Normalize', ...imgNorm },
  { type: 'Pad', sizeDivisor: 32 },
  { type: 'PackDetInputs' },
];
const annFile = 'data/coco/annotations/instances_val2017.json';
export default {
  _base_: [
    '../_base_/models/mask_rcnn_r50_fpn.ts',
    '../_base_/datasets/coco_detection.ts',
    '../_base_/schedules/schedule_1x.ts',
    '../_base_/default_runtime.ts',
  ],
  trainDataloader: { dataset: { pipeline: trainPipeline } },
  valEvaluator: { type: 'CocoMetric', annFile, metric: ['bbox', 'segm'] },
  testEvaluator: { type: 'CocoMetric', annFile, metric: ['bbox', 'segm'] },
};
