/**
 * YOLOv3 for the synthetic shapes set with the backbone of the other shapes
 * configs: a quarter-width ResNet-18 (16..128 channels, strides 8, 16, 32
 * out) under the YOLOv3 neck and head of `yolov3_d53-tiny_shapes.ts` (a
 * backbone swap as mmdet's `yolov3_mobilenetv2` configs do), 160x160 input,
 * anchors of that config scaled by 160/128, batch 4, Adam with warm-up and a
 * cosine schedule over 10 epochs.
 *
 * On wasm a step of this model costs about two thirds of the Darknet one at
 * the same size (Darknet's full-resolution stem and stride-2 stage are thin
 * convolutions that XNNPACK runs at a poor rate), which pays for the larger
 * input.
 *
 * Measured (wasm, 2-core machine, the other core training another model):
 * `npx tsx tools/train.ts configs/yolo/yolov3_r18_shapes.ts --work-dir
 * work_dirs/yolov3_r18` took 25:20 wall (1,477 CPU seconds); val bbox
 * mAP@0.5 0.904 (mAP 0.658); 0.712 after epoch 5.
 */
const size = 160;
const imgNorm = { mean: [123.675, 116.28, 103.53], std: [58.395, 57.12, 57.375], toRgb: true };
const trainPipeline = [
  { type: 'LoadImageFromFile' },
  { type: 'LoadAnnotations', withBbox: true },
  { type: 'Resize', scale: [size, size], keepRatio: true },
  { type: 'RandomFlip', prob: 0.5 },
  { type: 'Normalize', ...imgNorm },
  { type: 'Pad', sizeDivisor: 32 },
  { type: 'PackDetInputs' },
];
const testPipeline = [
  { type: 'LoadImageFromFile' },
  { type: 'Resize', scale: [size, size], keepRatio: true },
  { type: 'LoadAnnotations', withBbox: true },
  { type: 'Normalize', ...imgNorm },
  { type: 'Pad', sizeDivisor: 32 },
  { type: 'PackDetInputs' },
];
const epochs = 10;
export default {
  _base_: ['./yolov3_d53-tiny_shapes.ts'],
  model: {
    backbone: {
      _delete_: true,
      type: 'ResNet',
      depth: 18,
      baseChannels: 16,
      outIndices: [1, 2, 3],
      normEval: false,
      zeroInitResidual: false,
    },
    neck: { inChannels: [128, 64, 32], outChannels: [64, 32, 16] },
    bboxHead: {
      anchorGenerator: {
        type: 'YOLOAnchorGenerator',
        baseSizes: [
          [
            [48, 48],
            [54, 54],
            [62, 62],
          ],
          [
            [30, 30],
            [35, 35],
            [41, 41],
          ],
          [
            [14, 14],
            [19, 19],
            [25, 25],
          ],
        ],
        strides: [32, 16, 8],
      },
    },
  },
  trainDataloader: { dataset: { pipeline: trainPipeline } },
  valDataloader: { dataset: { pipeline: testPipeline } },
  testDataloader: { dataset: { pipeline: testPipeline } },
  trainCfg: { maxEpochs: epochs, valInterval: 5 },
  paramScheduler: [
    { type: 'LinearLR', startFactor: 0.01, byEpoch: false, begin: 0, end: 150 },
    { type: 'CosineAnnealingLR', begin: 0, end: epochs, byEpoch: true, etaMin: 0.00005 },
  ],
  defaultHooks: { checkpoint: { type: 'CheckpointHook', interval: 5, maxKeepCkpts: 2 } },
};
