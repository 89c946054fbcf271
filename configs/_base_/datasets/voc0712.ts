/** PASCAL VOC 2007+2012 trainval, tested on VOC2007 test (mmdet `voc0712.py`): 1000x600, VOC mAP (11 points). */
const dataRoot = 'data/VOCdevkit/';
const imgNorm = { mean: [123.675, 116.28, 103.53], std: [58.395, 57.12, 57.375], toRgb: true };
const trainPipeline = [
  { type: 'LoadImageFromFile' },
  { type: 'LoadAnnotations', withBbox: true },
  { type: 'Resize', scale: [1000, 600], keepRatio: true },
  { type: 'RandomFlip', prob: 0.5 },
  { type: 'Normalize', ...imgNorm },
  { type: 'Pad', sizeDivisor: 32 },
  { type: 'PackDetInputs' },
];
const testPipeline = [
  { type: 'LoadImageFromFile' },
  { type: 'Resize', scale: [1000, 600], keepRatio: true },
  { type: 'LoadAnnotations', withBbox: true },
  { type: 'Normalize', ...imgNorm },
  { type: 'Pad', sizeDivisor: 32 },
  { type: 'PackDetInputs' },
];
// Plain objects, no functions with typed parameters: configs must also load as plain JS.
const voc2007 = {
  type: 'VOCDataset',
  dataRoot,
  annFile: 'VOC2007/ImageSets/Main/trainval.txt',
  dataPrefix: { subDataRoot: 'VOC2007/' },
};
const voc2012 = {
  type: 'VOCDataset',
  dataRoot,
  annFile: 'VOC2012/ImageSets/Main/trainval.txt',
  dataPrefix: { subDataRoot: 'VOC2012/' },
};
const voc2007test = {
  type: 'VOCDataset',
  dataRoot,
  annFile: 'VOC2007/ImageSets/Main/test.txt',
  dataPrefix: { subDataRoot: 'VOC2007/' },
};
export default {
  datasetType: 'VOCDataset',
  dataRoot,
  trainDataloader: {
    batchSize: 2,
    numWorkers: 2,
    sampler: { type: 'DefaultSampler', shuffle: true },
    batchSampler: { type: 'AspectRatioBatchSampler' },
    dataset: {
      type: 'RepeatDataset',
      times: 3,
      dataset: {
        type: 'ConcatDataset',
        datasets: [
          { ...voc2007, filterCfg: { filterEmptyGt: true, minSize: 32 }, pipeline: trainPipeline },
          { ...voc2012, filterCfg: { filterEmptyGt: true, minSize: 32 }, pipeline: trainPipeline },
        ],
      },
    },
  },
  valDataloader: {
    batchSize: 1,
    numWorkers: 2,
    dropLast: false,
    sampler: { type: 'DefaultSampler', shuffle: false },
    dataset: { ...voc2007test, testMode: true, pipeline: testPipeline },
  },
  testDataloader: {
    batchSize: 1,
    numWorkers: 2,
    dropLast: false,
    sampler: { type: 'DefaultSampler', shuffle: false },
    dataset: { ...voc2007test, testMode: true, pipeline: testPipeline },
  },
  valEvaluator: { type: 'VOCMetric', metric: 'mAP', evalMode: '11points' },
  testEvaluator: { type: 'VOCMetric', metric: 'mAP', evalMode: '11points' },
};
