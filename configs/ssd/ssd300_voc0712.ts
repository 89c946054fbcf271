/** SSD300 VGG16 on VOC 07+12 (mmdet `ssd300_voc0712.py`): 20 classes, anchors from 0.2-0.9 of the input. */
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
const dataRoot = 'data/VOCdevkit/';
const voc2007 = {
  type: 'VOCDataset',
  dataRoot,
  annFile: 'VOC2007/ImageSets/Main/trainval.txt',
  dataPrefix: { subDataRoot: 'VOC2007/' },
  filterCfg: { filterEmptyGt: true, minSize: 32 },
  pipeline: trainPipeline,
};
const voc2012 = {
  type: 'VOCDataset',
  dataRoot,
  annFile: 'VOC2012/ImageSets/Main/trainval.txt',
  dataPrefix: { subDataRoot: 'VOC2012/' },
  filterCfg: { filterEmptyGt: true, minSize: 32 },
  pipeline: trainPipeline,
};
export default {
  _base_: [
    '../_base_/models/ssd300.ts',
    '../_base_/datasets/voc0712.ts',
    '../_base_/schedules/schedule_2x.ts',
    '../_base_/default_runtime.ts',
  ],
  model: {
    bboxHead: { numClasses: 20, anchorGenerator: { basesizeRatioRange: [0.2, 0.9] } },
  },
  trainDataloader: {
    batchSize: 8,
    batchSampler: null,
    dataset: {
      _delete_: true,
      type: 'RepeatDataset',
      times: 10,
      dataset: { type: 'ConcatDataset', datasets: [voc2007, voc2012] },
    },
  },
  valDataloader: { batchSize: 8, dataset: { pipeline: testPipeline } },
  testDataloader: { batchSize: 8, dataset: { pipeline: testPipeline } },
  trainCfg: { type: 'EpochBasedTrainLoop', maxEpochs: 24, valInterval: 1 },
  paramScheduler: [
    { type: 'LinearLR', startFactor: 0.001, byEpoch: false, begin: 0, end: 500 },
    { type: 'MultiStepLR', begin: 0, end: 24, byEpoch: true, milestones: [16, 20], gamma: 0.1 },
  ],
  optimWrapper: {
    type: 'OptimWrapper',
    optimizer: { type: 'SGD', lr: 1e-3, momentum: 0.9, weightDecay: 5e-4 },
  },
  autoScaleLr: { baseBatchSize: 64 },
};
