/** RetinaNet R-50-FPN, 1x schedule on COCO (mmdet `retinanet_r50_fpn_1x_coco.py`): SGD 0.01 at batch 16. */
export default {
  _base_: [
    '../_base_/models/retinanet_r50_fpn.ts',
    '../_base_/datasets/coco_detection.ts',
    '../_base_/schedules/schedule_1x.ts',
    '../_base_/default_runtime.ts',
  ],
  optimWrapper: { optimizer: { type: 'SGD', lr: 0.01, momentum: 0.9, weightDecay: 0.0001 } },
};
