/**
 * YOLOv3 Darknet-53 on PASCAL VOC 07+12 (tested on VOC2007 test, VOC
 * 11-point mAP): the COCO recipe (expand, min-IoU crop, multi-scale
 * training, COCO anchors) with 20 classes, training scales 320-416 and a
 * 416 test scale.
 */
const dataRoot = 'data/VOCdevkit/';
const imgNorm = { mean: [0, 0, 0], std: [255, 255, 255], toRgb: true };
const trainPipeline = [
  { type: 'LoadImageFromFile' },
  { type: 'LoadAnnotations', withBbox: true },
  { type: 'Expand', mean: imgNorm.mean, toRgb: true, ratioRange: [1, 2] },
  { type: 'MinIoURandomCrop', minIous: [0.4, 0.5, 0.6, 0.7, 0.8, 0.9], minCropSize: 0.3 },
  {
    type: 'RandomResize',
    scale: [
      [320, 320],
      [416, 416],
    ],
    keepRatio: true,
  },
  { type: 'RandomFlip', prob: 0.5 },
  { type: 'PhotoMetricDistortion' },
  { type: 'Normalize', ...imgNorm },
  { type: 'Pad', sizeDivisor: 32 },
  { type: 'PackDetInputs' },
];
const testPipeline = [
  { type: 'LoadImageFromFile' },
  { type: 'Resize', scale: [416, 416], keepRatio: true },
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
const testSet = { ...voc2007test, testMode: true, pipeline: testPipeline };

export default {
  _base_: ['./yolov3_d53_8xb8-ms-608-273e_coco.ts'],
  model: { bboxHead: { numClasses: 20 } },
  datasetType: 'VOCDataset',
  dataRoot,
  trainDataloader: {
    dataset: {
      _delete_: true,
      type: 'ConcatDataset',
      datasets: [
        { ...voc2007, filterCfg: { filterEmptyGt: true, minSize: 32 }, pipeline: trainPipeline },
        { ...voc2012, filterCfg: { filterEmptyGt: true, minSize: 32 }, pipeline: trainPipeline },
      ],
    },
  },
  valDataloader: { dataset: { _delete_: true, ...testSet } },
  testDataloader: { dataset: { _delete_: true, ...testSet } },
  valEvaluator: { _delete_: true, type: 'VOCMetric', metric: 'mAP', evalMode: '11points' },
  testEvaluator: { _delete_: true, type: 'VOCMetric', metric: 'mAP', evalMode: '11points' },
};
