/** RetinaNet R-50-FPN on VOC 07+12 (mmdet `retinanet_r50_fpn_1x_voc0712.py`): 20 classes, 4 epochs of the 3x-repeated set. */
export default {
  _base_: [
    '../_base_/models/retinanet_r50_fpn.ts',
    '../_base_/datasets/voc0712.ts',
    '../_base_/schedules/schedule_1x.ts',
    '../_base_/default_runtime.ts',
  ],
  model: { bboxHead: { numClasses: 20 } },
  optimWrapper: { optimizer: { type: 'SGD', lr: 0.01, momentum: 0.9, weightDecay: 0.0001 } },
  trainCfg: { type: 'EpochBasedTrainLoop', maxEpochs: 4, valInterval: 1 },
  paramScheduler: [
    { type: 'MultiStepLR', begin: 0, end: 4, byEpoch: true, milestones: [3], gamma: 0.1 },
  ],
};
