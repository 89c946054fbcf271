/**
 * The demo detector: a light SSD for the synthetic shapes set that trains
 * from scratch on a 2-core CPU (wasm) within minutes. A quarter-width
 * ResNet-18 (16 base channels, stem + two stages, stride 8) with one extra
 * SSD level at stride 16 from an SSDNeck, a softmax head with hard negative
 * mining (3:1) and smooth L1; 128x128 input, batch 4 (more updates per
 * second beat bigger batches here), Adam with a cosine schedule, 16 epochs.
 */
export default {
  _base_: ['../_base_/datasets/shapes_detection.ts', '../_base_/default_runtime.ts'],
  model: {
    type: 'SSD',
    backbone: { type: 'ResNet', depth: 18, baseChannels: 16, numStages: 2, outIndices: [1], normEval: false, zeroInitResidual: false },
    neck: { type: 'SSDNeck', inChannels: [32], outChannels: [32, 64], levelStrides: [2], levelPaddings: [1], l2NormScale: null },
    bboxHead: {
      type: 'SSDHead',
      numClasses: 5,
      inChannels: [32, 64],
      anchorGenerator: { type: 'SSDAnchorGenerator', strides: [8, 16], ratios: [[2], [2]], minSizes: [12, 32], maxSizes: [32, 64] },
      bboxCoder: { type: 'DeltaXYWHBBoxCoder', targetMeans: [0, 0, 0, 0], targetStds: [0.1, 0.1, 0.2, 0.2] },
    },
    trainCfg: {
      assigner: { type: 'MaxIoUAssigner', posIouThr: 0.5, negIouThr: 0.5, minPosIou: 0.0, ignoreIofThr: -1, gtMaxAssignAll: false },
      smoothl1Beta: 1.0,
      allowedBorder: -1,
      posWeight: -1,
      negPosRatio: 3,
    },
    testCfg: { nms: { type: 'nms', iouThreshold: 0.45 }, minBboxSize: 0, scoreThr: 0.02, maxPerImg: 100 },
  },
  trainDataloader: { batchSize: 4 },
  trainCfg: { type: 'EpochBasedTrainLoop', maxEpochs: 16, valInterval: 1 },
  valCfg: { type: 'ValLoop' },
  testCfg: { type: 'TestLoop' },
  optimWrapper: { type: 'OptimWrapper', optimizer: { type: 'Adam', lr: 0.003, weightDecay: 0.0001 }, clipGrad: { maxNorm: 10 } },
  paramScheduler: [
    { type: 'LinearLR', startFactor: 0.01, byEpoch: false, begin: 0, end: 100 },
    { type: 'CosineAnnealingLR', begin: 0, end: 16, byEpoch: true, etaMin: 0.00005 },
  ],
  defaultHooks: { logger: { type: 'LoggerHook', interval: 50 }, checkpoint: { type: 'CheckpointHook', interval: 16 } },
};
