/**
 * The synthetic shapes set (`tools/make_synthetic.ts`, 256x256 images) in its
 * VOC segmentation form: `ImageSets/Segmentation/{train,val}.txt`,
 * `SegmentationClass/*.png` palette label maps with 0 = background and
 * 1..5 = circle, square, triangle, star, hexagon. Images are resized to
 * 128x128 for CPU / wasm training; the test pipeline loads the label map
 * after Resize (as mmseg), so predictions are scored at the original 256x256.
 */
const dataRoot = 'data/synthetic/';
const classes = ['background', 'circle', 'square', 'triangle', 'star', 'hexagon'];
const imgNorm = { mean: [123.675, 116.28, 103.53], std: [58.395, 57.12, 57.375], toRgb: true };
const scale = 128;
const trainPipeline = [
  { type: 'LoadImageFromFile' },
  { type: 'LoadAnnotations', withBbox: false, withLabel: false, withSeg: true },
  { type: 'Resize', scale: [scale, scale], keepRatio: true },
  { type: 'RandomFlip', prob: 0.5 },
  { type: 'Normalize', ...imgNorm },
  { type: 'Pad', sizeDivisor: 32, padVal: { img: 0, seg: 255 } },
  { type: 'PackSegInputs' },
];
const testPipeline = [
  { type: 'LoadImageFromFile' },
  { type: 'Resize', scale: [scale, scale], keepRatio: true },
  { type: 'LoadAnnotations', withBbox: false, withLabel: false, withSeg: true },
  { type: 'Normalize', ...imgNorm },
  { type: 'PackSegInputs' },
];
// Plain objects, no functions with typed parameters: configs must also load as plain JS.
const common = {
  type: 'VOCSegDataset',
  dataRoot,
  dataPrefix: { img: 'JPEGImages', seg: 'SegmentationClass' },
  metainfo: { classes },
};
const trainSet = {
  ...common,
  annFile: 'ImageSets/Segmentation/train.txt',
  pipeline: trainPipeline,
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
  classes,
  trainDataloader: {
    batchSize: 8,
    numWorkers: 2,
    sampler: { type: 'DefaultSampler', shuffle: true },
    dataset: trainSet,
  },
  valDataloader: {
    batchSize: 8,
    numWorkers: 2,
    dropLast: false,
    padSizeDivisor: 32,
    sampler: { type: 'DefaultSampler', shuffle: false },
    dataset: valSet,
  },
  testDataloader: {
    batchSize: 8,
    numWorkers: 2,
    dropLast: false,
    padSizeDivisor: 32,
    sampler: { type: 'DefaultSampler', shuffle: false },
    dataset: valSet,
  },
  valEvaluator: { type: 'SegMetric', iouMetrics: ['mIoU'] },
  testEvaluator: { type: 'SegMetric', iouMetrics: ['mIoU'] },
};
