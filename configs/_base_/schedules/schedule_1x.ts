/** 12 epochs, SGD 0.02 (batch 16), linear warm-up 500 iterations, steps at epochs 8 and 11 (mmdet `schedule_1x.py`). */
export default {
  trainCfg: { type: 'EpochBasedTrainLoop', maxEpochs: 12, valInterval: 1 },
  valCfg: { type: 'ValLoop' },
  testCfg: { type: 'TestLoop' },
  paramScheduler: [
    { type: 'LinearLR', startFactor: 0.001, byEpoch: false, begin: 0, end: 500 },
    { type: 'MultiStepLR', begin: 0, end: 12, byEpoch: true, milestones: [8, 11], gamma: 0.1 },
  ],
  optimWrapper: {
    type: 'OptimWrapper',
    optimizer: { type: 'SGD', lr: 0.02, momentum: 0.9, weightDecay: 0.0001 },
  },
  autoScaleLr: { enable: false, baseBatchSize: 16 },
};
