/**
 * torchvision's `maskrcnn_resnet50_fpn` (COCO_V1 weights: 37.9 box AP, 34.6
 * mask AP): `fasterrcnn_resnet50_fpn.ts` with torchvision's mask branch —
 * RoIAlign 14x14 (2x2 samples, unaligned) from P2-P5, four 3x3 convs of 256,
 * a 2x2 stride-2 transposed conv, one 1x1 logit per class — and its mask
 * pasting (the 28x28 mask padded by a pixel, the box expanded alike and
 * truncated to integers, a bilinear resize into it), thresholded at 0.5.
 *
 *   npx tsx tools/convert_checkpoint.ts maskrcnn_resnet50_fpn_coco-bf2d0c1e.pth work_dirs/mrcnn_tv.safetensors --from torchvision --config configs/torchvision/maskrcnn_resnet50_fpn.ts
 */
export default {
  _base_: './fasterrcnn_resnet50_fpn.ts',
  model: {
    type: 'MaskRCNN',
    roiHead: {
      maskRoiExtractor: {
        type: 'SingleRoIExtractor',
        roiLayer: { type: 'RoIAlign', outputSize: 14, samplingRatio: 2, aligned: false },
        outChannels: 256,
        featmapStrides: [4, 8, 16, 32],
        finestScale: 56,
      },
      maskHead: {
        type: 'FCNMaskHead',
        numConvs: 4,
        inChannels: 256,
        convOutChannels: 256,
        numClasses: 90,
        lossMask: { type: 'CrossEntropyLoss', useMask: true, lossWeight: 1.0 },
      },
    },
    testCfg: { rcnn: { maskThrBinary: 0.5, pasteMode: 'torchvision' } },
  },
};
