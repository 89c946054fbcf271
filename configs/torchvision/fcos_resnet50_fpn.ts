/**
 * torchvision's `fcos_resnet50_fpn` (COCO_V1 weights: 39.2 box AP):
 * ResNet-50 with frozen BatchNorm, an FPN on C3-C5 with P6 and P7 from P5
 * (`LastLevelP6P7(256, 256)`, ReLU before P7), and torchvision's FCOS head:
 * towers of 4 conv (with bias) + GroupNorm(32) + ReLU, distances
 * `relu(reg)` times the level's anchor size (8..128, our `normOnBbox`),
 * centerness on the regression tower, no per-level scales (the converter
 * writes them as 1). Its points are the anchor centres of
 * `AnchorGenerator(((8,), ..., (128,)))`: cell `(x, y)` at `(x, y) * s` with
 * no half-cell offset, `s` the stride from the feature size
 * (`floor(input / feature)`). Post-processing: per level, the scores
 * `sqrt(sigmoid(cls) * sigmoid(centerness))` above 0.2, the best 1000 of
 * them, boxes clipped to the image, then per-class NMS at 0.6 and 100
 * detections per image; no size filter.
 *
 * Labels are torchvision's, the COCO category id (91 outputs), as RetinaNet's.
 *
 *   npx tsx tools/convert_checkpoint.ts fcos_resnet50_fpn_coco-99b0c9b7.pth work_dirs/fcos_tv.safetensors --from torchvision --config configs/torchvision/fcos_resnet50_fpn.ts
 *   npx tsx tools/infer.ts configs/torchvision/fcos_resnet50_fpn.ts work_dirs/fcos_tv.safetensors photo.jpg
 */
import { torchvisionP3P7Body } from '../_base_/models/torchvision_parts.js';

export default {
  _base_: '../_base_/datasets/torchvision_coco.ts',
  model: {
    type: 'FCOS',
    ...torchvisionP3P7Body(),
    bboxHead: {
      type: 'FCOSHead',
      numClasses: 91,
      inChannels: 256,
      stackedConvs: 4,
      featChannels: 256,
      strides: [8, 16, 32, 64, 128],
      normCfg: { type: 'GN', numGroups: 32, requiresGrad: true },
      convBias: true,
      priorGenerator: { offset: 0, stridesFromFeatmaps: true },
      centernessScoring: 'sqrtProduct',
      centerSampling: true,
      centerSampleRadius: 1.5,
      normOnBbox: true,
      centernessOnReg: true,
      lossCls: { type: 'FocalLoss', useSigmoid: true, gamma: 2.0, alpha: 0.25, lossWeight: 1.0 },
      lossBbox: { type: 'GIoULoss', lossWeight: 1.0 },
      lossCenterness: { type: 'CrossEntropyLoss', useSigmoid: true, lossWeight: 1.0 },
    },
    testCfg: {
      nmsPre: 1000,
      minBboxSize: -1,
      scoreThr: 0.2,
      nms: { type: 'nms', iouThreshold: 0.6 },
      maxPerImg: 100,
    },
  },
};
