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
