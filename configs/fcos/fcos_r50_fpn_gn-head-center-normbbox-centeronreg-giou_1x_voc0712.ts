/** The improved FCOS R-50-FPN on VOC 07+12: 20 classes, 4 epochs of the 3x-repeated set. */
export default {
  _base_: [
    '../_base_/models/fcos_r50_fpn_gn-head.ts',
    '../_base_/datasets/voc0712.ts',
    '../_base_/schedules/schedule_1x.ts',
    '../_base_/default_runtime.ts',
  ],
  optimWrapper: {
    optimizer: { type: 'SGD', lr: 0.01, momentum: 0.9, weightDecay: 0.0001 },
    paramwiseCfg: { biasLrMult: 2.0, biasDecayMult: 0.0 },
    clipGrad: { maxNorm: 35, normType: 2 },
  },
  model: { bboxHead: { numClasses: 20 } },
  trainCfg: { type: 'EpochBasedTrainLoop', maxEpochs: 4, valInterval: 1 },
  paramScheduler: [
    { type: 'LinearLR', startFactor: 1.0 / 3, byEpoch: false, begin: 0, end: 500 },
    { type: 'MultiStepLR', begin: 0, end: 4, byEpoch: true, milestones: [3], gamma: 0.1 },
  ],
};
