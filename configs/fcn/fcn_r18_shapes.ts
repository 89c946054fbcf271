/**
 * FCN on the synthetic shapes set, small enough to train from scratch on a
 * 2-core CPU (wasm) within minutes: a quarter-width ResNet-18 (16 base
 * channels, three stages: strides 4, 8, 16) whose three maps are resized to
 * stride 4 and concatenated (FCN-8s' skip fusion, mmseg's `resize_concat`)
 * into an FCNHead, an auxiliary FCNHead on the stride-8 stage, 128x128
 * input, batch 2 (more updates per second beat bigger batches here), Adam with warm-up and a cosine schedule.
 *
 * Measured (wasm, 2-core machine, the other core training another model):
 * 7 epochs = 5250 iterations, `npx tsx tools/train.ts
 * configs/fcn/fcn_r18_shapes.ts --work-dir work_dirs/fcn` took 23:57 wall
 * (1,333 CPU seconds); val mIoU 78.98 over the 6 classes, background
 * included (aAcc 98.40, mAcc 86.32). Five epochs (the cosine over 5) gave
 * 68.3.
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
      strides: [1, 2, 2],
      dilations: [1, 1, 1],
      outIndices: [0, 1, 2],
      normEval: false,
      zeroInitResidual: false,
    },
    decodeHead: {
      type: 'FCNHead',
      inChannels: [16, 32, 64],
      inIndex: [0, 1, 2],
      inputTransform: 'resize_concat',
      channels: 32,
      // Online hard pixel mining: once the background is easy, the few object pixels dominate the loss.
      sampler: { type: 'OHEMPixelSampler', thresh: 0.7, minKept: 3000 },
      numConvs: 2,
      concatInput: false,
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
      channels: 16,
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
  trainDataloader: { batchSize: 2 },
  trainCfg: { type: 'EpochBasedTrainLoop', maxEpochs: 7, valInterval: 7 },
  valCfg: { type: 'ValLoop' },
  testCfg: { type: 'TestLoop' },
  optimWrapper: {
    type: 'OptimWrapper',
    optimizer: { type: 'Adam', lr: 0.004, weightDecay: 0.0001 },
    clipGrad: { maxNorm: 10 },
  },
  paramScheduler: [
    { type: 'LinearLR', startFactor: 0.01, byEpoch: false, begin: 0, end: 200 },
    { type: 'CosineAnnealingLR', begin: 0, end: 7, byEpoch: true, etaMin: 0.00005 },
  ],
  defaultHooks: {
    logger: { type: 'LoggerHook', interval: 20 },
    checkpoint: { type: 'CheckpointHook', interval: 1 },
  },
};
