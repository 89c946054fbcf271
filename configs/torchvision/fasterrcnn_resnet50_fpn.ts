/**
 * torchvision's `fasterrcnn_resnet50_fpn` (COCO_V1 weights: 37.0 box AP):
 * ResNet-50 with frozen BatchNorm, an FPN on C2-C5 with P6 a stride-2
 * subsampling of P5 (`LastLevelMaxPool`), an RPN with one anchor size per
 * level (32..512) and 3 ratios (rounded base anchors, strides from the
 * feature sizes), 1000 proposals per level before and 1000 after NMS at 0.7
 * (boxes under 1e-3 dropped), RoIAlign 7x7 with 2x2 samples and unaligned
 * corners from P2-P5 (level `floor(4 + log2(sqrt(area) / 224))`), two FCs
 * of 1024, and torchvision's post-processing: softmax, box coder weights
 * (10, 10, 5, 5) clamped from above only, scores above 0.05, boxes under
 * 1e-2 dropped, per-class NMS at 0.5, 100 detections per image.
 *
 * Labels: torchvision's class 0 is the background, ours is last, so label
 * `l` here is torchvision's `l + 1` (the COCO category id); `classes` are
 * named accordingly.
 *
 *   npx tsx tools/convert_checkpoint.ts fasterrcnn_resnet50_fpn_coco-258fb6c6.pth work_dirs/frcnn_tv.safetensors --from torchvision --config configs/torchvision/fasterrcnn_resnet50_fpn.ts
 */
import {
  torchvisionAnchorGenerator,
  torchvisionBoxCoder,
} from '../_base_/models/torchvision_parts.js';
import { torchvisionCocoClasses } from '../_base_/datasets/torchvision_coco.js';

export default {
  _base_: '../_base_/datasets/torchvision_coco.ts',
  classes: torchvisionCocoClasses.slice(1),
  model: {
    type: 'FasterRCNN',
    backbone: {
      type: 'ResNet',
      depth: 50,
      outIndices: [0, 1, 2, 3],
      frozenStages: 1,
      normEval: true,
      style: 'pytorch',
    },
    neck: { type: 'FPN', inChannels: [256, 512, 1024, 2048], outChannels: 256, numOuts: 5 },
    rpnHead: {
      type: 'RPNHead',
      inChannels: 256,
      featChannels: 256,
      anchorGenerator: torchvisionAnchorGenerator(
        [4, 8, 16, 32, 64],
        [[32], [64], [128], [256], [512]],
      ),
      bboxCoder: torchvisionBoxCoder([1.0, 1.0, 1.0, 1.0]),
      lossCls: { type: 'CrossEntropyLoss', useSigmoid: true, lossWeight: 1.0 },
      lossBbox: { type: 'L1Loss', lossWeight: 1.0 },
    },
    roiHead: {
      type: 'StandardRoIHead',
      bboxRoiExtractor: {
        type: 'SingleRoIExtractor',
        roiLayer: { type: 'RoIAlign', outputSize: 7, samplingRatio: 2, aligned: false },
        outChannels: 256,
        featmapStrides: [4, 8, 16, 32],
        finestScale: 56,
      },
      bboxHead: {
        type: 'Shared2FCBBoxHead',
        inChannels: 256,
        fcOutChannels: 1024,
        roiFeatSize: 7,
        numClasses: 90,
        bboxCoder: torchvisionBoxCoder([0.1, 0.1, 0.2, 0.2]),
        regClassAgnostic: false,
        lossCls: { type: 'CrossEntropyLoss', useSigmoid: false, lossWeight: 1.0 },
        lossBbox: { type: 'L1Loss', lossWeight: 1.0 },
      },
    },
    testCfg: {
      rpn: {
        nmsPre: 1000,
        maxPerImg: 1000,
        nms: { type: 'nms', iouThreshold: 0.7 },
        minBboxSize: 1e-3,
      },
      rcnn: {
        scoreThr: 0.05,
        nms: { type: 'nms', iouThreshold: 0.5 },
        maxPerImg: 100,
        minBboxSize: 1e-2,
      },
    },
  },
};
