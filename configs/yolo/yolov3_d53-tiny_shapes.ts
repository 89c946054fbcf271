/**
 * YOLOv3 for the synthetic shapes set, small enough to train from scratch on
 * a 2-core CPU (wasm): Darknet-53 at 1/8 width and 1/3 depth (4..128
 * channels; 1, 1, 3, 3, 1 residual blocks), the YOLOv3 neck and head on
 * strides 32, 16, 8, 128x128 input, anchors from the shapes' box sizes at
 * that scale (6-55 px, square-ish), batch 4 (more updates per CPU second
 * than batch 8 here), Adam with warm-up and a cosine schedule over 12
 * epochs. Measured (wasm, 2-core machine, the other core training another
 * model): `npx tsx tools/train.ts configs/yolo/yolov3_d53-tiny_shapes.ts
 * --work-dir work_dirs/yolov3` took 25:20 wall (1,486 CPU seconds); val
 * bbox mAP@0.5 0.825 (mAP 0.546); 0.392, 0.599, 0.772 after epochs 3, 6, 9.
 * A 9-epoch cosine gave 0.731.
 */
export default {
  _base_: ['../_base_/datasets/shapes_detection.ts', '../_base_/default_runtime.ts'],
  model: {
    type: 'YOLOV3',
    backbone: {
      type: 'Darknet',
      depth: 53,
      widenFactor: 0.125,
      deepenFactor: 0.33,
      outIndices: [3, 4, 5],
      normEval: false,
    },
    neck: {
      type: 'YOLOV3Neck',
      numScales: 3,
      inChannels: [128, 64, 32],
      outChannels: [64, 32, 16],
    },
    bboxHead: {
      type: 'YOLOV3Head',
      numClasses: 5,
      inChannels: [64, 32, 16],
      outChannels: [128, 64, 32],
      anchorGenerator: {
        type: 'YOLOAnchorGenerator',
        baseSizes: [
          [
            [38, 38],
            [43, 43],
            [50, 50],
          ],
          [
            [24, 24],
            [28, 28],
            [33, 33],
          ],
          [
            [11, 11],
            [15, 15],
            [20, 20],
          ],
        ],
        strides: [32, 16, 8],
      },
      bboxCoder: { type: 'YOLOBBoxCoder' },
      featmapStrides: [32, 16, 8],
      lossCls: { type: 'CrossEntropyLoss', useSigmoid: true, lossWeight: 1.0, reduction: 'sum' },
      lossConf: { type: 'CrossEntropyLoss', useSigmoid: true, lossWeight: 1.0, reduction: 'sum' },
      lossXy: { type: 'CrossEntropyLoss', useSigmoid: true, lossWeight: 2.0, reduction: 'sum' },
      lossWh: { type: 'MSELoss', lossWeight: 2.0, reduction: 'sum' },
    },
    trainCfg: { assigner: { type: 'GridAssigner', posIouThr: 0.5, negIouThr: 0.5, minPosIou: 0 } },
    testCfg: {
      nmsPre: 1000,
      minBboxSize: 0,
      scoreThr: 0.05,
      confThr: 0.005,
      nms: { type: 'nms', iouThreshold: 0.45 },
      maxPerImg: 100,
    },
  },
  trainDataloader: { batchSize: 4 },
  trainCfg: { type: 'EpochBasedTrainLoop', maxEpochs: 12, valInterval: 3 },
  valCfg: { type: 'ValLoop' },
  testCfg: { type: 'TestLoop' },
  optimWrapper: {
    type: 'OptimWrapper',
    optimizer: { type: 'Adam', lr: 0.003, weightDecay: 0.0001 },
    clipGrad: { maxNorm: 35 },
  },
  paramScheduler: [
    { type: 'LinearLR', startFactor: 0.01, byEpoch: false, begin: 0, end: 150 },
    { type: 'CosineAnnealingLR', begin: 0, end: 12, byEpoch: true, etaMin: 0.00005 },
  ],
  defaultHooks: {
    logger: { type: 'LoggerHook', interval: 50 },
    checkpoint: { type: 'CheckpointHook', interval: 3, maxKeepCkpts: 2 },
  },
};
