/**
 * Faster R-CNN R-50-FPN (mmdet `faster-rcnn_r50_fpn.py`): P2-P6, an RPN with
 * 3 anchors per location, RoIAlign 7x7 from P2-P5, a 2-FC box head with
 * class-specific deltas.
 */
export default {
  model: {
    type: 'FasterRCNN',
    backbone: {
      type: 'ResNet',
      depth: 50,
      numStages: 4,
      outIndices: [0, 1, 2, 3],
      frozenStages: 1,
      normCfg: { type: 'BN', requiresGrad: true },
      normEval: true,
      style: 'pytorch',
    },
    neck: { type: 'FPN', inChannels: [256, 512, 1024, 2048], outChannels: 256, numOuts: 5 },
    rpnHead: {
      type: 'RPNHead',
      inChannels: 256,
      featChannels: 256,
      anchorGenerator: {
        type: 'AnchorGenerator',
        scales: [8],
        ratios: [0.5, 1.0, 2.0],
        strides: [4, 8, 16, 32, 64],
      },
      bboxCoder: {
        type: 'DeltaXYWHBBoxCoder',
        targetMeans: [0.0, 0.0, 0.0, 0.0],
        targetStds: [1.0, 1.0, 1.0, 1.0],
      },
      lossCls: { type: 'CrossEntropyLoss', useSigmoid: true, lossWeight: 1.0 },
      lossBbox: { type: 'L1Loss', lossWeight: 1.0 },
    },
    roiHead: {
      type: 'StandardRoIHead',
      bboxRoiExtractor: {
        type: 'SingleRoIExtractor',
        roiLayer: { type: 'RoIAlign', outputSize: 7, samplingRatio: 0 },
        outChannels: 256,
        featmapStrides: [4, 8, 16, 32],
      },
      bboxHead: {
        type: 'Shared2FCBBoxHead',
        inChannels: 256,
        fcOutChannels: 1024,
        roiFeatSize: 7,
        numClasses: 80,
        bboxCoder: {
          type: 'DeltaXYWHBBoxCoder',
          targetMeans: [0.0, 0.0, 0.0, 0.0],
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
        debug: false,
      },
      rpnProposal: {
        nmsPre: 2000,
        maxPerImg: 1000,
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
          num: 512,
          posFraction: 0.25,
          negPosUb: -1,
          addGtAsProposals: true,
        },
        posWeight: -1,
        debug: false,
      },
    },
    testCfg: {
      rpn: {
        nmsPre: 1000,
        maxPerImg: 1000,
        nms: { type: 'nms', iouThreshold: 0.7 },
        minBboxSize: 0,
      },
      rcnn: { scoreThr: 0.05, nms: { type: 'nms', iouThreshold: 0.5 }, maxPerImg: 100 },
    },
  },
};
