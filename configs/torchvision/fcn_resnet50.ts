/**
 * torchvision's `fcn_resnet50` (COCO_WITH_VOC_LABELS_V1 weights: 60.5 mIoU,
 * 91.4 pixel accuracy on COCO val2017's VOC subset): the dilated ResNet-50
 * (output stride 8), `FCNHead(2048, 21)` on layer4 (3x3 conv to 512,
 * BatchNorm, ReLU, dropout 0.1, 1x1 classifier) and the auxiliary
 * `FCNHead(1024, 21)` on layer3 (torchvision's training weighs it 0.5); the
 * logits resized to the input bilinearly.
 *
 *   npx tsx tools/convert_checkpoint.ts fcn_resnet50_coco-1167a1af.pth work_dirs/fcn_tv.safetensors --from torchvision --config configs/torchvision/fcn_resnet50.ts
 *   npx tsx tools/infer.ts configs/torchvision/fcn_resnet50.ts work_dirs/fcn_tv.safetensors photo.jpg
 */
import {
  torchvisionFcnHead,
  torchvisionSegBackbone,
} from '../_base_/models/torchvision_segmentation.js';

export default {
  _base_: '../_base_/datasets/torchvision_voc_seg.ts',
  model: {
    type: 'EncoderDecoder',
    backbone: torchvisionSegBackbone(50),
    decodeHead: torchvisionFcnHead(2048, 1, 1.0),
    auxiliaryHead: torchvisionFcnHead(1024, 0, 0.5),
    testCfg: { mode: 'whole' },
  },
};
