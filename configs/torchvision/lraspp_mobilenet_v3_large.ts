/**
 * torchvision's `lraspp_mobilenet_v3_large` (COCO_WITH_VOC_LABELS_V1
 * weights: 57.9 mIoU, 91.2 pixel accuracy): the dilated MobileNetV3-Large
 * (output stride 16) and the Lite R-ASPP head on `features[4]` (40 channels,
 * stride 8) and the last 1x1 conv (960 channels, stride 16), 128 channels
 * inside; no auxiliary head.
 *
 *   npx tsx tools/convert_checkpoint.ts lraspp_mobilenet_v3_large-d234d4ea.pth work_dirs/lraspp_tv.safetensors --from torchvision --config configs/torchvision/lraspp_mobilenet_v3_large.ts
 */
import {
  torchvisionMobileNetV3SegBackbone,
  torchvisionSegLoss,
} from '../_base_/models/torchvision_segmentation.js';

export default {
  _base_: '../_base_/datasets/torchvision_voc_seg.ts',
  model: {
    type: 'EncoderDecoder',
    backbone: torchvisionMobileNetV3SegBackbone(),
    decodeHead: {
      type: 'LRASPPHead',
      inChannels: [40, 960],
      inIndex: [0, 1],
      inputTransform: 'multiple_select',
      channels: 128,
      dropoutRatio: 0,
      numClasses: 21,
      normCfg: { type: 'BN', requiresGrad: true },
      alignCorners: false,
      lossDecode: torchvisionSegLoss(1.0),
    },
    testCfg: { mode: 'whole' },
  },
};
