/** FCOS R-50-FPN with a GN head and the improvements (centre sampling, norm-on-bbox, centerness on regression, GIoU); P3-P7. */
export default {
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
};
