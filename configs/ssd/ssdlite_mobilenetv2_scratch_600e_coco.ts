/**
 * SSDLite with MobileNetV2 at 320x320, trained from scratch (mmdet
 * `ssdlite_mobilenetv2-scratch_8xb24-600e_coco.py`): depthwise-separable
 * neck and head, BN + ReLU6, 6 levels of fixed anchor sizes.
 */
const dataRoot = 'data/coco/';
const mean = [123.675, 116.28, 103.53];
const std = [58.395, 57.12, 57.375];
const trainPipeline = [
  { type: 'LoadImageFromFile' },
  { type: 'LoadAnnotations', withBbox: true },
  { type: 'Expand', mean, toRgb: true, ratioRange: [1, 4] },
  { type: 'MinIoURandomCrop', minIous: [0.1, 0.3, 0.5, 0.7, 0.9], minCropSize: 0.3 },
  { type: 'Resize', scale: [320, 320], keepRatio: false },
  { type: 'RandomFlip', prob: 0.5 },
  {
    type: 'PhotoMetricDistortion',
    brightnessDelta: 32,
    contrastRange: [0.5, 1.5],
    saturationRange: [0.5, 1.5],
    hueDelta: 18,
  },
  { type: 'Normalize', mean, std, toRgb: true },
  { type: 'PackDetInputs' },
];
const testPipeline = [
  { type: 'LoadImageFromFile' },
  { type: 'Resize', scale: [320, 320], keepRatio: false },
  { type: 'LoadAnnotations', withBbox: true },
  { type: 'Normalize', mean, std, toRgb: true },
  { type: 'PackDetInputs' },
];
const normCfg = { type: 'BN', eps: 0.001, momentum: 0.03 };
export default {
  _base_: ['../_base_/datasets/coco_detection.ts', '../_base_/default_runtime.ts'],
  model: {
    type: 'SSD',
    backbone: { type: 'MobileNetV2', outIndices: [4, 7], normCfg, actCfg: { type: 'ReLU6' } },
    neck: {
      type: 'SSDNeck',
      inChannels: [96, 1280],
      outChannels: [96, 1280, 512, 256, 256, 128],
      levelStrides: [2, 2, 2, 2],
      levelPaddings: [1, 1, 1, 1],
      l2NormScale: null,
      useDepthwise: true,
      normCfg,
      actCfg: { type: 'ReLU6' },
    },
    bboxHead: {
      type: 'SSDHead',
      inChannels: [96, 1280, 512, 256, 256, 128],
      numClasses: 80,
      useDepthwise: true,
      normCfg,
      actCfg: { type: 'ReLU6' },
      anchorGenerator: {
        type: 'SSDAnchorGenerator',
        scaleMajor: false,
        strides: [16, 32, 64, 107, 160, 320],
        ratios: [
          [2, 3],
          [2, 3],
          [2, 3],
          [2, 3],
          [2, 3],
          [2, 3],
        ],
        minSizes: [48, 100, 150, 202, 253, 304],
        maxSizes: [100, 150, 202, 253, 304, 320],
      },
      bboxCoder: {
        type: 'DeltaXYWHBBoxCoder',
        targetMeans: [0.0, 0.0, 0.0, 0.0],
        targetStds: [0.1, 0.1, 0.2, 0.2],
      },
    },
    trainCfg: {
      assigner: {
        type: 'MaxIoUAssigner',
        posIouThr: 0.5,
        negIouThr: 0.5,
        minPosIou: 0.0,
        ignoreIofThr: -1,
        gtMaxAssignAll: false,
      },
      sampler: { type: 'PseudoSampler' },
      smoothl1Beta: 1.0,
      allowedBorder: -1,
      posWeight: -1,
      negPosRatio: 3,
    },
    testCfg: {
      nms: { type: 'nms', iouThreshold: 0.45 },
      minBboxSize: 0,
      scoreThr: 0.02,
      maxPerImg: 200,
    },
  },
  trainDataloader: {
    batchSize: 24,
    numWorkers: 4,
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
  trainCfg: { type: 'EpochBasedTrainLoop', maxEpochs: 120, valInterval: 5 },
  valCfg: { type: 'ValLoop' },
  testCfg: { type: 'TestLoop' },
  optimWrapper: {
    type: 'OptimWrapper',
    optimizer: { type: 'SGD', lr: 0.015, momentum: 0.9, weightDecay: 4.0e-5 },
  },
  paramScheduler: [
    { type: 'LinearLR', startFactor: 0.001, byEpoch: false, begin: 0, end: 500 },
    { type: 'CosineAnnealingLR', begin: 0, end: 120, byEpoch: true, etaMin: 0 },
  ],
  autoScaleLr: { baseBatchSize: 192 },
};
