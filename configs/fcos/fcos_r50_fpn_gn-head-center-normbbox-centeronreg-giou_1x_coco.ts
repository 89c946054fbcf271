/**
 * FCOS R-50-FPN with the improvements (mmdet
 * `fcos_r50-caffe_fpn_gn-head-center-normbbox-centeronreg-giou_1x_coco.py`):
 * GN head, centre sampling, distances normalised by the stride, centerness on
 * the regression branch, GIoU loss; P3-P7 from the FPN outputs.
 */
export default {
  _base_: ['../_base_/datasets/coco_detection.ts', '../_base_/schedules/schedule_1x.ts', '../_base_/default_runtime.ts'],
  model: {
    type: 'FCOS',
    backbone: { type: 'ResNet', depth: 50, numStages: 4, outIndices: [0, 1, 2, 3], frozenStages: 1, normCfg: { type: 'BN', requiresGrad: false }, normEval: true, style: 'pytorch' },
    neck: { type: 'FPN', inChannels: [256, 512, 1024, 2048], outChannels: 256, startLevel: 1, addExtraConvs: 'onOutput', numOuts: 5, reluBeforeExtraConvs: true },
    bboxHead: {
      type: 'FCOSHead',
      numClasses: 80,
      inChannels: 256,
      stackedConvs: 4,
      featChannels: 256,
      strides: [8, 16, 32, 64, 128],
      normCfg: { type: 'GN', numGroups: 32, requiresGrad: true },
      centerSampling: true,
      centerSampleRadius: 1.5,
      normOnBbox: true,
      centernessOnReg: true,
      lossCls: { type: 'FocalLoss', useSigmoid: true, gamma: 2.0, alpha: 0.25, lossWeight: 1.0 },
      lossBbox: { type: 'GIoULoss', lossWeight: 1.0 },
      lossCenterness: { type: 'CrossEntropyLoss', useSigmoid: true, lossWeight: 1.0 },
    },
    testCfg: { nmsPre: 1000, minBboxSize: 0, scoreThr: 0.05, nms: { type: 'nms', iouThreshold: 0.6 }, maxPerImg: 100 },
  },
  optimWrapper: {
    optimizer: { type: 'SGD', lr: 0.01, momentum: 0.9, weightDecay: 0.0001 },
    paramwiseCfg: { biasLrMult: 2.0, biasDecayMult: 0.0 },
    clipGrad: { maxNorm: 35, normType: 2 },
  },
  paramScheduler: [
    { type: 'LinearLR', startFactor: 1.0 / 3, byEpoch: false, begin: 0, end: 500 },
    { type: 'MultiStepLR', begin: 0, end: 12, byEpoch: true, milestones: [8, 11], gamma: 0.1 },
  ],
};
