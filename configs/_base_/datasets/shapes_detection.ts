/**
 * The synthetic shapes set (`tools/make_synthetic.ts`, 256x256 images of
 * circles, squares, triangles, stars and hexagons) in its COCO form, at a
 * small input size (128x128) for CPU / wasm training.
 */
const dataRoot = 'data/synthetic/';
const classes = ['circle', 'square', 'triangle', 'star', 'hexagon'];
const imgNorm = { mean: [123.675, 116.28, 103.53], std: [58.395, 57.12, 57.375], toRgb: true };
const scale = 128;
const trainPipeline = [
  { type: 'LoadImageFromFile' },
  { type: 'LoadAnnotations', withBbox: true },
  { type: 'Resize', scale: [scale, scale], keepRatio: true },
  { type: 'RandomFlip', prob: 0.5 },
  { type: 'Normalize', ...imgNorm },
  { type: 'Pad', sizeDivisor: 32 },
  { type: 'PackDetInputs' },
];
const testPipeline = [
  { type: 'LoadImageFromFile' },
  { type: 'Resize', scale: [scale, scale], keepRatio: true },
  { type: 'LoadAnnotations', withBbox: true },
  { type: 'Normalize', ...imgNorm },
  { type: 'Pad', sizeDivisor: 32 },
  { type: 'PackDetInputs' },
];
// Plain objects, no functions with typed parameters: configs must also load as plain JS.
const common = {
  type: 'CocoDataset',
  dataRoot,
  dataPrefix: { img: 'JPEGImages/' },
  metainfo: { classes },
};
const trainSet = {
  ...common,
  annFile: 'annotations/instances_train.json',
  filterCfg: { filterEmptyGt: true },
  pipeline: trainPipeline,
};
const valSet = {
  ...common,
  annFile: 'annotations/instances_val.json',
  testMode: true,
  pipeline: testPipeline,
};
export default {
  datasetType: 'CocoDataset',
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
    sampler: { type: 'DefaultSampler', shuffle: false },
    dataset: valSet,
  },
  testDataloader: {
    batchSize: 8,
    numWorkers: 2,
    dropLast: false,
    sampler: { type: 'DefaultSampler', shuffle: false },
    dataset: valSet,
  },
  valEvaluator: {
    type: 'CocoMetric',
    annFile: `${dataRoot}annotations/instances_val.json`,
    metric: 'bbox',
  },
  testEvaluator: {
    type: 'CocoMetric',
    annFile: `${dataRoot}annotations/instances_val.json`,
    metric: 'bbox',
  },
};
