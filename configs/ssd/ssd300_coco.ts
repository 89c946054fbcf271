/** SSD300 VGG16 on COCO (mmdet `ssd300_coco.py`): photometric distortion, expand, min-IoU crop, 300x300, 24 epochs of the 5x-repeated set. */
const dataRoot = 'data/coco/';
const mean = [123.675, 116.28, 103.53];
const trainPipeline = [
  { type: 'LoadImageFromFile' },
  { type: 'LoadAnnotations', withBbox: true },
  { type: 'Expand', mean, toRgb: true, ratioRange: [1, 4] },
  { type: 'MinIoURandomCrop', minIous: [0.1, 0.3, 0.5, 0.7, 0.9], minCropSize: 0.3 },
  { type: 'Resize', scale: [300, 300], keepRatio: false },
  { type: 'RandomFlip', prob: 0.5 },
  {
    type: 'PhotoMetricDistortion',
    brightnessDelta: 32,
    contrastRange: [0.5, 1.5],
    saturationRange: [0.5, 1.5],
    hueDelta: 18,
  },
  { type: 'Normalize', mean, std: [1, 1, 1], toRgb: true },
  { type: 'PackDetInputs' },
];
const testPipeline = [
  { type: 'LoadImageFromFile' },
  { type: 'Resize', scale: [300, 300], keepRatio: false },
  { type: 'LoadAnnotations', withBbox: true },
  { type: 'Normalize', mean, std: [1, 1, 1], toRgb: true },
  { type: 'PackDetInputs' },
];
export default {
  _base_: [
    '../_base_/models/ssd300.ts',
    '../_base_/datasets/coco_detection.ts',
    '../_base_/schedules/schedule_2x.ts',
    '../_base_/default_runtime.ts',
  ],
  trainDataloader: {
    batchSize: 8,
    numWorkers: 2,
    batchSampler: null,
    dataset: {
      _delete_: true,
      type: 'RepeatDataset',
      times: 5,
      dataset: {
        type: 'CocoDataset',
        dataRoot,
        annFile: 'annotations/instances_train2017.json',
        dataPrefix: { img: 'train2017/' },
        filterCfg: { filterEmptyGt: true, minSize: 32 },
        pipeline: trainPipeline,
      },
    },
  },
  valDataloader: { batchSize: 8, dataset: { pipeline: testPipeline } },
  testDataloader: { batchSize: 8, dataset: { pipeline: testPipeline } },
  optimWrapper: {
    type: 'OptimWrapper',
    optimizer: { type: 'SGD', lr: 2e-3, momentum: 0.9, weightDecay: 5e-4 },
  },
  customHooks: [{ type: 'CheckInvalidLossHook', interval: 50, priority: 'VERY_LOW' }],
  autoScaleLr: { baseBatchSize: 64 },
};
