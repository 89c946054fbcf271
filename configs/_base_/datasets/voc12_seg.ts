/**
 * PASCAL VOC 2012 semantic segmentation (mmseg `pascal_voc12.py`): the
 * `train` / `val` splits of `VOC2012/ImageSets/Segmentation`, 512x512 random
 * crops of images rescaled to 2048x512 x [0.5, 2.0], flips and photometric
 * distortion for training; whole images at 2048x512 for testing, scored with
 * mIoU over the 21 classes (background included).
 */
const dataRoot = 'data/VOCdevkit/VOC2012/';
const cropSize = [512, 512];
const imgNorm = { mean: [123.675, 116.28, 103.53], std: [58.395, 57.12, 57.375], toRgb: true };
const trainPipeline = [
  { type: 'LoadImageFromFile' },
  { type: 'LoadAnnotations', withBbox: false, withLabel: false, withSeg: true },
  { type: 'RandomResize', scale: [2048, 512], ratioRange: [0.5, 2.0], keepRatio: true },
  { type: 'RandomCrop', cropSize, allowNegativeCrop: true },
  { type: 'RandomFlip', prob: 0.5 },
  { type: 'PhotoMetricDistortion' },
  { type: 'Normalize', ...imgNorm },
  { type: 'Pad', size: cropSize, padVal: { img: 0, seg: 255 } },
  { type: 'PackSegInputs' },
];
const testPipeline = [
  { type: 'LoadImageFromFile' },
  { type: 'Resize', scale: [2048, 512], keepRatio: true },
  // after Resize: the label map keeps the original size, predictions are scored there (as mmseg)
  { type: 'LoadAnnotations', withBbox: false, withLabel: false, withSeg: true },
  { type: 'Normalize', ...imgNorm },
  { type: 'PackSegInputs' },
];
// Plain objects, no functions with typed parameters: configs must also load as plain JS.
const common = {
  type: 'VOCSegDataset',
  dataRoot,
  dataPrefix: { img: 'JPEGImages', seg: 'SegmentationClass' },
};
const valSet = {
  ...common,
  annFile: 'ImageSets/Segmentation/val.txt',
  testMode: true,
  pipeline: testPipeline,
};
export default {
  datasetType: 'VOCSegDataset',
  dataRoot,
  trainDataloader: {
    batchSize: 4,
    numWorkers: 4,
    sampler: { type: 'InfiniteSampler', shuffle: true },
    dataset: { ...common, annFile: 'ImageSets/Segmentation/train.txt', pipeline: trainPipeline },
  },
  valDataloader: {
    batchSize: 1,
    numWorkers: 4,
    dropLast: false,
    padSizeDivisor: 8,
    sampler: { type: 'DefaultSampler', shuffle: false },
    dataset: valSet,
  },
  testDataloader: {
    batchSize: 1,
    numWorkers: 4,
    dropLast: false,
    padSizeDivisor: 8,
    sampler: { type: 'DefaultSampler', shuffle: false },
    dataset: valSet,
  },
  valEvaluator: { type: 'SegMetric', iouMetrics: ['mIoU'] },
  testEvaluator: { type: 'SegMetric', iouMetrics: ['mIoU'] },
};
