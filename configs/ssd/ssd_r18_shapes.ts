/**
 * The demo detector: a light SSD for the synthetic shapes set that trains
 * from scratch on a 2-core CPU (wasm) within minutes. A quarter-width
 * ResNet-18 (16 base channels, stem + two stages, stride 8) with one extra
 * SSD level at stride 16 from an SSDNeck, a softmax head with hard negative
 * mining (3:1) and smooth L1; 160x160 input, batch 4 (more updates per
 * second beat bigger batches here), Adam with a cosine schedule, 9 epochs.
 *
 * Measured on the 1500/300 set that `npm run demo` writes: at 128x128 the
 * small shapes (under 32x32 px in the 256-px images) were the misses and
 * bbox mAP@0.5 levelled off at 0.888 after 16 epochs; at 160x160 it was
 * 0.890 after 6 epochs and 0.928 after 9 (of a 12-epoch schedule). This
 * 9-epoch schedule: 0.917 (mAP 0.709) on one worker; with SyncBN on 2
 * workers x 2 images, 0.920 (mAP 0.708), and `npm install && npm run demo`
 * took 6:41 from a fresh clone on an idle 2-core machine (mAP@0.5 0.920).
 */
const size = 160;
const imgNorm = { mean: [123.675, 116.28, 103.53], std: [58.395, 57.12, 57.375], toRgb: true };
const trainPipeline = [
  { type: 'LoadImageFromFile' },
  { type: 'LoadAnnotations', withBbox: true },
  { type: 'Resize', scale: [size, size], keepRatio: true },
  { type: 'RandomFlip', prob: 0.5 },
  { type: 'Normalize', ...imgNorm },
  { type: 'Pad', sizeDivisor: 32 },
  { type: 'PackDetInputs' },
];
const testPipeline = [
  { type: 'LoadImageFromFile' },
  { type: 'Resize', scale: [size, size], keepRatio: true },
  { type: 'LoadAnnotations', withBbox: true },
  { type: 'Normalize', ...imgNorm },
  { type: 'Pad', sizeDivisor: 32 },
  { type: 'PackDetInputs' },
];
const epochs = 9;
export default {
  _base_: ['../_base_/datasets/shapes_detection.ts', '../_base_/default_runtime.ts'],
  model: {
    type: 'SSD',
    backbone: {
      type: 'ResNet',
      depth: 18,
      baseChannels: 16,
      numStages: 2,
      outIndices: [1],
      normEval: false,
      zeroInitResidual: false,
      // The batch's statistics over every worker (`npm run demo` splits the batch of 4
      // over the cores): the same training on one worker or several.
      normCfg: { type: 'SyncBN', requiresGrad: true },
    },
    neck: {
      type: 'SSDNeck',
      inChannels: [32],
      outChannels: [32, 64],
      levelStrides: [2],
      levelPaddings: [1],
      l2NormScale: null,
    },
    bboxHead: {
      type: 'SSDHead',
      numClasses: 5,
      inChannels: [32, 64],
      // Anchor sizes in input pixels (objects are 15-69 px at 160x160).
      anchorGenerator: {
        type: 'SSDAnchorGenerator',
        strides: [8, 16],
        ratios: [[2], [2]],
        minSizes: [15, 40],
        maxSizes: [40, 80],
      },
      bboxCoder: {
        type: 'DeltaXYWHBBoxCoder',
        targetMeans: [0, 0, 0, 0],
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
      smoothl1Beta: 1.0,
      allowedBorder: -1,
      posWeight: -1,
      negPosRatio: 3,
    },
    testCfg: {
      nms: { type: 'nms', iouThreshold: 0.45 },
      minBboxSize: 0,
      scoreThr: 0.02,
      maxPerImg: 100,
    },
  },
  trainDataloader: { batchSize: 4, dataset: { pipeline: trainPipeline } },
  valDataloader: { dataset: { pipeline: testPipeline } },
  testDataloader: { dataset: { pipeline: testPipeline } },
  trainCfg: { type: 'EpochBasedTrainLoop', maxEpochs: epochs, valInterval: 3 },
  valCfg: { type: 'ValLoop' },
  testCfg: { type: 'TestLoop' },
  optimWrapper: {
    type: 'OptimWrapper',
    optimizer: { type: 'Adam', lr: 0.003, weightDecay: 0.0001 },
    clipGrad: { maxNorm: 10 },
  },
  paramScheduler: [
    { type: 'LinearLR', startFactor: 0.01, byEpoch: false, begin: 0, end: 100 },
    { type: 'CosineAnnealingLR', begin: 0, end: epochs, byEpoch: true, etaMin: 0.00005 },
  ],
  defaultHooks: {
    logger: { type: 'LoggerHook', interval: 50 },
    checkpoint: { type: 'CheckpointHook', interval: epochs },
  },
};
