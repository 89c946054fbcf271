/**
 * DeepLabV3 R-50-D8 on PASCAL VOC 2012 at 512x512 crops, 20k iterations
 * (mmseg `deeplabv3_r50-d8_4xb4-20k_voc12aug-512x512.py` on the plain VOC 2012
 * train split; mmseg adds the SBD "aug" annotations): SGD 0.01, momentum
 * 0.9, weight decay 5e-4, poly decay (power 0.9) to 1e-4 over 20k
 * iterations (mmseg `schedule_20k.py`), 21 classes.
 */
export default {
  _base_: [
    '../_base_/models/deeplabv3_r50-d8.ts',
    '../_base_/datasets/voc12_seg.ts',
    '../_base_/default_runtime.ts',
  ],
  model: {
    decodeHead: { numClasses: 21 },
    auxiliaryHead: { numClasses: 21 },
  },
  trainCfg: { type: 'IterBasedTrainLoop', maxIters: 20000, valInterval: 2000 },
  valCfg: { type: 'ValLoop' },
  testCfg: { type: 'TestLoop' },
  optimWrapper: {
    type: 'OptimWrapper',
    optimizer: { type: 'SGD', lr: 0.01, momentum: 0.9, weightDecay: 0.0005 },
    clipGrad: null,
  },
  paramScheduler: [
    { type: 'PolyLR', etaMin: 0.0001, power: 0.9, begin: 0, end: 20000, byEpoch: false },
  ],
  defaultHooks: {
    logger: { type: 'LoggerHook', interval: 50 },
    checkpoint: { type: 'CheckpointHook', byEpoch: false, interval: 2000 },
  },
};
