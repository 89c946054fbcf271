/**
 * torchvision's `deeplabv3_resnet101` (COCO_WITH_VOC_LABELS_V1 weights: 67.4
 * mIoU, 92.4 pixel accuracy): `deeplabv3_resnet50` with ResNet-101.
 *
 *   npx tsx tools/convert_checkpoint.ts deeplabv3_resnet101_coco-586e9e4e.pth work_dirs/deeplabv3_101_tv.safetensors --from torchvision --config configs/torchvision/deeplabv3_resnet101.ts
 */
export default {
  _base_: './deeplabv3_resnet50.ts',
  model: { backbone: { depth: 101 } },
};
