/**
 * YOLOv3 Darknet-53 on COCO 2017 (mmdet `yolov3_d53_8xb8-ms-608-273e_coco.py`):
 * ImageNet-pretrained Darknet-53 (point `backbone.init` at a local
 * checkpoint), YOLOv3 neck and head with the COCO anchors, expand +
 * min-IoU crop + multi-scale 320-608 training, 608 test scale, SGD 1e-3
 * (batch 64) for 273 epochs with steps at 218 and 246.
 */
const dataRoot = 'data/coco/';
// mmdet's YOLOv3 data preprocessor: RGB in [0, 1] (mean 0, std 255), padded to a multiple of 32.
const imgNorm = { mean: [0, 0, 0], std: [255, 255, 255], toRgb: true };
const trainPipeline = [
  { type: 'LoadImageFromFile' },
  { type: 'LoadAnnotations', withBbox: true },
  { type: 'Expand', mean: imgNorm.mean, toRgb: true, ratioRange: [1, 2] },
  { type: 'MinIoURandomCrop', minIous: [0.4, 0.5, 0.6, 0.7, 0.8, 0.9], minCropSize: 0.3 },
  {
    type: 'RandomResize',
    scale: [
      [320, 320],
      [608, 608],
    ],
    keepRatio: true,
  },
  { type: 'RandomFlip', prob: 0.5 },
  { type: 'PhotoMetricDistortion' },
  { type: 'Normalize', ...imgNorm },
  { type: 'Pad', sizeDivisor: 32 },
  { type: 'PackDetInputs' },
];
const testPipeline = [
  { type: 'LoadImageFromFile' },
  { type: 'Resize', scale: [608, 608], keepRatio: true },
  { type: 'LoadAnnotations', withBbox: true },
  { type: 'Normalize', ...imgNorm },
  { type: 'Pad', sizeDivisor: 32 },
  { type: 'PackDetInputs' },
];
const valSet = {
  type: 'CocoDataset',
  dataRoot,
  annFile: 'annotations/instances_val2017.json',
  dataPrefix: { img: 'val2017/' },
  testMode: true,
  pipeline: testPipeline,
};

export default {
  _base_: ['../_base_/default_runtime.ts'],
  model: {
    type: 'YOLOV3',
    backbone: { type: 'Darknet', depth: 53, outIndices: [3, 4, 5] },
    neck: {
      type: 'YOLOV3Neck',
      numScales: 3,
      inChannels: [1024, 512, 256],
      outChannels: [512, 256, 128],
    },
    bboxHead: {
      type: 'YOLOV3Head',
      numClasses: 80,
      inChannels: [512, 256, 128],
      outChannels: [1024, 512, 256],
      anchorGenerator: {
        type: 'YOLOAnchorGenerator',
        baseSizes: [
          [
            [116, 90],
            [156, 198],
            [373, 326],
          ],
          [
            [30, 61],
            [62, 45],
            [59, 119],
          ],
          [
            [10, 13],
            [16, 30],
            [33, 23],
          ],
        ],
        strides: [32, 16, 8],
      },
      bboxCoder: { type: 'YOLOBBoxCoder' },
      featmapStrides: [32, 16, 8],
      lossCls: { type: 'CrossEntropyLoss', useSigmoid: true, lossWeight: 1.0, reduction: 'sum' },
      lossConf: { type: 'CrossEntropyLoss', useSigmoid: true, lossWeight: 1.0, reduction: 'sum' },
      lossXy: { type: 'CrossEntropyLoss', useSigmoid: true, lossWeight: 2.0, reduction: 'sum' },
      lossWh: { type: 'MSELoss', lossWeight: 2.0, reduction: 'sum' },
    },
    trainCfg: { assigner: { type: 'GridAssigner', posIouThr: 0.5, negIouThr: 0.5, minPosIou: 0 } },
    testCfg: {
      nmsPre: 1000,
      minBboxSize: 0,
      scoreThr: 0.05,
      confThr: 0.005,
      nms: { type: 'nms', iouThreshold: 0.45 },
      maxPerImg: 100,
    },
  },
  datasetType: 'CocoDataset',
  dataRoot,
  trainDataloader: {
    batchSize: 8,
    numWorkers: 4,
    sampler: { type: 'DefaultSampler', shuffle: true },
    batchSampler: { type: 'AspectRatioBatchSampler' },
    dataset: {
      type: 'CocoDataset',
      dataRoot,
      annFile: 'annotations/instances_train2017.json',
      dataPrefix: { img: 'train2017/' },
      filterCfg: { filterEmptyGt: true, minSize: 32 },
      pipeline: trainPipeline,
    },
  },
  valDataloader: {
    batchSize: 1,
    numWorkers: 2,
    dropLast: false,
    sampler: { type: 'DefaultSampler', shuffle: false },
    dataset: valSet,
  },
  testDataloader: {
    batchSize: 1,
    numWorkers: 2,
    dropLast: false,
    sampler: { type: 'DefaultSampler', shuffle: false },
    dataset: valSet,
  },
  valEvaluator: {
    type: 'CocoMetric',
    annFile: `${dataRoot}annotations/instances_val2017.json`,
    metric: 'bbox',
  },
  testEvaluator: {
    type: 'CocoMetric',
    annFile: `${dataRoot}annotations/instances_val2017.json`,
    metric: 'bbox',
  },
  trainCfg: { type: 'EpochBasedTrainLoop', maxEpochs: 273, valInterval: 7 },
  valCfg: { type: 'ValLoop' },
  testCfg: { type: 'TestLoop' },
  optimWrapper: {
    type: 'OptimWrapper',
    optimizer: { type: 'SGD', lr: 0.001, momentum: 0.9, weightDecay: 0.0005 },
    clipGrad: { maxNorm: 35, normType: 2 },
  },
  paramScheduler: [
    { type: 'LinearLR', startFactor: 0.1, byEpoch: false, begin: 0, end: 2000 },
    { type: 'MultiStepLR', begin: 0, end: 273, byEpoch: true, milestones: [218, 246], gamma: 0.1 },
  ],
  defaultHooks: { checkpoint: { type: 'CheckpointHook', interval: 7 } },
  autoScaleLr: { enable: false, baseBatchSize: 64 },
};
