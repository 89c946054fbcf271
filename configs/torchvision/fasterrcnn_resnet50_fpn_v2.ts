/**
 * torchvision's `fasterrcnn_resnet50_fpn_v2` (COCO_V1 weights: 46.7 box AP;
 * Li et al., "Benchmarking Detection Transfer Learning with Vision
 * Transformers", 2021): `fasterrcnn_resnet50_fpn.ts` with BatchNorm in the
 * FPN (its 1x1 and 3x3 convs without bias), an RPN head of two 3x3 convs
 * (`conv_depth=2`) and the box head `FastRCNNConvFCHead`: four 3x3
 * conv-BatchNorm-ReLU of 256, then one FC of 1024 (our
 * `Shared4Conv1FCBBoxHead`). Anchors, box coder and post-processing are v1's.
 *
 * torchvision builds the v2 body with plain BatchNorm; in inference it is
 * the frozen one of v1, and fine-tuning here keeps it frozen (`normEval`),
 * as small batches need.
 *
 *   npx tsx tools/convert_checkpoint.ts fasterrcnn_resnet50_fpn_v2_coco-dd69338a.pth work_dirs/frcnn_v2_tv.safetensors --from torchvision --config configs/torchvision/fasterrcnn_resnet50_fpn_v2.ts
 */
export default {
  _base_: './fasterrcnn_resnet50_fpn.ts',
  model: {
    neck: { normCfg: { type: 'BN', requiresGrad: true } },
    rpnHead: { numConvs: 2 },
    roiHead: {
      bboxHead: {
        type: 'Shared4Conv1FCBBoxHead',
        convOutChannels: 256,
        normCfg: { type: 'BN', requiresGrad: true },
      },
    },
  },
};
