/**
 * The parts torchvision's ResNet segmentation models share: the body is
 * `resnet50/101(replace_stride_with_dilation=[False, True, True])`, i.e.
 * output stride 8 with layer3 dilated by 2 and layer4 by 4, the first block
 * of each at the previous dilation (our `contractDilation`), plain stem,
 * BatchNorm (trainable: these models are fine-tuned whole); and the
 * auxiliary classifier on layer3, `FCNHead(1024, 21)`: a 3x3 conv to 256
 * channels, BatchNorm, ReLU, dropout 0.1 and a 1x1 classifier.
 */
export function torchvisionSegBackbone(depth: 50 | 101): Record<string, unknown> {
  return {
    type: 'ResNet',
    depth,
    outIndices: [2, 3],
    strides: [1, 2, 1, 1],
    dilations: [1, 1, 2, 4],
    contractDilation: true,
    normCfg: { type: 'BN', requiresGrad: true },
    normEval: false,
    style: 'pytorch',
  };
}

/** torchvision's `FCNHead(inChannels, numClasses)`: its inner width is a quarter of the input's. */
export function torchvisionFcnHead(
  inChannels: number,
  inIndex: number,
  lossWeight: number,
): Record<string, unknown> {
  return {
    type: 'FCNHead',
    inChannels,
    inIndex,
    channels: inChannels / 4,
    numConvs: 1,
    concatInput: false,
    dropoutRatio: 0.1,
    numClasses: 21,
    normCfg: { type: 'BN', requiresGrad: true },
    alignCorners: false,
    lossDecode: torchvisionSegLoss(lossWeight),
  };
}

/** The per-pixel loss of torchvision's segmentation training: cross-entropy ignoring 255. */
export function torchvisionSegLoss(lossWeight: number): Record<string, unknown> {
  return { type: 'CrossEntropyLoss', useSigmoid: false, lossWeight, ignoreIndex: 255 };
}

/**
 * torchvision's `DeepLabHead(inChannels, 21)`: ASPP with a 1x1 branch, 3x3
 * branches at dilations 12, 24, 36 and the image-pooling branch last, each
 * to 256 channels with BatchNorm and ReLU; the concatenation projected by a
 * 1x1 conv to 256 (BatchNorm, ReLU, dropout 0.5); a 3x3 conv (BatchNorm,
 * ReLU) and the 1x1 classifier, no dropout before it.
 */
export function torchvisionDeepLabHead(inChannels: number): Record<string, unknown> {
  return {
    type: 'ASPPHead',
    inChannels,
    inIndex: 1,
    channels: 256,
    dilations: [1, 12, 24, 36],
    imagePoolLast: true,
    projectChannels: 256,
    projectDropout: 0.5,
    dropoutRatio: 0,
    numClasses: 21,
    normCfg: { type: 'BN', requiresGrad: true },
    alignCorners: false,
    lossDecode: torchvisionSegLoss(1.0),
  };
}

/**
 * The body of torchvision's MobileNetV3 segmentation models:
 * `mobilenet_v3_large(dilated=True).features` (the last stage dilated by 2
 * instead of strided: output stride 16; BatchNorm eps 0.001), giving
 * `features[4]` (40 channels, stride 8: the auxiliary or low-level input)
 * and `features[16]`, the last 1x1 conv (960 channels, stride 16). Our layer
 * `k` is torchvision's `features[k]`.
 */
export function torchvisionMobileNetV3SegBackbone(): Record<string, unknown> {
  return {
    type: 'MobileNetV3',
    arch: 'large',
    dilated: true,
    outIndices: [4, 16],
    normCfg: { type: 'BN', eps: 0.001, momentum: 0.01, requiresGrad: true },
    normEval: false,
  };
}
