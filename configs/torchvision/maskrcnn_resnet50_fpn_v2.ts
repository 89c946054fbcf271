/**
 * torchvision's `maskrcnn_resnet50_fpn_v2` (COCO_V1 weights: 47.4 box AP,
 * 41.8 mask AP): `fasterrcnn_resnet50_fpn_v2.ts` with the mask branch of
 * `maskrcnn_resnet50_fpn.ts` whose four 3x3 convs carry BatchNorm
 * (`MaskRCNNHeads(..., norm_layer=nn.BatchNorm2d)`, convs without bias).
 *
 *   npx tsx tools/convert_checkpoint.ts maskrcnn_resnet50_fpn_v2_coco-73cbd019.pth work_dirs/mrcnn_v2_tv.safetensors --from torchvision --config configs/torchvision/maskrcnn_resnet50_fpn_v2.ts
 */
import maskrcnn from './maskrcnn_resnet50_fpn.js';

export default {
  _base_: './fasterrcnn_resnet50_fpn_v2.ts',
  model: {
    ...maskrcnn.model,
    roiHead: {
      maskRoiExtractor: maskrcnn.model.roiHead.maskRoiExtractor,
      maskHead: { ...maskrcnn.model.roiHead.maskHead, normCfg: { type: 'BN', requiresGrad: true } },
    },
  },
};
