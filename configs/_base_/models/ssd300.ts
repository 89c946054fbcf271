/** SSD300 with VGG16 (mmdet `ssd300.py`): 6 levels, softmax classification, hard negative mining 3:1, smooth L1. */
const inputSize = 300;
export default {
  model: {
    type: 'SSD',
    backbone: {
      type: 'SSDVGG',
      depth: 16,
      withLastPool: false,
      ceilMode: true,
      outIndices: [3, 4],
      outFeatureIndices: [22, 34],
    },
    neck: {
      type: 'SSDNeck',
      inChannels: [512, 1024],
      outChannels: [512, 1024, 512, 256, 256, 256],
      levelStrides: [2, 2, 1, 1],
      levelPaddings: [1, 1, 0, 0],
      l2NormScale: 20,
    },
    bboxHead: {
      type: 'SSDHead',
      inChannels: [512, 1024, 512, 256, 256, 256],
      numClasses: 80,
      anchorGenerator: {
        type: 'SSDAnchorGenerator',
        scaleMajor: false,
        inputSize,
        basesizeRatioRange: [0.15, 0.9],
        strides: [8, 16, 32, 64, 100, 300],
        ratios: [[2], [2, 3], [2, 3], [2, 3], [2], [2]],
      },
      bboxCoder: {
        type: 'DeltaXYWHBBoxCoder',
        targetMeans: [0.0, 0.0, 0.0, 0.0],
        targetStds: [0.1, 0.1, 0.2, 0.2],
      },
    },
    trainCfg: {
      assigner: {
        type: 'MaxIoUAssigner',
        posIouThr: 0.5,
        negIouThr: 0.5,
        minPosIou: 0.0,
        ignoreIofThr: -1,
        gtMaxAssignAll: false,
      },
      sampler: { type: 'PseudoSampler' },
      smoothl1Beta: 1.0,
      allowedBorder: -1,
      posWeight: -1,
      negPosRatio: 3,
      debug: false,
    },
    testCfg: {
      nms: { type: 'nms', iouThreshold: 0.45 },
      minBboxSize: 0,
      scoreThr: 0.02,
      maxPerImg: 200,
    },
  },
};
