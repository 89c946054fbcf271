/**
 * What torchvision's segmentation models share: the 21 classes of
 * `weights.meta['categories']` (`COCO_WITH_VOC_LABELS_V1`: a COCO subset
 * labelled with VOC's 20 classes, background first, as our VOC
 * segmentation data set) and their inference transform
 * `SemanticSegmentation(resize_size=520)`: the short side resized to 520
 * keeping the ratio (no limit on the long side), ImageNet's mean and std;
 * no padding. The logits come back at the input size (bilinear,
 * `align_corners=False`), then at the original size.
 */
import { VOC_CLASSES } from '../../../src/datasets/voc.js';

/** torchvision's 21 names: `__background__` and VOC's 20. */
export const torchvisionVocClasses: string[] = ['__background__', ...VOC_CLASSES];

/** SemanticSegmentation's resize and normalisation as our test pipeline. */
export function semanticSegmentationTransform(resizeSize = 520): Record<string, unknown>[] {
  return [
    { type: 'LoadImageFromFile' },
    // the long side's bound is beyond any image: torchvision's Resize(520) has no max_size
    { type: 'Resize', scale: [1_000_000, resizeSize], keepRatio: true },
    {
      type: 'Normalize',
      mean: [123.675, 116.28, 103.53],
      std: [58.395, 57.12, 57.375],
      toRgb: true,
    },
    { type: 'PackSegInputs' },
  ];
}

export default {
  classes: torchvisionVocClasses,
  testPipeline: semanticSegmentationTransform(),
};
