/**
 * A light FCOS for the synthetic shapes set: the demo's quarter-width
 * ResNet-18 (one stride-8 level), a 2-conv GN head, centre sampling,
 * norm-on-bbox, centerness on the regression branch, GIoU; 128x128; Adam.
 */
export default {
  _base_: ['../_base_/datasets/shapes_detection.ts', '../_base_/default_runtime.ts'],
  model: {
    type: 'FCOS',
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
      type: 'FCOSHead',
      numClasses: 5,
      inChannels: 32,
      featChannels: 64,
      stackedConvs: 2,
      strides: [8],
      regressRanges: [[-1, 1e8]],
      normCfg: { type: 'GN', numGroups: 16 },
      centerSampling: true,
      centerSampleRadius: 1.5,
      normOnBbox: true,
      centernessOnReg: true,
      lossCls: { type: 'FocalLoss', useSigmoid: true, gamma: 2.0, alpha: 0.25, lossWeight: 1.0 },
      lossBbox: { type: 'GIoULoss', lossWeight: 1.0 },
      lossCenterness: { type: 'CrossEntropyLoss', useSigmoid: true, lossWeight: 1.0 },
    },
    testCfg: {
      nmsPre: 1000,
      minBboxSize: 0,
      scoreThr: 0.05,
      nms: { type: 'nms', iouThreshold: 0.6 },
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
