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
export const torchvisionCocoClasses = [
  '__background__',
  'person',
  'bicycle',
  'car',
  'motorcycle',
  'airplane',
  'bus',
  'train',
  'truck',
  'boat',
  'traffic light',
  'fire hydrant',
  'N/A',
  'stop sign',
  'parking meter',
  'bench',
  'bird',
  'cat',
  'dog',
  'horse',
  'sheep',
  'cow',
  'elephant',
  'bear',
  'zebra',
  'giraffe',
  'N/A',
  'backpack',
  'umbrella',
  'N/A',
  'N/A',
  'handbag',
  'tie',
  'suitcase',
  'frisbee',
  'skis',
  'snowboard',
  'sports ball',
  'kite',
  'baseball bat',
  'baseball glove',
  'skateboard',
  'surfboard',
  'tennis racket',
  'bottle',
  'N/A',
  'wine glass',
  'cup',
  'fork',
  'knife',
  'spoon',
  'bowl',
  'banana',
  'apple',
  'sandwich',
  'orange',
  'broccoli',
  'carrot',
  'hot dog',
  'pizza',
  'donut',
  'cake',
  'chair',
  'couch',
  'potted plant',
  'bed',
  'N/A',
  'dining table',
  'N/A',
  'N/A',
  'toilet',
  'N/A',
  'tv',
  'laptop',
  'mouse',
  'remote',
  'keyboard',
  'cell phone',
  'microwave',
  'oven',
  'toaster',
  'sink',
  'refrigerator',
  'N/A',
  'book',
  'clock',
  'vase',
  'scissors',
  'teddy bear',
  'hair drier',
  'toothbrush',
];

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
