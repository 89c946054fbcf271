/**
 * torchvision's `deeplabv3_mobilenet_v3_large` (COCO_WITH_VOC_LABELS_V1
 * weights: 60.3 mIoU, 91.2 pixel accuracy): the dilated MobileNetV3-Large
 * (output stride 16) and `DeepLabHead(960, 21)` (the ASPP of
 * deeplabv3_resnet50 on the last 1x1 conv's 960 channels); the auxiliary
 * `FCNHead(40, 21)` on `features[4]` (stride 8).
 *
 *   npx tsx tools/convert_checkpoint.ts deeplabv3_mobilenet_v3_large-fc3c493d.pth work_dirs/deeplabv3_mbv3_tv.safetensors --from torchvision --config configs/torchvision/deeplabv3_mobilenet_v3_large.ts
 */
import {
  torchvisionDeepLabHead,
  torchvisionFcnHead,
  torchvisionMobileNetV3SegBackbone,
} from '../_base_/models/torchvision_segmentation.js';

export default {
  _base_: '../_base_/datasets/torchvision_voc_seg.ts',
  model: {
    type: 'EncoderDecoder',
    backbone: torchvisionMobileNetV3SegBackbone(),
    decodeHead: torchvisionDeepLabHead(960),
    auxiliaryHead: torchvisionFcnHead(40, 0, 0.5),
    testCfg: { mode: 'whole' },
  },
};
