/** A tiny YOLOv3 config shared by the YOLO tests (Darknet at 1/8 width, 1/5 depth; 2 anchors per level). */
export const tinyYolo = {
  type: 'YOLOV3',
  backbone: { type: 'Darknet', widenFactor: 0.125, deepenFactor: 0.2, normEval: false },
  neck: { type: 'YOLOV3Neck', numScales: 3, inChannels: [128, 64, 32], outChannels: [32, 16, 8] },
  bboxHead: {
    type: 'YOLOV3Head',
    numClasses: 5,
    inChannels: [32, 16, 8],
    outChannels: [64, 32, 16],
    featmapStrides: [32, 16, 8],
    anchorGenerator: {
      type: 'YOLOAnchorGenerator',
      strides: [32, 16, 8],
      baseSizes: [
        [
          [40, 40],
          [56, 56],
        ],
        [
          [20, 20],
          [28, 28],
        ],
        [
          [10, 10],
          [14, 14],
        ],
      ],
    },
    lossCls: { type: 'CrossEntropyLoss', useSigmoid: true, reduction: 'sum' },
    lossConf: { type: 'CrossEntropyLoss', useSigmoid: true, reduction: 'sum' },
    lossXy: { type: 'CrossEntropyLoss', useSigmoid: true, lossWeight: 2, reduction: 'sum' },
    lossWh: { type: 'MSELoss', lossWeight: 2, reduction: 'sum' },
  },
  trainCfg: { assigner: { type: 'GridAssigner', posIouThr: 0.5, negIouThr: 0.5, minPosIou: 0 } },
  testCfg: {
    nmsPre: 1000,
    minBboxSize: 0,
    scoreThr: 0.0,
    confThr: 0.0,
    nms: { type: 'nms', iouThreshold: 0.45 },
    maxPerImg: 20,
  },
};
