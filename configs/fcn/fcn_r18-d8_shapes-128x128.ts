/**
 * FCN on the synthetic shapes set, small enough to train from scratch on a
 * 2-core CPU (wasm): a quarter-width ResNet-18 (16 base channels, three
 * stages, output stride 8 by dilating the third stage), an FCNHead on the
 * last stage with an auxiliary FCNHead on the second, 128x128 input,
 * batch 8, Adam with warm-up and a cosine schedule.
 */
export default {
  _base_: ['../_base_/datasets/shapes_segmentation.ts', '../_base_/default_runtime.ts'],
  model: {
    type: 'EncoderDecoder',
    backbone: {
      type: 'ResNet',
      depth: 18,
      baseChannels: 16,
      numStages: 3,
      strides: [1, 2, 1],
      dilations: [1, 1, 2],
      outIndices: [0, 1, 2],
      normEval: false,
      zeroInitResidual: false,
    },
    decodeHead: {
      type: 'FCNHead',
      inChannels: 64,
      inIndex: 2,
      channels: 64,
      numConvs: 2,
      concatInput: true,
      dropoutRatio: 0.1,
      numClasses: 6,
      normCfg: { type: 'BN', requiresGrad: true },
      alignCorners: false,
      lossDecode: {
        type: 'CrossEntropyLoss',
        useSigmoid: false,
        lossWeight: 1.0,
        ignoreIndex: 255,
        avgNonIgnore: true,
      },
    },
    auxiliaryHead: {
      type: 'FCNHead',
      inChannels: 32,
      inIndex: 1,
      channels: 32,
      numConvs: 1,
      concatInput: false,
      dropoutRatio: 0.1,
      numClasses: 6,
      normCfg: { type: 'BN', requiresGrad: true },
      alignCorners: false,
      lossDecode: {
        type: 'CrossEntropyLoss',
        useSigmoid: false,
        lossWeight: 0.4,
        ignoreIndex: 255,
        avgNonIgnore: true,
      },
    },
    trainCfg: {},
    testCfg: { mode: 'whole' },
  },
  trainDataloader: { batchSize: 8 },
  trainCfg: { type: 'EpochBasedTrainLoop', maxEpochs: 5, valInterval: 2 },
  valCfg: { type: 'ValLoop' },
  testCfg: { type: 'TestLoop' },
  optimWrapper: {
    type: 'OptimWrapper',
    optimizer: { type: 'Adam', lr: 0.003, weightDecay: 0.0001 },
    clipGrad: { maxNorm: 10 },
  },
  paramScheduler: [
    { type: 'LinearLR', startFactor: 0.01, byEpoch: false, begin: 0, end: 100 },
    { type: 'CosineAnnealingLR', begin: 0, end: 5, byEpoch: true, etaMin: 0.00005 },
  ],
  defaultHooks: {
    logger: { type: 'LoggerHook', interval: 20 },
    checkpoint: { type: 'CheckpointHook', interval: 5 },
  },
};
