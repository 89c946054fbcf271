/**
 * torchvision's `retinanet_resnet50_fpn` (COCO_V1 weights: 36.4 box AP):
 * ResNet-50 with frozen BatchNorm, an FPN on C3-C5 with P6 and P7 from P5
 * (`LastLevelP6P7(256, 256)`, ReLU before P7), the classification and
 * regression heads of 4 convs, torchvision's anchors (sizes
 * `(x, int(x·2^⅓), int(x·2^⅔))` for x = 32..512, rounded base anchors,
 * strides from the feature sizes), box coder weights (1, 1, 1, 1) clamping dw,
 * dh from above only, and its
 * post-processing: per level, scores above 0.05, the best 1000, then
 * per-class NMS at 0.5 and 300 detections per image, no size filter.
 *
 *   npx tsx tools/convert_checkpoint.ts retinanet_resnet50_fpn_coco-eeacb38b.pth work_dirs/retinanet_tv.safetensors --from torchvision --config configs/torchvision/retinanet_resnet50_fpn.ts
 *   npx tsx tools/infer.ts configs/torchvision/retinanet_resnet50_fpn.ts work_dirs/retinanet_tv.safetensors photo.jpg
 */
import {
  torchvisionAnchorGenerator,
  torchvisionP3P7Body,
  torchvisionBoxCoder,
} from '../_base_/models/torchvision_parts.js';
const sizes = [32, 64, 128, 256, 512].map((x) => [
  x,
  Math.trunc(x * 2 ** (1 / 3)),
  Math.trunc(x * 2 ** (2 / 3)),
]);

export default {
  _base_: '../_base_/datasets/torchvision_coco.ts',
  model: {
    type: 'RetinaNet',
    ...torchvisionP3P7Body(),
    bboxHead: {
      type: 'RetinaHead',
      numClasses: 91,
      inChannels: 256,
      stackedConvs: 4,
      featChannels: 256,
      anchorGenerator: torchvisionAnchorGenerator([8, 16, 32, 64, 128], sizes),
      bboxCoder: torchvisionBoxCoder([1.0, 1.0, 1.0, 1.0]),
      lossCls: { type: 'FocalLoss', useSigmoid: true, gamma: 2.0, alpha: 0.25, lossWeight: 1.0 },
      lossBbox: { type: 'L1Loss', lossWeight: 1.0 },
    },
    trainCfg: {
      assigner: { type: 'MaxIoUAssigner', posIouThr: 0.5, negIouThr: 0.4, minPosIou: 0 },
      sampler: { type: 'PseudoSampler' },
      allowedBorder: -1,
      posWeight: -1,
    },
    testCfg: {
      nmsPre: 1000,
      minBboxSize: -1,
      scoreThr: 0.05,
      nms: { type: 'nms', iouThreshold: 0.5 },
      maxPerImg: 300,
    },
  },
};
