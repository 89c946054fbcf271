/** Faster R-CNN R-50-FPN, 1x schedule on COCO (mmdet `faster-rcnn_r50_fpn_1x_coco.py`): SGD 0.02 at batch 16. */
export default {
  _base_: [
    '../_base_/models/faster_rcnn_r50_fpn.ts',
    '../_base_/datasets/coco_detection.ts',
    '../_base_/schedules/schedule_1x.ts',
    '../_base_/default_runtime.ts',
  ],
};
