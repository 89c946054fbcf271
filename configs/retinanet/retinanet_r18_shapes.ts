/**
 * A light RetinaNet for the synthetic shapes set, trained from scratch on a
 * CPU (the demo uses the SSD sibling, `configs/ssd/ssd_r18_shapes.ts`, which
 * learns faster per second on 2 cores). ResNet-18 layout at
 * a quarter of the width (16 base channels), one stride-8 level (P3) with 9
 * anchors of 16-64 px, a 2-conv head of 64 channels; 128x128 input (the shapes base); Adam.
 */
export default {
  _base_: ['../_base_/datasets/shapes_detection.ts', '../_base_/default_runtime.ts'],
  model: {
    type: 'RetinaNet',
    backbone: {
      type: 'ResNet',
      depth: 18,
      baseChannels: 16,
      numStages: 2,
      outIndices: [1],
      normEval: false,
      zeroInitResidual: false,
    },
    bboxHead: {
      type: 'RetinaHead',
      numClasses: 5,
      inChannels: 32,
      featChannels: 64,
      stackedConvs: 2,
      anchorGenerator: {
        type: 'AnchorGenerator',
        strides: [8],
        ratios: [0.5, 1.0, 2.0],
        scales: [2, 4, 8],
      },
      bboxCoder: {
        type: 'DeltaXYWHBBoxCoder',
        targetMeans: [0, 0, 0, 0],
        targetStds: [0.1, 0.1, 0.2, 0.2],
      },
      lossCls: { type: 'FocalLoss', useSigmoid: true, gamma: 2.0, alpha: 0.25, lossWeight: 1.0 },
      lossBbox: { type: 'L1Loss', lossWeight: 1.0 },
    },
    trainCfg: {
      assigner: {
        type: 'MaxIoUAssigner',
        posIouThr: 0.5,
        negIouThr: 0.4,
        minPosIou: 0,
        ignoreIofThr: -1,
      },
      sampler: { type: 'PseudoSampler' },
      allowedBorder: -1,
      posWeight: -1,
    },
    testCfg: {
      nmsPre: 1000,
      minBboxSize: 0,
      scoreThr: 0.05,
      nms: { type: 'nms', iouThreshold: 0.5 },
      maxPerImg: 100,
    },
  },
  trainCfg: { type: 'EpochBasedTrainLoop', maxEpochs: 6, valInterval: 100 },
  valCfg: { type: 'ValLoop' },
  testCfg: { type: 'TestLoop' },
  optimWrapper: {
    type: 'OptimWrapper',
    optimizer: { type: 'Adam', lr: 0.002, weightDecay: 0.0001 },
    clipGrad: { maxNorm: 10 },
  },
  paramScheduler: [
    { type: 'LinearLR', startFactor: 0.01, byEpoch: false, begin: 0, end: 100 },
    { type: 'CosineAnnealingLR', begin: 0, end: 6, byEpoch: true, etaMin: 0.00005 },
  ],
  defaultHooks: {
    logger: { type: 'LoggerHook', interval: 20 },
    checkpoint: { type: 'CheckpointHook', interval: 6 },
  },
};
