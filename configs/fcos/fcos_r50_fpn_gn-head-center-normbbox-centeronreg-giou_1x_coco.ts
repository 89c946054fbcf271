/**
 * FCOS R-50-FPN (pytorch-style ResNet) with the improvements of mmdet
 * `fcos_r50-caffe_fpn_gn-head-center-normbbox-centeronreg-giou_1x_coco.py`
 * (the caffe-style model its checkpoint loads into is the `fcos_r50-caffe_...` config):
 * GN head, centre sampling, distances normalised by the stride, centerness on
 * the regression branch, GIoU loss; P3-P7 from the FPN outputs.
 */
export default {
  _base_: [
    '../_base_/models/fcos_r50_fpn_gn-head.ts',
    '../_base_/datasets/coco_detection.ts',
    '../_base_/schedules/schedule_1x.ts',
    '../_base_/default_runtime.ts',
  ],
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
