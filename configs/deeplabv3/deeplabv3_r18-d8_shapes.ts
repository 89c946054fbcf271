/**
 * DeepLabV3 on the synthetic shapes set: the quarter-width ResNet-18 of
 * `configs/fcn/fcn_r18_shapes.ts` at output stride 8 (third stage dilated,
 * D8 as mmseg's R-50-D8), an ASPPHead with dilations scaled to the 16x16
 * maps of a 128x128 input (1, 2, 4, 6), the auxiliary FCNHead on the second
 * stage, and the same data, batch and schedule as the FCN shapes config.
 */
export default {
  _base_: ['../fcn/fcn_r18_shapes.ts'],
  model: {
    backbone: { strides: [1, 2, 1], dilations: [1, 1, 2] },
    decodeHead: {
      _delete_: true,
      type: 'ASPPHead',
      inChannels: 64,
      inIndex: 2,
      channels: 32,
      dilations: [1, 2, 4, 6],
      dropoutRatio: 0.1,
      numClasses: 6,
      normCfg: { type: 'BN', requiresGrad: true },
      alignCorners: false,
      lossDecode: {
        type: 'CrossEntropyLoss',
        useSigmoid: false,
        lossWeight: 1.0,
        ignoreIndex: 255,
        avgNonIgnore: true,
      },
    },
  },
};
