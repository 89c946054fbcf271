/**
 * Mask R-CNN R-50-FPN (mmdet `mask-rcnn_r50_fpn.py`): Faster R-CNN R-50-FPN
 * plus a mask branch: RoIAlign 14x14 from P2-P5 and an FCN mask head (4
 * convs of 256, a 2x deconv, 28x28 masks per class), mask targets of 28x28
 * and masks binarised at 0.5.
 */
export default {
  _base_: './faster_rcnn_r50_fpn.ts',
  model: {
    type: 'MaskRCNN',
    roiHead: {
      maskRoiExtractor: {
        type: 'SingleRoIExtractor',
        roiLayer: { type: 'RoIAlign', outputSize: 14, samplingRatio: 0 },
        outChannels: 256,
        featmapStrides: [4, 8, 16, 32],
      },
      maskHead: {
        type: 'FCNMaskHead',
        numConvs: 4,
        inChannels: 256,
        convOutChannels: 256,
        numClasses: 80,
        lossMask: { type: 'CrossEntropyLoss', useMask: true, lossWeight: 1.0 },
      },
    },
    trainCfg: { rcnn: { maskSize: 28 } },
    testCfg: { rcnn: { maskThrBinary: 0.5 } },
  },
};
