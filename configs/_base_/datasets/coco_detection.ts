/** COCO 2017 detection (mmdet `coco_detection.py`): 1333x800 keep-ratio, flip 0.5, bbox COCO metric. */
const dataRoot = 'data/coco/';
/** The normalisation of ImageNet-trained (pytorch-style) backbones, in RGB. */
const imgNorm = { mean: [123.675, 116.28, 103.53], std: [58.395, 57.12, 57.375], toRgb: true };

/**
 * COCO's training and test pipelines (1333x800 keep-ratio, flip 0.5, pad to
 * 32) with the given `Normalize`; a config whose backbone wants another
 * input (caffe's BGR, std 1) builds its pipelines with this.
 */
export function cocoDetectionPipelines(norm: { mean: number[]; std: number[]; toRgb: boolean }) {
  const trainPipeline = [
    { type: 'LoadImageFromFile' },
    { type: 'LoadAnnotations', withBbox: true },
    { type: 'Resize', scale: [1333, 800], keepRatio: true },
    { type: 'RandomFlip', prob: 0.5 },
    { type: 'Normalize', ...norm },
    { type: 'Pad', sizeDivisor: 32 },
    { type: 'PackDetInputs' },
  ];
  const testPipeline = [
    { type: 'LoadImageFromFile' },
    { type: 'Resize', scale: [1333, 800], keepRatio: true },
    { type: 'LoadAnnotations', withBbox: true },
    { type: 'Normalize', ...norm },
    { type: 'Pad', sizeDivisor: 32 },
    { type: 'PackDetInputs' },
  ];
  return { trainPipeline, testPipeline };
}
const { trainPipeline, testPipeline } = cocoDetectionPipelines(imgNorm);
export default {
  datasetType: 'CocoDataset',
  dataRoot,
  trainDataloader: {
    batchSize: 2,
    numWorkers: 2,
    sampler: { type: 'DefaultSampler', shuffle: true },
    batchSampler: { type: 'AspectRatioBatchSampler' },
    dataset: {
      type: 'CocoDataset',
      dataRoot,
      annFile: 'annotations/instances_train2017.json',
      dataPrefix: { img: 'train2017/' },
      filterCfg: { filterEmptyGt: true, minSize: 32 },
      pipeline: trainPipeline,
    },
  },
  valDataloader: {
    batchSize: 1,
    numWorkers: 2,
    dropLast: false,
    sampler: { type: 'DefaultSampler', shuffle: false },
    dataset: {
      type: 'CocoDataset',
      dataRoot,
      annFile: 'annotations/instances_val2017.json',
      dataPrefix: { img: 'val2017/' },
      testMode: true,
      pipeline: testPipeline,
    },
  },
  testDataloader: {
    batchSize: 1,
    numWorkers: 2,
    dropLast: false,
    sampler: { type: 'DefaultSampler', shuffle: false },
    dataset: {
      type: 'CocoDataset',
      dataRoot,
      annFile: 'annotations/instances_val2017.json',
      dataPrefix: { img: 'val2017/' },
      testMode: true,
      pipeline: testPipeline,
    },
  },
  valEvaluator: {
    type: 'CocoMetric',
    annFile: `${dataRoot}annotations/instances_val2017.json`,
    metric: 'bbox',
  },
  testEvaluator: {
    type: 'CocoMetric',
    annFile: `${dataRoot}annotations/instances_val2017.json`,
    metric: 'bbox',
  },
};
