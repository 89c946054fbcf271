/**
 * What torchvision's detectors share, as our component configs: its
 * `AnchorGenerator` (per-level sizes, base anchors rounded, strides from the
 * feature sizes) and its `BoxCoder` (dw, dh clamped from above only).
 */

/** torchvision's anchors: `sizes[l]` in pixels at level `l`, 3 ratios. */
export function torchvisionAnchorGenerator(
  strides: number[],
  sizes: number[][],
): Record<string, unknown> {
  return {
    type: 'AnchorGenerator',
    strides,
    ratios: [0.5, 1.0, 2.0],
    sizes,
    roundBase: true,
    stridesFromFeatmaps: true,
  };
}

/** torchvision's box coder with weights `1 / stds` (RPN and RetinaNet 1, the RoI head 10, 10, 5, 5). */
export function torchvisionBoxCoder(stds: number[]): Record<string, unknown> {
  return {
    type: 'DeltaXYWHBBoxCoder',
    targetMeans: [0.0, 0.0, 0.0, 0.0],
    targetStds: stds,
    clampBelow: false,
  };
}

/**
 * The body of torchvision's RetinaNet and FCOS: ResNet-50 with frozen
 * BatchNorm (layers 2-4 trained) giving C3-C5, and an FPN with P6 and P7
 * from P5 (`LastLevelP6P7(256, 256)`, ReLU before P7).
 */
export function torchvisionP3P7Body(): Record<string, unknown> {
  return {
    backbone: {
      type: 'ResNet',
      depth: 50,
      outIndices: [1, 2, 3],
      frozenStages: 1,
      normEval: true,
      style: 'pytorch',
    },
    neck: {
      type: 'FPN',
      inChannels: [512, 1024, 2048],
      outChannels: 256,
      startLevel: 0,
      addExtraConvs: 'onOutput',
      reluBeforeExtraConvs: true,
      numOuts: 5,
    },
  };
}
