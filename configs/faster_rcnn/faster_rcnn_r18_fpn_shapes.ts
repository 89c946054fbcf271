/**
 * A light Faster R-CNN for the synthetic shapes set, trained from scratch on
 * a CPU: a quarter-width ResNet-18 (16 base channels, three stages) with a
 * 64-channel FPN on strides 8 and 16, an RPN with 6 anchors of 16-64 px per
 * location, RoIAlign 7x7 and a 2-FC box head of 128; 128x128 input (the
 * shapes base), batch 4, fewer proposals and RoIs than the COCO setting
 * (200 proposals, 64 sampled RoIs per image: the box head's cost is linear
 * in both), Adam with warm-up and a cosine schedule, 8 epochs.
 * Measured (wasm, 2-core machine, the other core training another model):
 * `npx tsx tools/train.ts configs/faster_rcnn/faster_rcnn_r18_fpn_shapes.ts
 * --work-dir work_dirs/frcnn` took 17:02 wall (1,045 CPU seconds, two val
 * passes included); val bbox mAP@0.5 0.919 (mAP 0.722).
 */
export default {
  _base_: ['../_base_/datasets/shapes_detection.ts', '../_base_/default_runtime.ts'],
  model: {
    type: 'FasterRCNN',
    backbone: {
      type: 'ResNet',
      depth: 18,
      baseChannels: 16,
      numStages: 3,
      outIndices: [1, 2],
      normEval: false,
      zeroInitResidual: false,
    },
    neck: { type: 'FPN', inChannels: [32, 64], outChannels: 64, numOuts: 2 },
    rpnHead: {
      type: 'RPNHead',
      inChannels: 64,
      featChannels: 64,
      anchorGenerator: {
        type: 'AnchorGenerator',
        scales: [2, 4],
        ratios: [0.5, 1.0, 2.0],
        strides: [8, 16],
      },
      bboxCoder: {
        type: 'DeltaXYWHBBoxCoder',
        targetMeans: [0, 0, 0, 0],
        targetStds: [1, 1, 1, 1],
      },
      lossCls: { type: 'CrossEntropyLoss', useSigmoid: true, lossWeight: 1.0 },
      lossBbox: { type: 'L1Loss', lossWeight: 1.0 },
    },
    roiHead: {
      type: 'StandardRoIHead',
      bboxRoiExtractor: {
        type: 'SingleRoIExtractor',
        roiLayer: { type: 'RoIAlign', outputSize: 7, samplingRatio: 0 },
        outChannels: 64,
        featmapStrides: [8, 16],
      },
      bboxHead: {
        type: 'Shared2FCBBoxHead',
        inChannels: 64,
        fcOutChannels: 128,
        roiFeatSize: 7,
        numClasses: 5,
        bboxCoder: {
          type: 'DeltaXYWHBBoxCoder',
          targetMeans: [0, 0, 0, 0],
          targetStds: [0.1, 0.1, 0.2, 0.2],
        },
        regClassAgnostic: false,
        lossCls: { type: 'CrossEntropyLoss', useSigmoid: false, lossWeight: 1.0 },
        lossBbox: { type: 'L1Loss', lossWeight: 1.0 },
      },
    },
    trainCfg: {
      rpn: {
        assigner: {
          type: 'MaxIoUAssigner',
          posIouThr: 0.7,
          negIouThr: 0.3,
          minPosIou: 0.3,
          matchLowQuality: true,
          ignoreIofThr: -1,
        },
        sampler: {
          type: 'RandomSampler',
          num: 256,
          posFraction: 0.5,
          negPosUb: -1,
          addGtAsProposals: false,
        },
        allowedBorder: -1,
        posWeight: -1,
      },
      rpnProposal: {
        nmsPre: 300,
        maxPerImg: 200,
        nms: { type: 'nms', iouThreshold: 0.7 },
        minBboxSize: 0,
      },
      rcnn: {
        assigner: {
          type: 'MaxIoUAssigner',
          posIouThr: 0.5,
          negIouThr: 0.5,
          minPosIou: 0.5,
          matchLowQuality: false,
          ignoreIofThr: -1,
        },
        sampler: {
          type: 'RandomSampler',
          num: 64,
          posFraction: 0.25,
          negPosUb: -1,
          addGtAsProposals: true,
        },
        posWeight: -1,
      },
    },
    testCfg: {
      rpn: { nmsPre: 300, maxPerImg: 200, nms: { type: 'nms', iouThreshold: 0.7 }, minBboxSize: 0 },
      rcnn: { scoreThr: 0.05, nms: { type: 'nms', iouThreshold: 0.5 }, maxPerImg: 100 },
    },
  },
  trainDataloader: { batchSize: 4 },
  trainCfg: { type: 'EpochBasedTrainLoop', maxEpochs: 8, valInterval: 4 },
  valCfg: { type: 'ValLoop' },
  testCfg: { type: 'TestLoop' },
  optimWrapper: {
    type: 'OptimWrapper',
    optimizer: { type: 'Adam', lr: 0.002, weightDecay: 0.0001 },
    clipGrad: { maxNorm: 10 },
  },
  paramScheduler: [
    { type: 'LinearLR', startFactor: 0.01, byEpoch: false, begin: 0, end: 100 },
    { type: 'CosineAnnealingLR', begin: 0, end: 8, byEpoch: true, etaMin: 0.00005 },
  ],
  defaultHooks: {
    logger: { type: 'LoggerHook', interval: 25 },
    checkpoint: { type: 'CheckpointHook', interval: 4 },
  },
};
