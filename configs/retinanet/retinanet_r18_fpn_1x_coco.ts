/** RetinaNet R-18-FPN, 1x on COCO (mmdet `retinanet_r18_fpn_1x_coco.py`). */
export default {
  _base_: './retinanet_r50_fpn_1x_coco.ts',
  model: {
    backbone: { depth: 18 },
    neck: { inChannels: [64, 128, 256, 512] },
  },
};
