/** RetinaNet R-50-FPN with a GIoU loss on decoded boxes (mmdet `retinanet_r50_fpn_giou_1x_coco.py`). */
export default {
  _base_: './retinanet_r50_fpn_1x_coco.ts',
  model: {
    bboxHead: {
      regDecodedBbox: true,
      lossBbox: { _delete_: true, type: 'GIoULoss', lossWeight: 2.0 },
    },
  },
};
