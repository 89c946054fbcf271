/**
 * FCOS R-50-caffe-FPN as mmdetection's
 * `fcos_r50-caffe_fpn_gn-head-center-normbbox-centeronreg-giou_1x_coco.py`
 * builds it, the model its released checkpoint loads into
 * (`tools/convert_checkpoint.ts IN OUT --from mmdet`): a caffe-style ResNet
 * (stride on the first 1x1 conv), biases on the GN head convs, and caffe's
 * input (BGR, mean subtracted, std 1).
 */
import { cocoDetectionPipelines } from '../_base_/datasets/coco_detection.js';

const { trainPipeline, testPipeline } = cocoDetectionPipelines({
  mean: [103.53, 116.28, 123.675],
  std: [1.0, 1.0, 1.0],
  toRgb: false,
});
export default {
  _base_: ['./fcos_r50_fpn_gn-head-center-normbbox-centeronreg-giou_1x_coco.ts'],
  model: {
    backbone: { style: 'caffe' },
    bboxHead: { convBias: true },
  },
  trainDataloader: { dataset: { pipeline: trainPipeline } },
  valDataloader: { dataset: { pipeline: testPipeline } },
  testDataloader: { dataset: { pipeline: testPipeline } },
  optimWrapper: { clipGrad: null },
};
