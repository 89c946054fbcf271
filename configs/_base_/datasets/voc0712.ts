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
const vocSplit = (year: string, split: string) => ({
  type: 'VOCDataset',
  dataRoot,
  annFile: `VOC${year}/ImageSets/Main/${split}.txt`,
  dataPrefix: { subDataRoot: `VOC${year}/` },
});
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
          { ...vocSplit('2007', 'trainval'), filterCfg: { filterEmptyGt: true, minSize: 32 }, pipeline: trainPipeline },
          { ...vocSplit('2012', 'trainval'), filterCfg: { filterEmptyGt: true, minSize: 32 }, pipeline: trainPipeline },
        ],
      },
    },
  },
  valDataloader: {
    batchSize: 1,
    numWorkers: 2,
    dropLast: false,
    sampler: { type: 'DefaultSampler', shuffle: false },
    dataset: { ...vocSplit('2007', 'test'), testMode: true, pipeline: testPipeline },
  },
  testDataloader: {
    batchSize: 1,
    numWorkers: 2,
    dropLast: false,
    sampler: { type: 'DefaultSampler', shuffle: false },
    dataset: { ...vocSplit('2007', 'test'), testMode: true, pipeline: testPipeline },
  },
  valEvaluator: { type: 'VOCMetric', metric: 'mAP', evalMode: '11points' },
  testEvaluator: { type: 'VOCMetric', metric: 'mAP', evalMode: '11points' },
};
