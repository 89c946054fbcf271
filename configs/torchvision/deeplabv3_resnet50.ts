/**
 * torchvision's `deeplabv3_resnet50` (COCO_WITH_VOC_LABELS_V1 weights: 66.4
 * mIoU, 92.4 pixel accuracy): the dilated ResNet-50 (output stride 8) and
 * `DeepLabHead(2048, 21)`: ASPP with a 1x1 branch, 3x3 branches at
 * dilations 12, 24, 36 and the image-pooling branch last, each to 256
 * channels with BatchNorm and ReLU; the concatenation projected by a 1x1
 * conv to 256 (BatchNorm, ReLU, dropout 0.5); a 3x3 conv (BatchNorm, ReLU)
 * and the 1x1 classifier. The auxiliary `FCNHead(1024, 21)` on layer3.
 *
 *   npx tsx tools/convert_checkpoint.ts deeplabv3_resnet50_coco-cd0a2569.pth work_dirs/deeplabv3_tv.safetensors --from torchvision --config configs/torchvision/deeplabv3_resnet50.ts
 */
import {
  torchvisionDeepLabHead,
  torchvisionFcnHead,
  torchvisionSegBackbone,
} from '../_base_/models/torchvision_segmentation.js';

export default {
  _base_: '../_base_/datasets/torchvision_voc_seg.ts',
  model: {
    type: 'EncoderDecoder',
    backbone: torchvisionSegBackbone(50),
    decodeHead: torchvisionDeepLabHead(2048),
    auxiliaryHead: torchvisionFcnHead(1024, 0, 0.5),
    testCfg: { mode: 'whole' },
  },
};
