/** The improved FCOS R-50-FPN on VOC 07+12: 20 classes, 4 epochs of the 3x-repeated set. */
export default {
  _base_: ['./fcos_r50_fpn_gn-head-center-normbbox-centeronreg-giou_1x_coco.ts', '../_base_/datasets/voc0712.ts'],
  model: { bboxHead: { numClasses: 20 } },
  trainCfg: { type: 'EpochBasedTrainLoop', maxEpochs: 4, valInterval: 1 },
  paramScheduler: [
    { type: 'LinearLR', startFactor: 1.0 / 3, byEpoch: false, begin: 0, end: 500 },
    { type: 'MultiStepLR', begin: 0, end: 4, byEpoch: true, milestones: [3], gamma: 0.1 },
  ],
};
