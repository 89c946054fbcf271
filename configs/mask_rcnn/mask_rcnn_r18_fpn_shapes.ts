/**
 * A light Mask R-CNN for the synthetic shapes set (instance masks from the
 * COCO polygons), trained from scratch on a CPU: the shapes Faster R-CNN
 * (quarter-width ResNet-18, 64-channel FPN on strides 8 and 16, RPN, RoIAlign
 * 7x7, 2-FC box head of 128) plus a mask branch of RoIAlign 14x14 with a slim
 * FCN mask head (2 convs of 32, 2x deconv, 28x28 masks per class); 300
 * proposals per image, 5 epochs; bbox and segm COCO metrics on the val split.
 * Measured on wasm (2-core machine, the other core training another model):
 * `npx tsx tools/train.ts configs/mask_rcnn/mask_rcnn_r18_fpn_shapes.ts
 * --work-dir work_dirs/mrcnn`, 5 epochs in 20:54 wall (1,124 CPU seconds);
 * val segm mAP@0.5 0.844 (mAP 0.633), bbox mAP@0.5 0.852 (mAP 0.654).
 */
const imgNorm = { mean: [123.675, 116.28, 103.53], std: [58.395, 57.12, 57.375], toRgb: true };
const scale = 128;
const trainPipeline = [
  { type: 'LoadImageFromFile' },
  { type: 'LoadAnnotations', withBbox: true, withMask: true },
  { type: 'Resize', scale: [scale, scale], keepRatio: true },
  { type: 'RandomFlip', prob: 0.5 },
  { type: 'Normalize', ...imgNorm },
  { type: 'Pad', sizeDivisor: 32 },
  { type: 'PackDetInputs' },
];
const annFile = 'data/synthetic/annotations/instances_val.json';
const maxEpochs = 5;
const rpnTest = { nmsPre: 600, maxPerImg: 300 };
export default {
  _base_: ['../faster_rcnn/faster_rcnn_r18_fpn_shapes.ts'],
  model: {
    type: 'MaskRCNN',
    roiHead: {
      maskRoiExtractor: {
        type: 'SingleRoIExtractor',
        roiLayer: { type: 'RoIAlign', outputSize: 14, samplingRatio: 0 },
        outChannels: 64,
        featmapStrides: [8, 16],
      },
      maskHead: {
        type: 'FCNMaskHead',
        numConvs: 2,
        inChannels: 64,
        convOutChannels: 32,
        numClasses: 5,
        lossMask: { type: 'CrossEntropyLoss', useMask: true, lossWeight: 1.0 },
      },
    },
    trainCfg: { rpnProposal: rpnTest, rcnn: { maskSize: 28 } },
    testCfg: { rpn: rpnTest, rcnn: { maskThrBinary: 0.5 } },
  },
  trainDataloader: { dataset: { pipeline: trainPipeline } },
  trainCfg: { maxEpochs, valInterval: maxEpochs },
  valEvaluator: { type: 'CocoMetric', annFile, metric: ['bbox', 'segm'] },
  testEvaluator: { type: 'CocoMetric', annFile, metric: ['bbox', 'segm'] },
  paramScheduler: [
    { type: 'LinearLR', startFactor: 0.01, byEpoch: false, begin: 0, end: 100 },
    { type: 'CosineAnnealingLR', begin: 0, end: maxEpochs, byEpoch: true, etaMin: 0.00005 },
  ],
  defaultHooks: { checkpoint: { type: 'CheckpointHook', interval: 1 } },
};
