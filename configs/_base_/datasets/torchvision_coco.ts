/**
 * What torchvision's COCO detectors share: the 91 category names of
 * `weights.meta['categories']` (label = COCO category id; `__background__`
 * and the `N/A` ids are never targets) and `GeneralizedRCNNTransform` at its
 * defaults (`min_size` 800, `max_size` 1333): resize keeping the ratio so
 * that the short side is 800 and the long side at most 1333, normalise with
 * ImageNet's mean and std, pad to a multiple of 32 with zeros after
 * normalising.
 *
 * The resize runs through our Resize (sharp), which rounds the new size
 * where torchvision floors it and filters where torch's bilinear
 * interpolation of the float image does not; at native size the boxes
 * differ from torchvision's by that resampling, not by the model.
 */
import { COCO_CLASSES } from '../../../src/datasets/coco.js';

/** COCO's category ids without a category (torchvision names them `N/A`). */
const unusedIds = new Set([12, 26, 29, 30, 45, 66, 68, 69, 71, 83]);

/** torchvision's 91 names: index = category id; COCO's 80 classes in id order, `N/A` between. */
export const torchvisionCocoClasses: string[] = ['__background__'];
for (let id = 1, k = 0; id <= 90; id++)
  torchvisionCocoClasses.push(unusedIds.has(id) ? 'N/A' : COCO_CLASSES[k++]);

/** GeneralizedRCNNTransform's resize, normalisation and padding as our test pipeline. */
export function generalizedRcnnTransform(minSize = 800, maxSize = 1333): Record<string, unknown>[] {
  return [
    { type: 'LoadImageFromFile' },
    { type: 'Resize', scale: [maxSize, minSize], keepRatio: true },
    {
      type: 'Normalize',
      mean: [123.675, 116.28, 103.53],
      std: [58.395, 57.12, 57.375],
      toRgb: true,
    },
    { type: 'Pad', sizeDivisor: 32 },
    { type: 'PackDetInputs' },
  ];
}

export default {
  classes: torchvisionCocoClasses,
  testPipeline: generalizedRcnnTransform(),
};
