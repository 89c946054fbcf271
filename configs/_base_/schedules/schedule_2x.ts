/** 24 epochs, steps at epochs 16 and 22 (mmdet `schedule_2x.py`). */
export default {
  trainCfg: { type: 'EpochBasedTrainLoop', maxEpochs: 24, valInterval: 1 },
  valCfg: { type: 'ValLoop' },
  testCfg: { type: 'TestLoop' },
  paramScheduler: [
    { type: 'LinearLR', startFactor: 0.001, byEpoch: false, begin: 0, end: 500 },
    { type: 'MultiStepLR', begin: 0, end: 24, byEpoch: true, milestones: [16, 22], gamma: 0.1 },
  ],
  optimWrapper: {
    type: 'OptimWrapper',
    optimizer: { type: 'SGD', lr: 0.02, momentum: 0.9, weightDecay: 0.0001 },
  },
  autoScaleLr: { enable: false, baseBatchSize: 16 },
};
