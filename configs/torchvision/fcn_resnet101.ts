/**
 * torchvision's `fcn_resnet101` (COCO_WITH_VOC_LABELS_V1 weights: 63.7 mIoU,
 * 91.9 pixel accuracy): `fcn_resnet50` with ResNet-101.
 *
 *   npx tsx tools/convert_checkpoint.ts fcn_resnet101_coco-7ecb50ca.pth work_dirs/fcn101_tv.safetensors --from torchvision --config configs/torchvision/fcn_resnet101.ts
 */
export default {
  _base_: './fcn_resnet50.ts',
  model: { backbone: { depth: 101 } },
};
