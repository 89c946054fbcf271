/**
 * A light Mask R-CNN for the synthetic shapes set (instance masks from the
 * COCO polygons), trained from scratch on a CPU: a quarter-width ResNet-18
 * (16 base channels, three stages) with a 64-channel FPN on strides 8 and
 * 16, an RPN with 6 anchors of 16-64 px per location, RoIAlign 7x7 and a
 * 2-FC box head of 128, and a mask branch of RoIAlign 14x14 with a slim FCN
 * mask head (2 convs of 32, 2x deconv, 28x28 masks per class); 128x128
 * input, batch 4, 300 proposals and 64 sampled RoIs per image, Adam with
 * warm-up and a cosine schedule, 5 epochs; bbox and segm COCO metrics on
 * the val split.
 */
const imgNorm = { mean: [123.675, 116.28, 103.53], std: [58.395, 57.12, 57.375], toRgb: true };
const scale = 128;
const trainPipeline = [
  { type: 'LoadImageFromFile' },
  { type: 'LoadAnnotations', withBbox: true, withMask: true },
  { type: 'Resize', scale: [scale, scale], keepRatio: true },
  { type: 'RandomFlip', prob: 0.5 },
  { type: 'Normalize', ...imgNorm },
  { type: 'Pad', sizeDivisor: 32 },
  { type: 'PackDetInputs' },
];
const annFile = 'data/synthetic/annotations/instances_val.json';
const maxEpochs = 5;
export default {
  _base_: ['../_base_/datasets/shapes_detection.ts', '../_base_/default_runtime.ts'],
  model: {
    type: 'MaskRCNN',
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
      maskRoiExtractor: {
        type: 'SingleRoIExtractor',
        roiLayer: { type: 'RoIAlign', outputSize: 14, samplingRatio: 0 },
        outChannels: 64,
        featmapStrides: [8, 16],
      },
      maskHead: {
        type: 'FCNMaskHead',
        numConvs: 2,
        inChannels: 64,
        convOutChannels: 32,
        numClasses: 5,
        lossMask: { type: 'CrossEntropyLoss', useMask: true, lossWeight: 1.0 },
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
        nmsPre: 600,
        maxPerImg: 300,
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
        maskSize: 28,
        posWeight: -1,
      },
    },
    testCfg: {
      rpn: { nmsPre: 600, maxPerImg: 300, nms: { type: 'nms', iouThreshold: 0.7 }, minBboxSize: 0 },
      rcnn: {
        scoreThr: 0.05,
        nms: { type: 'nms', iouThreshold: 0.5 },
        maxPerImg: 100,
        maskThrBinary: 0.5,
      },
    },
  },
  trainDataloader: { batchSize: 4, dataset: { pipeline: trainPipeline } },
  trainCfg: { type: 'EpochBasedTrainLoop', maxEpochs, valInterval: maxEpochs },
  valCfg: { type: 'ValLoop' },
  testCfg: { type: 'TestLoop' },
  valEvaluator: { type: 'CocoMetric', annFile, metric: ['bbox', 'segm'] },
  testEvaluator: { type: 'CocoMetric', annFile, metric: ['bbox', 'segm'] },
  optimWrapper: {
    type: 'OptimWrapper',
    optimizer: { type: 'Adam', lr: 0.002, weightDecay: 0.0001 },
    clipGrad: { maxNorm: 10 },
  },
  paramScheduler: [
    { type: 'LinearLR', startFactor: 0.01, byEpoch: false, begin: 0, end: 100 },
    { type: 'CosineAnnealingLR', begin: 0, end: maxEpochs, byEpoch: true, etaMin: 0.00005 },
  ],
  defaultHooks: {
    logger: { type: 'LoggerHook', interval: 25 },
    checkpoint: { type: 'CheckpointHook', interval: 1 },
  },
};
