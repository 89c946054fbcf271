/**
 * torchvision's `retinanet_resnet50_fpn_v2` (COCO_V1 weights: 41.5 box AP):
 * `retinanet_resnet50_fpn.ts` with P6 from C5 instead of P5
 * (`LastLevelP6P7(2048, 256)`, ReLU before P7) and GroupNorm (32 groups) in
 * the classification and regression towers (their convs without bias).
 * Anchors, box coder and post-processing are v1's; torchvision trains the
 * box regression with a GIoU loss on decoded boxes.
 *
 * torchvision builds the v2 body with plain BatchNorm; in inference it is
 * the frozen one of v1, and fine-tuning here keeps it frozen (`normEval`).
 *
 *   npx tsx tools/convert_checkpoint.ts retinanet_resnet50_fpn_v2_coco-5905b1c5.pth work_dirs/retinanet_v2_tv.safetensors --from torchvision --config configs/torchvision/retinanet_resnet50_fpn_v2.ts
 */
export default {
  _base_: './retinanet_resnet50_fpn.ts',
  model: {
    neck: { addExtraConvs: 'onInput' },
    bboxHead: {
      normCfg: { type: 'GN', numGroups: 32, requiresGrad: true },
      regDecodedBbox: true,
      lossBbox: { type: 'GIoULoss', lossWeight: 1.0 },
    },
  },
};
